# Everything the README names. `make book` and `make test` create the virtual environment
# on first use (and again when pyproject.toml changes).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PROFILE ?= quick
DATA ?= data/synth-$(PROFILE)
FRAMES ?= data/frames-$(PROFILE)
WORKERS ?=

BIN := $(VENV)/bin
DEPS_HASH := $(shell cat pyproject.toml | sha1sum | cut -c1-12)
CHECKOUT_HASH := $(shell pwd | sha1sum | cut -c1-12)
DEPS_STAMP := $(VENV)/.deps-$(DEPS_HASH)
EDITABLE_STAMP := $(VENV)/.editable-$(CHECKOUT_HASH)-$(DEPS_HASH)

.PHONY: env book data preprocess test figures browser clean help

help:
	@echo "make book   set up, then data, pre-processing, Tables 3-6 and the site ($(PROFILE) profile) into book/_build/html"
	@echo "make test   set up and run the test suite"
	@echo "make env    only create/update the virtual environment in $(VENV)"

env: $(EDITABLE_STAMP)

# Third-party dependencies: slow (torch + CUDA wheels, ~5 GB), so keyed by pyproject.toml.
$(DEPS_STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11 not found: install python3.11 (with venv) first"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet ".[book,test]"
	$(BIN)/python -m pip uninstall --quiet --yes omglib
	rm -f $(VENV)/.deps-* $(VENV)/.editable-*
	touch $@

# This checkout, installed editable (cheap; re-done for each checkout sharing a cached venv).
$(EDITABLE_STAMP): $(DEPS_STAMP)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	rm -f $(VENV)/.editable-*
	touch $@

data: env
	$(BIN)/omg synth --profile $(PROFILE) --out $(DATA) $(if $(WORKERS),--workers $(WORKERS))
	$(BIN)/omg data summary --data-root $(DATA) --missing-list $(DATA)/missing_videos.csv

preprocess: data
	$(BIN)/omg preprocess --profile $(PROFILE) --data-root $(DATA) --out $(FRAMES) $(if $(WORKERS),--workers $(WORKERS))

figures: data
	mkdir -p build/figures
	$(BIN)/omg figure va-grid --out build/figures/surrogate_va_grid.png
	$(BIN)/omg figure preprocess --profile paper --out build/figures/preprocessing_steps.png \
		--video "$$(ls $(DATA)/omg/test/*/*.mp4 | head -1)"

# Debian's Chromium, for the site check (`omg book`) and its test; installed once.
browser:
	@command -v chromium >/dev/null || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# The main job: data, pre-processing, every experiment of Tables 3-6, the notebooks, the site.
book: env browser
	$(BIN)/omg book --profile $(PROFILE) $(if $(DATA_ROOT),--data-root $(DATA_ROOT))

test: env browser
	$(BIN)/python -m pytest -q

clean:
	rm -rf build book/_build book/_source
