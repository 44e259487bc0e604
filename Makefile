# Signpost: `make run` (the main job, on the embedded local Apache Kafka) and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install lint run test test-faults test-unit lexicon-check evaluate bench profile kafka-start kafka-stop clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,dev]'
	touch $(STAMP)

run: install
	ops/with-kafka ops/run-demo

test: install
	$(VENV)/bin/signpost lexicon-check >/dev/null
	ops/with-kafka $(PY) -m pytest --ignore=tests/faults

# The single broker's scenarios, then the cluster's (three brokers of their own, tests/faults/test_cluster_faults.py;
# `-m cluster` alone). KAFKA_CLUSTER_PORT pins that cluster's ports (brokers, then controller), else free ones.
test-faults: install
	ops/with-kafka $(PY) -m pytest tests/faults

test-unit: install
	$(PY) -m pytest -m "not integration and not prometheus and not faults"

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

lexicon-check: install
	$(VENV)/bin/signpost lexicon-check

evaluate: install
	$(VENV)/bin/signpost evaluate --misses 20

bench: install
	$(PY) -m pip install -q -e '.[bench]'
	ops/with-kafka $(PY) -m bench

profile: install
	$(PY) -m pip install -q -e '.[bench]'
	ops/with-kafka $(PY) -m bench.profile

kafka-start:
	ops/kafka/devkafka start

kafka-stop:
	ops/kafka/devkafka stop

clean:
	rm -rf $(VENV) .devkafka .signpost-data .pytest_cache
