# The single entry point for humans and CI. Every target builds its own .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench browser clean

$(STAMP): pyproject.toml sandbox/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ./sandbox -e '.[dev]'
	touch $(STAMP)

# `make demo PORT=9000 SANDBOX_PORT=9800` moves both servers; HOST=0.0.0.0 serves a container/VM.
PORT ?= 8000
SANDBOX_PORT ?= 8800
HOST ?= 127.0.0.1
demo: $(STAMP)
	$(BIN)/gorgias-appkit demo --host $(HOST) --port $(PORT) --sandbox-port $(SANDBOX_PORT)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# ruff's rule set (pyproject.toml) includes S, the bandit security rules: every ignore there or
# in a noqa comment says why. mypy is strict on src/. import-linter checks the layers and fences
# drawn in docs/architecture.md (contracts in pyproject.toml).
lint: $(STAMP)
	$(BIN)/ruff check src tests bench sandbox
	$(BIN)/ruff format --check src tests bench sandbox
	$(BIN)/mypy src/gorgias_appkit sandbox/src/gorgias_sandbox
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python -m bench

# The browser tier alone (also part of `make test`): Debian's /usr/bin/chromium via Playwright.
# UPDATE_SCREENSHOTS=1 make browser refreshes docs/screenshots.
browser: $(STAMP)
	$(BIN)/python -m pytest -m browser tests/browser $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache instance
