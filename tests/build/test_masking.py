"""Masking policies run as SQL and match their definitions (HMAC-SHA256 per RFC 2104)."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from lakemend.engines import open_engine
from lakemend.build.masking import REDACTED, install_key, mask_expression


@pytest.mark.parametrize("key", [b"k", b"a-much-longer-secret-" * 5])
def test_hash_is_hmac_sha256_with_the_key(key: bytes) -> None:
    con = open_engine("duckdb").session()
    install_key(con, key)
    con.execute("CREATE TABLE t AS SELECT * FROM (VALUES ('ada@example.com'), (NULL)) v(email)")
    got = [r[0] for r in con.execute(f"SELECT {mask_expression('email', 'hash')} FROM t")]
    assert got == [hmac.new(key, b"ada@example.com", hashlib.sha256).hexdigest(), None]
    assert got[0] != hashlib.sha256(b"ada@example.com").hexdigest()


def test_redact_and_partial() -> None:
    con = open_engine("duckdb").session()
    con.execute("CREATE TABLE t AS SELECT * FROM (VALUES ('ada@example.com'), ('+1 415 555 0134'), (NULL)) v(x)")
    redacted = [r[0] for r in con.execute(f"SELECT {mask_expression('x', 'redact')} FROM t")]
    partial = [r[0] for r in con.execute(f"SELECT {mask_expression('x', 'partial')} FROM t")]
    assert redacted == [REDACTED, REDACTED, None]
    assert partial == ["***@example.com", "***********0134", None]


def test_the_key_never_appears_in_sql_text() -> None:
    assert "secret" not in mask_expression("email", "hash")
