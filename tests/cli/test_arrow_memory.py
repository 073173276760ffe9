"""The CLI asks pyarrow for its jemalloc pool (freed memory goes back to the system, so one table's
rows do not stay under the next one's peak); a pool the user chose wins."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

_CHILD = """
from lakemend.cli.app import main
try:
    main(["--version"])
except SystemExit:
    pass
import pyarrow as pa
print(pa.default_memory_pool().backend_name)
"""


def _pool(**env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    child = subprocess.run([sys.executable, "-c", _CHILD], env={**clean, **env}, capture_output=True, text=True, timeout=120)
    assert child.returncode == 0, child.stderr
    return child.stdout.strip().splitlines()[-1]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pyarrow's Linux wheels include jemalloc")
def test_the_cli_uses_the_pool_that_returns_memory_unless_one_is_chosen() -> None:
    assert _pool() == "jemalloc"
    assert _pool(ARROW_DEFAULT_MEMORY_POOL="system") == "system"
