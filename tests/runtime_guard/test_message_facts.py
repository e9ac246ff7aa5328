"""Every claim about PyTorch in the runtime messages (docs/messages/runtime.py), on real torch."""

from __future__ import annotations

import torch
from torch import nn

from torchmode.docs.catalogue import CATALOGUE


def _claims(key: str) -> str:
    return CATALOGUE[key]["en"]


def test_eval_mode_dropout_passes_everything_and_batch_norm_uses_frozen_running_statistics() -> None:
    assert "dropout passes every activation through" in _claims("runtime.TM101.message")
    assert "running statistics without updating them" in _claims("runtime.TM101.message")
    x = torch.randn(16, 6) * 3 + 1
    dropout = nn.Dropout(0.5).eval()
    assert torch.equal(dropout(x), x)
    norm = nn.BatchNorm1d(6).eval()
    before = (norm.running_mean.clone(), norm.running_var.clone())
    output = norm(x)
    assert torch.equal(norm.running_mean, before[0]) and torch.equal(norm.running_var, before[1])
    expected = (x - before[0]) / torch.sqrt(before[1] + norm.eps) * norm.weight + norm.bias
    assert torch.allclose(output, expected, atol=1e-6)


def test_autograd_off_does_not_change_the_mode_and_train_mode_still_drops_and_updates() -> None:
    message = _claims("runtime.TM102.message")
    assert "Turning autograd off does not change the mode" in message
    assert "updates its running statistics" in message and "zeroes activations at random" in message
    torch.manual_seed(0)
    x = torch.randn(16, 6) * 3 + 1
    for context in (torch.no_grad, torch.inference_mode):
        dropout, norm = nn.Dropout(0.5), nn.BatchNorm1d(6)
        with context():
            assert dropout.training and norm.training
            dropped = dropout(x)
            normed = norm(x)
        assert (dropped == 0).any() and not torch.equal(dropped, x)
        assert not torch.equal(norm.running_mean, torch.zeros(6))  # updated from this batch
        batch = (x - x.mean(0)) / torch.sqrt(x.var(0, unbiased=False) + norm.eps)
        assert torch.allclose(normed, batch, atol=1e-5)  # normalised with the batch's statistics


def test_a_new_module_starts_in_train_mode_and_eval_does_not_turn_autograd_off() -> None:
    assert "a new module starts in train mode" in _claims("runtime.cause.train_fresh")
    assert all(module.training for module in nn.Sequential(nn.Linear(2, 2), nn.Dropout()).modules())
    assert "`eval()` does not turn autograd off" in _claims("runtime.TM201.message")
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout()).eval()
    output = model(torch.randn(3, 2))
    assert output.requires_grad and output.grad_fn is not None
