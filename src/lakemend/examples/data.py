"""Deterministic landing-zone files for the example company lake, with faults on demand.

Two sources deliver one folder per day into ``raw_dir``:

* ``hubspot/contacts/YYYY-MM-DD/contacts-0001.jsonl`` — HubSpot CRM v3 contact objects;
* ``orders/YYYY-MM-DD/orders-0001.csv`` and ``orders-0002.csv`` — the shop's order export.

Every (source, day) is generated from its own random stream, so one day alone comes out
byte-identical to the same day inside a longer range.  Facts that several days must agree
on (a contact's id, e-mail, name and creation time) are not drawn from a stream at all but
computed from the contact id with an integer hash, and contact ids come in fixed blocks per
day: day ``D`` owns block ``(D - 2000-01-01).days + 60``, and its updates touch contacts of
the 60 blocks before it.  That is how day ``D`` can name earlier contacts without generating
earlier days.  Orders of a day only buy from contacts present in that day's contact file
(created that day or updated that day, so created on or before it): the customers of any
generated range are therefore in the generated contacts.

Faults (``FAULT_KINDS``) change one day's files of one or both sources; each fault draws from
its own stream so adding a fault never changes the clean records around it.
"""

from __future__ import annotations

import csv
import datetime
import functools
import io
import json
import os
import random
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from lakemend.errors import UsageError

FAULT_KINDS: tuple[str, ...] = (
    "duplicates", "malformed", "bad-types", "extra-column", "missing-column", "late", "empty",
)
SOURCES: tuple[str, ...] = ("hubspot", "orders")

ORDER_COLUMNS: tuple[str, ...] = (
    "order_id", "customer_email", "amount", "currency", "status", "ordered_at", "updated_at",
)
LIFECYCLE_STAGES: tuple[str, ...] = (
    "subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead",
    "opportunity", "customer", "evangelist", "other",
)
CURRENCIES: tuple[str, ...] = ("USD", "EUR", "GBP")
ORDER_STATUSES: tuple[str, ...] = ("pending", "paid", "shipped", "cancelled", "refunded")

#: Contact id blocks are counted from here; earlier days are refused.
EPOCH = datetime.date(2000, 1, 1)
#: Contact updates on day D touch contacts created during this many days before D.
UPDATE_WINDOW_DAYS = 60

_DAY_MS = 86_400_000
_DAY_S = 86_400
_MESSY_EMAIL_SHARE = 0.05
_ORDER_UPDATE_SHARE = 0.03
_CONTACT_UPDATE_SHARE = 5  # one contact record in five is an update of an older contact (n // 5)
_DUPLICATE_SHARE = 0.05
_FAULTY_LINES = 3
_RECORD_FAULTS = frozenset({"duplicates", "malformed", "bad-types"})

_FIRST_NAMES: tuple[tuple[str, str], ...] = (  # (as displayed, as used in e-mails)
    ("Ada", "ada"), ("Alan", "alan"), ("Grace", "grace"), ("Linus", "linus"), ("Margaret", "margaret"),
    ("Katherine", "katherine"), ("Dennis", "dennis"), ("Barbara", "barbara"), ("Ken", "ken"),
    ("Frances", "frances"), ("Edsger", "edsger"), ("Radia", "radia"), ("Tim", "tim"),
    ("Hedy", "hedy"), ("John", "john"), ("Mary", "mary"), ("Guido", "guido"), ("Sophie", "sophie"),
    ("José", "jose"), ("Zoë", "zoe"), ("Björn", "bjorn"), ("Łukasz", "lukasz"), ("Siobhán", "siobhan"),
    ("Aiko", "aiko"), ("Chidi", "chidi"), ("Priya", "priya"), ("Mateo", "mateo"), ("Noor", "noor"),
)
_LAST_NAMES: tuple[tuple[str, str], ...] = (
    ("Lovelace", "lovelace"), ("Turing", "turing"), ("Hopper", "hopper"), ("Torvalds", "torvalds"),
    ("Hamilton", "hamilton"), ("Johnson", "johnson"), ("Ritchie", "ritchie"), ("Liskov", "liskov"),
    ("Thompson", "thompson"), ("Allen", "allen"), ("Dijkstra", "dijkstra"), ("Perlman", "perlman"),
    ("Berners-Lee", "bernerslee"), ("Lamarr", "lamarr"), ("Backus", "backus"), ("Keller", "keller"),
    ("van Rossum", "vanrossum"), ("Wilson", "wilson"), ("García", "garcia"), ("Müller", "muller"),
    ("Nakamura", "nakamura"), ("Okafor", "okafor"), ("Sharma", "sharma"), ("O'Brien", "obrien"),
)
_DOMAINS: tuple[str, ...] = (  # reserved example domains only (RFC 2606)
    "example.com", "example.org", "example.net", "mail.example", "acme.example", "globex.example",
)
_COMPANIES: tuple[str, ...] = (
    "Acme Corp", "Globex", "Initech", "Umbrella Ltd", "Stark Industries", "Wayne Enterprises",
    "Hooli", "Pied Piper", "Soylent", "Tyrell GmbH", "Wonka Sweets", "Cyberdyne", "",
)
_AREA_CODES: tuple[int, ...] = (415, 212, 312, 646, 206, 617, 303, 512)
_COUPONS: tuple[str, ...] = ("WELCOME10", "FALL25", "VIP", "FREESHIP")

