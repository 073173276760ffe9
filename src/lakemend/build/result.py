"""What a build hands back to the job: rows to publish, rows to quarantine, and the figures."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

    from lakemend.build.contracts import CheckResult
    from lakemend.observe.events import InputRead


@dataclass
class Built:
    """One partition built in memory, not yet written anywhere."""

    rows: pa.Table
    quarantine: pa.Table
    rows_read: int
    rows_deduplicated: int = 0
    checks: list[CheckResult] = field(default_factory=list)
    inputs: tuple[InputRead, ...] = ()
