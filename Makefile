# Baton: `make run` sets everything up and serves the demo; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
MANAGE := $(BIN)/python manage.py
STAMP := $(VENV)/.installed

.PHONY: run test test-browser test-integration bench install migrate seed worker beat lint clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

migrate: install
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
	@mkdir -p var/celery/queue var/celery/processed
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

test: install
	$(BIN)/pytest -q

test-browser: install
	$(BIN)/pytest -q -m browser

bench: install
	$(BIN)/python -m bench

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) db.sqlite3 var/celery var/.seeded staticfiles
