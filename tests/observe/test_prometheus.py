"""The runbook's metrics in the Prometheus text format, and the node_exporter textfile."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import START, build
from lakemend.lake import Lake
from lakemend.observe.events import SINKS, JobEvent
from lakemend.observe import prometheus
from lakemend.state.store import utcnow
from support import configure

HELP = re.compile(r"^# HELP (\w+) \S.*$")
TYPE = re.compile(r"^# TYPE (\w+) (counter|summary)$")
SAMPLE = re.compile(r'^(\w+)\{layer="([^"\\]*)",table="([^"\\]*)",source="([^"\\]*)"\} (\d+(?:\.\d+)?(?:e[+-]?\d+)?)$')


def parse(text: str) -> tuple[dict[str, str], dict[tuple[str, str], float]]:
    """TYPE per family and value per (sample name, table); fails on any line that is not valid."""
    types: dict[str, str] = {}
    samples: dict[tuple[str, str], float] = {}
    assert text.endswith("\n")
    for line in text.splitlines():
        if match := HELP.match(line):
            assert match.group(1) not in types, "HELP comes before TYPE, once per family"
        elif match := TYPE.match(line):
            types[match.group(1)] = match.group(2)
        else:
            match = SAMPLE.match(line)
            assert match, f"not an exposition line: {line!r}"
            name = match.group(1)
            family = name.removesuffix("_sum").removesuffix("_count") if types.get(name) is None else name
            assert family in types, f"{name} before its TYPE line"
            samples[(name, match.group(3))] = float(match.group(5))
    return types, samples


def test_render_after_a_run_and_the_textfile(example: Path) -> None:
    configure(example, metrics={"prometheus_textfile": "metrics/lakemend.prom"})
    report = build(example, START, START)
    assert not report.failed
    lake = Lake.open(example)
    types, samples = parse(prometheus.render(lake.state))
    assert types == {"BackfillJobsStarted": "counter", "BackfillJobsSucceeded": "counter",
                     "BackfillJobsFailed": "counter", "BackfillDurationSeconds": "summary"}
    tables = {table for _, table in samples}
    assert tables == set(lake.project.tables)
    for table in tables:
        assert samples[("BackfillJobsStarted", table)] == 1
        assert samples[("BackfillJobsSucceeded", table)] == 1
        assert samples[("BackfillJobsFailed", table)] == 0  # present before the first failure, for alerts
        assert samples[("BackfillDurationSeconds_count", table)] == 1
        assert samples[("BackfillDurationSeconds_sum", table)] > 0
    assert 'source="orders,hubspot"' in prometheus.render(lake.state)

    target = example / "metrics" / "lakemend.prom"
    if "lakemend.observe.prometheus" not in SINKS:  # until the sink is registered, write it as the sink would
        fail = JobEvent(kind="FAIL", run_id=report.run_id, command="run", layer="bronze", table="bronze.orders",
                        day=START, reason=None, at=utcnow())
        prometheus.handle(lake, fail)
    assert target.read_text() == prometheus.render(lake.state)
    assert [p.name for p in target.parent.iterdir()] == ["lakemend.prom"]  # no temporary file left behind


def test_no_textfile_unless_configured_and_empty_state_renders(example: Path) -> None:
    lake = Lake.open(example)
    assert prometheus.write_textfile(lake) is None
    types, samples = parse(prometheus.render(lake.state))
    assert len(types) == 4 and samples == {}
    start = JobEvent(kind="START", run_id="r", command="run", layer="bronze", table="bronze.orders", day=START,
                     reason=None, at=utcnow())
    prometheus.handle(lake, start)
    assert not list(example.rglob("*.prom"))
