# The two commands of the set-up contract: `make demo` and `make test`. Both create .venv and install into it.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test bench lint format install celery-demo browser serve

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv

$(STAMP): $(BIN)/python pyproject.toml
	$(UV) pip install --quiet --python $(BIN)/python -e '.[dev,airflow]'
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

test: install browser
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
