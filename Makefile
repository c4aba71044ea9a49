# Everything the README names. `make book` and `make test` create the virtual environment
# on first use (and again when pyproject.toml or the lock file changes).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PROFILE ?= quick
DATA ?= data/synth-$(PROFILE)
FRAMES ?= data/frames-$(PROFILE)
WORKERS ?=
LOCK ?= requirements/lock-linux-py311.txt
REMOTE ?= $(shell git remote get-url origin 2>/dev/null)

BIN := $(VENV)/bin
DEPS_HASH := $(shell cat pyproject.toml $(LOCK) | sha1sum | cut -c1-12)
CHECKOUT_HASH := $(shell pwd | sha1sum | cut -c1-12)
DEPS_STAMP := $(VENV)/.deps-$(DEPS_HASH)
EDITABLE_STAMP := $(VENV)/.editable-$(CHECKOUT_HASH)-$(DEPS_HASH)

.PHONY: env lock book publish data preprocess test figures browser site-checks clean help

help:
	@echo "make book   set up, then data, pre-processing, Tables 3-6 and the site ($(PROFILE) profile) into book/_build/html"
	@echo "make test   set up and run the test suite"
	@echo "make env    only create/update the virtual environment in $(VENV) (pinned by $(LOCK))"
	@echo "make lock   re-resolve pyproject.toml in a fresh environment and rewrite $(LOCK)"
	@echo "make publish  push book/_build/html to the gh-pages branch of REMOTE (default: origin)"

env: $(EDITABLE_STAMP)

# Third-party dependencies, pinned by the lock file (Linux x86-64, Python 3.11): slow (torch +
# CUDA wheels, ~5 GB), so keyed by pyproject.toml and the lock.
$(DEPS_STAMP): pyproject.toml $(LOCK)
	@test -n "$(PYTHON)" || { echo "Python 3.11 not found: install python3.11 (with venv) first"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c $(LOCK) ".[book,test]"
	$(BIN)/python -m pip uninstall --quiet --yes omglib
	rm -f $(VENV)/.deps-* $(VENV)/.editable-*
	touch $@

# This checkout, installed editable (cheap; re-done for each checkout sharing a cached venv).
$(EDITABLE_STAMP): $(DEPS_STAMP)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	rm -f $(VENV)/.editable-*
	touch $@

# A fresh resolution of pyproject.toml (newest versions pip finds today), frozen into the lock.
lock:
	rm -rf build/lock-venv
	$(PYTHON) -m venv build/lock-venv
	build/lock-venv/bin/python -m pip install --quiet --upgrade pip
	build/lock-venv/bin/python -m pip install --quiet ".[book,test]"
	{ echo "# Locked versions for Linux x86-64 and Python 3.11: the Makefile installs with"; \
	  echo "#   pip install -c $(LOCK) \".[book,test]\""; \
	  echo "# Refresh with \`make lock\` (a fresh virtual environment resolved from pyproject.toml, then pip freeze)."; \
	  build/lock-venv/bin/python -m pip freeze --exclude-editable | grep -v -i -E '^omglib( |=|@)'; } > $(LOCK).tmp
	mv $(LOCK).tmp $(LOCK)
	rm -rf build/lock-venv

data: env
	$(BIN)/omg synth --profile $(PROFILE) --out $(DATA) $(if $(WORKERS),--workers $(WORKERS))
	$(BIN)/omg data summary --data-root $(DATA) --missing-list $(DATA)/missing_videos.csv

preprocess: data
	$(BIN)/omg preprocess --profile $(PROFILE) --data-root $(DATA) --out $(FRAMES) $(if $(WORKERS),--workers $(WORKERS))

# The method pages' figures (Figs. 4-7 too) and generated numbers (build/tables), as `omg book`
# stages them: enough to build the site from the repository itself (chapters without outputs).
figures: data
	$(BIN)/python -c "from pathlib import Path; from omglib import book; \
		book.figures(Path('$(DATA)'), Path('build/figures'), '$(PROFILE)')"

# Debian's Chromium, for the site check (`omg book`) and its test; installed once.
browser:
	@command -v chromium >/dev/null || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# The accessibility gate's tools (axe-core, puppeteer-core), pinned by package-lock.json:
# node tests/site/axe.mjs SITE_HTML runs axe-core on every page in Debian's Chromium.
site-checks: browser
	@command -v npm >/dev/null || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq nodejs npm >/dev/null; }
	@test -d node_modules/axe-core -a -d node_modules/puppeteer-core || npm ci --no-audit --no-fund --silent

# The main job: data, pre-processing, every experiment of Tables 3-6, the notebooks, the site.
book: env browser
	$(BIN)/omg book --profile $(PROFILE) $(if $(DATA_ROOT),--data-root $(DATA_ROOT))

# The built site onto REMOTE's gh-pages branch (run `make book` first).
publish: env
	@test -n "$(REMOTE)" || { echo "no git remote: make publish REMOTE=<url or path of the repository>"; exit 1; }
	$(BIN)/omg book --publish "$(REMOTE)" --out book

test: env browser site-checks
	$(BIN)/python -m pytest -q

clean:
	rm -rf build book/_build book/_source
