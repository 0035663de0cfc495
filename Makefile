# The two commands of the README:
#   make book    installs what it needs, executes every chapter under PROFILE (default cpu)
#                and builds the HTML book into _build/html
#   make test    installs what it needs, runs the unit tests, executes every chapter under
#                the tiny profile, builds that book, and checks the executed chapters with nbval
PROFILE ?= cpu
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed

.PHONY: book test unit install bench clean
.DEFAULT_GOAL := book

$(STAMP): requirements.txt requirements-nodeps.txt constraints.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q -c constraints.txt -r requirements.txt
	$(PIP) install -q --no-deps --ignore-requires-python -r requirements-nodeps.txt
	$(PIP) install -q --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

book: $(STAMP)
	$(PY) -m companion book --profile $(PROFILE)

# The tiny book is built under _build/tiny with its own cache, then nbval re-executes each
# chapter with the cache off and compares the outputs of the cells marked NBVAL_CHECK_OUTPUT:
# the chapters run, and the same seed gives the same numbers in a fresh kernel.
test: $(STAMP)
	@# tests/test_browser.py opens the built book in headless Chromium: install it so CI never skips
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)
	COMPANION_CACHE_DIR=$(CURDIR)/_build/tiny/cache $(PY) -m companion book --profile tiny --out _build/tiny --no-progress
	COMPANION_CACHE=off $(PY) -m pytest tests _build/tiny/notebooks/tiny --nbval-lax \
		--nbval-sanitize-with tests/nbval_sanitize.cfg -p no:cacheprovider -q

# the fast unit tier, for developers (under a minute): no training runs, no chapters, no browser
unit: $(STAMP)
	COMPANION_CACHE=off $(PY) -m pytest tests -m "not slow" -q -p no:cacheprovider

bench: $(STAMP)
	$(PY) -m companion bench --csv _build/bench.csv

clean:
	rm -rf _build
