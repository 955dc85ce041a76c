# repro: every target creates .venv and installs the project into it when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export REPRO_MASK_SALT ?= demo-salt-not-secret

.PHONY: demo test lint fmt bench bench-small clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	rm -f demo/staging.db
	$(BIN)/repro demo init sqlite:///demo/production.db --force
	$(BIN)/repro --config demo/repro.yaml copy-user 7 --create-schema
	$(BIN)/repro --config demo/repro.yaml demo show 7

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check repro tests scripts
	$(BIN)/ruff format --check repro tests scripts
	$(BIN)/mypy
	MYPYPATH=scripts $(BIN)/mypy --strict scripts/*.py
	$(BIN)/repro demo init sqlite:///demo/production.db --force --quiet
	$(BIN)/repro --config demo/repro.yaml mask-check

fmt: $(STAMP)
	$(BIN)/ruff format repro tests scripts
	$(BIN)/ruff check --fix repro tests scripts

bench: $(STAMP)
	$(BIN)/python scripts/bench.py

bench-small: $(STAMP)
	$(BIN)/python scripts/bench.py --small

clean:
	rm -rf $(VENV) demo/*.db .repro .pytest_cache .mypy_cache .ruff_cache
