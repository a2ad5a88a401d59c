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

# Install, import DATA= files if given and not already serving, then serve. With no dataset yet, `numlookup run`
# imports the bundled registry snapshot itself (a second), serves at once and tries the official portal in the
# background; a second `make run` imports nothing.
run: $(STAMP)
ifneq ($(strip $(DATA)),)
	$(BIN)/numlookup data import --if-changed $(DATA)
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
