# ingest — common tasks. Every target creates/refreshes .venv and installs the project first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ES_PORT ?= 9200
OS_PORT ?= 9201

.PHONY: install demo test test-fast lint bench bench-quick bench-full es-up es-down os-up os-down browser clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/ingest demo

# Full suite: starts real Elasticsearch and OpenSearch nodes and installs Chromium when it can (see scripts/test.sh).
test: $(STAMP)
	bash scripts/test.sh

# Without Elasticsearch and the browser (those tests skip with a reason).
test-fast: $(STAMP)
	INGEST_SKIP_ES=1 $(BIN)/python -m pytest -q -m "not es and not browser"

# ruff (style, complexity budget 20), mypy over ingest/, and the import-layer contract (pyproject.toml).
lint: $(STAMP)
	$(BIN)/ruff check ingest tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

# Every benchmark into bench/results/latest.md (under 15 minutes on 2 cores); Elasticsearch and OpenSearch
# rows need a node (started here when possible).
# BENCH_ARGS go to bench/run_all.py, e.g. `make bench BENCH_ARGS="--only pipeline,enrich"`.
BENCH_ARGS ?=
bench: $(STAMP)
	bash scripts/bench.sh $(BENCH_ARGS)

# The same benchmarks at smaller sizes (bench/run_all.py --quick): a few minutes.
bench-quick: $(STAMP)
	bash scripts/bench.sh --quick $(BENCH_ARGS)

# Also the large sizes behind the README's scale figures (10,000-article pipeline, 100,000-article search,
# 100,000 alert rules): about an hour.
bench-full: $(STAMP)
	bash scripts/bench.sh --full $(BENCH_ARGS)

es-up:
	ES_PORT=$(ES_PORT) bash scripts/es-node.sh up

es-down:
	ES_PORT=$(ES_PORT) bash scripts/es-node.sh down

# OpenSearch 2.19.6 with the percolator module, beside Elasticsearch (scripts/opensearch-node.sh).
os-up:
	OS_PORT=$(OS_PORT) bash scripts/opensearch-node.sh up

os-down:
	OS_PORT=$(OS_PORT) bash scripts/opensearch-node.sh down

browser:
	bash scripts/install-browser.sh

clean:
	rm -rf $(VENV) data .es .opensearch test-output
