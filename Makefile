# Two entry points (see README): `make book` and `make test`.
# Both create .venv when missing and reinstall only when pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PROFILE ?= quick

.PHONY: book test bench clean env

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[book,dev]"
	@touch $(STAMP)

env: $(STAMP)

book: $(STAMP)
	$(BIN)/innmf book --profile $(PROFILE)

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/innmf bench

clean:
	rm -rf _build .pytest_cache
