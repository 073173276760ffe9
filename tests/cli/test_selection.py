"""Selecting tables (``run --select / --exclude``, repeated ``--table``), ``run --dry-run``,
``ls``, ``tags``, ``lineage --table`` and a model reading a table it does not declare."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from pathlib import Path

import pytest
import yaml

from lakemend.errors import ConfigError, UsageError
from lakemend.project.project import load_project

from tests.conftest import build
from tests.support import state_dump

DAYS = (dt.date(2025, 10, 20), dt.date(2025, 10, 21))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, _pristine_example: Path) -> Path:
    """The example built for two days, shared by the read-only tests of this module."""
    target = tmp_path_factory.mktemp("selection") / "company"
    shutil.copytree(_pristine_example, target, symlinks=True)
    report = build(target, *DAYS)
    assert not report.failed
    return target


def digest(root: Path) -> dict[str, str]:
    """Every file of the lake and the state folder, by content (logs and lineage included) — but the
    state DB's own files, compared by what they hold (``state_dump``): SQLite folds its write-ahead
    log into the database file when the last connection closes, which the connections of an earlier
    in-process command do whenever they are garbage-collected."""
    out = {}
    for folder in (root / "lake", root / ".lakemend"):
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not (path.parent == root / ".lakemend" and path.name.startswith("state.db")):
                out[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


# ----- the selector forms ----------------------------------------------------------------------------


@pytest.mark.parametrize(("select", "exclude", "expected"), [
    (["orders_clean"], [], ["silver.orders_clean"]),
    (["silver.*"], [], ["silver.customers_clean", "silver.orders_clean"]),
    (["*_clean"], [], ["silver.customers_clean", "silver.orders_clean"]),
    (["silver.*+"], [], ["silver.customers_clean", "silver.orders_clean", "gold.customer_orders", "gold.daily_revenue"]),
    (["+gold.daily_revenue"], [], ["bronze.orders", "silver.orders_clean", "gold.daily_revenue"]),
    (["+daily_revenue"], ["bronze"], ["silver.orders_clean", "gold.daily_revenue"]),
    (["bronze.orders+"], ["gold.customer_orders"], ["bronze.orders", "silver.orders_clean", "gold.daily_revenue"]),
    (["gold"], [], ["gold.customer_orders", "gold.daily_revenue"]),
    ([], ["gold", "silver"], ["bronze.hubspot_contacts", "bronze.orders"]),
    (["daily_revenue", "customers_clean"], [], ["silver.customers_clean", "gold.daily_revenue"]),
])
def test_selectors(example: Path, select: list[str], exclude: list[str], expected: list[str]) -> None:
    project = load_project(example)
    assert [t.qualified for t in project.select(select, exclude)] == expected


@pytest.mark.parametrize(("select", "exclude", "message"), [
    (["silver.nothing*"], [], "selector 'silver.nothing*' matches no table"),
    (["gold.unknown"], [], "unknown table 'gold.unknown'"),
    (["+"], [], "selector '+' names no table"),
    (["silver"], ["silver.*"], "the selection leaves no table"),
])
def test_bad_selectors_are_usage_errors(example: Path, select: list[str], exclude: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=message.replace("*", r"\*").replace("+", r"\+")):
        load_project(example).select(select, exclude)


# ----- run --select / --dry-run ----------------------------------------------------------------------


def test_run_select_dry_run_prints_the_plan_and_writes_nothing(built: Path, cli) -> None:  # noqa: ANN001
    (built / "landing" / "orders" / "2025-10-21" / "late.csv").write_text(
        "order_id,customer_email,amount,currency,status,ordered_at,updated_at\n"
        "late-1,a@example.com,10.00,USD,paid,2025-10-21T10:00:00Z,2025-10-21T10:00:00Z\n", encoding="utf-8")
    try:
        before, state_before = digest(built), state_dump(built)
        text = cli("run", "--start", "2025-10-20", "--end", "2025-10-21", "--select", "silver.*+", "--dry-run", cwd=built)
        assert text.code == 0, text.err
        assert "Plan: run" in text.out and "Dry run: nothing was written." in text.out
        assert "bronze." not in text.out  # not selected
        result = cli("run", "--start", "2025-10-20", "--end", "2025-10-21", "--select", "bronze.orders+",
                     "--dry-run", "--output", "json", cwd=built)
        assert result.code == 0, result.err
        payload = json.loads(result.out)
        assert payload["written"] is False
        actions = {(p["table"], p["day"]): p["action"] for p in payload["plan"]}
        assert set(t for t, _ in actions) == {"bronze.orders", "silver.orders_clean", "gold.daily_revenue",
                                              "gold.customer_orders"}
        assert actions[("bronze.orders", "2025-10-21")] == "build"  # its landing files changed
        assert actions[("bronze.orders", "2025-10-20")] == "up-to-date"
        # the dependants of a day the plan builds are built too, those of other days are not
        assert actions[("silver.orders_clean", "2025-10-21")] == "build"
        assert actions[("gold.daily_revenue", "2025-10-21")] == "build"
        assert actions[("gold.daily_revenue", "2025-10-20")] == "up-to-date"
        assert payload["counts"] == {"build": 4, "up-to-date": 4, "no-input": 0}
        assert digest(built) == before  # data files, metadata, catalog, logs, lineage: byte for byte
        assert state_dump(built) == state_before  # no ledger line, no partition state, no lease
    finally:
        (built / "landing" / "orders" / "2025-10-21" / "late.csv").unlink()


def test_run_select_builds_only_the_selection(example: Path, cli) -> None:  # noqa: ANN001
    result = cli("run", "--date", "2025-10-20", "--select", "+orders_clean", "--output", "json", cwd=example)
    assert result.code == 0, result.err
    assert set(json.loads(result.out)["tables"]) == {"bronze.orders", "silver.orders_clean"}
    # the rest of the pipeline, later: gold reads the silver day built before
    rest = cli("run", "--date", "2025-10-20", "--exclude", "+orders_clean", "--output", "json", cwd=example)
    assert rest.code == 0, rest.err
    jobs = json.loads(rest.out)["jobs"]
    assert {j["table"] for j in jobs} == {"bronze.hubspot_contacts", "silver.customers_clean", "gold.customer_orders",
                                          "gold.daily_revenue"}
    assert all(j["status"] == "succeeded" for j in jobs)


def test_run_selector_that_matches_nothing_is_a_usage_error(example: Path, cli) -> None:  # noqa: ANN001
    result = cli("run", "--date", "2025-10-20", "--select", "platinum.*", cwd=example)
    assert result.code == 2
    assert result.err.startswith("Error: selector 'platinum.*' matches no table — known tables: bronze.hubspot_contacts")


def test_a_day_without_landing_files_names_the_source_and_the_path(example: Path, cli) -> None:  # noqa: ANN001
    result = cli("run", "--date", "2025-11-30", "--select", "bronze.orders", cwd=example)
    assert result.code == 0, result.err
    expected = example / "landing" / "orders" / "2025-11-30" / "*.csv"
    assert f"No landing files for source orders (bronze.orders) on 2025-11-30: looked for {expected}" in result.err


# ----- repeated --table ------------------------------------------------------------------------------


def test_every_repeated_table_is_honoured(built: Path, cli) -> None:  # noqa: ANN001
    plan = cli("rebuild", "silver", "--table", "orders_clean", "--table", "customers_clean", "--date", "2025-10-21",
               "--dry-run", "--output", "json", cwd=built)
    assert plan.code == 0, plan.err
    assert json.loads(plan.out)["plan"]["tables"] == ["silver.customers_clean", "silver.orders_clean"]
    gold = cli("refresh", "gold", "--table", "daily_revenue", "--table", "gold.customer_orders", "--date", "2025-10-21",
               "--dry-run", "--output", "json", cwd=built)
    assert json.loads(gold.out)["plan"]["tables"] == ["gold.customer_orders", "gold.daily_revenue"]
    runs = cli("runs", "--table", "daily_revenue", "--table", "bronze.orders", "--output", "json", cwd=built)
    assert {j["table_name"] for j in json.loads(runs.out)} == {"gold.daily_revenue", "bronze.orders"}
    dq = cli("dq", "check", "--table", "orders_clean", "--table", "daily_revenue", "--date", "2025-10-21",
             "--output", "json", cwd=built)
    assert {r["table"] for r in json.loads(dq.out)} == {"silver.orders_clean", "gold.daily_revenue"}
    gaps = cli("gaps", "--table", "orders", "--table", "customers_clean", "--output", "json", cwd=built)
    assert gaps.code == 0, gaps.err
    lineage = cli("lineage", "--date", "2025-10-21", "--table", "gold.daily_revenue", "--table", "bronze.hubspot_contacts",
                  "--output", "json", cwd=built)
    written = {j["table"] for j in json.loads(lineage.out)}
    assert {"gold.daily_revenue", "bronze.hubspot_contacts", "silver.customers_clean"} <= written  # writers and readers
    assert "gold.customer_orders" not in written  # it reads customers_clean, neither of the two named
    assert plan.code == gold.code == 0


def test_repeated_tables_of_a_backfill_resume_together(example: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("LAKEMEND_REASON", "two tables")
    assert build(example, *DAYS).failed == []
    done = cli("rebuild", "silver", "--table", "orders_clean", "--table", "customers_clean", "--date", "2025-10-21",
               "--output", "json", cwd=example)
    assert done.code == 0, done.err
    jobs = json.loads(done.out)["jobs"]
    assert {j["table"] for j in jobs} == {"silver.orders_clean", "silver.customers_clean"}
    from lakemend.lake import Lake

    run = Lake.open(example).state.get_run(json.loads(done.out)["run_id"])
    assert run["args"]["name"] == "orders_clean,customers_clean"


# ----- ls, tags, lineage --table -------------------------------------------------------------------------


def test_ls_lists_tables_layers_inputs_and_days(built: Path, cli) -> None:  # noqa: ANN001
    result = cli("ls", "--output", "json", cwd=built)
    assert result.code == 0, result.err
    tables = {t["table"]: t for t in json.loads(result.out)}
    assert list(tables) == ["bronze.hubspot_contacts", "bronze.orders", "silver.customers_clean", "silver.orders_clean",
                            "gold.customer_orders", "gold.daily_revenue"]
    assert tables["gold.customer_orders"]["depends_on"] == ["silver.orders_clean (same)", "silver.customers_clean (upto)"]
    assert tables["bronze.orders"]["source"] == "orders"
    for t in tables.values():
        assert (t["partitions"], t["first_day"], t["last_day"]) == (2, "2025-10-20", "2025-10-21")
    text = cli("ls", "--select", "gold", cwd=built)
    assert "gold.daily_revenue" in text.out and "bronze.orders" not in text.out


def test_tags_lists_the_restore_points_rollback_takes(built: Path, cli) -> None:  # noqa: ANN001
    result = cli("tags", "silver.orders_clean", "--output", "json", cwd=built)
    assert result.code == 0, result.err
    points = json.loads(result.out)
    assert points and all(p["name"].startswith("pre-") and p["kind"] == "tag" for p in points)
    from lakemend.lake import Lake

    table = Lake.open(built).table("silver.orders_clean")
    assert {p["name"]: p["snapshot_id"] for p in points} == {
        name: ref.snapshot_id for name, ref in table.metadata.refs.items() if name != "main"}


def test_lineage_of_a_table_without_a_day(built: Path, cli) -> None:  # noqa: ANN001
    result = cli("lineage", "--table", "gold.customer_orders", "--output", "json", cwd=built)
    assert result.code == 0, result.err
    [item] = json.loads(result.out)
    assert item["sources"] == ["orders", "hubspot"]
    edges = {(e["source"], e["target"], e["mapping"]) for e in item["upstream"]}
    assert edges == {("silver.orders_clean", "gold.customer_orders", "same"),
                     ("silver.customers_clean", "gold.customer_orders", "upto"),
                     ("bronze.orders", "silver.orders_clean", "same"),
                     ("bronze.hubspot_contacts", "silver.customers_clean", "same")}
    assert item["downstream"] == []
    assert sorted(j["day"] for j in item["recent"]) == ["2025-10-20", "2025-10-21"]
    down = json.loads(cli("lineage", "--table", "bronze.orders", "--output", "json", cwd=built).out)[0]["downstream"]
    assert {e["target"] for e in down} == {"silver.orders_clean", "gold.customer_orders", "gold.daily_revenue"}
    assert cli("lineage", cwd=built).code == 2


# ----- depends_on must name every table a model reads ----------------------------------------------------


def test_a_model_reading_an_undeclared_table_fails_validation(example: Path) -> None:
    config = yaml.safe_load((example / "lakemend.yaml").read_text(encoding="utf-8"))
    config["gold"]["customer_orders"]["depends_on"] = ["silver.orders_clean"]  # it also reads customers_clean
    (example / "lakemend.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_project(example)
    assert str(caught.value) == (
        f"{example / 'models/gold/customer_orders.sql'}: gold.customer_orders reads silver.customers_clean, which is "
        "not in its depends_on — add silver.customers_clean to gold.customer_orders.depends_on in lakemend.yaml "
        "(or stop reading it)")


def test_a_cte_or_an_alias_is_not_a_table_read(example: Path) -> None:
    (example / "models" / "gold" / "daily_revenue.sql").write_text(
        "WITH silver_orders AS (SELECT * FROM silver.orders_clean) SELECT currency, count(*) AS orders "
        "FROM silver_orders AS gold GROUP BY currency", encoding="utf-8")
    assert "gold.daily_revenue" in load_project(example).tables
