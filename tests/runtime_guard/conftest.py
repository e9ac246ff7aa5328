"""Every runtime-guard test leaves torch's global hooks and nn.Module's methods as it found them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True)
def _no_guard_left_behind() -> Iterator[None]:
    """Every test leaves torch's global hooks and nn.Module.train as it found them."""
    from torch.nn.modules import module as module_hooks

    before = (
        len(module_hooks._global_forward_pre_hooks),
        len(module_hooks._global_forward_hooks),
        torch.nn.Module.train,
        torch.nn.Module.zero_grad,
        torch.optim.Optimizer.zero_grad,
    )
    yield
    after = (
        len(module_hooks._global_forward_pre_hooks),
        len(module_hooks._global_forward_hooks),
        torch.nn.Module.train,
        torch.nn.Module.zero_grad,
        torch.optim.Optimizer.zero_grad,
    )
    assert after == before, "the guard left hooks or wrappers installed"
