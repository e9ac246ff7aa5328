"""The runtime guard's tests: each leaves torch's global hooks and nn.Module's methods as it found them.

The other Pythons of `make test-pythons` have no torch (see .ci/test_pythons.py); there only the
tests that need none run (test_without_torch.py).
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# The editor test drives the language server with the helpers of tests/lsp (no __init__.py:
# imported by module name, as its own tests do).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lsp"))

HAS_TORCH = importlib.util.find_spec("torch") is not None
TORCH_FREE = {"test_without_torch.py"}
if not HAS_TORCH:
    collect_ignore = sorted(
        path.name for path in Path(__file__).parent.glob("test_*.py") if path.name not in TORCH_FREE
    )


def _global_state() -> tuple[Any, ...]:
    import torch
    from torch.nn.modules import module as module_hooks

    return (
        len(module_hooks._global_forward_pre_hooks),
        len(module_hooks._global_forward_hooks),
        torch.nn.Module.train,
        torch.nn.Module.zero_grad,
        torch.optim.Optimizer.zero_grad,
    )


@pytest.fixture(autouse=True)
def _no_guard_left_behind() -> Iterator[None]:
    """Every test leaves torch's global hooks and nn.Module.train as it found them."""
    if not HAS_TORCH:
        yield
        return
    before = _global_state()
    yield
    assert _global_state() == before, "the guard left hooks or wrappers installed"
