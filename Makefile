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
	# the default text model's ONNX graph, exported once into the cache (else the first run's actor does it)
	$(BIN)/python -m medialake.models.text_onnx all-MiniLM-L6-v2 >/dev/null || echo "text model not exported to ONNX; the text role will try again on first use"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/medialake ingest samples --db $(DEMO_DB) --config samples/demo.yaml
	$(BIN)/medialake search "quarterly budget review" --db $(DEMO_DB) --limit 3
	$(BIN)/medialake search "bread delivered to the island" --db $(DEMO_DB) --limit 3
	$(BIN)/medialake search "a lighthouse lamp at night" --db $(DEMO_DB) --type audio --limit 3

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Debian packages the tests use (one per line in debian-packages.txt: Chromium for the
# browser tests, ...). Root on CI; a package already installed is skipped.
DEBIAN_PACKAGES := $(shell grep -v '^\#' debian-packages.txt)
.PHONY: system
system:
	@missing=""; for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; fi

test: system

clean:
	rm -rf $(VENV) .medialake .pytest_cache
