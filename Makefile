# make run: set up .venv and serve the demo on http://127.0.0.1:8000 (embedded SQLite in ./data)
# make test: set up .venv and run the whole suite (SQLite and PostgreSQL)
# make lint: ruff (lint and format check) and mypy, as configured in pyproject.toml
# make faults: the fault suite (docs/faults.md); FAULTS_ARGS="--scenario pg-crash --store postgres" runs part of it
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# What is installed is marked by a stamp of pyproject.toml's checksum: the service's own packages
# (make run), then the test and lint tools besides (make setup). pip as the venv brings it: an
# upgrade first would cost a download and gain nothing here. The service's packages are not
# compiled to bytecode as they are installed: Python compiles the modules it imports, once.
SUM := $(shell cksum pyproject.toml | cut -d' ' -f1)
RUNTIME := $(VENV)/.runtime-$(SUM)
STAMP := $(VENV)/.installed-$(SUM)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: setup runtime run test lint clean translations

setup: $(STAMP)

runtime: $(RUNTIME)

$(RUNTIME): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --no-compile -e .
	rm -f $(VENV)/.runtime-*
	touch $(RUNTIME)

$(STAMP): $(RUNTIME)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

run: runtime
	$(BIN)/unionledger serve --demo --host $(HOST) --port $(PORT)

test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# make translations: the console's texts into its catalogue (translate new ones in the .po), then compiled;
# commit both the .po and the .mo (the service reads the .mo; a test checks they agree)
translations: setup
	$(BIN)/pybabel extract -F console/babel.cfg -k lazy_gettext --no-location --omit-header -o console/translations/messages.pot .
	$(BIN)/pybabel update -i console/translations/messages.pot -d console/translations -D messages --no-wrap --no-fuzzy-matching
	$(BIN)/pybabel compile -d console/translations -D messages

clean:
	rm -rf $(VENV) data .pytest_cache

# make bench / make bench-quick: benchmarks on PostgreSQL (UNIONLEDGER_BENCH_DATABASE_URL, default the
# local test database) with 1,000,000 / 200,000 members; print a table and write bench/results.json
.PHONY: bench bench-quick

bench: setup
	$(BIN)/python -m bench.run --members 1000000

bench-quick: setup
	$(BIN)/python -m bench.run --members 200000

# make faults: killed workers and commands, PostgreSQL restarts and crashes (on a throwaway server of
# its own, never the shared one), imports, rebuilds and one id under concurrency; exits 1 if one fails
.PHONY: faults

faults: setup
	$(BIN)/python -m faults.run $(FAULTS_ARGS)
