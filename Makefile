# kyphoimg: the two commands a new user needs are `make demo` and `make test`.
# Both create .venv when needed, install the project with its pinned dependencies
# (constraints.txt: name==version only) and then run.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.kyphoimg-installed
EXTRAS := stats,sr,dask,test,dev
JOBS   ?= 2

.PHONY: help sysdeps venv install demo test bench lint sample-data clean

help:
	@echo "make demo    set up .venv and run kyphoimg on the bundled sample data"
	@echo "make test    set up .venv and run the test suite"
	@echo "make bench   run the benchmarks (writes bench_results.json)"
	@echo "make lint    ruff + mypy (core)"
	@echo "make sample-data  regenerate sample_dicom/ (deterministic)"

sysdeps:
	@bash tools/sysdeps.sh

$(BIN)/python:
	@$(MAKE) --no-print-directory sysdeps
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"

# The build backend comes from constraints.txt too (no build isolation), so builds are pinned.
$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/python -m pip install --quiet -c constraints.txt setuptools wheel
	$(BIN)/python -m pip install --quiet -c constraints.txt --no-build-isolation -e ".[$(EXTRAS)]"
	@touch $(STAMP)

venv install: $(STAMP)

demo: $(STAMP)
	$(BIN)/kyphoimg demo -o demo-output

sample-data: $(STAMP)
	$(BIN)/python sample_dicom/generate.py

# Tests run against a non-editable install of the working tree (importlib import mode),
# so a file missing from the wheel fails here rather than on a user's machine.
test: $(STAMP)
	@$(MAKE) --no-print-directory sysdeps
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation --force-reinstall .
	$(BIN)/pytest -n $(JOBS)

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
