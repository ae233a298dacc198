# The two commands of the README: `make demo` and `make test`. Each sets everything up
# first (scripts/bootstrap.sh), so both work on a fresh clone.
.PHONY: setup demo test test-full bench broker-start broker-stop dagster-dev

VENV := .venv/bin

setup:
	./scripts/bootstrap.sh

demo: setup
	$(VENV)/agentaudit demo

test: setup
	$(VENV)/python -m pytest -m "not slow" -p no:cacheprovider

test-full: setup
	$(VENV)/python -m pytest -p no:cacheprovider

bench: setup
	$(VENV)/python -m pipelines.benchmarks

broker-start: setup
	$(VENV)/python -m pipelines.kafka.broker start

broker-stop:
	$(VENV)/python -m pipelines.kafka.broker stop

dagster-dev: setup
	DAGSTER_HOME=$(CURDIR)/dagster_home $(VENV)/dagster dev -m pipelines.definitions
