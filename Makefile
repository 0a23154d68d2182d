# Two entry points for a fresh clone: `make demo` and `make test`. Both install into .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint format clean

install: $(STAMP)

# Reinstall only when the packaging files change; the editable install picks up code changes.
# Every runtime extra (s3, redis) too: the demo and the tests use all the backends.
$(STAMP): pyproject.toml setup.cfg
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[all,dev]'
	touch $(STAMP)

# The demo's symbol store: the test app's symbols as a build would upload them (with INFO
# CODE_ID, so modules without a debug id are found by code-info lookup) plus crash-client's.
# The .sym files live in tests/data, their one home in the repository.
TESTDATA := tests/data
DEMO_SYMBOLS := .cache/demo-symbols
$(DEMO_SYMBOLS)/.built: $(STAMP)
	rm -rf $(DEMO_SYMBOLS)
	$(BIN)/symbols add $(DEMO_SYMBOLS) $(TESTDATA)/symbols-with-code-id/*/*/*.sym $(TESTDATA)/symbols/crash-client/*/*.sym
	touch $@

# The demo prints each sample processed here, then stores and processes them the way an
# installation does (submit, daemon) into ./var, so the reports and the crash browser have
# something to show afterwards.
demo: install $(DEMO_SYMBOLS)/.built
	$(BIN)/crashproc process --format summary --symbols-path $(DEMO_SYMBOLS) \
		--symbols-cache .cache/symbols examples/crashes/*/
	$(BIN)/crashproc submit examples/crashes/*/ >/dev/null
	$(BIN)/crashproc daemon --once --workers 1 --symbols-path $(DEMO_SYMBOLS) \
		--symbols-cache .cache/symbols
	@echo "stored in ./var: try '$(BIN)/crashproc report signatures' or '$(BIN)/crashproc web' (http://127.0.0.1:8090/)"

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .cache build *.egg-info

.PHONY: bench-signature
bench-signature: install
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[bench]'
	$(BIN)/python bench/signature.py

.PHONY: bench-symbols
bench-symbols: install
	$(BIN)/python bench/symbols.py

.PHONY: bench-stackwalk
bench-stackwalk: install
	$(BIN)/python bench/stackwalk.py

.PHONY: bench-processor
bench-processor: install $(DEMO_SYMBOLS)/.built
	$(BIN)/python bench/processor.py --symbols-path $(DEMO_SYMBOLS)

# A Firefox-shaped crash and xul.sym (BENCH_ARGS="--scale 1" for the full 600 MB file; the
# generated store is kept in .cache/bench-production).
.PHONY: bench-production
bench-production: install
	$(BIN)/python bench/production.py $(BENCH_ARGS)

.PHONY: bench-reports
bench-reports: install
	$(BIN)/python bench/reports.py

.PHONY: bench-collector
bench-collector: install
	$(BIN)/python bench/collector.py

# The report index on SQLite and PostgreSQL side by side (a throw-away server on 127.0.0.1).
.PHONY: bench-index
bench-index: install
	$(BIN)/python bench/index.py

.PHONY: bench-scaling
bench-scaling: install
	$(BIN)/python bench/scaling.py

.PHONY: bench-hostile
bench-hostile: install
	$(BIN)/python bench/hostile.py

.PHONY: bench-web
bench-web: install
	$(BIN)/python bench/web.py
