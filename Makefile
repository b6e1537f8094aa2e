# Conversa — `make run` and `make test` do all the set-up on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help

UV_VERSION := 0.13.9
TOOLS := var/tools
UV := $(TOOLS)/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

help:  ## List the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(UV):
	@mkdir -p var
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

install: $(UV)  ## Make .venv from uv.lock (Python 3.12)
	$(UV) sync --frozen --python 3.12 --quiet
	$(VENV)/bin/pybabel --quiet compile -d locale -D django

lock: $(UV)  ## Re-lock after editing pyproject.toml
	$(UV) lock

migrate: install
	$(PY) manage.py migrate --no-input -v 0

run: migrate  ## Demo on the embedded default: web + Celery worker + beat
	$(PY) manage.py seed_demo --print-logins
	@echo
	@echo "  Conversa is starting at  http://localhost:$(PORT)/   (Ctrl-C stops everything)"
	@echo
	@# The printed address is the site's own (fingerprints check it; links in e-mails use it).
	SITE_URL=$${SITE_URL:-http://localhost:$(PORT)} PORT=$(PORT) $(VENV)/bin/honcho start -f Procfile

# The non-browser suite runs in parallel, one pytest-xdist worker a core (each with its
# own test database and Redis keys: tests/xdist_worker.py); TEST_WORKERS=0 runs it in
# one process, TEST_WORKERS=4 on four. The browser journeys run after it, in parallel
# too, a test file per worker (a file's journeys share their fixtures' order).
TEST_WORKERS ?= auto
test: install  ## The whole suite: unit, integration (in parallel), then browser journeys
	$(PY) -m pytest -m "not browser" -q -n $(TEST_WORKERS) --durations=10
	@# Exit 5 ("no tests ran") is accepted only while no browser test file exists.
	$(PY) -m pytest -m browser -q -p no:randomly -n $(TEST_WORKERS) --dist loadfile --durations=10 tests/browser \
		|| { rc=$$?; [ $$rc -eq 5 ] && ! compgen -G 'tests/browser/test_*.py' >/dev/null || exit $$rc; }

lint: install  ## ruff check + ruff format --check + the apps' layers (import-linter)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

.PHONY: help install lock migrate run test lint format
