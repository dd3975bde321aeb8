# Two commands for a newcomer: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint unit integration security e2e chaos soak clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --upgrade --quiet pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The HTTP API on 127.0.0.1:3000 unless the environment or .env sets WAGW_API_ADDR (docs/api.md).
run: $(STAMP)
	@addr="$${WAGW_API_ADDR:-$$(sed -n 's/^WAGW_API_ADDR=//p' .env 2>/dev/null | tail -n 1)}"; \
	addr="$${addr:-127.0.0.1:3000}"; \
	echo "wagw: HTTP API at http://$$addr/ (docs at /docs; log in with WAGW_API_BASIC_AUTH or a token from 'wagw accounts token NAME')"; \
	WAGW_API_ADDR="$$addr" exec $(BIN)/wagw run

# ruff (lint and format check) and mypy; `make test` runs them first.
lint: $(STAMP)
	$(BIN)/ruff check wagw workers tests chaos bench
	$(BIN)/ruff format --check wagw workers tests chaos bench
	$(BIN)/mypy

# The dashboard's browser test needs chromium; without it that one test skips, saying so.
# Test files run side by side (TEST_JOBS at once, each file on one runner: module fixtures
# start daemons once); the short chaos run goes alone afterwards, its figures need the machine.
TEST_JOBS ?= 3
test: lint
	$(BIN)/python -m pytest -q -n $(TEST_JOBS) --dist loadfile -m "not chaos" tests
	$(BIN)/python -m pytest -q -m chaos tests

unit: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit

# neonize's real Python and Go store code, offline: only the Go calls that would reach
# WhatsApp are stubbed, at the ctypes boundary (tests/conformance/goboundary.py).
.PHONY: conformance
conformance: $(STAMP)
	$(BIN)/python -m pytest -q tests/conformance

integration: $(STAMP)
	$(BIN)/python -m pytest -q tests/integration

security: $(STAMP)
	$(BIN)/python -m pytest -q tests/security

e2e: $(STAMP)
	$(BIN)/python -m pytest -q tests/e2e

# The whole daemon under crashes, kills and outages (at most 5 minutes); figures as a table
# and in var/chaos/report.json, exit 1 if a target is missed. docs/reliability.md.
chaos: $(STAMP)
	$(BIN)/python -m chaos.run --json-out var/chaos/report.json

# The same for SOAK_SECONDS (default an hour), with memory growth per process.
SOAK_SECONDS ?= 3600
soak: $(STAMP)
	$(BIN)/python -m chaos.run --soak $(SOAK_SECONDS) --json-out var/chaos/soak.json

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
