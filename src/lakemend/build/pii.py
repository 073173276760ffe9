"""PII detection: **the** definition of what looks like an e-mail address or a phone number.

The publish gate (:func:`lakemend.build.model.build_model`) and ``verify``
(:mod:`lakemend.ops.recovery`) both scan with :func:`scan`, so what one refuses the other finds.
A table is scanned when :func:`forbids_pii` says so: every gold table, and any silver table with
``pii: forbid`` (``pii: allow`` turns a gold table's gate off). Every text column the table does
not mask is scanned — VARCHAR, and nested values that hold text (cast to text) — for e-mail
addresses, phone numbers and the table's own ``pii_patterns``.

The patterns are written for both engines that read them: DuckDB's RE2 and Python's ``re`` (no
look-arounds, no back-references). A phone number is ``+`` and 7–15 digits, or three groups of
digits with separators (``415-555-0100``, ``(415) 555 0100``, ``020 7946 0958``, ``1-800-555-0199``);
a bare run of digits is not one (ids look the same), nor are dates, times, amounts, IP
addresses, UUIDs or hashes. Add a ``pii_patterns`` entry for anything else a table must not hold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lakemend.engines.base import Session
from lakemend.engines.sql import lit, q
from lakemend.errors import ConfigError, SqlError
from lakemend.project.project import TableSpec

EMAIL = r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}"
"""Something@something.tld — deliberately broad: a masked ``partial`` value (``***@domain``) matches
too, which is why masked columns are not scanned."""

_START = r"(^|[^0-9A-Za-z.-])"  # not inside a longer number, word, version or id (RE2 has no look-behind)
_END = r"\.?([^0-9A-Za-z.-]|$)"  # a full stop may end the sentence, not continue the number
PHONE = (
    _START
    + r"(\+[0-9]([ .()-]{0,2}[0-9]){6,14}"  # international: + and 7–15 digits
    + r"|([0-9]{1,3}[ -])?\(?[0-9]{2,5}\)?[ .-][0-9]{3,4}[ .-][0-9]{3,5})"  # national: three groups
    + _END
)

BUILT_IN: tuple[tuple[str, str], ...] = (("e-mail address(es)", EMAIL), ("phone number(s)", PHONE))
"""(what a hit is called in messages, pattern)."""

def forbids_pii(spec: TableSpec) -> bool:
    """Whether the table must hold no PII in its unmasked text columns (the publish gate applies).

    Gold tables do unless ``pii: allow``; silver tables when ``pii: forbid`` or ``pii_patterns``.
    """
    cfg = spec.model
    if cfg is None:
        return False
    if cfg.pii is not None:
        return cfg.pii == "forbid"
    return spec.layer == "gold" or bool(cfg.pii_patterns)


def detectors(spec: TableSpec) -> list[tuple[str, str]]:
    """The (name, pattern) pairs the table is scanned with: the built-in ones and its own."""
    extra = spec.model.pii_patterns if spec.model is not None else []
    return [*BUILT_IN, *((f"value(s) matching pii pattern {p!r}", p) for p in extra)]


@dataclass(frozen=True)
class PiiHit:
    """Values of one column that look like one kind of PII."""

    column: str
    kind: str
    count: int

    def describe(self) -> str:
        return f"{self.count} {self.kind} in unmasked column {self.column}"


def text_columns(con: Session, relation: str, skip: Sequence[str] = ()) -> list[str]:
    """The columns of ``relation`` that hold text (directly or nested), but those in ``skip``."""
    found = []
    for name, kind, *_ in con.execute(f"DESCRIBE {relation}"):
        kind = str(kind).upper()
        if name in skip or name == "day":
            continue
        if kind == "VARCHAR" or kind == "JSON" or ("VARCHAR" in kind and any(k in kind for k in ("STRUCT", "[]", "MAP", "UNION"))):
            found.append(name)
    return found


def scan(con: Session, relation: str, spec: TableSpec, skip: Sequence[str] = ()) -> list[PiiHit]:
    """The PII found in ``relation``'s text columns (but ``skip``, the masked ones), per column and kind.

    One pass over the rows with all patterns as one alternation; a second pass counts per kind,
    only over the columns that had a hit (a clean day — the normal case — costs one scan).
    """
    columns = text_columns(con, relation, skip)
    if not columns:
        return []
    try:
        first = con.execute("SELECT " + ", ".join(any_pii_sql(spec, [c]) for c in columns) + f" FROM {relation}")[0]
        return count_kinds(con, relation, spec, [c for c, count in zip(columns, first, strict=True) if count])
    except SqlError as exc:  # a configured pattern RE2 cannot compile
        raise pattern_error(spec, exc) from None


def any_pii_sql(spec: TableSpec, columns: Sequence[str]) -> str:
    """An aggregate: how many rows hold, in any of ``columns``, anything :func:`detectors` match —
    :func:`scan`'s first pass, also folded by ``verify`` into its one pass over the rows.

    The built-in patterns run once per row over the columns' values joined by a newline (one regex
    call per row instead of one per value): neither pattern can match across a newline (e-mail
    parts exclude ``\\s``; phone separators are ``[ .()-]``), and a newline is as much a boundary
    to them as the start or end of a value, so the join finds exactly the rows the values would.
    A table's own ``pii_patterns`` (which may anchor on a whole value) run per value.
    """
    values = [f"CAST({q(c)} AS VARCHAR)" for c in columns]
    built_in = "|".join(f"(?:{pattern})" for _, pattern in BUILT_IN)
    joined = values[0] if len(values) == 1 else f"concat_ws(chr(10), {', '.join(values)})"
    tests = [f"regexp_matches({joined}, {lit(built_in)})"]
    own = [pattern for _, pattern in detectors(spec)[len(BUILT_IN):]]
    if own:
        anything = "|".join(f"(?:{pattern})" for pattern in own)
        tests += [f"regexp_matches({v}, {lit(anything)})" for v in values]
    return f"count_if({' OR '.join(tests)})"


def count_kinds(con: Session, relation: str, spec: TableSpec, columns: Sequence[str]) -> list[PiiHit]:
    """:func:`scan`'s second pass: the hits per kind in ``columns`` (those the first pass found PII in)."""
    if not columns:
        return []
    cells = [(c, kind, pattern) for c in columns for kind, pattern in detectors(spec)]
    counts = con.execute("SELECT " + ", ".join(
        f"count_if(regexp_matches(CAST({q(c)} AS VARCHAR), {lit(pattern)}))" for c, _, pattern in cells) + f" FROM {relation}")[0]
    return [PiiHit(c, kind, int(n)) for (c, kind, _), n in zip(cells, counts, strict=True) if n]


def pattern_error(spec: TableSpec, exc: Exception) -> ConfigError:
    """The error for a configured pattern the engine (RE2) cannot run."""
    return ConfigError(f"{spec.qualified}: pii_patterns cannot be run: {str(exc).splitlines()[0]}",
                       "fix pii_patterns in lakemend.yaml (RE2 syntax)")


def check_patterns(con: Session, spec: TableSpec) -> None:
    """Raise :func:`pattern_error` when a detector of the table does not compile (no rows read)."""
    try:
        con.execute("SELECT " + ", ".join(f"regexp_matches('', {lit(p)})" for _, p in detectors(spec)))
    except SqlError as exc:
        raise pattern_error(spec, exc) from None
