# Two entry points (see README): `make book` and `make test`.
# Both create .venv when missing and reinstall only when pyproject.toml or constraints.txt
# changes. constraints.txt pins what this machine needs (torch's CPU build); the package's
# own metadata asks only for ranges.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PROFILE ?= quick

.PHONY: book test bench clean env lab

$(STAMP): pyproject.toml setup.py constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[fast,book,dev]"
	@touch $(STAMP)

env: $(STAMP)

book: $(STAMP)
	$(BIN)/innmf book --profile $(PROFILE)

test: $(STAMP)
	$(BIN)/python -m pytest

# JupyterLab on the chapters: right-click a .py, "Open With > Jupytext Notebook" (jupytext.toml pairs it with an .ipynb).
lab: $(STAMP)
	$(BIN)/jupyter lab notebooks

bench: $(STAMP)
	$(BIN)/innmf bench

clean:
	rm -rf _build .pytest_cache
