# The two commands of the set-up contract: `make demo` and `make test`. Both create .venv and install into it.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test test-fast bench lint format install celery-demo browser serve

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv

# Bytecode is compiled at install (uv does not by default): with PYTHONDONTWRITEBYTECODE set, or a read-only
# install, every `wirewatch` run would otherwise compile ~400 modules from source (~0.4 s of its start-up).
$(STAMP): $(BIN)/python pyproject.toml
	$(UV) pip install --quiet --compile-bytecode --python $(BIN)/python -e '.[dev,airflow]'
	$(BIN)/python -m compileall -q ingest >/dev/null
	rm -f $(VENV)/.installed-*; touch $@

install: $(STAMP)

demo: install
	$(BIN)/wirewatch demo

serve: install
	$(BIN)/wirewatch serve

# The console's browser tests drive Debian's headless Chromium: installed here when missing and we are root;
# otherwise those tests skip and say why.
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing chromium and chromium-driver (Debian) for the console's browser tests"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
			|| echo "warning: could not install chromium; the console's browser tests will be skipped"; \
	else echo "note: chromium/chromedriver missing and not root: the console's browser tests will be skipped"; fi

# The suite runs on pytest-xdist workers, one per core (auto); TEST_WORKERS=1 runs it in one process. More workers
# than cores do not pay: the tests and the processes they start (Airflow, wirewatch, PostgreSQL) keep the cores busy.
# Tests take from 0.01 s to minutes: each worker takes the next test when it finishes one (--maxschedchunk 1), and
# tests/conftest.py orders them longest first by the last run's durations, one long test to each worker to start.
TEST_WORKERS ?= auto
PYTEST_PARALLEL = $(BIN)/pytest -q -n $(TEST_WORKERS) --dist load --maxschedchunk 1

# The whole suite (what CI runs, through .ci/run). Any failure, or no test collected (exit 5), fails it.
test: install browser
	$(PYTEST_PARALLEL)

# The edit-run loop: everything but the tests marked slow (crash, restart, Airflow, Celery, backfill, property).
test-fast: install browser
	$(PYTEST_PARALLEL) -m "not slow"

bench: install
	$(UV) pip install --quiet --python $(BIN)/python -e '.[dev,airflow,bench]'
	$(BIN)/python -m bench

lint: install
	$(BIN)/ruff check ingest dags tests bench scripts
	$(BIN)/ruff format --check ingest dags tests bench scripts

format: install
	$(BIN)/ruff format ingest dags tests bench scripts
	$(BIN)/ruff check --fix ingest dags tests bench scripts

celery-demo: install
	scripts/celery_e2e.sh
