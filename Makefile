# pingyi — two commands: `make demo` and `make test` (see README.md).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
MO := pingyi/translations/en/LC_MESSAGES/messages.mo
PO := pingyi/translations/en/LC_MESSAGES/messages.po

.PHONY: demo test install lint translations messages bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q -U pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) $(MO)

$(MO): $(PO) | $(STAMP)
	$(BIN)/pybabel compile -d pingyi/translations -D messages

translations: $(MO)

# Re-extract msgids after changing UI strings, then translate the new ones in $(PO).
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o pingyi/translations/messages.pot .
	$(BIN)/pybabel update -i pingyi/translations/messages.pot -d pingyi/translations -D messages

demo: install
	@deploy/ensure-system-deps.sh
	$(BIN)/pingyi db upgrade
	$(BIN)/pingyi demo
	@echo
	@echo "  Open http://127.0.0.1:5000/login  (admin: admin@pingzhuang.example / pingyi-demo)"
	@echo
	$(BIN)/pingyi run --host 127.0.0.1 --port 5000

test: install
	@deploy/ensure-system-deps.sh --test
	$(BIN)/ruff check pingyi worker tests bench
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check pingyi worker tests bench

clean:
	rm -rf $(VENV) instance .pytest_cache
