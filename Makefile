# Nearlabel: `make run` serves the whole loop on the embedded default; `make test` runs
# the checks and the suite on PostgreSQL + Redis, then a shorter run on SQLite.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/nearlabel
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
# Each test pass runs in this many processes (pytest-xdist; 0: in this one). A file's
# tests stay together in one process (its module fixtures, schemathesis' cache); each
# process has its own test database, and tests using Redis take turns (tests/conftest.py).
TEST_WORKERS ?= 2
PYTEST_PARALLEL := -n $(TEST_WORKERS) --dist loadfile
# Debug is off unless asked for (config/settings.py). These targets run on a development
# machine, over plain HTTP: debug on, unless the environment already says otherwise. The
# tests ignore it (tests/settings.py); production sets DJANGO_DEBUG=0 (docs/OPERATIONS.md).
export DJANGO_DEBUG ?= 1

.PHONY: install run demo test lint format migrate localnet worker bench screenshots clean

$(STAMP): requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "needs $(PYTHON)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(PY) manage.py migrate --noinput --verbosity 0

# The embedded default: SQLite, tasks in process, the local NEAR RPC on :3030. The
# services log to var/log/; the logins are printed once the web server answers.
RUN_HOST ?= 127.0.0.1
RUN_PORT ?= 8000
run: migrate
	@set -euo pipefail; \
	logs="$${NEARLABEL_VAR_DIR:-var}/log"; mkdir -p "$$logs"; \
	trap 'kill $$(jobs -p) 2>/dev/null || true' EXIT INT TERM; \
	echo "Starting the local NEAR RPC, the demo data, the periodic jobs and the web server..."; \
	$(PY) manage.py localnet >>"$$logs/localnet.log" 2>&1 & \
	$(PY) manage.py localnet --wait || { tail -n 20 "$$logs/localnet.log"; exit 1; }; \
	logins="$$($(PY) manage.py seed_demo --url http://$(RUN_HOST):$(RUN_PORT) 2>>"$$logs/seed.log")" \
		|| { tail -n 20 "$$logs/seed.log"; exit 1; }; \
	$(PY) manage.py periodic >>"$$logs/periodic.log" 2>&1 & \
	$(PY) -m gunicorn config.wsgi --bind $(RUN_HOST):$(RUN_PORT) --workers 2 --threads 6 \
		--access-logfile "$$logs/access.log" --error-logfile "$$logs/web.log" & \
	web=$$!; \
	for _ in $$(seq 150); do \
		kill -0 $$web 2>/dev/null || { tail -n 20 "$$logs/web.log"; exit 1; }; \
		(exec 3<>/dev/tcp/$(RUN_HOST)/$(RUN_PORT)) 2>/dev/null && break; sleep 0.2; \
	done; \
	echo "$$logins"; \
	wait -n; echo "a service stopped; see $$logs/"; exit 1

demo: install
	$(PY) manage.py demo

localnet: install
	$(PY) manage.py localnet

worker: install
	$(VENV)/bin/celery -A config worker -Q default,payouts,quality -B --loglevel INFO

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/mypy
	$(PY) manage.py makemigrations --check --dry-run >/dev/null

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test: lint
	@echo "== PostgreSQL + Redis + Celery worker: the whole suite, browser tests apart"
	DATABASE_URL=$(TEST_DATABASE_URL) TEST_REDIS_URL=$(TEST_REDIS_URL) NEARLABEL_REQUIRE_SERVICES=1 \
		$(PY) -m pytest $(PYTEST_PARALLEL) -m "not browser"
	@echo "== The browser tests, one process: their waits are timed, so they get the CPU alone"
	DATABASE_URL=$(TEST_DATABASE_URL) TEST_REDIS_URL=$(TEST_REDIS_URL) NEARLABEL_REQUIRE_SERVICES=1 \
		$(PY) -m pytest -m browser
	@echo "== SQLite (the embedded default): unit, API and concurrency tests that use the database"
	env -u REDIS_URL DATABASE_URL= $(PY) -m pytest $(PYTEST_PARALLEL) -p no:cacheprovider --db-tests-only \
		-m "not integration and not postgres and not slow and not browser"

# The browser test of the whole journey, saving its screenshots of the main pages into
# docs/screenshots/ (the README shows them). Needs chromium (`apt-get install chromium`).
screenshots: install
	DATABASE_URL=$(TEST_DATABASE_URL) TEST_REDIS_URL=$(TEST_REDIS_URL) \
		NEARLABEL_SCREENSHOTS=$(CURDIR)/docs/screenshots \
		$(PY) -m pytest tests/browser/test_journeys_browser.py tests/browser/test_datasets_browser.py -q

bench: install
	$(PY) benchmarks/queue.py
	$(PY) benchmarks/payouts.py
	$(PY) benchmarks/chaos.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache
