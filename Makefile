# userpulse: the common paths. `make demo` and `make test` work in a fresh clone: they create the
# venv and fetch the jars first (stamp files keep re-runs quick). Before any download they check
# the OS prerequisites (infra/prereqs.sh: Python + venv, Java 17, Maven, redis-server; for `test`
# also openssl, redis-tools): installed when the machine lets it (Debian, root or passwordless
# sudo), else one line per missing tool with the command to get it.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
VENV_STAMP := $(VENV)/.installed
JARS_STAMP := infra/lib/.stamp
REGISTRY_STAMP := infra/lib/registry/.stamp

# The recorded logs that `make demo`, the bench and the tests replay: the workplace's shared/
# folder beside the checkout (the package has no default for them: --data-dir or this setting)
export USERPULSE_REPLAY_DATA_DIR ?= $(abspath ../shared/data/real)

.PHONY: prereqs prereqs-test venv deps registry up down status cluster-up cluster-down submit demo test test-long test-jvm test-unit test-integration chaos lint lint-imports format clean bench bench-quick bench-peer-venv serve

## prereqs / prereqs-test: check (and where possible install) what `make demo` / `make test` need
prereqs:
	@PYTHON=$(PYTHON) infra/prereqs.sh demo

prereqs-test:
	@PYTHON=$(PYTHON) infra/prereqs.sh test

## venv: create .venv and install userpulse with its dev extras (again when pyproject.toml changes)
venv: $(VENV_STAMP)
$(VENV_STAMP): pyproject.toml | prereqs
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[dev]'
	$(BIN)/python infra/package_tree.py
	touch $@

## deps: Kafka broker + Flink connector jars from Maven Central, and the project's own jar (the
## job's per-event path, built from jvm/; its JUnit tests run in `make test`), into infra/lib
## (again when a pom or a JVM source changes)
JVM_SOURCES := jvm/pom.xml $(shell find jvm/src/main -type f 2>/dev/null)
deps: $(JARS_STAMP)
$(JARS_STAMP): infra/pom.xml $(JVM_SOURCES) | prereqs
	rm -rf infra/lib/kafka infra/lib/flink
	mvn -q -B -f infra/pom.xml -DskipTests package
	touch $@

## registry: the local schema registry (Apicurio Registry 3, ~160 MB from Maven Central, run on
## Java 21+) into infra/lib/registry. Not part of `deps` (`make demo` does not need it); `make
## test` fetches it (the registry tests start one). Start it with `userpulse up --registry`.
registry: $(REGISTRY_STAMP)
$(REGISTRY_STAMP): infra/registry/pom.xml
	rm -rf infra/lib/registry infra/registry/target
	mvn -q -B -f infra/registry/pom.xml package
	touch $@

## up / down / status: the local Kafka broker and Redis (data under .userpulse/)
up: prereqs venv deps
	$(BIN)/userpulse up

down: venv
	$(BIN)/userpulse down

status: venv
	$(BIN)/userpulse status

## cluster-up / cluster-down: the local Flink session cluster (JobManager + 2 TaskManagers);
## submit: the feature job on it with parallelism P (default 2). docs/operations.md
P ?= 2
cluster-up: prereqs venv deps
	$(BIN)/userpulse cluster up

cluster-down: venv
	$(BIN)/userpulse cluster down

submit: venv deps
	$(BIN)/userpulse job submit -p $(P)

## serve: the HTTP lookup service on the local stack's Redis (docs/lookup.md); Ctrl-C stops it
serve: venv
	$(BIN)/userpulse features serve

## demo: the end-to-end demo
demo: prereqs venv deps
	$(BIN)/userpulse demo

## test: all tiers: the JVM module's JUnit tests (they start their own redis-server), then
## pytest (integration tests start their own stack on test ports), without the `long` ones.
## TEST_WORKERS=N runs the test files on N pytest-xdist processes (a file stays on one worker;
## each worker starts its own Kafka, Redis and Flink clusters on free ports): 15.0 min against
## 21.7 min in one process on a 2-core machine (README). The default, 0, is one process until
## 2 workers pass three CI runs in a row.
## test-long: the `long` tests (minutes each: session cluster + savepoints; e.g. case H10 across
## a savepoint with the schema registry)
TEST_WORKERS ?= 0
test: prereqs-test venv deps registry lint-imports test-jvm
	$(BIN)/pytest -q --durations=25 -n $(TEST_WORKERS) --dist loadfile -m "not long" tests

test-long: venv deps registry
	$(BIN)/pytest -q -m long tests

test-jvm:
	mvn -B -ntp -f jvm/pom.xml test

test-unit: venv
	$(BIN)/pytest -q tests/unit

test-integration: venv deps registry
	$(BIN)/pytest -q -m "integration and not long" tests/integration

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
## guarantees"): rows 1-8 at full durations, Redis hung 120 s and slowed, out of memory, hung
## behind the HTTP service, the controls of the store rows (also on a Redis Cluster), the 20 min
## soak (row 9), on a test stack and session cluster of their own; prints the table and writes
## bench/out/chaos-*.json. About 50 min (long matrix ~25 min, soak 20 min + set-up). The short
## forms run in `make test`.
chaos: venv deps
	USERPULSE_CHAOS=long $(BIN)/pytest -q -s -rA tests/integration/test_fault_matrix.py tests/integration/test_cluster_store_loss.py -k "long or soak or control_store or control_without"

## lint: ruff (lint + format check), mypy, and the import layers ([tool.importlinter]: core <-
## contracts <- adapters <- operations <- CLI). mypy and lint-imports read the installed shape of
## the package (.package_tree, infra/package_tree.py). lint-imports alone: `make lint-imports`
## (a few s; part of `make test`).
lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python infra/package_tree.py
	$(BIN)/mypy
	cd .package_tree && ../$(BIN)/lint-imports ../pyproject.toml

lint-imports: venv
	$(BIN)/python infra/package_tree.py
	cd .package_tree && ../$(BIN)/lint-imports ../pyproject.toml

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## clean: stop the stack and remove generated files (keeps .venv; data under .userpulse/ goes)
clean:
	-[ -x $(BIN)/userpulse ] && $(BIN)/userpulse down
	rm -rf .userpulse infra/lib .pytest_cache .mypy_cache .ruff_cache
