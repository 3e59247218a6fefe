# facesearch: `make run` sets up and starts the service; `make test` sets up and runs every test.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DATA_DIR ?= ./data

.PHONY: install test lint run bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

run: $(STAMP)
	FACESEARCH_DATA_DIR=$(DATA_DIR) $(BIN)/facesearch serve

bench: $(STAMP)
	$(BIN)/python benchmarks/enroll_throughput.py
	$(BIN)/python benchmarks/search_latency.py
	$(BIN)/python benchmarks/service_load.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
