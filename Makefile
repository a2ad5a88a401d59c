# One venv in .venv; every target installs what it needs first, so each works on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Install, import DATA= files if given (else fetch from the official portal when no dataset exists yet),
# then serve. Without any dataset the service still runs, answering from libphonenumber alone.
run: $(STAMP)
ifneq ($(strip $(DATA)),)
	$(BIN)/numlookup data import $(DATA)
else
	$(BIN)/numlookup data status >/dev/null 2>&1 || $(BIN)/numlookup data update || true
endif
	$(BIN)/numlookup run

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check worker tests bench
	$(BIN)/ruff format --check worker tests bench
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/lookup.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
