# userpulse: the common paths. `make demo` and `make test` work in a fresh clone: they create the
# venv and fetch the jars first (stamp files keep re-runs quick). redis-server, java and mvn come
# from the OS; .ci/run installs them (needs root), make does not.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
VENV_STAMP := $(VENV)/.installed
JARS_STAMP := infra/lib/.stamp

.PHONY: venv deps up down status demo test test-unit test-integration lint format clean

## venv: create .venv and install userpulse with its dev extras (again when pyproject.toml changes)
venv: $(VENV_STAMP)
$(VENV_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

## deps: Kafka broker + Flink connector jars from Maven Central, and the project's Flink UDF jar
## (built and unit-tested from infra/udf/), into infra/lib (again when a pom or a UDF source changes)
UDF_SOURCES := infra/udf/pom.xml $(shell find infra/udf/src -type f 2>/dev/null)
deps: $(JARS_STAMP)
$(JARS_STAMP): infra/pom.xml $(UDF_SOURCES)
	rm -rf infra/lib/kafka infra/lib/flink
	mvn -q -B -f infra/pom.xml package
	touch $@

## up / down / status: the local Kafka broker and Redis (data under .userpulse/)
up: venv deps
	$(BIN)/userpulse up

down: venv
	$(BIN)/userpulse down

status: venv
	$(BIN)/userpulse status

## demo: the end-to-end demo
demo: venv deps
	$(BIN)/userpulse demo

## test: all tiers; integration tests start their own stack on test ports
test: venv deps
	$(BIN)/pytest -q tests

test-unit: venv
	$(BIN)/pytest -q tests/unit

test-integration: venv deps
	$(BIN)/pytest -q -m integration tests/integration

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
