# lakemend — the two commands of the README:
#   make demo   set everything up, build the example lake (2025-10-20 … 2025-10-27) and print a summary
#   make test   set everything up and run the whole test suite (what CI runs through .ci/run)
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
DEMO   ?= demo-lake

.PHONY: demo test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

demo: $(VENV)/.installed
	rm -rf $(DEMO)
	$(BIN)/lakemend init $(DEMO) --example company
	cd $(DEMO) && ../$(BIN)/lakemend run --start 2025-10-20 --end 2025-10-27 --reason "first build of the example lake"
	cd $(DEMO) && ../$(BIN)/lakemend query "SELECT 'bronze.orders' AS table_name, day, COUNT(*) AS rows FROM bronze.orders GROUP BY day ORDER BY day"
	@echo "The example lake is in $(DEMO)/ — try: cd $(DEMO) && ../$(BIN)/lakemend runs"

test: $(VENV)/.installed
	$(BIN)/python -m pytest

bench: $(VENV)/.installed
	$(BIN)/python bench/bench_pipeline.py --rows 1000000

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache
