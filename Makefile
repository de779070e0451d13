# medialake: `make demo` ingests the bundled samples and searches them; `make test` runs the tests.
# Both set up .venv first (torch pinned to the CPU build, then the package); a second run
# skips the install while pyproject.toml is unchanged.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.medialake-installed
DEMO_DB ?= .medialake/demo.lance
export RAY_AUTH_MODE ?= disabled
export RAY_USAGE_STATS_ENABLED ?= 0

.PHONY: install demo test clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --compile -q "torch==2.13.0"
	$(BIN)/pip install --compile -q -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/medialake ingest samples --db $(DEMO_DB)
	$(BIN)/medialake search "quarterly budget review" --db $(DEMO_DB) --limit 3
	$(BIN)/medialake search "bread delivered to the island" --db $(DEMO_DB) --limit 3
	$(BIN)/medialake search "a lighthouse lamp at night" --db $(DEMO_DB) --type audio --limit 3

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The browser test drives Debian's headless Chromium (root on CI; skipped once installed).
.PHONY: chromium
chromium:
	test -x /usr/bin/chromium || (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium)

test: chromium

clean:
	rm -rf $(VENV) .medialake .pytest_cache
