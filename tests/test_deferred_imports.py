"""The modules the ``lakemend`` process defers (``lakemend.startup.defer_unused_imports``): made on
import, run on first use, once, whole for every thread; and what lakemend's libraries do with them
still works. Each check runs in a fresh interpreter, as the deferral changes how it imports."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path


def run_python(code: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    import os

    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, capture_output=True, text=True,
                          timeout=300, check=False, env={**os.environ, **(env or {})})
    assert done.returncode == 0, (done.stdout[-2000:], done.stderr[-3000:])
    return done.stdout


def test_a_deferred_module_runs_once_on_first_use_and_every_thread_gets_all_of_it(tmp_path: Path) -> None:
    (tmp_path / "slow_module.py").write_text(textwrap.dedent("""
        import pathlib, time
        with open(pathlib.Path(__file__).with_name("runs.txt"), "a") as runs:
            runs.write("ran\\n")
        time.sleep(0.3)  # threads ask while it runs
        VALUE = 42
        LAST = "set at the end"
    """))
    out = run_python("""
        import sys, threading
        sys.path.insert(0, ".")
        import lakemend.startup as startup
        startup.DEFERRED = ("slow_module",)
        startup.defer_unused_imports()
        import slow_module
        from pathlib import Path
        print("RUN-AFTER-IMPORT", Path("runs.txt").exists(), "VALUE" in vars(slow_module))
        barrier = threading.Barrier(8)
        seen = []
        def ask():
            barrier.wait()
            seen.append((slow_module.VALUE, slow_module.LAST))
        threads = [threading.Thread(target=ask) for _ in range(8)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        print("SEEN", sorted(set(seen)), len(seen))
        print("RUNS", Path("runs.txt").read_text().count("ran"))
        from slow_module import VALUE
        print("FROM", VALUE, type(sys.modules["slow_module"]).__name__)
        try:
            slow_module.missing
        except AttributeError as exc:
            print("MISSING", exc)
    """, tmp_path)
    assert "RUN-AFTER-IMPORT False False" in out
    assert "SEEN [(42, 'set at the end')] 8" in out
    assert "RUNS 1" in out
    assert "FROM 42 module" in out
    assert "MISSING module 'slow_module' has no attribute 'missing'" in out


def test_pyiceberg_still_reads_its_config_file_and_scans_tables_from_threads(tmp_path: Path) -> None:
    """``strictyaml`` (``.pyiceberg.yaml``) and ``pyarrow.dataset`` (pyiceberg's scans) when they are
    deferred; and a row filter written as text (pyiceberg's parser)."""
    (tmp_path / ".pyiceberg.yaml").write_text("catalog:\n  deferred:\n    uri: sqlite:///from-the-yaml.db\n")
    out = run_python(f"""
        import threading
        from lakemend.startup import defer_unused_imports
        defer_unused_imports()
        import pyarrow as pa
        from pyiceberg.catalog.sql import SqlCatalog
        from pyiceberg.utils.config import Config
        print("YAML", Config().get_catalog_config("deferred"))
        catalog = SqlCatalog("t", uri="sqlite:///{tmp_path}/catalog.db", warehouse="file://{tmp_path}/warehouse")
        catalog.create_namespace("n")
        table = catalog.create_table("n.t", pa.schema([("id", pa.int64()), ("v", pa.string())]))
        table.append(pa.table({{"id": list(range(100)), "v": [str(i) for i in range(100)]}}))
        barrier = threading.Barrier(4)
        counts = []
        def scan():
            barrier.wait()
            counts.append(table.scan(row_filter="id >= 10").to_arrow().num_rows)
        threads = [threading.Thread(target=scan) for _ in range(4)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        print("COUNTS", counts)
    """, tmp_path, env={"PYICEBERG_HOME": str(tmp_path)})
    assert "YAML {'uri': 'sqlite:///from-the-yaml.db'}" in out
    assert "COUNTS [90, 90, 90, 90]" in out
