# Zorgcapaciteit. `make run` for the live demo stack, `make test` for the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
CONSOLE := api/console
# The console's vendored browser code (Leaflet from npm), built from its lock file.
CONSOLE_VENDOR := $(CONSOLE)/vendor/leaflet/leaflet-src.esm.js

.PHONY: install up down status run test test-unit fuzz mutation lint bench docs screenshots \
	verify-monitoring clean

$(INSTALLED): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip
	@$(PY) -m pip install -q -e '.[dev,local]'
	@rm -f $(VENV)/.installed-* && touch $@

$(CONSOLE_VENDOR): $(CONSOLE)/package-lock.json $(CONSOLE)/build.mjs
	@npm ci --prefix $(CONSOLE) --no-audit --no-fund --loglevel=error
	@npm run --prefix $(CONSOLE) --silent build

install: $(INSTALLED) $(CONSOLE_VENDOR) ## Install the pinned dependencies: .venv, PGlite and the console's Leaflet (npm), Prometheus and Chromium (apt)
	@test -d ops/pglite/node_modules || npm ci --prefix ops/pglite --no-audit --no-fund --loglevel=error
	@command -v prometheus >/dev/null || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null; }
	@command -v chromium >/dev/null || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

up: install ## Start broker, database, stream worker and API in the background
	@$(PY) -m stack up

down: ## Stop everything `make up` started, by PID
	@if [ -x $(PY) ]; then $(PY) -m stack down; fi

status: install ## Say what runs
	@$(PY) -m stack status

run: install ## The main job: up, demo data, follow logs until Ctrl-C, then down
	@$(PY) -m stack run

test: install ## The whole suite against the real broker and PostgreSQL (started and stopped here)
	@$(PY) -m pytest

test-unit: install ## Only the fast tests that need no services
	@$(PY) -m pytest -m "not integration"

fuzz: install ## Unbounded fuzzing: Schemathesis (random, every phase) and the adapter properties, longer
	@FUZZ_DETERMINISTIC=0 FUZZ_SEED=$${FUZZ_SEED:-$$RANDOM} FUZZ_MAX_EXAMPLES=$${FUZZ_MAX_EXAMPLES:-200} \
		FUZZ_PHASES=examples,coverage,fuzzing,stateful FUZZ_SECONDS=$${FUZZ_SECONDS:-1500} \
		FUZZ_REPORT_DIR=$${FUZZ_REPORT_DIR:-.fuzz} PROPERTY_EXAMPLES=$${PROPERTY_EXAMPLES:-2000} \
		$(PY) -m pytest -p no:cacheprovider tests/unit/test_adapter_properties.py \
		tests/integration/test_fuzz_api.py

mutation: install ## Mutation testing of the pure packages (mutmut) against the unit tests; prints the score
	@# mutmut refreshes the mutated .py files in mutants/ but keeps its old copies of the tests and
	@# the adapters' example files: a run after they changed tested stale copies. Start clean.
	@rm -rf mutants
	@$(PY) -m mutmut run --max-children $${MUTATION_JOBS:-2} $(MUTANTS)
	@$(PY) -m tests.mutation_score --min adapters=90 --min definitions=90

lint: install ## ruff, mypy strict, and the rules of the definition files
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/mypy
	@$(PY) -m definitions.check

bench: install ## Query, sink and push benchmarks (not part of make test); installs wrk (apt)
	@command -v wrk >/dev/null || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
	@$(PY) -m bench

verify-monitoring: install ## Evaluate the dashboard and alert rules with Prometheus on the running stack
	@$(PY) -m stack.monitoring

docs: install ## The browsable definition catalogue (docs/catalogue.html) and the request body schemas (schemas/requests/)
	@$(PY) -m definitions.docs
	@$(PY) -m adapters.request_schemas

screenshots: install ## The console's board, map, alerts, a trend and planning as docs/console-*.png, from its browser tests
	@CONSOLE_SCREENSHOT_DIR=docs $(PY) -m pytest -q tests/integration/test_console.py \
		-k "board or map or alert or next_4_hours or planning"

clean: down ## Stop the stack and remove its state
	@rm -rf .local .test-stack mutants .fuzz
