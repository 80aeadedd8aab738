# doti — the two commands: `make run` (the whole service locally) and `make test` (every test).
# Both build the virtual environment on first use; nothing else needs installing by hand.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# The shared layer is importable as on Lambda (/opt/python); the repo root holds infra/, bench/, tests/.
export PYTHONPATH := $(CURDIR):$(CURDIR)/layers/common:$(CURDIR)/functions/admin:$(CURDIR)/functions/viewer

.PHONY: run test test-shifted bench lint unit integration browser chromium package-size clean faults tools checkov \
	verify-audit prereqs build sam-cli

$(STAMP): requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "pip>=24,<26.3"  # chalice 1.34 requires pip<26.3
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

# checkov and SAM's translator, in their own venv: aws-sam-translator pins an older pydantic than the layer ships.
TOOLS       := .venv-tools
TOOLS_STAMP := $(TOOLS)/.installed

$(TOOLS_STAMP): requirements-tools.txt
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet -r requirements-tools.txt
	touch $(TOOLS_STAMP)

tools: $(TOOLS_STAMP)

# The template's security checks on their own (make test runs them in tests/infra/test_operations.py).
checkov: $(TOOLS_STAMP)
	BC_SKIP_MAPPING=TRUE $(TOOLS)/bin/checkov -f template.yaml --config-file .checkov.yaml --skip-download

run: $(STAMP)
	$(BIN)/python -m infra.local

# Two test workers (these machines have two cores); a file stays whole on one worker, so its local stack is shared.
# DOTI_REQUIRE_TOOLS: here a missing tools venv fails the template checks instead of skipping them.
test: $(STAMP) $(TOOLS_STAMP) lint chromium
	DOTI_REQUIRE_TOOLS=1 $(BIN)/python -m pytest -n 2 --dist loadfile
	$(BIN)/python -m infra.package_size

# The whole suite with the wall clock of every Python process moved by SHIFT (issue 9: no test depends on the
# date). Only the wall clock moves (tests/clock_shift/sitecustomize.py); Chromium keeps the real one, as a phone
# whose clock is wrong would. `make test` runs the date-sensitive tests this way (tests/test_dates.py).
SHIFT ?= +400d
test-shifted: $(STAMP) chromium
	DOTI_CLOCK_SHIFT=$(SHIFT) PYTHONPATH=$(CURDIR)/tests/clock_shift:$(PYTHONPATH) $(BIN)/python -m pytest -n 2 --dist loadfile

# The exhaustive fault-injection sweep (issue 11): every AWS call of every scenario in every fault mode, with the
# real retries and the invariants checked after them (1195 points, about 8 minutes on 2 idle cores); `make test`
# runs a sample of it (tests/faults/test_sweep.py). `--distinct` leaves out the runs that repeat another (a read in
# lost, crash or dup) and takes about 6 minutes.
faults: $(STAMP)
	$(BIN)/python -m tests.faults.sweep --all

# Every test against moto in-process (one provisioned moto per test process), grouped by surface.
MOTO_TESTS := tests/device tests/customer tests/staff tests/jobs tests/cross_surface tests/domain tests/infra
unit: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile $(MOTO_TESTS)

integration: $(STAMP)
	$(BIN)/python -m pytest tests/local_stack

browser: $(STAMP) chromium
	$(BIN)/python -m pytest tests/browser

# The browser tests drive Debian's Chromium through Playwright (no bundled browser): install it, with a Japanese
# font for legible screenshots, when missing and this user can (root, or sudo without a password); otherwise those
# tests skip and say why.
# A fresh image has no package lists, so they are updated (quietly) first, and only when something is missing; a
# failed update (one mirror down) still lets the install try with the lists there are.
BROWSER_PACKAGES := chromium fonts-ipafont-gothic
APT_INSTALL := apt-get update -qq; apt-get install -y $(BROWSER_PACKAGES)
chromium:
	@(command -v chromium && fc-list :lang=ja | grep -q .) >/dev/null 2>&1 \
		|| { [ "$$(id -u)" = 0 ] && sh -c '$(APT_INSTALL)'; } || sudo -n sh -c '$(APT_INSTALL)' \
		|| echo "chromium is missing and could not be installed: the browser tests will be skipped"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

package-size: $(STAMP)
	$(BIN)/python -m infra.package_size

# Every audit chain against the digests in the Object Lock bucket (issue 14 §4): the local stack's by default;
# ARGS="--stack doti-prod --region ap-northeast-1" for a deployed one. Non-zero exit on any mismatch.
ARGS ?= --local
verify-audit: $(STAMP)
	$(BIN)/python -m infra.verify_audit $(ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench

# `make build`: sam build for template.yaml (python3.12, arm64), after `make prereqs` has checked what it needs: sam on
# PATH, and python3.12 with pip on PATH, or a running Docker for `sam build --use-container` (infra/prereqs.py).
# SAM_BUILD_ARGS go to sam build (e.g. --use-container, --cached). `make sam-cli` installs the README's SAM CLI
# (infra/requirements-sam.txt) into its own python3.12 environment, .venv-sam, whose bin/ these targets put first
# on PATH: its pins would fight those of .venv.
SAM_VENV   := .venv-sam
PYTHON312  ?= python3.12
SAM_PATH   := $(CURDIR)/$(SAM_VENV)/bin:$(PATH)

prereqs: $(STAMP)
	@PATH="$(SAM_PATH)" $(BIN)/python -m infra.prereqs $(SAM_BUILD_ARGS)

build: $(STAMP)
	@PATH="$(SAM_PATH)" $(BIN)/python -m infra.prereqs --build $(SAM_BUILD_ARGS)

sam-cli: $(SAM_VENV)/.installed

$(SAM_VENV)/.installed: infra/requirements-sam.txt
	@command -v $(PYTHON312) >/dev/null || { echo "$(PYTHON312) is not on PATH: SAM CLI goes into a python3.12 \
	environment (set PYTHON312=/path/to/python3.12)"; exit 1; }
	$(PYTHON312) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet -r infra/requirements-sam.txt
	touch $@

clean:
	rm -rf $(VENV) $(TOOLS) .doti build .pytest_cache .ruff_cache
