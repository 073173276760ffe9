"""The one exception family lakemend raises on purpose, defined in one place.

Every error carries *what* went wrong (with the table, day, file or run it concerns) and *how to
fix it*. The CLI prints ``Error: <what> — <how to fix>`` (or one JSON object with ``--output
json``) and exits with ``exit_code``; anything else is a bug and shows a traceback only with
``--debug``. Failures inside a partition job are recorded in the ledger with the same message.
"""

from __future__ import annotations


class LakemendError(Exception):
    """A failure the user can act on: what went wrong and how to fix it."""

    exit_code = 1

    def __init__(self, what: str, fix: str | None = None) -> None:
        super().__init__(what)
        self.what = what
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.what} — {self.fix}" if self.fix else self.what


class UsageError(LakemendError):
    """Bad arguments: a flag, a date or a name that cannot be accepted (exit 2)."""

    exit_code = 2


class ConfigError(LakemendError):
    """The project files (lakemend.yaml, models, contracts) are invalid."""


class SqlError(LakemendError):
    """The engine rejected a statement (a model's SQL mistake, a type it cannot cast, ...)."""


class PartitionPaused(LakemendError):
    """The table is paused (``lakemend pause``); jobs refuse to write it unless forced."""


class ContractFailed(LakemendError):
    """Table-level contract checks failed: the partition was not published.

    Carries the build's figures, so the ledger records what was read and quarantined on the way
    to the failure (a contract that fails because every row broke a rule must say so).
    """

    def __init__(self, what: str, fix: str | None = None, *, rows_read: int | None = None,
                 rows_quarantined: int | None = None, rows_deduplicated: int | None = None,
                 rule_counts: dict[str, int] | None = None) -> None:
        super().__init__(what, fix)
        self.rows_read = rows_read
        self.rows_quarantined = rows_quarantined
        self.rows_deduplicated = rows_deduplicated
        self.rule_counts = dict(rule_counts or {})


class PreconditionFailed(LakemendError):
    """A runbook precaution does not hold (e.g. no landing data for a day); nothing was written."""


class LeaseHeld(LakemendError):
    """Another writer holds a partition this command needs; the message names its run, host and pid."""


class IngestError(LakemendError):
    """A landing file cannot be ingested at all (unreadable, or missing a required column)."""


class AuditFailed(LakemendError):
    """The staged data is not what lakemend meant to write; the published table was not touched."""


class SchemaChangeRefused(LakemendError):
    """A build's columns differ from its table's in a way that needs ``--allow-schema-change``
    (removed or renamed columns) or that Iceberg cannot do (a type change that is not a widening);
    nothing was written."""
