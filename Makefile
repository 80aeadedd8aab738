# doti — the two commands: `make run` (the whole service locally) and `make test` (every test).
# Both build the virtual environment on first use; nothing else needs installing by hand.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# The shared layer is importable as on Lambda (/opt/python); the repo root holds infra/, bench/, tests/.
export PYTHONPATH := $(CURDIR):$(CURDIR)/layers/common:$(CURDIR)/functions/admin:$(CURDIR)/functions/viewer

.PHONY: run test bench lint unit integration package-size clean

$(STAMP): requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "pip>=24,<26.3"  # chalice 1.34 requires pip<26.3
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m infra.local

test: $(STAMP) lint
	$(BIN)/python -m pytest
	$(BIN)/python -m infra.package_size

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit

integration: $(STAMP)
	$(BIN)/python -m pytest tests/integration

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

package-size: $(STAMP)
	$(BIN)/python -m infra.package_size

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .doti build .pytest_cache .ruff_cache