_NEXT_STATUS: dict[str, tuple[str, ...]] = {
    "pending": ("paid", "cancelled"),
    "paid": ("shipped", "refunded"),
    "shipped": ("refunded",),
}

_DAY_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_FAULT_FORM = "KIND:YYYY-MM-DD or KIND:YYYY-MM-DD:SOURCE"


# ----- public API ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    """One fault to inject: ``kind`` (one of FAULT_KINDS) on ``day``, in ``source`` or both."""

    kind: str
    day: datetime.date
    source: str | None = None


@dataclass(frozen=True)
class DayFiles:
    """The files of one (source, day) and what is in them.

    ``records`` counts well-formed data records (CSV rows / JSON lines), duplicate copies
    and bad-typed records included, malformed lines excluded.
    """

    source: str
    day: datetime.date
    files: tuple[Path, ...]
    records: int
    malformed: int
    bad_types: int
    duplicates: int


@dataclass(frozen=True)
class GenerateSummary:
    days: tuple[DayFiles, ...]


def parse_fault(text: str) -> Fault:
    """Parse ``KIND:YYYY-MM-DD`` or ``KIND:YYYY-MM-DD:SOURCE``."""
    parts = text.split(":")
    if len(parts) not in (2, 3):
        raise UsageError(f"fault {text!r} is not {_FAULT_FORM}", "e.g. malformed:2025-10-20:orders")
    kind, day_text = parts[0], parts[1]
    source = parts[2] if len(parts) == 3 else None
    if kind not in FAULT_KINDS:
        raise UsageError(f"unknown fault kind {kind!r} in {text!r}", f"use one of: {', '.join(FAULT_KINDS)}")
    day = _parse_day(day_text)
    if day is None:
        raise UsageError(f"invalid fault date {day_text!r} in {text!r}",
                         "use a real calendar day as YYYY-MM-DD, e.g. 2025-10-20")
    if source is not None and source not in SOURCES:
        raise UsageError(f"unknown source {source!r} in {text!r}",
                         f"use one of: {', '.join(SOURCES)} (or leave it out for both)")
    return Fault(kind, day, source)


def generate(
    raw_dir: Path,
    start: datetime.date,
    end: datetime.date,
    rows: int = 2000,
    seed: int = 7,
    faults: Sequence[Fault] = (),
) -> GenerateSummary:
    """Write the landing files for every day in [start, end] and both sources.

    ``rows`` is orders per day; contacts per day are ``max(1, rows // 4)``.  A ``late`` fault
    adds ``*-late-0001.*`` to its day and leaves that day's existing regular files untouched.
    """
    _check_arguments(start, end, rows, seed)
    raw_dir = Path(raw_dir)
    plan = _plan_faults(faults, start, end)
    _check_late_conflicts(raw_dir, plan)
    days: list[DayFiles] = []
    day = start
    while day <= end:
        for source in SOURCES:
            kinds = plan.get((day, source), frozenset())
            days.append(_generate_day(_FORMATS[source], raw_dir, day, rows, seed, kinds))
        day += datetime.timedelta(days=1)
    return GenerateSummary(tuple(days))


# ----- argument checks ------------------------------------------------------------------------


def _parse_day(text: str) -> datetime.date | None:
    if not _DAY_TEXT.fullmatch(text):
        return None
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        return None


def _is_day(value: object) -> bool:
    return isinstance(value, datetime.date) and not isinstance(value, datetime.datetime)


