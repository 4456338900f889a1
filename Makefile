# newsmonitor: `make run` starts the service on the embedded defaults (./monitor.yaml: SQLite, the seed feed, the bundled rules), `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.installed-run
STAMP_DEV := $(VENV)/.installed-dev

.PHONY: run test lint typecheck pytest bench soak entities clean help

help:  ## List the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(STAMP_DEV): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@ $(STAMP_RUN)

run: $(STAMP_RUN)  ## Set up, apply migrations and start the daemon and web view on ./monitor.yaml
	$(BIN)/monitor db upgrade
	exec $(BIN)/monitor run

test: $(STAMP_DEV)  ## Set up with dev extras; run ruff, mypy, import-linter and the whole test suite
	$(BIN)/ruff check monitor tests scripts
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest

lint: $(STAMP_DEV)
	$(BIN)/ruff check monitor tests scripts

typecheck: $(STAMP_DEV)
	$(BIN)/mypy
	$(BIN)/lint-imports

soak: $(STAMP_DEV)  ## Long tests: scale-out faults (3 daemons, 300 feeds, SIGKILLs for 3+ min; needs MONITOR_TEST_POSTGRES_URL), memory over 10,000 feed parses
	MONITOR_SOAK=1 $(BIN)/pytest -q -s --timeout=900 tests/e2e/test_scaleout.py \
	  tests/daemon/test_parsing.py::test_sec_H3_memory_plateaus_over_many_parses

bench: $(STAMP_DEV)  ## Benchmarks against peer baselines, printed as tables
	$(BIN)/python tests/benchmarks/run_all.py

entities: $(STAMP_DEV)  ## Regenerate rules/entities/countries.yaml from CLDR (Babel), with wordfreq for everyday words
	$(BIN)/python scripts/gen_countries.py

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache
