"""Notebook tests: CLI runs in a fresh folder, and the LSP helpers of tests/lsp."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# tests/lsp has no __init__.py; its helpers are imported by module name, as its own tests do.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lsp"))


@pytest.fixture(autouse=True)
def in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Relative paths in the output are short and known."""
    monkeypatch.chdir(tmp_path)
    return tmp_path
