# The two commands of the README:
#   make book    installs what it needs, executes every chapter under PROFILE (default cpu)
#                and builds the HTML book into _build/html
#   make test    installs what it needs, runs the unit tests, executes every chapter under
#                the tiny profile, builds that book, and checks the executed chapters with nbval
PROFILE ?= cpu
# pytest processes for make test's first phase (pytest-xdist; one file's tests stay in one process)
TEST_WORKERS ?= 2
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed

.PHONY: book test unit install bench clean publish multiplication pretrained
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

# The multiplication page's runs take longer than the book's budget: under cpu and paper `make
# book` only reads them from the cache (the page says when they are missing); this trains them.
multiplication: $(STAMP)
	$(PY) -m companion compute multiplication --profile $(PROFILE)

# Chapter 6's tier (b) (SmolLM2-135M: SFT then GRPO at two seeds) likewise: under cpu `make book`
# reads it from the cache; this trains it.
pretrained: $(STAMP)
	$(PY) -m companion compute pretrained --profile $(PROFILE)

# The tiny book is built under _build/tiny with its own cache, then nbval re-executes each
# chapter with the cache off and compares the outputs of the cells marked NBVAL_CHECK_OUTPUT:
# the chapters run, and the same seed gives the same numbers in a fresh kernel.
test: export COMPANION_MODELS_DIR := $(CURDIR)/_build/tiny/models
test: $(STAMP)
	@# tests/test_browser.py opens the built book in headless Chromium: install it so CI never skips
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)
	COMPANION_CACHE_DIR=$(CURDIR)/_build/tiny/cache $(PY) -m companion book --profile tiny --out _build/tiny --no-progress
	@# the tests marked serial start processes of their own and wait on them with time-outs:
	@# they run alone, after the others, so that no other test competes with them for the cores
	COMPANION_CACHE=off COMPANION_TEST_BOOK_CACHE=$(CURDIR)/_build/tiny/cache $(PY) -m pytest \
		tests _build/tiny/notebooks/tiny --nbval-lax --nbval-sanitize-with tests/nbval_sanitize.cfg \
		-p no:cacheprovider -q -m "not serial" -n $(TEST_WORKERS) --dist loadfile --durations=10
	COMPANION_CACHE=off $(PY) -m pytest tests -p no:cacheprovider -q -m serial

# the fast unit tier, for developers (under a minute): no training runs, no chapters, no browser
unit: $(STAMP)
	COMPANION_CACHE=off $(PY) -m pytest tests -m "not slow" -q -p no:cacheprovider

bench: $(STAMP)
	$(PY) -m companion bench --csv _build/bench.csv

clean:
	rm -rf _build

# `make publish` pushes the book already built in BOOK_HTML to the gh-pages branch of
# PUBLISH_REMOTE (a remote's name, URL or path) with ghp-import: -n adds .nojekyll (the
# book's _static/ and _images/ folders would be hidden by Jekyll otherwise). It never builds
# and does not depend on the venv stamp, so publishing never recomputes or reinstalls.
# ghp-import writes the branch from git objects (git fast-import): the working tree and the
# current branch are left as they are.
BOOK_HTML ?= _build/html
PUBLISH_REMOTE ?= origin
GHP_IMPORT ?= $(VENV)/bin/ghp-import

publish:
	@test -f "$(BOOK_HTML)/index.html" || { echo "make publish: no built book at" \
		"BOOK_HTML=$(BOOK_HTML) (no index.html there); build it first with 'make book'" \
		"(publish never builds)" >&2; exit 1; }
	@command -v "$(GHP_IMPORT)" >/dev/null || { echo "make publish: ghp-import not found at" \
		"GHP_IMPORT=$(GHP_IMPORT); run 'make install' or set GHP_IMPORT" >&2; exit 1; }
	"$(GHP_IMPORT)" -n -p -r "$(PUBLISH_REMOTE)" -b gh-pages -m "book published from commit \
	$$(git rev-parse --short=12 HEAD)$$(git diff --quiet HEAD -- || echo ' with uncommitted changes')" \
		"$(BOOK_HTML)"
