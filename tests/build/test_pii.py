"""The PII gate: gold (and `pii: forbid`) never publishes an e-mail address, a phone number or a
configured pattern in a column it does not mask; `verify` finds the same with the same patterns."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from conftest import START, build
from lakemend.lake import Lake

DAY = "2025-11-02"

PHONES = ["+1 415 555 0100", "+14155550100", "(415) 555-0100", "415-555-0100", "415.555.0100", "415 555 0100",
          "+44 20 7946 0958", "020 7946 0958", "+49 (0)30 1234567", "call 415-555-0100 now", "Tel: +33 1 23 45 67 89",
          "Acme (+1 415 555 0100)", "ring +1-415-555-0100.", "1-800-555-0199", "Call 1 (800) 555-0199."]
NOT_PHONES = ["2025-10-26", "2025-10-26T10:00:00.123Z", "2025-10-26 10:00:00", "12:30:45", "1234.56", "604.99",
              "1234.5678", "-1234.5678", "1,234,567.89", "3.14159265358979", "ord-000123", "1001234", "+100",
              "12345678-1234-1234-1234-123456789012", "192.168.100.200", "10.0.0.1", "v1.2.3-rc4",
              "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "Acme Corp", "USD", "2025 10 26"]


@pytest.mark.parametrize("text", PHONES)
def test_phone_numbers_are_found_by_both_engines(text: str) -> None:
    from lakemend.build.pii import PHONE
    from lakemend.engines.duckdb import DuckDBEngine

    assert re.search(PHONE, text)
    with DuckDBEngine().session() as con:
        assert con.scalar("SELECT regexp_matches(?, ?)", [text, PHONE]) is True


@pytest.mark.parametrize("text", NOT_PHONES)
def test_ids_dates_amounts_and_hashes_are_not_phone_numbers(text: str) -> None:
    from lakemend.build.pii import EMAIL, PHONE
    from lakemend.engines.duckdb import DuckDBEngine

    assert not re.search(PHONE, text) and not re.search(EMAIL, text)
    with DuckDBEngine().session() as con:
        assert con.scalar("SELECT regexp_matches(?, ?)", [text, PHONE]) is False


def land_contact_and_order(root: Path, company: str, extra: dict[str, str] | None = None) -> None:
    """One HubSpot contact whose free-text `company` holds ``company``, and one order of theirs."""
    contacts = root / "landing" / "hubspot" / "contacts" / DAY
    contacts.mkdir(parents=True)
    record = {"id": "900001", "properties": {"email": "grace@example.com", "firstname": "Grace", "lastname": "H",
                                             "phone": "+1 212 555 0199", "company": company, "lifecyclestage": "lead",
                                             "createdate": f"{DAY}T08:00:00Z", "lastmodifieddate": f"{DAY}T09:00:00Z"},
              "createdAt": f"{DAY}T08:00:00Z", "updatedAt": f"{DAY}T09:00:00Z", "archived": False, **(extra or {})}
    (contacts / "contacts-0001.jsonl").write_text(json.dumps(record) + "\n")
    orders = root / "landing" / "orders" / DAY
    orders.mkdir(parents=True)
    (orders / "orders-0001.csv").write_text(
        "order_id,customer_email,amount,currency,status,ordered_at,updated_at\n"
        f"ord-900001,grace@example.com,1234.56,USD,paid,{DAY}T10:00:00Z,{DAY}T10:05:00Z\n"
        f"ord-900002,grace@example.com,604.99,EUR,paid,{DAY}T11:00:00Z,{DAY}T11:05:00Z\n")


def set_gold(root: Path, table: str, **keys: object) -> None:
    path = root / "lakemend.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["gold"][table].update(keys)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def gold_days(root: Path) -> list[str]:
    table = Lake.open(root).table("gold.customer_orders")
    return sorted({str(d) for d in table.scan().to_arrow().column("day").to_pylist()}) if table is not None else []


@pytest.mark.parametrize(("company", "kind"), [("grace.h@example.com", "e-mail address(es)"),
                                               ("+1 415 555 0134", "phone number(s)"),
                                               ("Acme, call (415) 555-0134", "phone number(s)")])
def test_pii_in_free_text_fails_gold_before_publishing(example: Path, cli, company: str, kind: str,  # noqa: ANN001
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEMEND_REASON", "pii gate")
    land_contact_and_order(example, company)
    result = cli("run", "--date", DAY, cwd=example)
    assert result.code == 1, result.out + result.err
    assert f"gold.customer_orders {DAY}: PII found" in result.err
    assert f"2 {kind} in unmasked column company" in result.err  # both orders of the contact
    assert company not in result.err + result.out  # the message names the column, never the value
    assert DAY not in gold_days(example)  # nothing published
    jobs = Lake.open(example).state.list_jobs(table="gold.customer_orders")
    assert [j["status"] for j in jobs] == ["failed"] and "company" in jobs[0]["error"]
    assert {j["status"] for j in Lake.open(example).state.list_jobs(table="gold.daily_revenue")} == {"succeeded"}

    # the refresh fails the same way until the column is masked
    refresh = cli("refresh", "gold", "--table", "customer_orders", "--date", DAY, cwd=example)
    assert refresh.code == 1 and "in unmasked column company" in refresh.err
    set_gold(example, "customer_orders",
             mask={"email": "hash", "email_domain": "partial", "phone": "redact", "full_name": "redact", "company": "redact"})
    refresh = cli("refresh", "gold", "--table", "customer_orders", "--date", DAY, cwd=example)
    assert refresh.code == 0, refresh.out + refresh.err
    assert DAY in gold_days(example)
    assert cli("verify", "--table", "gold.customer_orders", "--date", DAY, cwd=example).code == 0


def test_configured_patterns_and_pii_forbid_on_silver(example: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("LAKEMEND_REASON", "pii gate")
    land_contact_and_order(example, "Acme SSN 123-45-6789")
    set_gold(example, "customer_orders", pii_patterns=["[0-9]{3}-[0-9]{2}-[0-9]{4}"])
    result = cli("run", "--date", DAY, cwd=example)
    assert result.code == 1
    assert "2 value(s) matching pii pattern '[0-9]{3}-[0-9]{2}-[0-9]{4}' in unmasked column company" in result.err

    # silver holds the contact's e-mail and phone by design: pii: forbid there stops it too
    path = example / "lakemend.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["silver"]["customers_clean"]["pii"] = "forbid"
    data["gold"]["customer_orders"]["pii"] = "allow"
    del data["gold"]["customer_orders"]["pii_patterns"]
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    result = cli("rebuild", "silver", "--table", "customers_clean", "--date", DAY, cwd=example)
    assert result.code == 1
    assert "silver.customers_clean" in result.err and "1 e-mail address(es) in unmasked column email" in result.err
    assert "1 phone number(s) in unmasked column phone" in result.err


def test_a_pattern_re2_cannot_run_is_a_config_error(example: Path, cli) -> None:  # noqa: ANN001
    set_gold(example, "customer_orders", pii_patterns=["(?<=x)y"])
    result = cli("status", cwd=example)
    assert result.code == 1 and result.err.count("\n") == 1
    assert "gold.customer_orders.pii_patterns" in result.err and "look-around" in result.err


def test_verify_finds_phone_numbers_with_the_gates_patterns(example: Path, cli) -> None:  # noqa: ANN001
    import pyarrow as pa
    import pyarrow.parquet as pq

    assert not build(example, START, START).failed  # the example's own data passes the gate
    assert cli("verify", "--table", "gold.customer_orders", cwd=example).code == 0
    path = sorted((example / "lake" / "gold" / "customer_orders" / f"day={START}").glob("*.parquet"))[0]
    table = pq.read_table(path)
    index = table.schema.get_field_index("company")
    phones = pa.array(["+1 415 555 0134"] * table.num_rows, table.schema.field("company").type)
    pq.write_table(table.set_column(index, table.schema.field("company"), phones), path)
    result = cli("verify", "--table", "gold.customer_orders", "--date", str(START), cwd=example)
    assert result.code == 1
    assert f"PII: {table.num_rows} phone number(s) in unmasked column company" in result.err
