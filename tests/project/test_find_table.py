"""Project.find_table: the one lookup of a table a user named (full name or a unique short name)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakemend.errors import UsageError
from lakemend.project.project import Project, load_project
from lakemend.project.scaffold import init_project

# bronze.orders and gold.orders share the short name "orders"; every other short name is unique.
PROJECT_YAML = """\
name: lookup
sources:
  shop:
    bronze:
      orders:
        path: "orders/{date}/*.csv"
        format: csv
        columns: {order_id: string, amount: double}
      customers:
        path: "customers/{date}/*.csv"
        format: csv
        columns: {customer_id: string}
silver:
  orders_clean:
    sql: models/orders_clean.sql
    depends_on: [bronze.orders]
gold:
  orders:
    sql: models/orders.sql
    depends_on: [silver.orders_clean]
"""
KNOWN = "known tables: bronze.orders, bronze.customers, silver.orders_clean, gold.orders"


@pytest.fixture
def project(tmp_path: Path) -> Project:
    (tmp_path / "lakemend.yaml").write_text(PROJECT_YAML, encoding="utf-8")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "orders_clean.sql").write_text("SELECT * FROM bronze.orders", encoding="utf-8")
    (tmp_path / "models" / "orders.sql").write_text("SELECT * FROM silver.orders_clean", encoding="utf-8")
    return load_project(tmp_path)


@pytest.mark.parametrize("name", ["bronze.orders", "bronze.customers", "silver.orders_clean", "gold.orders"])
def test_a_full_name_finds_that_table(project: Project, name: str) -> None:
    assert project.find_table(name) is project.tables[name]


@pytest.mark.parametrize(("short", "qualified"), [("customers", "bronze.customers"),
                                                  ("orders_clean", "silver.orders_clean")])
def test_a_unique_short_name_finds_its_table(project: Project, short: str, qualified: str) -> None:
    spec = project.find_table(short)
    assert (spec.layer, spec.name, spec.qualified) == (*qualified.split("."), qualified)


@pytest.mark.parametrize("name", ["nope", "clean", "orders_cl", "silver.nope", "silver.orders", "x.orders"])
def test_an_unknown_name_is_refused_naming_the_known_tables(project: Project, name: str) -> None:
    # no suffix or prefix matching: "clean" does not find orders_clean, silver.orders is not gold.orders
    with pytest.raises(UsageError) as caught:
        project.find_table(name)
    assert caught.value.what == f"unknown table {name!r}"
    assert caught.value.fix == KNOWN
    assert caught.value.exit_code == 2


def test_a_short_name_two_layers_share_is_refused_listing_both(project: Project) -> None:
    with pytest.raises(UsageError) as caught:
        project.find_table("orders")
    assert caught.value.what == "table name 'orders' is ambiguous: it matches bronze.orders, gold.orders"
    assert caught.value.fix == "name it as layer.table"
    assert str(caught.value) == ("table name 'orders' is ambiguous: it matches bronze.orders, gold.orders"
                                 " — name it as layer.table")
    # the qualified names still work
    assert project.find_table("bronze.orders").layer == "bronze"
    assert project.find_table("gold.orders").layer == "gold"


def test_the_example_project_has_no_ambiguous_short_names(tmp_path: Path) -> None:
    project = load_project(init_project(tmp_path / "company", "company"))
    for qualified, spec in project.tables.items():
        assert project.find_table(spec.name) is project.find_table(qualified) is spec
