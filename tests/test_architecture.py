"""The layers of docs/architecture.md hold in the code, and the code map names every module."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]
PACKAGE = ROOT / "src" / "lakemend"


def test_import_contracts_hold() -> None:
    """import-linter (contracts in pyproject.toml): layers, no cycles, DuckDB only in engines,
    SQLAlchemy only in state, no terminal I/O below the CLI."""
    linter = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    assert linter, "import-linter is a test dependency: pip install -e '.[test]'"
    result = subprocess.run([linter, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "Contracts: 5 kept, 0 broken." in result.stdout, result.stdout[-2000:]


def test_the_code_map_names_every_module() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    modules = sorted(
        path.relative_to(PACKAGE).with_suffix("").as_posix()
        for path in PACKAGE.rglob("*.py")
        if path.name not in ("__init__.py", "__main__.py") and "examples/company" not in path.as_posix()
    )
    missing = [m for m in modules if f"`{m.rsplit('/', 1)[-1]}`" not in text]
    assert not missing, f"docs/architecture.md does not mention: {missing}"


def test_every_test_folder_is_collected() -> None:
    """pytest skips some folder names by default (``build`` among them): no test may be left out."""
    result = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    collected = {line.split("::", 1)[0] for line in result.stdout.splitlines() if "::" in line}
    on_disk = {path.relative_to(ROOT).as_posix() for path in (ROOT / "tests").rglob("test_*.py")}
    assert on_disk <= collected, sorted(on_disk - collected)
