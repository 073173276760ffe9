"""Start-up stays light: ``--help`` and ``status`` never import OpenLineage, boto3 or pyspark (issue 10)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("openlineage", "boto3", "botocore", "pyspark", "alembic")
PROBE = """
import sys
from lakemend.cli.app import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
heavy = sorted({m.split(".")[0] for m in sys.modules if m.split(".")[0] in %r})
print("HEAVY:" + ",".join(heavy))
""" % (HEAVY,)


@pytest.mark.parametrize("args", [["--help"], ["status"], ["gaps"]])
def test_light_commands_import_no_heavy_dependency(built_example: Path, args: list[str]) -> None:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=built_example, capture_output=True, text=True,
                          timeout=120, check=False)
    [line] = [ln for ln in done.stdout.splitlines() if ln.startswith("HEAVY:")]
    assert line == "HEAVY:", (line, done.stderr[-2000:])
