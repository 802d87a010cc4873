# Two commands from a fresh machine: `make demo` and `make test`.
# Each creates .venv from plain python3 when missing and installs what it needs (`make test`: nothing heavy).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEMO_OUT ?= build/demo

.PHONY: demo test lint typecheck pytest bench bench-check lab assets clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# One stamp per set of extras, so `make test` after `make demo` installs only what is missing.
$(VENV)/.base: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# The benchmark peers (PyTorch CPU, SciPy, numdifftools) only where they are compared: `make bench-check` and
# `make bench`. torch stays pinned in the bench extra (an unpinned torch pulls gigabytes of CUDA libraries).
$(VENV)/.bench: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $@

$(VENV)/.lab: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,notebooks]'
	touch $@


demo: $(VENV)/.base
	$(BIN)/toynet demo --out $(DEMO_OUT)

lint: $(VENV)/.dev
	$(BIN)/ruff check toynet tests benchmarks notebooks

typecheck: $(VENV)/.dev
	$(BIN)/mypy

# worksteal: each worker starts with half of the tests (the slow ones first, tests/conftest.py) and a worker that
# runs out takes from the tail of the other's queue, so both finish together.
pytest: $(VENV)/.dev
	$(BIN)/python -m pytest -n 2 --dist worksteal

test: lint typecheck pytest

# Every peer computes the same function as toynet (benchmarks/tests/), checked before anything is timed.
bench-check: $(VENV)/.bench
	$(BIN)/python -m pytest -n 2 benchmarks/tests

bench: bench-check
	$(BIN)/python -m benchmarks

# Served from the repository root (not notebooks/) so the notebooks' ../assets/ figures resolve. Jupyter refuses
# to run as root without --allow-root, and root is the usual user in a container.
LAB_AS_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)
lab: $(VENV)/.lab
	$(BIN)/jupyter lab $(LAB_AS_ROOT) --ServerApp.root_dir=$(CURDIR) notebooks/01_gradient_checking_1d.ipynb

assets: $(VENV)/.base
	$(BIN)/python assets/make_figures.py

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache .hypothesis
