# kyphoimg: the two commands a new user needs are `make demo` and `make test`.
# Both create .venv when needed, install the project with its pinned dependencies
# (constraints.txt: name==version only) and then run.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.kyphoimg-installed
EXTRAS := stats,sr,pacs,dask,test,dev
JOBS   ?= 2

PLUGIN := plugins/napari-kyphoimg
XVFB   := xvfb-run -a -s "-screen 0 1920x1200x24"

.PHONY: help sysdeps sysdeps-test venv install demo test bench lint sample-data screenshots clean

help:
	@echo "make demo    set up .venv and run kyphoimg on the bundled sample data"
	@echo "make test    set up .venv and run the test suite"
	@echo "make bench   run the benchmarks (writes bench_results.json)"
	@echo "make lint    ruff + mypy (core)"
	@echo "make sample-data  regenerate sample_dicom/ (deterministic)"
	@echo "make screenshots  redraw docs/images/*.png of the napari plugin"

sysdeps:
	@bash tools/sysdeps.sh

sysdeps-test:
	@bash tools/sysdeps.sh test

$(BIN)/python:
	@$(MAKE) --no-print-directory sysdeps
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"

# The build backend comes from constraints.txt too (no build isolation), so builds are pinned.
$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/python -m pip install --quiet -c constraints.txt setuptools wheel
	$(BIN)/python -m pip install --quiet -c constraints.txt --no-build-isolation -e ".[$(EXTRAS)]"
	$(BIN)/python -m pip install --quiet -c constraints.txt --no-build-isolation -e "$(PLUGIN)[pyqt6,testing]"
	@touch $(STAMP)

venv install: $(STAMP)

# The demo types what a user types: a synthetic cohort of films, run, report; then
# `kyphoimg demo` adds a DICOM SR per film and the two seed studies on simulated cohorts.
DEMO := demo-output
demo: $(STAMP)
	$(BIN)/kyphoimg sample -o $(DEMO)/films --patients 40
	$(BIN)/kyphoimg run $(DEMO)/films -o $(DEMO)/study --clinical $(DEMO)/films/clinical.csv --format csv,xlsx
	$(BIN)/kyphoimg report $(DEMO)/study -o $(DEMO)/report
	$(BIN)/kyphoimg demo -o $(DEMO) --data $(DEMO)/films

sample-data: $(STAMP)
	$(BIN)/python sample_dicom/generate.py

# Tests run against non-editable installs of the working tree (importlib import mode),
# so a file missing from a wheel fails here rather than on a user's machine. The core
# suite never loads napari; the plugin's GUI tests run for real on a virtual X screen.
# The tests run against a regular (non-editable) install, as users get it (package data,
# entry points); the editable install is put back afterwards, pass or fail, so that demo,
# bench and screenshots keep seeing the working tree.
test: $(STAMP)
	@$(MAKE) --no-print-directory sysdeps-test
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation --force-reinstall . ./$(PLUGIN)
	@status=0; \
	$(BIN)/pytest -n $(JOBS) || status=$$?; \
	if [ $$status -eq 0 ]; then \
	  $(XVFB) $(BIN)/python -m pytest $(PLUGIN)/tests -p no:cacheprovider || status=$$?; \
	fi; \
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e . -e ./$(PLUGIN); \
	exit $$status

bench: $(STAMP) sysdeps-test
	$(XVFB) $(BIN)/python benchmarks/run.py

screenshots: $(STAMP) sysdeps-test
	$(XVFB) $(BIN)/python tools/screenshots.py

lint: $(STAMP)
	$(BIN)/ruff check . $(PLUGIN)
	$(BIN)/ruff format --check . $(PLUGIN)
	$(BIN)/mypy

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
