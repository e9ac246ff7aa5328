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
LINT_PATHS := $(wildcard server tests bench examples .ci/*.py client/scripts/*.py bundled/tool/*.py)

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
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(BIN)/mypy
	$(BIN)/lint-imports --no-logo

# pytest's own exit code is kept in a file because make reports any failed recipe as 2;
# .ci/run exits with it (1 tests failed, 5 no tests collected, ...).
PYTEST_STATUS := $(VENV)/.pytest-exit-status

test: lint
	@rm -f $(PYTEST_STATUS)
	$(BIN)/python -m pytest $(PYTEST_ARGS); status=$$?; echo $$status > $(PYTEST_STATUS); exit $$status

clean:
	rm -rf .pytest_cache .mypy_cache .ruff_cache
	find . -name __pycache__ -type d -not -path './$(VENV)/*' -not -path './.venv-3.*/*' -prune -exec rm -rf {} +

# The suite on the other supported Pythons (3.10-3.13 less the main one), each in its own
# .venv-3.X: python3.X from PATH or pyenv, torch where its wheel installs (where it does not,
# the tests that run real PyTorch are left out and the reason printed). The real-editor tests run once, in `make test`.
# PYTHON_VERSIONS picks versions (e.g. `make test-pythons PYTHON_VERSIONS=3.13`); PYTEST_ARGS
# passes through. See .ci/test_pythons.py. `.ci/run` runs it after `make test`.
.PHONY: test-pythons

test-pythons: setup
	$(BIN)/python .ci/test_pythons.py $(PYTHON_VERSIONS) $(if $(PYTEST_ARGS),-- $(PYTEST_ARGS))

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

# The registry corpus: pinned releases of real PyTorch projects from PyPI (tests/realworld/corpus.py,
# downloaded once into ~/.cache/torchmode-realworld or $$TORCHMODE_CORPUS_CACHE), checked by the
# real CLI against the reviewed findings in tests/realworld/expected.toml, and every offered fix
# checked for safety. `TORCHMODE_UPDATE_CORPUS=1 make realworld` rewrites the list (new findings
# come in as "unreviewed", which fails until reviewed). Needs the package registry; fails without it.
.PHONY: realworld

realworld: setup
	$(BIN)/python -m pytest tests/realworld $(PYTEST_ARGS)

# The performance figures (bench/run_all.py; docs/performance.md): CLI throughput against libcst
# and the peers TorchFix and dslinter (each installed on first use into its own venv under
# ~/.cache/torchmode-bench), editor latency, hover and code action, cold start, memory, and a
# profile of every missed target. Writes bench/results.md. BENCH_ARGS=--quick for a rough look.
.PHONY: bench

bench: setup
	$(BIN)/python bench/run_all.py $(BENCH_ARGS)