def _check_arguments(start: datetime.date, end: datetime.date, rows: int, seed: int) -> None:
    if not (_is_day(start) and _is_day(end)):
        raise UsageError(f"start and end must be dates, got {start!r} and {end!r}", "pass datetime.date values")
    if start > end:
        raise UsageError(f"end {end} is before start {start}", "swap them")
    if start < EPOCH:
        raise UsageError(f"start {start} is before {EPOCH}, where the example data begins",
                         f"use days from {EPOCH} on")
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 1:
        raise UsageError(f"rows must be a positive whole number, got {rows!r}", "e.g. rows=2000")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise UsageError(f"seed must be a whole number, got {seed!r}", "e.g. seed=7")


def _plan_faults(faults: Sequence[Fault], start: datetime.date, end: datetime.date
                 ) -> dict[tuple[datetime.date, str], frozenset[str]]:
    """The fault kinds per (day, source), checked against the range and each other."""
    plan: dict[tuple[datetime.date, str], set[str]] = {}
    for fault in faults:
        if fault.kind not in FAULT_KINDS:
            raise UsageError(f"unknown fault kind {fault.kind!r}", f"use one of: {', '.join(FAULT_KINDS)}")
        if fault.source is not None and fault.source not in SOURCES:
            raise UsageError(f"unknown source {fault.source!r} in fault {fault.kind}:{fault.day}",
                             f"use one of: {', '.join(SOURCES)} (or None for both)")
        if not _is_day(fault.day) or not start <= fault.day <= end:
            raise UsageError(f"fault {fault.kind}:{fault.day} is outside {start}..{end}",
                             "widen the range or move the fault")
        for source in (fault.source,) if fault.source else SOURCES:
            plan.setdefault((fault.day, source), set()).add(fault.kind)
    for (day, source), kinds in sorted(plan.items()):
        spoiled = sorted(kinds & _RECORD_FAULTS)
        if "empty" in kinds and spoiled:
            raise UsageError(f"empty:{day}:{source} leaves no records for {', '.join(spoiled)}",
                             "drop one of them")
    return {key: frozenset(kinds) for key, kinds in plan.items()}


def _check_late_conflicts(raw_dir: Path, plan: dict[tuple[datetime.date, str], frozenset[str]]) -> None:
    """``late`` keeps existing regular files as they are, so other faults could not apply to them."""
    for (day, source), kinds in sorted(plan.items()):
        others = sorted(kinds - {"late"})
        fmt = _FORMATS[source]
        if "late" in kinds and others and fmt.existing_regular(fmt.folder(raw_dir, day)):
            raise UsageError(
                f"{source} files for {day} already exist and late:{day} keeps them as they are, "
                f"so {', '.join(others)} cannot be applied",
                "generate the day with those faults first, then add late in a second run",
            )


# ----- deterministic identities -----------------------------------------------------------------

_MASK64 = (1 << 64) - 1


def _mix(a: int, b: int) -> int:
    """A 64-bit hash of two integers (splitmix64 finaliser): identities must not need a stream."""
    x = ((a & _MASK64) * 0x9E3779B97F4A7C15 + (b & _MASK64) + 0x632BE59BD9B4E019) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


class _Person(NamedTuple):
    """What never changes about a contact, computed from its id alone."""

    id: int
    firstname: str
    lastname: str
    email: str
    phone: str
    company: str
    stage: str
    day: str  # creation day, ISO text
    created: str  # createdate / createdAt text
    saved_ms: int  # when the new contact was last modified on its creation day


_NF, _NL, _ND, _NC = len(_FIRST_NAMES), len(_LAST_NAMES), len(_DOMAINS), len(_COMPANIES)


