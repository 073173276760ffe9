# lakemend — the two commands of the README:
#   make demo   set everything up, build the example lake (2025-10-20 … 2025-10-27) and print a summary
#   make test   set everything up and run the whole test suite (what CI runs through .ci/run)
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
DEMO   ?= demo-lake

SPARK_JARS ?= .spark-jars

.PHONY: demo test bench bench-peer clean spark-jars

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# the demo needs lakemend alone; the tests also need the test extras (pyspark, moto, PostgreSQL driver, …).
# An editable install leaves lakemend's own modules uncompiled, and where PYTHONDONTWRITEBYTECODE is set
# (containers, CI) every command would compile them again (~0.15 s CPU): compile them once, as pip does
# for a wheel. Python still recompiles a module whose source changed since.
$(VENV)/.installed-core: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	$(BIN)/python -m compileall -q src/lakemend
	touch $@

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	$(BIN)/python -m compileall -q src/lakemend
	touch $@ $(VENV)/.installed-core

demo: $(VENV)/.installed-core
	rm -rf $(DEMO)
	$(BIN)/lakemend init $(DEMO) --example company
	cd $(DEMO) && ../$(BIN)/lakemend run --start 2025-10-20 --end 2025-10-27 --reason "first build of the example lake"
	cd $(DEMO) && ../$(BIN)/lakemend query "SELECT 'bronze.orders' AS table_name, day, COUNT(*) AS rows FROM bronze.orders GROUP BY day ORDER BY day"
	@echo "The example lake is in $(DEMO)/ — try: cd $(DEMO) && ../$(BIN)/lakemend runs"

test: $(VENV)/.installed $(SPARK_JARS)/.fetched
	$(BIN)/python -m pytest

# the pinned jars of the `spark` engine (spark-jars.pom: Iceberg runtime, AWS bundle, SQLite JDBC) into
# $(SPARK_JARS)/, fetched again only when the POM changes (needs Maven and Maven Central or a filled ~/.m2)
spark-jars: $(SPARK_JARS)/.fetched

$(SPARK_JARS)/.fetched: spark-jars.pom
	rm -rf $(SPARK_JARS)
	mvn -q -B -f spark-jars.pom org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies -DoutputDirectory=$(SPARK_JARS)
	touch $@

bench: $(VENV)/.installed
	$(BIN)/python bench/bench_pipeline.py --rows 1000000

# lakemend vs dbt-duckdb on the orders path (docs/benchmarks.md); dbt goes into its own venv,
# bench/.venv-peer, made by the script on first use. PEER_ARGS=--check compares results only.
PEER_ARGS ?= --days 30 --rows 50000 --repeats 3
bench-peer: $(VENV)/.installed
	$(BIN)/python bench/bench_peer.py $(PEER_ARGS)

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache
