"""The one exception family lakemend raises on purpose.

The CLI prints ``Error: <what> — <how to fix>`` for these and exits with ``exit_code``;
anything else is a bug and shows a traceback only with ``--debug``.
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


class JobFailed(LakemendError):
    """One or more partition jobs failed; the ledger has the details."""