def _contacts_per_day(rows: int) -> int:
    return max(1, rows // 4)


def _late_count(records_per_day: int) -> int:
    return max(1, records_per_day // 10)


def _new_contacts_per_day(n: int) -> int:
    return n - n // _CONTACT_UPDATE_SHARE


def _block(day: datetime.date) -> int:
    return (day - EPOCH).days + UPDATE_WINDOW_DAYS


@functools.lru_cache(maxsize=1024)
def _block_day(block: int) -> str:
    """The day (as text) whose new contacts hold id block ``block``."""
    return (EPOCH + datetime.timedelta(days=block - UPDATE_WINDOW_DAYS)).isoformat()


def _email(h: int, contact_id: int) -> str:
    """The canonical e-mail of a contact; ``h`` is ``_mix(seed, contact_id)``."""
    first = _FIRST_NAMES[h % _NF][1]
    last = _LAST_NAMES[h // _NF % _NL][1]
    domain = _DOMAINS[h // (_NF * _NL) % _ND]
    return f"{first}.{last}{contact_id}@{domain}"


def _person(seed: int, contact_id: int, n: int) -> _Person:
    h = _mix(seed, contact_id)
    rest = h // (_NF * _NL * _ND)
    times = _mix(h, contact_id)
    created_ms = times % _DAY_MS
    day = _block_day((contact_id - 1) // n)
    return _Person(
        id=contact_id,
        firstname=_FIRST_NAMES[h % _NF][0],
        lastname=_LAST_NAMES[h // _NF % _NL][0],
        email=_email(h, contact_id),
        phone=_phone(rest // (_NC * 3)),
        company=_COMPANIES[rest % _NC],
        stage=LIFECYCLE_STAGES[rest // _NC % 3],  # new contacts start as subscriber, lead or MQL
        day=day,
        created=_stamp_ms(day, created_ms),
        saved_ms=min(_DAY_MS - 1, created_ms + (times >> 32) % 300_000),
    )


def _phone(h: int) -> str:
    """A fictional North American number (555-01xx is reserved for fiction)."""
    return f"+1 {_AREA_CODES[h % len(_AREA_CODES)]} 555 {100 + (h >> 8) % 100:04d}"


@dataclass(frozen=True)
class _Roster:
    """The contacts in one day's files: new ones, regular updates, and updates kept for a late file."""

    new: range
    updates: list[int]
    late: list[int]


def _roster(seed: int, day: datetime.date, n: int) -> _Roster:
    new_count = _new_contacts_per_day(n)
    update_count = n - new_count
    first = _block(day) * n + 1
    # regular and late updates are drawn together so they never touch the same contact
    rng = random.Random(f"{seed}:hubspot:{day}:roster")
    picks = rng.sample(range(UPDATE_WINDOW_DAYS * new_count), update_count + _late_count(n))
    ids = [(_block(day) - 1 - p // new_count) * n + 1 + p % new_count for p in picks]
    return _Roster(range(first, first + new_count), ids[:update_count], ids[update_count:])


def _customer_emails(seed: int, day: datetime.date, rows: int) -> list[str]:
    """E-mails of the contacts in ``day``'s regular contact file, i.e. created on or before ``day``."""
    roster = _roster(seed, day, _contacts_per_day(rows))
    return [_email(_mix(seed, cid), cid) for cid in (*roster.new, *roster.updates)]


# ----- shared formatting ---------------------------------------------------------------------------

@functools.cache
def _clock_table() -> tuple[str, ...]:
    """``HH:MM:SS`` for every second of a day, built once: orders need millions of them."""
    return tuple(f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(_DAY_S))


@functools.cache
def _amount_table() -> tuple[str, ...]:
    """Every order amount from 5.00 to 604.99, as text."""
    return tuple(f"{cents // 100}.{cents % 100:02d}" for cents in range(500, 60_500))


def _stamp_ms(day: str, ms: int) -> str:
    """``YYYY-MM-DDTHH:MM:SS.mmmZ`` for a millisecond of ``day`` (ISO text)."""
    return f"{day}T{_clock_table()[ms // 1000]}.{ms % 1000:03d}Z"


def _messy(email: str, style: int) -> str:
    if style == 0:
        return f" {email}"
    if style == 1:
        return f"{email}  "
    if style == 2:
        return email.upper()
    local, _, domain = email.partition("@")
    return f" {local.title()}@{domain.title()} "


def _mess_up(emails: list[str], rng: random.Random) -> None:
    """Pad and/or upper-case ~5 % of the e-mails in place, as people type them."""
    for index in rng.sample(range(len(emails)), round(len(emails) * _MESSY_EMAIL_SHARE)):
        emails[index] = _messy(emails[index], rng.randrange(4))


def _in_time_order(lines: list[str], times: list[int]) -> list[str]:
    """Lines sorted by change time; the sort is stable, so ties keep generation order."""
    return [lines[index] for index in sorted(range(len(lines)), key=times.__getitem__)]


def _json_line(obj: dict[str, Any]) -> str:
    return json.dumps(obj, ensure_ascii=False) + "\n"


def _csv_line(fields: list[str]) -> str:
    """One CSV line; plain join unless a field needs quoting (only spoiled values do)."""
    line = ",".join(fields)
    if '"' in line or line.count(",") != len(fields) - 1 or "\n" in line or "\r" in line:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="").writerow(fields)
        line = buffer.getvalue()
    return line + "\n"


# ----- contacts --------------------------------------------------------------------------------------


def _contact_line(person: _Person, email: str, phone: str, company: str, stage: str, updated: str) -> str:
    """A contact as ``json.dumps(obj, ensure_ascii=False)`` would write it.

    A template, because json.dumps was the slowest step at a million rows; safe because every
    value comes from the fixed tables above (no quotes, backslashes or control characters).
    The tests check the bytes against json.dumps.
    """
    created = person.created
    return (
        f'{{"id": "{person.id}", "properties": {{"email": "{email}", "firstname": "{person.firstname}", '
        f'"lastname": "{person.lastname}", "phone": "{phone}", "company": "{company}", '
        f'"lifecyclestage": "{stage}", "createdate": "{created}", "lastmodifieddate": "{updated}"}}, '
        f'"createdAt": "{created}", "updatedAt": "{updated}", "archived": false}}\n'
    )


def _update_lines(people: list[_Person], day: str, rng: random.Random,
                  times: list[int], lines: list[str]) -> None:
    """Later snapshots of earlier contacts: a new timestamp, maybe a new stage, company or phone."""
    emails = [person.email for person in people]
    _mess_up(emails, rng)
    for person, email in zip(people, emails, strict=True):
        ms = int(rng.random() * _DAY_MS)
        stage = LIFECYCLE_STAGES[rng.randrange(1, len(LIFECYCLE_STAGES))]
        company = rng.choice(_COMPANIES) if rng.random() < 0.15 else person.company
        phone = _phone(rng.getrandbits(32)) if rng.random() < 0.10 else person.phone
        times.append(ms)
        lines.append(_contact_line(person, email, phone, company, stage, _stamp_ms(day, ms)))


def _contacts_regular(seed: int, day: datetime.date, rows: int) -> list[str]:
    n = _contacts_per_day(rows)
    roster = _roster(seed, day, n)
    rng = random.Random(f"{seed}:hubspot:{day}")
    people = [_person(seed, cid, n) for cid in roster.new]
    emails = [person.email for person in people]
    _mess_up(emails, rng)
    times = [person.saved_ms for person in people]
    lines = [
        _contact_line(person, email, person.phone, person.company, person.stage, _stamp_ms(person.day, person.saved_ms))
        for person, email in zip(people, emails, strict=True)
    ]
    _update_lines([_person(seed, cid, n) for cid in roster.updates], day.isoformat(), rng, times, lines)
    return _in_time_order(lines, times)


def _contacts_late(seed: int, day: datetime.date, rows: int) -> list[str]:
    n = _contacts_per_day(rows)
    rng = random.Random(f"{seed}:hubspot:{day}:late")
    times: list[int] = []
    lines: list[str] = []
    _update_lines([_person(seed, cid, n) for cid in _roster(seed, day, n).late], day.isoformat(), rng, times, lines)
    return _in_time_order(lines, times)


# ----- orders ----------------------------------------------------------------------------------------


def _order_block(day: datetime.date, rows: int) -> int:
    """First order number of ``day`` minus one; each day owns rows + late-file numbers."""
    return (day - EPOCH).days * (rows + _late_count(rows))


def _order_lines(day: datetime.date, numbers: range, emails: list[str], rng: random.Random) -> list[str]:
    """Orders and their status changes (~3 % get a second, later row), in updated_at order.

    Built column by column with comprehensions and lookup tables: this is the hot path of the
    1M-orders benchmark.
    """
    count = len(numbers)
    rand = rng.random
    ids = [f"ord-{number:06d}" for number in numbers]
    buyers = rng.choices(emails, k=count)
    _mess_up(buyers, rng)
    amounts = _amount_table()
    prices = [amounts[int(rand() ** 2 * len(amounts))] for _ in numbers]
    currencies = rng.choices(CURRENCIES, cum_weights=(60, 85, 100), k=count)
    statuses = rng.choices(ORDER_STATUSES, cum_weights=(15, 50, 85, 93, 100), k=count)
    ordered = [int(rand() * (_DAY_S - 7200)) for _ in numbers]
    updated = [second + int(rand() * 1800) for second in ordered]
    for index in sorted(rng.sample(range(count), round(count * _ORDER_UPDATE_SHARE))):
        # the order changes later that day: same order_id, a later row with the next status
        statuses[index] = ORDER_STATUSES[rng.randrange(3)]  # pending, paid or shipped
        for column in (ids, buyers, prices, currencies, ordered):
            column.append(column[index])
        statuses.append(rng.choice(_NEXT_STATUS[statuses[index]]))
        updated.append(updated[index] + 1 + rng.randrange(3600))
    prefix = f"{day.isoformat()}T"
    clock = _clock_table()
    lines = [
        f"{order_id},{email},{amount},{currency},{status},{prefix}{clock[at]}Z,{prefix}{clock[changed]}Z\n"
        for order_id, email, amount, currency, status, at, changed
        in zip(ids, buyers, prices, currencies, statuses, ordered, updated)
    ]
    return _in_time_order(lines, updated)


def _orders_regular(seed: int, day: datetime.date, rows: int) -> list[str]:
    first = _order_block(day, rows) + 1
    rng = random.Random(f"{seed}:orders:{day}")
    return _order_lines(day, range(first, first + rows), _customer_emails(seed, day, rows), rng)


def _orders_late(seed: int, day: datetime.date, rows: int) -> list[str]:
    first = _order_block(day, rows) + rows + 1
    rng = random.Random(f"{seed}:orders:{day}:late")
    return _order_lines(day, range(first, first + _late_count(rows)), _customer_emails(seed, day, rows), rng)


def _order_columns(kinds: frozenset[str]) -> list[str]:
    columns = list(ORDER_COLUMNS)
    if "missing-column" in kinds:
        columns.remove("currency")
    if "extra-column" in kinds:
        columns.append("coupon_code")
    return columns


# ----- the two source formats ----------------------------------------------------------------------


class _ContactsFormat:
    """HubSpot contacts: one JSON object per line, one regular file per day."""

    source = "hubspot"
    stem, ext, files_per_day = "contacts", "jsonl", 1
    _spoilers = (("createdAt", "not-a-date"), ("archived", "maybe"), ("createdAt", "not-a-date"))

    def folder(self, raw_dir: Path, day: datetime.date) -> Path:
        return raw_dir / "hubspot" / "contacts" / day.isoformat()

    def regular(self, seed: int, day: datetime.date, rows: int) -> list[str]:
        return _contacts_regular(seed, day, rows)

    def late(self, seed: int, day: datetime.date, rows: int) -> list[str]:
        return _contacts_late(seed, day, rows)

    def header(self, kinds: frozenset[str]) -> list[str]:
        return []

    def reshape(self, lines: list[str], kinds: frozenset[str], rng: random.Random) -> list[str]:
        out = []
        for line in lines:
            obj = json.loads(line)
            if "extra-column" in kinds:
                obj["associations"] = {"companies": [str(10_000 + rng.randrange(90_000))]}
            if "missing-column" in kinds:
                del obj["updatedAt"]
            out.append(_json_line(obj))
        return out

    def spoil(self, line: str, variant: int, kinds: frozenset[str]) -> str:
        key, value = self._spoilers[variant % len(self._spoilers)]
        obj = json.loads(line)
        obj[key] = value
        return _json_line(obj)

    def break_line(self, line: str, variant: int, rng: random.Random) -> str:
        """A proper prefix of a JSON object, which is never valid JSON."""
        text = line.rstrip("\n")
        if variant == 0 and '"email": ' in text:
            cut = text.index('"email": ') + len('"email": ')
        else:
            cut = rng.randrange(len(text) // 3, len(text) - 1)
        return text[:cut] + "\n"

    def existing_regular(self, folder: Path) -> list[Path]:
        return _matching(folder, re.compile(r"contacts-[0-9]{4}\.jsonl"))

    def count(self, path: Path) -> _Counts:
        return _count_jsonl(path)


class _OrdersFormat:
    """Shop orders: CSV with a header, the day split over two regular files."""

    source = "orders"
    stem, ext, files_per_day = "orders", "csv", 2
    _spoilers = (("amount", "12,50 EUR"), ("amount", "abc"), ("ordered_at", "yesterday"))

    def folder(self, raw_dir: Path, day: datetime.date) -> Path:
        return raw_dir / "orders" / day.isoformat()

    def regular(self, seed: int, day: datetime.date, rows: int) -> list[str]:
        return _orders_regular(seed, day, rows)

    def late(self, seed: int, day: datetime.date, rows: int) -> list[str]:
        return _orders_late(seed, day, rows)

    def header(self, kinds: frozenset[str]) -> list[str]:
        return [",".join(_order_columns(kinds)) + "\n"]

    def reshape(self, lines: list[str], kinds: frozenset[str], rng: random.Random) -> list[str]:
        """Drop ``currency`` and/or add ``coupon_code``; clean lines hold no commas inside fields."""
        currency = ORDER_COLUMNS.index("currency")
        out = []
        for line in lines:
            fields = line.rstrip("\n").split(",")
            if "missing-column" in kinds:
                del fields[currency]
            if "extra-column" in kinds:
                fields.append(rng.choice(_COUPONS) if rng.random() < 0.2 else "")
            out.append(",".join(fields) + "\n")
        return out

    def spoil(self, line: str, variant: int, kinds: frozenset[str]) -> str:
        column, value = self._spoilers[variant % len(self._spoilers)]
        fields = line.rstrip("\n").split(",")
        fields[_order_columns(kinds).index(column)] = value
        return _csv_line(fields)

    def break_line(self, line: str, variant: int, rng: random.Random) -> str:
        """A row with its last field missing, or one non-empty field too many at the end.

        Not an unclosed quote (it swallows the lines after it), the fields before the break stay
        in place, and the surplus is never empty: then DuckDB's rejects table lists each broken
        line exactly once (it lists a shifted row once per failed cast, a short row once per
        missing column, and accepts a single empty trailing field).
        """
        fields = line.rstrip("\n").split(",")
        if variant == 0:
            return ",".join(fields[:-1]) + "\n"
        if variant == 1:
            return ",".join(fields) + ",oops\n"
        return ",".join(fields + fields[:1]) + "\n"  # the order id written twice

    def existing_regular(self, folder: Path) -> list[Path]:
        return _matching(folder, re.compile(r"orders-[0-9]{4}\.csv"))

    def count(self, path: Path) -> _Counts:
        return _count_csv(path)


_Format = _ContactsFormat | _OrdersFormat
_FORMATS: dict[str, _Format] = {"hubspot": _ContactsFormat(), "orders": _OrdersFormat()}


# ----- building a day's files ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Counts:
    records: int = 0
    malformed: int = 0
    bad_types: int = 0
    duplicates: int = 0

    def __add__(self, other: _Counts) -> _Counts:
        return _Counts(self.records + other.records, self.malformed + other.malformed,
                       self.bad_types + other.bad_types, self.duplicates + other.duplicates)


def _build_regular(fmt: _Format, seed: int, day: datetime.date, rows: int,
                   kinds: frozenset[str]) -> tuple[list[list[str]], _Counts]:
    """The lines of each regular file of the day, faults applied, and their counts."""
    if "empty" in kinds:
        return [fmt.header(kinds)], _Counts()

    def rng(kind: str) -> random.Random:
        """Each fault has its own stream, so one fault never moves another or the clean data."""
        return random.Random(f"{seed}:{fmt.source}:{day}:{kind}")

    lines = fmt.regular(seed, day, rows)
    if kinds & {"extra-column", "missing-column"}:
        lines = fmt.reshape(lines, kinds, rng("schema"))
    spoiled: list[int] = []
    if "bad-types" in kinds:
        spoiled = sorted(rng("bad-types").sample(range(len(lines)), min(_FAULTY_LINES, len(lines))))
        for variant, index in enumerate(spoiled):
            lines[index] = fmt.spoil(lines[index], variant, kinds)
    copies = _pick_duplicates(len(lines), set(spoiled), rng("duplicates")) if "duplicates" in kinds else set()
    broken = _broken_lines(fmt, lines, set(spoiled), rng("malformed")) if "malformed" in kinds else {}
    files = _assemble(lines, fmt.files_per_day, copies, broken)
    counts = _Counts(len(lines) + len(copies), sum(map(len, broken.values())), len(spoiled), len(copies))
    return [fmt.header(kinds) + file_lines for file_lines in files], counts


def _pick_duplicates(total: int, avoid: set[int], rng: random.Random) -> set[int]:
    """~5 % of records to repeat; never a bad-typed one, so its count stays exact."""
    wanted = max(1, round(total * _DUPLICATE_SHARE))
    candidates = rng.sample(range(total), min(total, wanted + len(avoid)))
    return set([index for index in candidates if index not in avoid][:wanted])


def _broken_lines(fmt: _Format, lines: list[str], avoid: set[int], rng: random.Random) -> dict[int, list[str]]:
    """Three broken lines, keyed by the record index they are inserted before."""
    broken: dict[int, list[str]] = {}
    for variant in range(_FAULTY_LINES):
        base = rng.randrange(len(lines))
        while base in avoid and len(avoid) < len(lines):  # break a clean record, not a bad-typed one
            base = rng.randrange(len(lines))
        broken.setdefault(rng.randrange(len(lines) + 1), []).append(fmt.break_line(lines[base], variant, rng))
    return broken


def _assemble(lines: list[str], parts: int, copies: set[int], broken: dict[int, list[str]]) -> list[list[str]]:
    """Split record lines over ``parts`` files; copies follow their original in the same file."""
    size = -(-len(lines) // parts)
    bounds = [(i * size, min(len(lines), (i + 1) * size)) for i in range(parts)]
    if not copies and not broken:
        return [lines[lo:hi] for lo, hi in bounds]
    files: list[list[str]] = []
    for number, (lo, hi) in enumerate(bounds):
        out: list[str] = []
        for index in range(lo, hi):
            out.extend(broken.get(index, ()))
            out.append(lines[index])
            if index in copies:
                out.append(lines[index])
        if number == parts - 1:
            out.extend(broken.get(len(lines), ()))
        files.append(out)
    return files


def _generate_day(fmt: _Format, raw_dir: Path, day: datetime.date, rows: int, seed: int,
                  kinds: frozenset[str]) -> DayFiles:
    folder = fmt.folder(raw_dir, day)
    existing = fmt.existing_regular(folder)
    if "late" in kinds and existing:
        paths, counts = existing, sum((fmt.count(path) for path in existing), _Counts())
    else:
        paths, counts = _write_regular(fmt, folder, seed, day, rows, kinds)
    if "late" in kinds:
        late_records = fmt.late(seed, day, rows)
        late_path = folder / f"{fmt.stem}-late-0001.{fmt.ext}"
        _write_atomic(late_path, fmt.header(frozenset()) + late_records)
        paths = [*paths, late_path]
        counts += _Counts(records=len(late_records))
    return DayFiles(fmt.source, day, tuple(paths), counts.records, counts.malformed,
                    counts.bad_types, counts.duplicates)


def _write_regular(fmt: _Format, folder: Path, seed: int, day: datetime.date, rows: int,
                   kinds: frozenset[str]) -> tuple[list[Path], _Counts]:
    files, counts = _build_regular(fmt, seed, day, rows, kinds)
    paths = [folder / f"{fmt.stem}-{number:04d}.{fmt.ext}" for number in range(1, len(files) + 1)]
    for path, lines in zip(paths, files, strict=True):
        _write_atomic(path, lines)
    for stale in fmt.existing_regular(folder):  # e.g. orders-0002.csv after an `empty` day
        if stale not in paths:
            stale.unlink()
    return paths, counts


def _write_atomic(path: Path, lines: Iterable[str]) -> None:
    """Write to a hidden temp file in the same folder, then rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with temp.open("w", encoding="utf-8", newline="") as handle:
            handle.writelines(lines)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _matching(folder: Path, pattern: re.Pattern[str]) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if pattern.fullmatch(p.name) and p.is_file())


# ----- counting files already on disk (a late day keeps its regular files) -------------------------


def _data_lines(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    return [line for line in text.split("\n") if line.strip()]


def _tally(lines: Iterable[str], classify: Callable[[str], str]) -> _Counts:
    """Count lines as records, malformed, bad-typed and exact repeats of an earlier record."""
    records = malformed = bad = duplicates = 0
    seen: set[str] = set()
    for line in lines:
        verdict = classify(line)
        if verdict == "malformed":
            malformed += 1
            continue
        records += 1
        bad += verdict == "bad"
        duplicates += line in seen
        seen.add(line)
    return _Counts(records, malformed, bad, duplicates)


def _is_timestamp(value: object) -> bool:
    try:
        datetime.datetime.fromisoformat(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return True


def _count_jsonl(path: Path) -> _Counts:
    def classify(line: str) -> str:
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            return "malformed"
        if not isinstance(obj, dict):
            return "malformed"
        stamps_ok = all(_is_timestamp(obj[key]) for key in ("createdAt", "updatedAt") if key in obj)
        return "ok" if stamps_ok and isinstance(obj.get("archived", False), bool) else "bad"

    return _tally(_data_lines(path), classify)


def _count_csv(path: Path) -> _Counts:
    lines = _data_lines(path)
    if not lines:
        return _Counts()
    header = next(csv.reader([lines[0]]))

    def classify(line: str) -> str:
        fields = next(csv.reader([line]), [])
        if len(fields) != len(header):
            return "malformed"
        row = dict(zip(header, fields, strict=True))
        try:
            if "amount" in row:
                float(row["amount"])
        except ValueError:
            return "bad"
        stamps_ok = all(_is_timestamp(row[key]) for key in ("ordered_at", "updated_at") if key in row)
        return "ok" if stamps_ok else "bad"

    return _tally(lines[1:], classify)
