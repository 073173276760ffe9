"""The example landing-zone generator: real files in tmp_path, no mocks."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from lakemend.errors import UsageError
from lakemend.examples.data import FAULT_KINDS, SOURCES, DayFiles, Fault, GenerateSummary, generate, parse_fault

D1, D2, D3 = dt.date(2025, 10, 20), dt.date(2025, 10, 21), dt.date(2025, 10, 22)
ROWS = 400  # 100 contact records a day
HEADER = "order_id,customer_email,amount,currency,status,ordered_at,updated_at"
STAGES = {"subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer",
          "evangelist", "other"}
ORDER_FILES = ("orders-0001.csv", "orders-0002.csv")


# ----- helpers ---------------------------------------------------------------------------------


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def entry(summary: GenerateSummary, source: str, day: dt.date) -> DayFiles:
    (found,) = [d for d in summary.days if d.source == source and d.day == day]
    return found


def contacts_file(raw: Path, day: dt.date, name: str = "contacts-0001.jsonl") -> Path:
    return raw / "hubspot" / "contacts" / day.isoformat() / name


def orders_file(raw: Path, day: dt.date, name: str) -> Path:
    return raw / "orders" / day.isoformat() / name


def lines_of(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def contacts(raw: Path, day: dt.date, name: str = "contacts-0001.jsonl") -> list[dict]:
    return [json.loads(line) for line in lines_of(contacts_file(raw, day, name))]


def orders(raw: Path, day: dt.date, names: tuple[str, ...] = ORDER_FILES) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for name in names:
        with orders_file(raw, day, name).open(newline="", encoding="utf-8") as handle:
            rows += list(csv.DictReader(handle))
    return rows


def canon(email: str) -> str:
    return email.strip().lower()


def stamp_day(text: str) -> dt.date:
    return dt.datetime.fromisoformat(text).date()


def is_timestamp(text: object) -> bool:
    try:
        dt.datetime.fromisoformat(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return True


# ----- determinism -----------------------------------------------------------------------------


def test_same_arguments_give_identical_bytes_and_another_seed_does_not(tmp_path: Path) -> None:
    faults = [parse_fault("duplicates:2025-10-21"), parse_fault("malformed:2025-10-20:orders")]
    generate(tmp_path / "a", D1, D2, rows=ROWS, faults=faults)
    generate(tmp_path / "b", D1, D2, rows=ROWS, faults=faults)
    generate(tmp_path / "c", D1, D2, rows=ROWS, seed=8, faults=faults)
    first = tree(tmp_path / "a")
    assert len(first) == 6
    assert first == tree(tmp_path / "b")
    other = tree(tmp_path / "c")
    assert other.keys() == first.keys() and all(other[k] != first[k] for k in first)


def test_a_single_day_is_byte_identical_to_that_day_inside_a_range(tmp_path: Path) -> None:
    faults = [parse_fault("bad-types:2025-10-21:hubspot"), parse_fault("duplicates:2025-10-21:orders")]
    generate(tmp_path / "range", D1, D3, rows=ROWS, faults=faults)
    generate(tmp_path / "single", D2, D2, rows=ROWS, faults=faults)
    single, whole = tree(tmp_path / "single"), tree(tmp_path / "range")
    assert sorted(single) == sorted(k for k in whole if D2.isoformat() in k)
    assert all(whole[k] == v for k, v in single.items())


# ----- layout and formats ----------------------------------------------------------------------


def test_layout_header_and_field_formats(tmp_path: Path) -> None:
    summary = generate(tmp_path, D1, D1, rows=ROWS)
    assert [(d.source, d.day) for d in summary.days] == [("hubspot", D1), ("orders", D1)]
    assert sorted(tree(tmp_path)) == [
        "hubspot/contacts/2025-10-20/contacts-0001.jsonl",
        "orders/2025-10-20/orders-0001.csv",
        "orders/2025-10-20/orders-0002.csv",
    ]
    hub, ords = entry(summary, "hubspot", D1), entry(summary, "orders", D1)
    assert hub.files == (contacts_file(tmp_path, D1),)
    assert ords.files == tuple(orders_file(tmp_path, D1, n) for n in ORDER_FILES)
    assert (hub.malformed, hub.bad_types, hub.duplicates, ords.malformed, ords.bad_types, ords.duplicates) == (0,) * 6

    stamp = re.compile(r"2025-10-20T\d{2}:\d{2}:\d{2}Z")
    for name in ORDER_FILES:
        raw = orders_file(tmp_path, D1, name).read_bytes()
        assert raw.startswith(HEADER.encode() + b"\n") and raw.endswith(b"\n") and b"\r" not in raw
    rows = orders(tmp_path, D1)
    assert len(rows) == ords.records and ROWS < len(rows) < ROWS * 1.1
    for row in rows:
        assert re.fullmatch(r"ord-\d{6,}", row["order_id"])
        assert re.fullmatch(r"\d+\.\d{2}", row["amount"])
        assert row["currency"] in {"USD", "EUR", "GBP"}
        assert row["status"] in {"pending", "paid", "shipped", "cancelled", "refunded"}
        assert stamp.fullmatch(row["ordered_at"]) and stamp.fullmatch(row["updated_at"])
        assert row["ordered_at"] <= row["updated_at"]

    lines = lines_of(contacts_file(tmp_path, D1))
    assert len(lines) == hub.records == ROWS // 4
    for line in lines:
        obj = json.loads(line)
        assert line == json.dumps(obj, ensure_ascii=False)  # the fast template writes what json.dumps would
        assert list(obj) == ["id", "properties", "createdAt", "updatedAt", "archived"]
        props = obj["properties"]
        assert set(props) == {"email", "firstname", "lastname", "phone", "company", "lifecyclestage",
                              "createdate", "lastmodifieddate"}
        assert all(isinstance(v, str) for v in props.values()) and obj["id"].isdigit()
        assert props["lifecyclestage"] in STAGES
        assert re.fullmatch(r"\+1 \d{3} 555 \d{4}", props["phone"])
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z", obj["createdAt"])
        assert obj["createdAt"] == props["createdate"] and obj["updatedAt"] == props["lastmodifieddate"]
        assert stamp_day(obj["createdAt"]) <= D1 == stamp_day(obj["updatedAt"])
        assert obj["createdAt"] < obj["updatedAt"] and obj["archived"] is False


def test_ids_are_unique_and_updates_look_like_updates(tmp_path: Path) -> None:
    generate(tmp_path, D1, D3, rows=ROWS)
    order_days: dict[str, set[dt.date]] = defaultdict(set)
    new_contacts: Counter[str] = Counter()
    for day in (D1, D2, D3):
        by_id: dict[str, list[dict[str, str]]] = defaultdict(list)
        for row in orders(tmp_path, day):
            by_id[row["order_id"]].append(row)
            order_days[row["order_id"]].add(day)
        assert len(by_id) == ROWS
        changed = [rows for rows in by_id.values() if len(rows) > 1]
        assert all(len(rows) == 2 for rows in changed) and 0.01 * ROWS <= len(changed) <= 0.06 * ROWS
        for first, second in changed:
            assert first["updated_at"] < second["updated_at"] and first["status"] != second["status"]
            assert first["ordered_at"] == second["ordered_at"] and first["amount"] == second["amount"]

        objs = contacts(tmp_path, day)
        assert len({o["id"] for o in objs}) == len(objs)
        created_today = [o for o in objs if stamp_day(o["createdAt"]) == day]
        assert 0 < len(objs) - len(created_today) < len(created_today)  # some updates of older contacts
        new_contacts.update(o["id"] for o in created_today)
    assert all(len(days) == 1 for days in order_days.values())
    assert max(new_contacts.values()) == 1


def test_order_emails_belong_to_contacts_created_on_or_before_that_day(tmp_path: Path) -> None:
    generate(tmp_path, D1, D3, rows=ROWS)
    created: dict[str, dt.date] = {}
    for day in (D1, D2, D3):
        for obj in contacts(tmp_path, day):
            created[canon(obj["properties"]["email"])] = stamp_day(obj["createdAt"])
    for day in (D1, D2, D3):
        for row in orders(tmp_path, day):
            assert created[canon(row["customer_email"])] <= day


def test_about_five_percent_of_emails_need_trimming_or_lower_casing(tmp_path: Path) -> None:
    generate(tmp_path, D1, D1, rows=4000)
    order_emails = [row["customer_email"] for row in orders(tmp_path, D1)]
    contact_emails = [obj["properties"]["email"] for obj in contacts(tmp_path, D1)]
    for emails in (order_emails, contact_emails):
        messy = [e for e in emails if e != canon(e)]
        assert 0.03 <= len(messy) / len(emails) <= 0.07
        assert any(e != e.strip() for e in messy) and any(e.strip() != e.strip().lower() for e in messy)


# ----- faults ----------------------------------------------------------------------------------


def fault_run(tmp_path: Path, text: str) -> tuple[Path, Path, GenerateSummary, GenerateSummary]:
    """The same day generated clean and with one fault: (clean dir, faulty dir, summaries)."""
    clean = generate(tmp_path / "clean", D1, D1, rows=ROWS)
    faulty = generate(tmp_path / "faulty", D1, D1, rows=ROWS, faults=[parse_fault(text)])
    return tmp_path / "clean", tmp_path / "faulty", clean, faulty


@pytest.mark.parametrize("source", SOURCES)
def test_duplicates_repeat_about_five_percent_of_lines_within_their_file(tmp_path: Path, source: str) -> None:
    clean_dir, faulty_dir, clean, faulty = fault_run(tmp_path, f"duplicates:2025-10-20:{source}")
    got, before = entry(faulty, source, D1), entry(clean, source, D1)
    repeats = 0
    for clean_path, faulty_path in zip(before.files, got.files, strict=True):
        lines = lines_of(faulty_path)
        repeats += len(lines) - len(set(lines))
        assert sorted(set(lines)) == sorted(set(lines_of(clean_path)))
    assert repeats == got.duplicates and 0.03 * before.records <= repeats <= 0.07 * before.records
    assert got.records == before.records + repeats and (got.malformed, got.bad_types) == (0, 0)
    other = "orders" if source == "hubspot" else "hubspot"
    assert all(p.read_bytes() == q.read_bytes()
               for p, q in zip(entry(clean, other, D1).files, entry(faulty, other, D1).files, strict=True))


def test_malformed_lines_are_counted_and_everything_else_is_intact(tmp_path: Path) -> None:
    clean_dir, faulty_dir, clean, faulty = fault_run(tmp_path, "malformed:2025-10-20")
    broken_json, good_json = [], []
    for line in lines_of(contacts_file(faulty_dir, D1)):
        try:
            json.loads(line)
            good_json.append(line)
        except json.JSONDecodeError:
            broken_json.append(line)
    assert len(broken_json) == entry(faulty, "hubspot", D1).malformed == 3
    assert good_json == lines_of(contacts_file(clean_dir, D1))

    broken_csv, good_csv = [], []
    for name in ORDER_FILES:
        for line in lines_of(orders_file(faulty_dir, D1, name))[1:]:
            (good_csv if len(next(csv.reader([line]))) == 7 else broken_csv).append(line)
    assert len(broken_csv) == entry(faulty, "orders", D1).malformed == 3
    for line in broken_csv:  # one field off at the end, so DuckDB rejects each line once
        fields = line.split(",")
        assert len(fields) in (6, 8) and fields[-1]
        assert any(clean.startswith(",".join(fields[:6]) + ",") for clean in good_csv)
    assert good_csv == [line for name in ORDER_FILES for line in lines_of(orders_file(clean_dir, D1, name))[1:]]
    for source in SOURCES:
        assert entry(faulty, source, D1).records == entry(clean, source, D1).records


def test_bad_types_are_well_formed_records_whose_values_do_not_cast(tmp_path: Path) -> None:
    _, faulty_dir, clean, faulty = fault_run(tmp_path, "bad-types:2025-10-20")
    bad_orders = []
    for row in orders(faulty_dir, D1):
        assert None not in row.values() and None not in row  # right number of fields
        try:
            float(row["amount"])
            ok = is_timestamp(row["ordered_at"]) and is_timestamp(row["updated_at"])
        except ValueError:
            ok = False
        if not ok:
            bad_orders.append(row)
    assert len(bad_orders) == entry(faulty, "orders", D1).bad_types == 3
    assert {r["amount"] for r in bad_orders} >= {"12,50 EUR", "abc"}
    assert "yesterday" in {r["ordered_at"] for r in bad_orders}

    objs = contacts(faulty_dir, D1)
    bad_contacts = [o for o in objs if not is_timestamp(o["createdAt"]) or not isinstance(o["archived"], bool)]
    assert len(bad_contacts) == entry(faulty, "hubspot", D1).bad_types == 3
    assert {o["createdAt"] for o in bad_contacts} >= {"not-a-date"} and "maybe" in {o["archived"] for o in bad_contacts}
    for source in SOURCES:
        assert entry(faulty, source, D1).records == entry(clean, source, D1).records


def test_extra_column(tmp_path: Path) -> None:
    _, faulty_dir, _, faulty = fault_run(tmp_path, "extra-column:2025-10-20")
    for name in ORDER_FILES:
        assert lines_of(orders_file(faulty_dir, D1, name))[0] == HEADER + ",coupon_code"
    rows = orders(faulty_dir, D1)
    assert len(rows) == entry(faulty, "orders", D1).records
    assert all(None not in row for row in rows) and any(row["coupon_code"] for row in rows)
    objs = contacts(faulty_dir, D1)
    assert all(isinstance(o["associations"]["companies"][0], str) for o in objs)


def test_missing_column(tmp_path: Path) -> None:
    _, faulty_dir, _, faulty = fault_run(tmp_path, "missing-column:2025-10-20")
    for name in ORDER_FILES:
        assert lines_of(orders_file(faulty_dir, D1, name))[0] == HEADER.replace(",currency", "")
    rows = orders(faulty_dir, D1)
    assert len(rows) == entry(faulty, "orders", D1).records and all(len(row) == 6 for row in rows)
    assert all("updatedAt" not in o and "createdAt" in o for o in contacts(faulty_dir, D1))


def test_empty_replaces_the_regular_files_with_one_empty_file(tmp_path: Path) -> None:
    generate(tmp_path, D1, D1, rows=ROWS)  # the second order file must go away
    summary = generate(tmp_path, D1, D1, rows=ROWS, faults=[parse_fault("empty:2025-10-20")])
    assert sorted(tree(tmp_path)) == ["hubspot/contacts/2025-10-20/contacts-0001.jsonl",
                                      "orders/2025-10-20/orders-0001.csv"]
    assert orders_file(tmp_path, D1, "orders-0001.csv").read_text() == HEADER + "\n"
    assert contacts_file(tmp_path, D1).read_bytes() == b""
    for day_files in summary.days:
        assert len(day_files.files) == 1 and day_files.records == 0


def test_a_fault_changes_only_its_day_and_source(tmp_path: Path) -> None:
    generate(tmp_path / "clean", D1, D3, rows=ROWS)
    generate(tmp_path / "faulty", D1, D3, rows=ROWS,
             faults=[Fault("malformed", D2, "orders"), Fault("extra-column", D2, "orders")])
    clean, faulty = tree(tmp_path / "clean"), tree(tmp_path / "faulty")
    changed = sorted(k for k in clean if clean[k] != faulty[k])
    assert changed == ["orders/2025-10-21/orders-0001.csv", "orders/2025-10-21/orders-0002.csv"]


# ----- late data -------------------------------------------------------------------------------


def test_late_adds_a_file_without_touching_the_others(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    generate(raw, D1, D2, rows=ROWS)
    before = tree(raw)
    for path in raw.rglob("*"):
        if path.is_file():
            os.utime(path, (1_000_000_000, 1_000_000_000))
    regular = generate(tmp_path / "again", D2, D2, rows=ROWS)

    summary = generate(raw, D2, D2, rows=ROWS, faults=[parse_fault("late:2025-10-21")])
    after = tree(raw)
    assert sorted(set(after) - set(before)) == ["hubspot/contacts/2025-10-21/contacts-late-0001.jsonl",
                                                "orders/2025-10-21/orders-late-0001.csv"]
    assert all(after[k] == v for k, v in before.items())
    assert all(raw.joinpath(k).stat().st_mtime == 1_000_000_000 for k in before)

    late_orders = orders(raw, D2, ("orders-late-0001.csv",))
    assert lines_of(orders_file(raw, D2, "orders-late-0001.csv"))[0] == HEADER
    assert len({r["order_id"] for r in late_orders}) == ROWS // 10
    known = {r["order_id"] for day in (D1, D2) for r in orders(raw, day)}
    assert known.isdisjoint(r["order_id"] for r in late_orders)
    late_contacts = contacts(raw, D2, "contacts-late-0001.jsonl")
    assert len(late_contacts) == ROWS // 4 // 10
    assert {o["id"] for o in late_contacts}.isdisjoint(o["id"] for o in contacts(raw, D2))
    assert all(stamp_day(o["updatedAt"]) == D2 for o in late_contacts)

    ords, hub = entry(summary, "orders", D2), entry(summary, "hubspot", D2)
    assert ords.files == tuple(orders_file(raw, D2, name) for name in (*ORDER_FILES, "orders-late-0001.csv"))
    assert hub.files == (contacts_file(raw, D2), contacts_file(raw, D2, "contacts-late-0001.jsonl"))
    assert ords.records == entry(regular, "orders", D2).records + len(late_orders)
    assert hub.records == entry(regular, "hubspot", D2).records + len(late_contacts)


def test_late_on_an_empty_landing_zone_writes_the_regular_files_too(tmp_path: Path) -> None:
    generate(tmp_path / "clean", D2, D2, rows=ROWS)
    generate(tmp_path / "step", D2, D2, rows=ROWS)
    generate(tmp_path / "step", D2, D2, rows=ROWS, faults=[parse_fault("late:2025-10-21")])
    generate(tmp_path / "fresh", D2, D2, rows=ROWS, faults=[parse_fault("late:2025-10-21")])
    fresh = tree(tmp_path / "fresh")
    assert fresh == tree(tmp_path / "step")
    assert all(fresh[k] == v for k, v in tree(tmp_path / "clean").items()) and len(fresh) == 5


def test_late_after_faults_reports_what_the_kept_files_hold(tmp_path: Path) -> None:
    spoil = [parse_fault(f"{kind}:2025-10-20") for kind in ("duplicates", "malformed", "bad-types")]
    first = generate(tmp_path, D1, D1, rows=ROWS, faults=spoil)
    late = generate(tmp_path, D1, D1, rows=ROWS, faults=[parse_fault("late:2025-10-20")])
    for source in SOURCES:
        was, now = entry(first, source, D1), entry(late, source, D1)
        late_records = len(lines_of(now.files[-1])) - (source == "orders")
        assert (now.malformed, now.bad_types, now.duplicates) == (was.malformed, was.bad_types, was.duplicates)
        assert now.records == was.records + late_records


def test_late_with_other_faults_on_existing_files_is_refused(tmp_path: Path) -> None:
    generate(tmp_path, D1, D1, rows=ROWS)
    both = [parse_fault("late:2025-10-20"), parse_fault("malformed:2025-10-20")]
    before = tree(tmp_path)
    with pytest.raises(UsageError, match="late"):
        generate(tmp_path, D1, D1, rows=ROWS, faults=both)
    assert tree(tmp_path) == before
    # on a fresh landing zone both apply: the regular files get the fault, the late file is added
    summary = generate(tmp_path / "fresh", D1, D1, rows=ROWS,
                       faults=[parse_fault("late:2025-10-20:orders"), parse_fault("malformed:2025-10-20:orders")])
    assert entry(summary, "orders", D1).malformed == 3 and len(entry(summary, "orders", D1).files) == 3


# ----- parse_fault and argument errors --------------------------------------------------------


def test_parse_fault_accepts_every_kind_with_and_without_source() -> None:
    assert parse_fault("duplicates:2025-10-20") == Fault("duplicates", D1, None)
    assert parse_fault("late:2025-10-21:orders") == Fault("late", D2, "orders")
    for kind in FAULT_KINDS:
        for source in SOURCES:
            assert parse_fault(f"{kind}:2025-10-22:{source}") == Fault(kind, D3, source)


@pytest.mark.parametrize(
    ("text", "bad", "allowed"),
    [
        ("dupes:2025-10-20", "'dupes'", "duplicates, malformed, bad-types"),
        ("duplicates:2025-13-40", "'2025-13-40'", "YYYY-MM-DD"),
        ("duplicates:../../etc", "'../../etc'", "YYYY-MM-DD"),
        ("../../etc", "'../../etc'", "KIND:YYYY-MM-DD"),
        ("duplicates:20251020", "'20251020'", "YYYY-MM-DD"),
        ("duplicates:2025-10-20:salesforce", "'salesforce'", "hubspot, orders"),
        ("duplicates:2025-10-20:orders:x", "'duplicates:2025-10-20:orders:x'", "KIND:YYYY-MM-DD"),
        ("late\n:2025-10-20", "'late\\n'", "late, empty"),
    ],
)
def test_parse_fault_rejects_bad_input_with_a_one_line_message(text: str, bad: str, allowed: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_fault(text)
    message = str(caught.value)
    assert "\n" not in message and bad in caught.value.what and allowed in message


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"start": D2, "end": D1}, "before start"),
        ({"faults": [Fault("malformed", D3)]}, "outside"),
        ({"faults": [Fault("typo", D1)]}, "unknown fault kind"),
        ({"faults": [Fault("late", D1, "salesforce")]}, "unknown source"),
        ({"faults": [Fault("empty", D1, "orders"), Fault("duplicates", D1)]}, "no records"),
        ({"rows": 0}, "rows"),
        ({"start": dt.date(1999, 12, 31)}, "before 2000-01-01"),
    ],
)
def test_generate_rejects_bad_arguments_before_writing(tmp_path: Path, kwargs: dict, words: str) -> None:
    args = {"start": D1, "end": D2, "rows": ROWS, **kwargs}
    with pytest.raises(UsageError, match=words):
        generate(tmp_path / "raw", **args)
    assert not (tmp_path / "raw").exists()
