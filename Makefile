# userpulse: the common paths. `make demo` and `make test` work in a fresh clone: they create the
# venv and fetch the jars first (stamp files keep re-runs quick). redis-server, java and mvn come
# from the OS; .ci/run installs them (needs root), make does not.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
VENV_STAMP := $(VENV)/.installed
JARS_STAMP := infra/lib/.stamp

.PHONY: venv deps up down status cluster-up cluster-down submit demo test test-jvm test-unit test-integration chaos lint format clean bench bench-quick bench-peer-venv serve

## venv: create .venv and install userpulse with its dev extras (again when pyproject.toml changes)
venv: $(VENV_STAMP)
$(VENV_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

## deps: Kafka broker + Flink connector jars from Maven Central, and the project's own jar (the
## job's per-event path, built from jvm/; its JUnit tests run in `make test`), into infra/lib
## (again when a pom or a JVM source changes)
JVM_SOURCES := jvm/pom.xml $(shell find jvm/src/main -type f 2>/dev/null)
deps: $(JARS_STAMP)
$(JARS_STAMP): infra/pom.xml $(JVM_SOURCES)
	rm -rf infra/lib/kafka infra/lib/flink
	mvn -q -B -f infra/pom.xml -DskipTests package
	touch $@

## up / down / status: the local Kafka broker and Redis (data under .userpulse/)
up: venv deps
	$(BIN)/userpulse up

down: venv
	$(BIN)/userpulse down

status: venv
	$(BIN)/userpulse status

## cluster-up / cluster-down: the local Flink session cluster (JobManager + 2 TaskManagers);
## submit: the feature job on it with parallelism P (default 2). docs/operations.md
P ?= 2
cluster-up: venv deps
	$(BIN)/userpulse cluster up

cluster-down: venv
	$(BIN)/userpulse cluster down

submit: venv deps
	$(BIN)/userpulse job submit -p $(P)

## serve: the HTTP lookup service on the local stack's Redis (docs/lookup.md); Ctrl-C stops it
serve: venv
	$(BIN)/userpulse features serve

## demo: the end-to-end demo
demo: venv deps
	$(BIN)/userpulse demo

## test: all tiers: the JVM module's JUnit tests (they start their own redis-server), then
## pytest (integration tests start their own stack on test ports)
test: venv deps test-jvm
	$(BIN)/pytest -q tests

test-jvm:
	mvn -B -ntp -f jvm/pom.xml test

test-unit: venv
	$(BIN)/pytest -q tests/unit

test-integration: venv deps
	$(BIN)/pytest -q -m integration tests/integration

## bench: the benchmark (docs/bench.md) on the local stack and Flink session cluster (started and
## stopped by it when not up): bench/report.json + PNGs, ~45 min.
## bench-quick: shorter steps, output in bench/out/ (git-ignored). Knobs: BENCH_* (bench/config.py)
## The peer (Quix Streams) pins an older confluent-kafka than ours: it gets its own venv.
PEER_VENV := .venv-peer
PEER_STAMP := $(PEER_VENV)/.installed
bench-peer-venv: $(PEER_STAMP)
$(PEER_STAMP):
	$(PYTHON) -m venv $(PEER_VENV)
	$(PEER_VENV)/bin/pip install -q 'quixstreams==3.28.1' 'fastavro>=1.9' 'redis[hiredis]>=5.0,<6' \
		'prometheus-client>=0.20' 'pydantic>=2.6' 'pydantic-settings>=2.2'
	touch $@

bench: venv deps bench-peer-venv
	$(BIN)/userpulse up
	$(BIN)/python -m bench.run

bench-quick: venv deps bench-peer-venv
	$(BIN)/userpulse up
	$(BIN)/python -m bench.run --quick

## chaos: the fault matrix's long forms (issue 12; docs/operations.md "What the system
## guarantees"): rows 1-5 and 8 at full durations, Redis hung 120 s and slowed, the 20 min soak
## (row 9), on a test stack and session cluster of their own; prints the table and writes
## bench/out/chaos-*.json. About 45 min (long matrix 20 min, soak 20 min + set-up). The short
## forms run in `make test`.
chaos: venv deps
	USERPULSE_CHAOS=long $(BIN)/pytest -q -s -rA tests/integration/test_fault_matrix.py -k "long or soak"

## lint: ruff (lint + format check) and mypy on the project's packages
lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## clean: stop the stack and remove generated files (keeps .venv; data under .userpulse/ goes)
clean:
	-[ -x $(BIN)/userpulse ] && $(BIN)/userpulse down
	rm -rf .userpulse infra/lib .pytest_cache .mypy_cache .ruff_cache
