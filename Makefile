# KhaoSat: `make run` serves the demo, `make test` runs the whole suite, `make test-fast` the quick tier.
# All run `make setup` first, which installs exactly the versions (and hashes) in requirements.lock.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
STAMP := $(VENV)/.installed
LOCK := requirements.lock
TOOLS_LOCK := requirements-tools.lock
WORKERS ?= 2
PYTEST := $(BIN)/python -m pytest -q -p no:cacheprovider -n $(WORKERS) --dist worksteal
# Python's bytecode caches are kept even where the shell turns them off (PYTHONDONTWRITEBYTECODE): without them
# every test worker, and every server or worker process a test starts, compiles the whole project again
# (collection takes 18 s of CPU a worker instead of 9). `bytecode` compiles the project once before a run.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: setup run test test-fast lint lock translations messages clean bytecode

setup: $(STAMP) translations
	$(BIN)/khaosat init-db

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# requirements.lock through uv (requirements-tools.lock, hash-checked too), or pip where uv cannot be had
$(STAMP): pyproject.toml $(LOCK) $(TOOLS_LOCK) | $(BIN)/python
	if $(BIN)/pip install --quiet --require-hashes -r $(TOOLS_LOCK); then \
		$(BIN)/uv pip install --quiet --python $(BIN)/python --require-hashes -r $(LOCK) \
		|| $(BIN)/pip install --quiet --require-hashes -r $(LOCK); \
	else $(BIN)/pip install --quiet --require-hashes -r $(LOCK); fi
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

# After changing the dependencies in pyproject.toml: resolve them again, with hashes, for requires-python.
# Resolve with the oldest Python it allows (make lock PYTHON=/usr/bin/python3.11 on Debian 12, Python 3.11.2):
# a dependency needed only below some 3.11.x (redis needs async-timeout before 3.11.3) is then in the lock,
# and the lock still installs on newer 3.11s.
lock:
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet pip-tools
	.lock-venv/bin/pip-compile --quiet --extra test --all-build-deps --allow-unsafe --generate-hashes \
		--strip-extras --no-emit-index-url --no-emit-find-links -o $(LOCK) pyproject.toml

translations: $(STAMP)
	$(BIN)/pybabel compile -d translations --statistics

# Re-extract the interface strings and merge them into both catalogs (then translate the new entries).
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k lazy_gettext -k lazy_pgettext:1c,2 --no-location --sort-output -o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching --ignore-obsolete --width 100

run: setup
	$(BIN)/khaosat demo
	$(BIN)/khaosat serve --port $(PORT)

# ruff (with C901 <= 15 and PLC0415), functions <= 40 lines, and no block of six or more identical
# lines in surveys/ analysis/ web/ (where the `duplicates` command is installed)
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python tests/code_shape.py
	@if command -v duplicates >/dev/null; then \
	  for d in surveys analysis web; do duplicates --repo $$d --most 200 --seconds 120; done \
	    | grep -E '^D[0-9]+ ' | grep -v ' shape' | grep -v 'migrations/versions/' \
	    | { if grep .; then echo "repeated blocks: make them one function"; exit 1; fi; }; \
	fi

bytecode: $(STAMP)
	$(BIN)/python -m compileall -q -j 0 surveys analysis web

test: setup lint bytecode
	$(PYTEST) --durations=25 $(PYTEST_ARGS)

# The edit-test loop: SQLite only, no browser, none of the slow tests (see tests/conftest.py); `make test` runs all.
test-fast: $(STAMP) translations lint bytecode
	$(PYTEST) -m "not browser and not postgres and not slow" $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .lock-venv instance translations/*/LC_MESSAGES/*.mo
	find surveys analysis web tests -name __pycache__ -type d -prune -exec rm -rf {} +
