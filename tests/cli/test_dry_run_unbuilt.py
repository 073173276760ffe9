"""A dry run writes nothing — also on a project that was never built: no catalog, no state DB, no
warehouse folder appear (an empty catalog and ledger in memory stand in for them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import START


def made_by_lakemend(root: Path) -> set[str]:
    """Files and folders under the project that are not the project files themselves."""
    return {p.relative_to(root).as_posix() for p in root.rglob("*")
            if p.relative_to(root).parts[0] in ("lake", ".lakemend") and p.name != "mask.key"
            and p.relative_to(root).as_posix() != ".lakemend"}


@pytest.mark.parametrize("args", [
    ("run", "--date", str(START), "--dry-run"),
    ("run", "--date", str(START), "--dry-run", "--select", "silver.*+"),
    ("backfill", "bronze", "orders", str(START), "--dry-run"),
    ("repair", "--missing", "--dry-run"),
], ids=["run", "run-select", "backfill", "repair"])
def test_a_dry_run_on_a_project_never_built_creates_nothing(example: Path, cli, args: tuple[str, ...]) -> None:  # noqa: ANN001
    assert made_by_lakemend(example) == set()
    result = cli("-C", str(example), *args)
    assert result.code == 0, result.err
    assert "nothing was written" in result.out.lower()
    assert made_by_lakemend(example) == set(), "the dry run created files"
    # and the real command afterwards builds as usual
    built = cli("-C", str(example), "run", "--date", str(START))
    assert built.code == 0, built.err
    assert (example / "lake" / "catalog.db").is_file() and (example / ".lakemend" / "state.db").is_file()
