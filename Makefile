# Two commands matter: `make demo` (run the pipeline on the demo payers) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
MONTH ?= $(shell date -u +%Y-%m)
export DAGSTER_HOME := $(CURDIR)/.dagster_home

.PHONY: install demo test test-lowest dev clean

install: $(VENV)/.installed $(DAGSTER_HOME)/dagster.yaml

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# Dagster reads dagster.yaml only from $DAGSTER_HOME.
$(DAGSTER_HOME)/dagster.yaml: dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	cp dagster.yaml $@

# Materialize every asset and check of every enabled payer for one month (offline: demo payers
# are files in the repository), then print what landed where.
demo: install
	MRF_OFFLINE=1 $(BIN)/mrf materialize --month $(MONTH)

test: install
	MRF_OFFLINE=1 $(BIN)/pytest -q $(PYTEST_ARGS)

# The same tests on the oldest release of each direct dependency that pyproject.toml allows (uv's
# lowest-direct resolution): its lower bounds are what a user's existing environment is trusted with.
LOWEST := .venv-lowest
test-lowest:
	rm -rf $(LOWEST)
	$(PYTHON) -m venv $(LOWEST)
	$(LOWEST)/bin/pip install --quiet 'uv>=0.4,<1'
	$(LOWEST)/bin/uv pip install --quiet --python $(LOWEST)/bin/python --resolution lowest-direct -e '.[dev]'
	MRF_OFFLINE=1 $(LOWEST)/bin/pytest -q $(PYTEST_ARGS)

dev: install
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

clean:
	rm -rf data $(DAGSTER_HOME)
