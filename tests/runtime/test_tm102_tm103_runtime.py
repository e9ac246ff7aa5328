"""TM102 and TM103 against real PyTorch: what the messages claim happens, happens; the fixes fix it.

Each case file's functions are executed on a tiny model with dropout and batch
norm (CPU, random data), before and after applying the rule's preferred fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from torchmode.engine import Settings, check_source
from torchmode.syntax import apply_edits

CASES = Path(__file__).resolve().parent.parent / "cases"


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.Dropout(0.5))
        self.head = nn.Linear(8, 1)

    def forward(self, x: torch.Tensor, targets: torch.Tensor | None = None) -> torch.Tensor:
        out = self.head(self.encoder(x))
        return out if targets is None else (out - targets).pow(2).mean()


def load(code: str, name: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": name}
    exec(compile(code, name, "exec"), namespace)
    return namespace


def fixed(code: str, rule: str) -> str:
    findings = check_source(code, settings=Settings(select=(rule,))).findings
    assert findings, f"{rule} does not fire"
    fix = findings[0].preferred_fix
    assert fix is not None
    return apply_edits(code, fix.edits)


def batches(count: int, seed: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    generator = torch.Generator().manual_seed(seed)
    return [
        (torch.randn(4, 6, generator=generator), torch.randn(4, 1, generator=generator)) for _ in range(count)
    ]


def test_a_new_module_is_in_train_mode_and_loading_weights_keeps_it() -> None:
    model = Net()
    assert model.training
    model.load_state_dict(Net().state_dict())
    assert model.training and all(module.training for module in model.modules())


@pytest.mark.parametrize("apply_fix", [False, True])
def test_tm102_evaluation_runs_in_train_mode_and_changes_batch_norm(apply_fix: bool) -> None:
    code = (CASES / "tm102" / "evaluate_called_with_train_model.py").read_text(encoding="utf-8")
    if apply_fix:
        code = fixed(code, "TM102")
    namespace = load(code, "tm102_case")
    torch.manual_seed(0)
    model = Net()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    seen: list[tuple[bool, bool]] = []  # (grad enabled, model.training) at each forward
    model.register_forward_pre_hook(
        lambda module, args: seen.append((torch.is_grad_enabled(), module.training))
    )
    evaluate = namespace["evaluate"]
    running_mean_moves: list[bool] = []

    def watched_evaluate(m: Net, loader: Any) -> float:
        before = m.encoder[1].running_mean.clone()
        result: float = evaluate(m, loader)
        running_mean_moves.append(not torch.equal(before, m.encoder[1].running_mean))
        return result

    namespace["evaluate"] = watched_evaluate
    namespace["fit"](model, optimizer, batches(3, 1), batches(2, 2), 2)
    evaluation_modes = {training for grad, training in seen if not grad}
    training_modes = {training for grad, training in seen if grad}
    if apply_fix:
        assert evaluation_modes == {False}
        assert running_mean_moves == [False, False]
    else:
        # What the message says: train mode in the evaluation, and evaluating changes the model.
        assert evaluation_modes == {True}
        assert running_mean_moves == [True, True]
    # Training forwards stay in train mode either way (the fix restores it after the call).
    assert training_modes == {True}
    if apply_fix:
        # The fix leaves neither TM102 nor the TM101 its eval() could have planted in the caller.
        assert not check_source(code, settings=Settings(select=("TM1",))).findings


def test_tm102_fresh_model_dropout_is_active_during_inference() -> None:
    torch.manual_seed(0)
    model = Net()
    x = torch.randn(4, 6)
    with torch.no_grad():
        first, second = model(x), model(x)
    assert not torch.equal(first, second)  # dropout (and batch statistics) differ per call
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(x), model(x))


@pytest.mark.parametrize("apply_fix", [False, True])
def test_tm103_train_undoes_the_batch_norm_freeze(apply_fix: bool) -> None:
    code = (CASES / "tm103" / "freeze_bn_helper_before_loop.py").read_text(encoding="utf-8")
    code = code.replace("nn.BatchNorm2d", "nn.BatchNorm1d")  # the tiny model is 1-d
    if apply_fix:
        code = fixed(code, "TM103")
    namespace = load(code, "tm103_case")
    torch.manual_seed(0)
    model = Net()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    batch_norm = model.encoder[1]
    seen: list[bool] = []
    batch_norm.register_forward_pre_hook(lambda module, args: seen.append(module.training))
    namespace["fit"](model, optimizer, batches(2, 3), 2)
    # Without the fix, model.train() puts the frozen batch norm back in train mode.
    assert set(seen) == ({False} if apply_fix else {True})
    findings = check_source(code, settings=Settings(select=("TM103",))).findings
    assert bool(findings) is not apply_fix
