# Conclave: `make run` starts a server, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint i18n bench clean system-deps js-deps

run: $(STAMP)
	$(BIN)/conclave serve

# The whole suite runs inside a private network namespace (scripts/netns-run.sh): WebRTC
# needs a non-loopback interface, and nothing in the tests can reach beyond the machine.
test: $(STAMP) system-deps js-deps lint
	scripts/netns-run.sh $(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check conclave tests bench
	$(BIN)/ruff format --check conclave tests bench
	$(BIN)/mypy

i18n: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k N_ -o conclave/i18n/messages.pot --no-location --project=Conclave --version=0.1 .
	$(BIN)/pybabel update -i conclave/i18n/messages.pot -d conclave/i18n -l de --no-fuzzy-matching

# Benchmarks print their figures next to a baseline measured in the same run, and "met" or
# "NOT met" for each target (docs/performance.md). Those with real WebRTC run in the
# network namespace.
bench: $(STAMP) system-deps
	$(BIN)/python -m bench.startup
	$(BIN)/python -m bench.signaling
	scripts/netns-run.sh $(BIN)/python -m bench.join
	scripts/netns-run.sh $(BIN)/python -m bench.e2ee
	scripts/netns-run.sh $(BIN)/python -m bench.sfu
	$(BIN)/python -m bench.keys

$(STAMP): pyproject.toml
	scripts/venv.sh $(PYTHON) $(VENV)
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

system-deps:
	scripts/system-deps.sh

# npm packages of the browser tests (axe-core), into build/npm; not committed.
js-deps:
	scripts/js-deps.sh

clean:
	rm -rf $(VENV) conclave-data build/npm
