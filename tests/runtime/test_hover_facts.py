"""Every PyTorch claim in the API hovers, checked against real torch (2.13, CPU).

Mapping (hover key -> tests here or in test_torch_facts.py):

- hover.train / hover.eval: recursion, return self, train(False) == eval, bare `model.eval`
  does nothing, eval keeps autograd -> test_torch_facts.py (test_train_and_eval_recurse...,
  test_train_false_is_eval, test_bare_eval_attribute_does_nothing,
  test_eval_does_not_disable_autograd, test_train_rejects_a_non_bool_mode)
- hover.no_grad / enable_grad / inference_mode / set_grad_enabled -> test_torch_facts.py (the grad tests)
- hover.requires_grad_ -> test_requires_grad_false_does_not_freeze_mode_or_batch_norm
- hover.zero_grad -> test_zero_grad_sets_none_by_default_and_backward_accumulates
- hover.dropout_functional -> test_functional_dropout_defaults_to_training_and_scales
- hover.dropout_module -> test_dropout_module_scales_in_train_and_is_identity_in_eval,
  test_dropout_built_in_forward_stays_on_after_eval
- hover.batchnorm -> test_batch_norm_momentum_update_formula, test_torch_facts.py (no_grad still updates,
  eval leaves stats, single sample raises, track_running_stats=False)
- hover.compile -> test_compiled_wrapper_shares_training_and_recompiles_once_per_mode
"""

from __future__ import annotations

import inspect

import torch
import torch.nn.functional as F
from torch import nn


def test_requires_grad_false_does_not_freeze_mode_or_batch_norm() -> None:
    norm = nn.BatchNorm1d(3)
    norm.requires_grad_(False)
    assert norm.training
    before = norm.running_mean.clone()
    out = norm(torch.randn(8, 3, requires_grad=True))
    assert not torch.equal(before, norm.running_mean)  # running statistics still move
    assert out.requires_grad  # not no_grad: the input's graph goes on


def test_zero_grad_sets_none_by_default_and_backward_accumulates() -> None:
    assert inspect.signature(torch.optim.Optimizer.zero_grad).parameters["set_to_none"].default is True
    layer = nn.Linear(2, 1)
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.1)
    x = torch.ones(1, 2)
    layer(x).sum().backward()
    first = layer.weight.grad.clone()
    layer(x).sum().backward()
    assert torch.allclose(layer.weight.grad, 2 * first)  # added, not replaced
    optimizer.zero_grad()
    assert layer.weight.grad is None


def test_functional_dropout_defaults_to_training_and_scales() -> None:
    parameters = inspect.signature(F.dropout).parameters
    assert list(parameters) == ["input", "p", "training", "inplace"]
    assert parameters["training"].default is True
    torch.manual_seed(0)
    out = F.dropout(torch.ones(1000), p=0.5)
    kept = out[out != 0]
    assert 0 < kept.numel() < 1000 and torch.allclose(kept, torch.full_like(kept, 2.0))
    for name in ("dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout"):
        assert inspect.signature(getattr(F, name)).parameters["training"].default in (True, False)


def test_dropout_module_scales_in_train_and_is_identity_in_eval() -> None:
    torch.manual_seed(0)
    drop = nn.Dropout(0.25)
    out = drop(torch.ones(1000))
    kept = out[out != 0]
    assert torch.allclose(kept, torch.full_like(kept, 1 / 0.75))
    drop.eval()
    assert torch.equal(drop(torch.ones(10)), torch.ones(10))
    drop.train()
    with torch.no_grad():  # no_grad does not turn dropout off
        assert (drop(torch.ones(1000)) == 0).any()


def test_dropout_built_in_forward_stays_on_after_eval() -> None:
    class Net(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return nn.Dropout(0.5)(x)

    net = Net().eval()
    assert (net(torch.ones(1000)) == 0).any()


def test_batch_norm_momentum_update_formula() -> None:
    norm = nn.BatchNorm1d(2)
    assert norm.momentum == 0.1
    batch = torch.randn(16, 2)
    norm(batch)
    assert torch.allclose(norm.running_mean, 0.9 * torch.zeros(2) + 0.1 * batch.mean(0), atol=1e-6)


def test_compiled_wrapper_shares_training_and_recompiles_once_per_mode() -> None:
    graphs: list[int] = []

    def counting_backend(graph: torch.fx.GraphModule, inputs: list[torch.Tensor]):  # type: ignore[no-untyped-def]
        graphs.append(1)
        return graph.forward

    torch._dynamo.reset()
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    compiled = torch.compile(model, backend=counting_backend)
    model.eval()
    assert not compiled.training  # the wrapper reads the original module's flag
    compiled.train()
    assert model.training
    x = torch.randn(3, 2)
    compiled(x)
    compiled(x)
    assert len(graphs) == 1
    compiled.eval()
    compiled(x)
    assert len(graphs) == 2  # the first forward in eval mode compiles a new graph
    compiled.train()
    compiled(x)
    assert len(graphs) == 2  # back to a mode already seen: reused
