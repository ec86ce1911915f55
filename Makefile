# Baton: `make run` sets everything up and serves the demo; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
MANAGE := $(BIN)/python manage.py
STAMP := $(VENV)/.installed

.PHONY: run test test-browser test-integration api-contract bench load install migrate seed worker beat backup restore lint typecheck typecheck-baseline clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

# The folder-on-disk broker's folders exist before anything (seeding included) queues a task.
migrate: install
	@mkdir -p var/celery/queue var/celery/processed var/celery/control
	$(MANAGE) migrate --noinput

# Demo data is built once; `make seed` rebuilds it from scratch.
var/.seeded: | migrate
	$(MANAGE) seed_demo --seed 42
	touch var/.seeded

seed: migrate
	$(MANAGE) seed_demo --seed 42 --reset
	touch var/.seeded

# Web server, Celery worker and beat on embedded defaults: SQLite and a
# folder-on-disk broker, so nothing else needs to be installed.
run: migrate var/.seeded
	@echo ""
	@echo "  Baton is starting on http://127.0.0.1:$(PORT)/"
	@echo "  Demo logins (password: baton-demo):"
	@echo "    admin     (Admin)"
	@echo "    maria     (Manager, Enterprise team)   tom (Manager, Mid-market team)"
	@echo "    alex, sam (CSMs)   ... and six more CSMs"
	@echo ""
	@trap 'kill 0' INT TERM EXIT; \
	$(BIN)/celery -A csm worker --loglevel=warning --concurrency=2 & \
	$(BIN)/celery -A csm beat --loglevel=warning & \
	$(MANAGE) runserver 127.0.0.1:$(PORT)

# The suite on SQLite with eager Celery: no services needed.
test: install
	$(BIN)/pytest -q

# Chromium (Debian's, at /usr/bin/chromium) against a live server; screenshots land in artifacts/.
test-browser: install
	$(BIN)/pytest -q -m browser

# The suite again on PostgreSQL with a real Celery worker on Redis, integration
# tests included. Redis database 15 belongs to the tests and is emptied first.
INTEGRATION_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/baton_ci
INTEGRATION_BROKER_URL ?= redis://127.0.0.1:6379/15
test-integration: install
	$(BIN)/python -c "import redis, sys; redis.Redis.from_url(sys.argv[1]).flushdb()" "$(INTEGRATION_BROKER_URL)"
	DATABASE_URL="$(INTEGRATION_DATABASE_URL)" CELERY_BROKER_URL="$(INTEGRATION_BROKER_URL)" \
	BATON_INTEGRATION=1 $(BIN)/pytest -q

# The live API against its own OpenAPI schema (tools/api_contract.py): a throwaway database with the demo, a
# token with every scope, then each operation through the examples, coverage, fuzzing and stateful phases; fails
# on any 5xx or answer the schema does not describe. SQLite unless CONTRACT_DATABASE_URL names a PostgreSQL server.
CONTRACT_DATABASE_URL ?=
api-contract: install
	CONTRACT_DATABASE_URL="$(CONTRACT_DATABASE_URL)" $(BIN)/python tools/api_contract.py

bench: install
	$(BIN)/python -m bench

# gunicorn (2 workers) on the bench database, driven by locust from a second process on loopback: a mixed CSM and
# integration workload, then each request kind alone; prints a table and writes bench/load_results.json
# (tools/load/__main__.py: LOAD_DATABASE_URL, default the baton_bench that `make bench` leaves, and the other knobs).
load: install
	$(BIN)/python -m tools.load

# PostgreSQL backup and restore of DATABASE_URL (tools/backup.py): `make backup` writes a pg_dump in custom format to
# var/backups/ (or BACKUP=path); `make restore BACKUP=path` restores it in one transaction, into an empty database or,
# with REPLACE=1, over one that has tables (stop web, workers and beat first).
BACKUP ?=
REPLACE ?=
backup: install
	$(BIN)/python tools/backup.py dump $(if $(BACKUP),--output "$(BACKUP)")

restore: install
	@test -n "$(BACKUP)" || { echo "Usage: make restore BACKUP=path/to/file.dump [REPLACE=1]" >&2; exit 2; }
	$(BIN)/python tools/backup.py restore "$(BACKUP)" $(if $(REPLACE),--replace)

# Style, the apps' layers (contracts in pyproject.toml) and no model change without its migration.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(MANAGE) makemigrations --check --dry-run

# mypy with django-stubs over the apps; fails on any error not in mypy-baseline.txt.
# After fixing errors, `make typecheck-baseline` shrinks the baseline (never grow it by hand).
typecheck: install
	$(BIN)/python tools/mypy_baseline.py check

typecheck-baseline: install
	$(BIN)/python tools/mypy_baseline.py update

clean:
	rm -rf $(VENV) db.sqlite3 var/celery var/.seeded staticfiles .mypy_cache .import_linter_cache
