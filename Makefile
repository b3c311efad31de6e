# Two commands matter: `make run` (set up and run the app) and `make test` (set up and run the tests).
# Both work on a fresh machine with nothing but Python 3.11: SQLite and a file-system broker are
# the embedded defaults. Set DATABASE_URL and REDIS_URL to run on PostgreSQL and Redis instead.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format bench chaos install migrate worker web clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

.env:
	$(PYTHON) bin/make-dev-env

# The development targets read .env (settings read it only when READ_ENV_FILE says so).
migrate: $(STAMP) .env
	READ_ENV_FILE=true $(BIN)/python manage.py migrate --noinput

run: migrate
	READ_ENV_FILE=true $(BIN)/python manage.py demo_setup
	READ_ENV_FILE=true $(BIN)/honcho start -f Procfile.dev

# The browser journey (e2e/) is part of it when /usr/bin/chromium is there (it skips otherwise, and fails
# when CI is set).
test: $(STAMP)
	$(BIN)/python -m pytest -n auto $(PYTEST_ARGS)

# ruff: the lint rules and the format in pyproject.toml (CI runs this before the tests; `make format` applies them).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The browser journey alone, in Debian's chromium (installed with apt when missing and run as root),
# against gunicorn, a Celery worker and the sandbox on PostgreSQL and Redis (started if installed but
# down). E2E_SAVE_SCREENSHOTS=1 copies the screenshots to docs/screenshots/e2e/.
test-e2e: $(STAMP)
	bin/ensure-chromium
	$(BIN)/python -m pytest e2e $(PYTEST_ARGS)

# The sync's performance against the sandbox on PostgreSQL and Redis (started if installed but down),
# with gunicorn and Celery workers it starts and stops itself. BENCH_ARGS=--quick for a short run;
# see bench/README.md for the options. Writes bench/results/latest.{json,md} (quick.* for --quick), then
# simulates the scheduler alone across 10,000 organisations (bench/results/scheduler.{json,md}), then runs
# 50 companies each linked to its own sandbox organisation under one app-wide limit, over HTTP, on its own
# database bench_companies, then worker CPU per document with 950 more companies linked and idle (about 18
# minutes; bench/results/companies.{json,md}), then the finance bench (bench/results/finance.*), then the sync
# page and /metrics with 100,000 sync records (bench/results/sync_page.*).
bench: $(STAMP)
	$(BIN)/python -m bench.run $(BENCH_ARGS)
	$(BIN)/python -m bench.scheduler_sim
	$(BIN)/python -m bench.companies
	$(BIN)/python -m bench.finance
	$(BIN)/python -m bench.sync_page

# The sync and the statuses back from Xero under injected faults and load (5,000 documents, its own
# database "chaos_run" and redis-server on port 6390, gunicorn, Celery workers and beat); exits non-zero
# on any miss. CHAOS_ARGS=--quick for the short run the test suite makes. Writes chaos/results/latest.md.
chaos: $(STAMP)
	$(BIN)/python -m chaos.run $(CHAOS_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache
