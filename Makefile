# pingyi — two commands: `make demo` and `make test` (see README.md).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
MO := pingyi/translations/en/LC_MESSAGES/messages.mo
PO := pingyi/translations/en/LC_MESSAGES/messages.po

.PHONY: demo test install lint audit translations messages bench clean lock

CONSTRAINTS := constraints.txt

# Installs the exact versions in $(CONSTRAINTS) (pip and the build backend too), so a new release
# upstream cannot change what `make test`, `make demo` and CI run; redone when either file changes.
$(STAMP): pyproject.toml $(CONSTRAINTS)
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q -U pip -c $(CONSTRAINTS)
	$(BIN)/pip install -q -c $(CONSTRAINTS) --build-constraint $(CONSTRAINTS) -e '.[dev]'
	touch $(STAMP)

# Re-resolves $(CONSTRAINTS) after a dependency change in pyproject.toml: every package of the dev
# install, transitive ones included, plus pip and the build-system requirements, at exact versions
# for Python 3.11 on Linux (uv, in a throwaway venv; needs PyPI). Pins that still fit are kept;
# `make lock UPGRADE=1` moves everything to the newest versions pyproject.toml allows.
lock:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(PY) -m venv "$$tmp" && "$$tmp/bin/pip" install -q 'uv==0.13.9' && \
	$(PY) -c "import tomllib; print('pip', *tomllib.load(open('pyproject.toml', 'rb'))['build-system']['requires'], sep='\n')" | \
	"$$tmp/bin/uv" pip compile -q pyproject.toml - --extra dev --python-version 3.11 --python-platform linux \
	  --custom-compile-command 'make lock' $(if $(UPGRADE),--upgrade) -o $(CONSTRAINTS)
	@echo "$(CONSTRAINTS): $$(grep -c '^[a-z0-9]' $(CONSTRAINTS)) packages pinned"

install: $(STAMP) $(MO)

$(MO): $(PO) | $(STAMP)
	$(BIN)/pybabel compile -d pingyi/translations -D messages

translations: $(MO)

# Re-extract msgids after changing UI strings, then translate the new ones in $(PO).
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o pingyi/translations/messages.pot .
	$(BIN)/pybabel update --ignore-obsolete --no-fuzzy-matching -i pingyi/translations/messages.pot -d pingyi/translations -D messages

# `make demo PORT=8000` serves elsewhere; the printed links follow (PINGYI_PUBLIC_BASE_URL wins).
HOST ?= 127.0.0.1
PORT ?= 5000
demo: install
	@deploy/ensure-system-deps.sh
	$(BIN)/pingyi db upgrade
	$(BIN)/pingyi demo --base-url "$${PINGYI_PUBLIC_BASE_URL:-http://$(HOST):$(PORT)}"
	@echo
	@echo "  Open http://$(HOST):$(PORT)/login  (admin: admin@pingzhuang.example / pingyi-demo)"
	@echo
	$(BIN)/pingyi run --host $(HOST) --port $(PORT)

# The main run is spread over TEST_WORKERS processes (pytest-xdist; each has databases of its own).
TEST_WORKERS ?= 2
CLOCK_SHIFT ?= 548
# The clock-shift check (the tests marked 'dates' again, SQLite, no browser, with the clock moved
# CLOCK_SHIFT days: a year and a half ahead, so another year, another half of it and another
# weekday) runs beside the main run, which waits on PostgreSQL, Redis, workers and
# Chromium much of the time; its results are printed after the main run's.
test: install
	@deploy/ensure-system-deps.sh --test
	$(BIN)/ruff check pingyi worker tests bench
	$(BIN)/lint-imports
	$(BIN)/bandit -q -r pingyi worker 2>/dev/null
	@log=$$(mktemp -d); for d in $(CLOCK_SHIFT); do \
	  ( $(BIN)/python -m pytest -p no:cacheprovider -m "dates and not browser" -k "not postgresql" --clock-shift=$$d \
	    >$$log/$$d 2>&1; echo $$? >$$log/$$d.rc ) & \
	done; $(BIN)/python -m pytest -n $(TEST_WORKERS) --durations=30; fail=$$?; wait; \
	echo "Clock-shift check: the tests marked 'dates' again (SQLite, no browser) with the clock moved +$(CLOCK_SHIFT) days"; \
	for d in $(CLOCK_SHIFT); do \
	  if [ "$$(cat $$log/$$d.rc)" = 0 ]; then tail -n 2 $$log/$$d; else cat $$log/$$d; fail=1; fi; \
	done; rm -rf $$log; exit $$fail

# Backups (docs/deploy.md: Backups and restore): `make backup` writes BACKUP_DIR/pingyi-<time>.backup of DATABASE_URL
# (OUT=file to choose; outside the checkout by default, where `make clean` cannot reach it);
# `make restore FILE=… INTO=<an empty database's URL>` restores one (FORCE=1: over existing tables).
.PHONY: backup restore
BACKUP_DIR ?= $(HOME)/pingyi-backups
backup: install
	@mkdir -p "$(BACKUP_DIR)"
	$(BIN)/pingyi backup --out "$(or $(OUT),$(BACKUP_DIR)/pingyi-$(shell date +%Y%m%d-%H%M%S).backup)"

restore: install
	@test -n "$(FILE)" -a -n "$(INTO)" || { echo "usage: make restore FILE=<backup file> INTO=<database URL> [FORCE=1]"; exit 2; }
	$(BIN)/pingyi restore "$(FILE)" --into "$(INTO)" $(if $(FORCE),--force)

# Checks this host's production configuration (docs/deploy.md: Checking a production host):
# one line per check with what to do; exits 1 when a required check fails.
.PHONY: prod-check
prod-check: install
	$(BIN)/pingyi doctor

lint: install
	$(BIN)/ruff check pingyi worker tests bench
	$(BIN)/lint-imports
	$(BIN)/bandit -q -r pingyi worker 2>/dev/null

# Known vulnerabilities in every pinned package of $(CONSTRAINTS) (pip-audit, in a throwaway venv).
# Not part of `make test`: it needs the vulnerability database online (PyPI's JSON API, or
# AUDIT_SERVICE=osv for OSV); it fails when a package has a known vulnerability or cannot be looked up.
AUDIT_SERVICE ?= pypi
audit:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(PY) -m venv "$$tmp" && "$$tmp/bin/pip" install -q 'pip-audit==2.10.1' && \
	"$$tmp/bin/pip-audit" --strict --no-deps --disable-pip --desc -s $(AUDIT_SERVICE) -r $(CONSTRAINTS)

clean:
	rm -rf $(VENV) instance .pytest_cache
