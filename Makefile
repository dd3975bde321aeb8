# Two commands for a newcomer: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test unit integration e2e chaos soak bench clean chromium

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --upgrade --quiet pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/wagw run

# The dashboard's browser test uses Debian's chromium. Installed only when it is missing and
# we can (root, apt-get); otherwise that test skips.
chromium:
	@if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		echo "installing chromium for the dashboard browser test"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
			|| echo "chromium could not be installed: the browser test will skip"; \
	fi

test: $(STAMP) chromium
	$(BIN)/python -m pytest -q tests

unit: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit

integration: $(STAMP) chromium
	$(BIN)/python -m pytest -q tests/integration

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
