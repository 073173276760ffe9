"""PII masking for gold tables, as SQL projections run by the engine.

``hash`` is HMAC-SHA256 with the project's secret (a plain hash of an e-mail is reversible by
a dictionary of e-mails); ``redact`` replaces the value; ``partial`` keeps the e-mail domain or
the last four characters. The secret reaches DuckDB as a bound parameter, never in SQL text.
"""

from __future__ import annotations


from lakemend.engines.base import Session as Connection
from lakemend.engines.sql import q

REDACTED = "[redacted]"
_BLOCK = 64  # SHA-256 block size in bytes


def hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    """The inner and outer HMAC pads of a key (RFC 2104)."""
    import hashlib

    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def install_key(con: Connection, key: bytes) -> None:
    inner, outer = hmac_pads(key)
    con.execute("CREATE OR REPLACE TEMP TABLE _mask_key (ipad BLOB, opad BLOB)")
    con.execute("INSERT INTO _mask_key VALUES (?, ?)", [inner, outer])


def mask_expression(column: str, policy: str) -> str:
    value = f"CAST({q(column)} AS VARCHAR)"
    if policy == "hash":
        inner = f"unhex(sha256((SELECT ipad FROM _mask_key) || encode({value})))"
        return f"CASE WHEN {value} IS NULL THEN NULL ELSE sha256((SELECT opad FROM _mask_key) || {inner}) END"
    if policy == "redact":
        return f"CASE WHEN {value} IS NULL THEN NULL ELSE '{REDACTED}' END"
    if policy == "partial":
        return (
            f"CASE WHEN {value} IS NULL THEN NULL "
            f"WHEN strpos({value}, '@') > 0 THEN '***@' || split_part({value}, '@', 2) "
            f"ELSE repeat('*', greatest(length({value}) - 4, 0)) || right({value}, 4) END"
        )
    raise ValueError(f"unknown masking policy {policy!r}")
