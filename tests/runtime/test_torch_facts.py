"""The PyTorch facts that torchmode's messages and hovers state, checked against real torch.

Every hover sentence about what ``train()``/``eval()``/``no_grad`` and friends do
is only as good as the runtime it describes. These tests pin each claim (see
``shared/notes/pytorch-semantics.md``) on the torch the project tests with, so a
behaviour change in a new torch release fails here instead of leaving a wrong
hover behind. Tiny CPU tensors; the whole file runs in well under a second.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch
from torch import nn


@pytest.fixture(autouse=True)
def _grad_mode_restored() -> Iterator[None]:
    # Some tests switch grad mode with a plain call; never leak it into others.
    torch.manual_seed(0)
    previous = torch.is_grad_enabled()
    yield
    torch.set_grad_enabled(previous)


def _net() -> nn.Sequential:
    return nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Dropout(0.5), nn.Linear(8, 2))


def test_eval_does_not_disable_autograd() -> None:
    model = _net().eval()
    output = model(torch.randn(3, 4))
    assert torch.is_grad_enabled()
    assert output.requires_grad
    output.sum().backward()
    first = model[0]
    assert isinstance(first, nn.Linear)
    assert first.weight.grad is not None


def test_no_grad_does_not_change_training_flag() -> None:
    model = _net()
    with torch.no_grad():
        assert model.training
        output = model(torch.randn(3, 4))
    assert not output.requires_grad
    assert model.training
    assert all(module.training for module in model.modules())

    model.eval()
    with torch.no_grad():
        assert not any(module.training for module in model.modules())
    assert not any(module.training for module in model.modules())


def test_train_and_eval_recurse_into_children_and_return_self() -> None:
    model = _net()
    assert model.eval() is model
    assert not any(module.training for module in model.modules())
    assert model.train() is model
    assert all(module.training for module in model.modules())


def test_train_re_enables_a_child_set_to_eval() -> None:
    model = _net()
    model[1].eval()
    assert model.training and not model[1].training
    model.train()
    assert model[1].training


def test_bare_eval_attribute_does_nothing() -> None:
    model = _net()
    method = model.eval  # the classic typo: no call
    assert callable(method)
    assert model.training
    assert all(module.training for module in model.modules())


def test_train_false_is_eval() -> None:
    by_train_false = _net().train(False)
    by_mode_keyword = _net().train(mode=False)
    by_eval = _net().eval()
    for model in (by_train_false, by_mode_keyword, by_eval):
        assert [module.training for module in model.modules()] == [False] * len(list(model.modules()))


def test_train_rejects_a_non_bool_mode() -> None:
    with pytest.raises(ValueError, match="training mode is expected to be boolean"):
        _net().train(1)  # type: ignore[arg-type]  # the mistake under test


def test_dropout_zeroes_in_train_and_is_identity_in_eval() -> None:
    dropout = nn.Dropout(0.5)
    x = torch.ones(1000)
    trained = dropout(x)
    assert (trained == 0).any()
    # Survivors are scaled by 1 / (1 - p) so the expectation is unchanged.
    assert torch.allclose(trained[trained != 0], torch.full_like(trained[trained != 0], 2.0))
    dropout.eval()
    assert torch.equal(dropout(x), x)


def test_functional_dropout_ignores_eval_unless_told() -> None:
    model = nn.Linear(2, 2).eval()
    x = torch.ones(1000)
    # F.dropout defaults to training=True: it drops even inside an eval-mode model.
    assert (nn.functional.dropout(x, p=0.5) == 0).any()
    assert torch.equal(nn.functional.dropout(x, p=0.5, training=model.training), x)


def _running_stats(norm: nn.BatchNorm1d) -> tuple[torch.Tensor, torch.Tensor]:
    # The buffers are Optional in the type stubs (None with track_running_stats=False).
    assert norm.running_mean is not None and norm.running_var is not None
    return norm.running_mean.clone(), norm.running_var.clone()


def test_batchnorm_train_mode_under_no_grad_still_updates_running_stats() -> None:
    norm = nn.BatchNorm1d(3)
    before, _ = _running_stats(norm)
    batch = torch.randn(16, 3) + 5.0
    with torch.no_grad():
        norm(batch)
    after, _ = _running_stats(norm)
    assert not torch.allclose(after, before)
    # momentum=0.1: new = 0.9 * old + 0.1 * batch mean.
    assert torch.allclose(after, 0.9 * before + 0.1 * batch.mean(dim=0))


def test_batchnorm_eval_mode_leaves_running_stats_alone() -> None:
    norm = nn.BatchNorm1d(3).eval()
    mean, var = _running_stats(norm)
    norm(torch.randn(16, 3) + 5.0)  # grad enabled on purpose: eval alone must be enough
    after_mean, after_var = _running_stats(norm)
    assert torch.equal(after_mean, mean)
    assert torch.equal(after_var, var)


def test_batchnorm_without_running_stats_keeps_no_buffers() -> None:
    norm = nn.BatchNorm1d(3, track_running_stats=False)
    assert norm.running_mean is None and norm.running_var is None


def test_batchnorm_train_mode_rejects_a_single_sample() -> None:
    # The symptom of a forgotten eval() at single-sample inference.
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        nn.BatchNorm1d(3)(torch.randn(1, 3))
    nn.BatchNorm1d(3).eval()(torch.randn(1, 3))


def test_inference_mode_does_not_set_eval() -> None:
    model = _net()
    with torch.inference_mode():
        assert model.training
        assert not torch.is_grad_enabled()
        model(torch.randn(3, 4))
    assert model.training


def test_set_grad_enabled_as_a_plain_call_stays_off_until_reset() -> None:
    torch.set_grad_enabled(False)
    assert not torch.is_grad_enabled()
    # Nothing restores it: later code, even in other functions, runs without grad.
    assert not (torch.randn(2, requires_grad=True) * 2).requires_grad
    torch.set_grad_enabled(True)
    assert torch.is_grad_enabled()


def test_set_grad_enabled_as_a_context_restores() -> None:
    with torch.set_grad_enabled(False):
        assert not torch.is_grad_enabled()
    assert torch.is_grad_enabled()


def test_enable_grad_inside_no_grad_re_enables() -> None:
    with torch.no_grad():
        assert not torch.is_grad_enabled()
        with torch.enable_grad():
            assert torch.is_grad_enabled()
            assert (torch.ones(2, requires_grad=True) * 2).requires_grad
        assert not torch.is_grad_enabled()


def test_enable_grad_inside_inference_mode_keeps_inference_mode() -> None:
    with torch.inference_mode(), torch.enable_grad():
        assert torch.is_grad_enabled()
        assert torch.is_inference_mode_enabled()


def test_no_grad_output_does_not_require_grad_but_factories_honour_the_keyword() -> None:
    weight = torch.ones(2, requires_grad=True)
    with torch.no_grad():
        assert not (weight * 2).requires_grad
        assert torch.zeros(2, requires_grad=True).requires_grad


def test_bare_decorators_work() -> None:
    # Bare @torch.no_grad (no parentheses) is supported since torch 2.1, though
    # torch's own type hints still reject it; hence the ignores.
    @torch.no_grad  # type: ignore[call-arg]
    def without_grad() -> bool:
        return torch.is_grad_enabled()

    @torch.inference_mode  # type: ignore[arg-type]
    def in_inference() -> bool:
        return torch.is_inference_mode_enabled()

    with torch.no_grad():

        @torch.enable_grad
        def with_grad() -> bool:
            return torch.is_grad_enabled()

        assert with_grad()

    assert without_grad() is False  # type: ignore[call-arg]
    assert in_inference() is True  # type: ignore[call-arg]


def test_with_no_grad_without_parentheses_fails_loudly() -> None:
    # Unlike a bare `model.eval`, this mistake raises at run time (TypeError on 3.11+).
    with pytest.raises((TypeError, AttributeError)), torch.no_grad:  # type: ignore[attr-defined]
        pass


def test_frozen_parameters_still_give_an_output_that_requires_grad() -> None:
    model = nn.Linear(2, 2).requires_grad_(False)
    x = torch.ones(1, 2, requires_grad=True)
    assert model(x).requires_grad
    with torch.no_grad():
        assert not model(x).requires_grad


def test_frozen_parameters_and_plain_input_record_no_graph() -> None:
    # Why a frozen model needs no no_grad (TM101 and the oracle of tests/programs): with no
    # parameter and no input requiring grad, autograd records nothing.
    model = _net().requires_grad_(False).eval()
    output = model(torch.randn(3, 4))
    assert torch.is_grad_enabled()
    assert not output.requires_grad and output.grad_fn is None


def test_what_a_running_total_keeps_and_what_it_does_not() -> None:
    # TM201 names a running total only when it adds up tensors that carry a graph: the
    # reductions it treats as graphless really are.
    model = _net().eval()
    output = model(torch.randn(3, 4))
    loss = output.pow(2).mean()
    total = torch.zeros(())
    total = total + loss
    assert total.requires_grad and total.grad_fn is not None
    assert isinstance(loss.item(), float)
    assert not loss.detach().requires_grad
    assert not output.argmax(1).requires_grad
    assert not (output.argmax(1) == torch.zeros(3, dtype=torch.long)).requires_grad
    assert not output.eq(output).requires_grad
