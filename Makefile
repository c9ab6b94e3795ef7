# The two commands of the set-up contract: `make demo` and `make test`. Both create .venv and install into it.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test bench lint format install celery-demo

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv

$(STAMP): $(BIN)/python pyproject.toml
	$(UV) pip install --quiet --python $(BIN)/python -e '.[dev,airflow]'
	rm -f $(VENV)/.installed-*; touch $@

install: $(STAMP)

demo: install
	$(BIN)/wirewatch demo

test: install
	$(BIN)/pytest -q

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
