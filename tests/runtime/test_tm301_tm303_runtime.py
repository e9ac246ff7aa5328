"""What TM301 and TM303 say about PyTorch, checked against real torch (CPU, tiny tensors).

Each test backs a sentence of the rules' messages (docs/messages/tm301.py, tm303.py)
or docs pages. Where it can, a test runs the very program the rule reports on, and
the program its fix produces, so the rule, the fix and torch are checked together.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from torchmode.engine import Settings, check_source
from torchmode.rules.tm303_functional_dropout_ignores_mode import (
    _DROPOUT_FUNCTIONS,
    _DROPOUT_MODULES,
    _TRAINING_POSITION,
)
from torchmode.syntax import apply_edits


@pytest.fixture(autouse=True)
def _seeded() -> Iterator[None]:
    torch.manual_seed(0)
    yield


def _net() -> nn.Sequential:
    return nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Dropout(0.5), nn.Linear(8, 2))


def _run(program: str) -> dict[str, object]:
    namespace: dict[str, object] = {"__name__": "torchmode_runtime_case"}
    exec(compile(program, "<case>", "exec"), namespace)
    return namespace


def _fixed(program: str, code: str) -> str:
    findings = check_source(program, settings=Settings(select=(code,))).findings
    assert findings, f"{code} does not report the program"
    fix = findings[0].preferred_fix
    assert fix is not None
    return apply_edits(program, fix.edits)


def _module(namespace: dict[str, object], name: str) -> nn.Module:
    value = namespace[name]
    assert isinstance(value, nn.Module)
    return value


# --- TM301 -------------------------------------------------------------------------------------

_BARE_EVAL = """\
import torch
from torch import nn

model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Dropout(0.5), nn.Linear(8, 2))
model.eval
"""


def test_bare_eval_only_looks_the_method_up() -> None:
    model = _net()
    method = model.eval  # what `model.eval` as a statement evaluates, and then drops
    assert inspect.ismethod(method) and method.__self__ is model
    assert model.training


def test_bare_eval_is_reported_leaves_train_mode_and_its_fix_switches() -> None:
    findings = check_source(_BARE_EVAL, settings=Settings(select=("TM301",))).findings
    assert [(finding.code, finding.span.start.line) for finding in findings] == [("TM301", 5)]
    model = _module(_run(_BARE_EVAL), "model")
    assert model.training and all(module.training for module in model.modules())

    fixed = _module(_run(_fixed(_BARE_EVAL, "TM301")), "model")
    assert not any(module.training for module in fixed.modules())


def test_after_bare_eval_dropout_stays_active_and_batch_norm_uses_and_updates_batch_statistics() -> None:
    model = _net()
    model.eval  # noqa: B018 - the mistake under test
    batch = torch.randn(16, 4)
    with torch.no_grad():
        first, second = model(batch), model(batch)
    # Dropout stays active: the same input gives different outputs.
    assert not torch.equal(first, second)

    norm = model[1]
    assert isinstance(norm, nn.BatchNorm1d) and norm.running_mean is not None
    before = norm.running_mean.clone()
    features = model[0](batch)
    with torch.no_grad():
        normalised = norm(features)
    # Batch statistics normalise the batch...
    expected = (features - features.mean(0)) / torch.sqrt(features.var(0, unbiased=False) + norm.eps)
    torch.testing.assert_close(normalised, expected * norm.weight + norm.bias)
    # ... and the running statistics are updated, under no_grad too.
    assert not torch.equal(norm.running_mean, before)


def test_bare_train_after_eval_trains_with_dropout_off_and_batch_norm_frozen() -> None:
    model = _net()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    model.eval()
    model.train  # noqa: B018 - the mistake under test
    assert not any(module.training for module in model.modules())

    norm = model[1]
    assert isinstance(norm, nn.BatchNorm1d) and norm.running_mean is not None
    running_mean = norm.running_mean.clone()
    batch = torch.randn(16, 4)
    first = model(batch)
    second = model(batch)
    torch.testing.assert_close(first, second)  # dropout is off: deterministic
    second.sum().backward()
    optimizer.step()  # a training step still happens...
    assert torch.equal(norm.running_mean, running_mean)  # ... with batch-norm statistics frozen

    model.train()  # the fix
    assert all(module.training for module in model.modules())


# --- TM303 -------------------------------------------------------------------------------------

_FUNCTIONAL = """\
import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 16)

    def forward(self, x):
        return F.dropout(self.fc(x), 0.5)


model = Net()
"""

_MODULE_IN_FORWARD = """\
import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 16)
        self.p = 0.5

    def forward(self, x):
        return nn.Dropout(self.p)(self.fc(x))


model = Net()
"""


def _random_in_eval(model: nn.Module) -> bool:
    model.eval()
    batch = torch.randn(4, 16)
    with torch.no_grad():
        outputs = [model(batch) for _ in range(3)]
    return not all(torch.equal(outputs[0], output) for output in outputs[1:])


def test_functional_dropout_in_forward_is_random_after_eval_and_its_fix_is_deterministic() -> None:
    findings = check_source(_FUNCTIONAL, settings=Settings(select=("TM303",))).findings
    assert [(finding.code, finding.span.start.line) for finding in findings] == [("TM303", 12)]
    model = _module(_run(_FUNCTIONAL), "model")
    assert _random_in_eval(model)
    assert not model.training  # the model is in eval mode; F.dropout does not ask

    fixed_program = _fixed(_FUNCTIONAL, "TM303")
    assert "F.dropout(self.fc(x), 0.5, training=self.training)" in fixed_program
    fixed = _module(_run(fixed_program), "model")
    assert not _random_in_eval(fixed)
    fixed.train()
    batch = torch.randn(4, 16)
    assert not torch.equal(fixed(batch), fixed(batch))  # training still drops


def test_dropout_module_built_in_forward_stays_active_after_eval() -> None:
    findings = check_source(_MODULE_IN_FORWARD, settings=Settings(select=("TM303",))).findings
    assert [(finding.code, finding.span.start.line) for finding in findings] == [("TM303", 13)]
    model = _module(_run(_MODULE_IN_FORWARD), "model")
    assert _random_in_eval(model)
    # A new module is in train mode, and it is no sub-module that eval() could reach.
    assert nn.Dropout(0.5).training
    assert not any(isinstance(module, nn.Dropout) for module in model.modules())


def test_functional_replacement_of_module_in_forward_is_exact() -> None:
    fixed_program = _fixed(_MODULE_IN_FORWARD, "TM303")
    assert "F.dropout(self.fc(x), self.p, training=self.training)" in fixed_program
    original = _module(_run(_MODULE_IN_FORWARD), "model")
    fixed = _module(_run(fixed_program), "model")
    fixed.load_state_dict(original.state_dict())
    batch = torch.randn(4, 16)
    # Train mode: the same computation, random draw for random draw.
    torch.manual_seed(1)
    expected = original(batch)
    torch.manual_seed(1)
    torch.testing.assert_close(fixed(batch), expected)
    # Eval mode: now it follows the model.
    assert not _random_in_eval(fixed)


def test_every_functional_dropout_takes_training_third_with_the_default_the_rule_assumes() -> None:
    for name, default_training in _DROPOUT_FUNCTIONS.items():
        parameters = list(inspect.signature(getattr(F, name)).parameters.values())
        assert [parameter.name for parameter in parameters] == ["input", "p", "training", "inplace"], name
        assert parameters[_TRAINING_POSITION].name == "training", name
        # All positional-or-keyword: a third positional argument binds `training`.
        assert all(parameter.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD for parameter in parameters)
        assert parameters[1].default == 0.5 and parameters[3].default is False, name
        assert parameters[_TRAINING_POSITION].default is default_training, name


def _input_for(name: str) -> torch.Tensor:
    # dropout1d wants (N, C, L), dropout2d (N, C, H, W), dropout3d (N, C, D, H, W).
    shapes = {"dropout1d": (2, 8, 6), "dropout3d": (2, 8, 3, 3, 3)}
    return torch.randn(*shapes.get(name, (2, 8, 4, 4)))


@pytest.mark.parametrize("name", sorted(_DROPOUT_FUNCTIONS))
def test_positional_training_argument_switches_dropout(name: str) -> None:
    function = getattr(F, name)
    x = _input_for(name)
    assert torch.equal(function(x, 0.5, False), x)  # third positional False: identity
    assert not torch.equal(function(x, 0.5, True), x)  # third positional True: drops


@pytest.mark.parametrize("name", sorted(_DROPOUT_FUNCTIONS))
def test_default_training_is_on_or_never(name: str) -> None:
    function = getattr(F, name)
    x = _input_for(name)
    if _DROPOUT_FUNCTIONS[name]:
        # Defaults to training=True: drops, whatever mode the caller's module is in.
        assert not torch.equal(function(x, 0.5), x)
    else:
        # Defaults to training=False: never drops, in train mode included.
        assert torch.equal(function(x, 0.5), x)


def test_alpha_dropout_without_training_never_drops_even_in_train_mode() -> None:
    class SelfNormalizing(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return F.alpha_dropout(F.selu(x), 0.5)

    model = SelfNormalizing().train()
    x = torch.randn(4, 16)
    assert torch.equal(model(x), F.selu(x))
    assert not torch.equal(F.alpha_dropout(F.selu(x), 0.5, training=model.training), F.selu(x))


@pytest.mark.parametrize("module_name", sorted(_DROPOUT_MODULES))
def test_each_dropout_module_is_its_functional_form(module_name: str) -> None:
    """Backs the replacement fix: ``nn.X(p)(x)`` == ``F.x(x, p, training=<mode>)``, same defaults."""
    module_class = getattr(nn, module_name)
    function = getattr(F, _DROPOUT_MODULES[module_name])
    parameters = inspect.signature(module_class).parameters
    assert parameters["p"].default == 0.5 and parameters["inplace"].default is False
    x = _input_for(_DROPOUT_MODULES[module_name])
    for p in (0.5, 0.2):
        torch.manual_seed(3)
        expected = module_class(p)(x)
        torch.manual_seed(3)
        torch.testing.assert_close(function(x, p, training=True), expected)
    torch.manual_seed(3)
    expected = module_class()(x)
    torch.manual_seed(3)
    torch.testing.assert_close(function(x, training=True), expected)
    assert torch.equal(function(x, 0.5, training=False), module_class(0.5).eval()(x))


def test_functional_is_reachable_through_every_spelling_the_fix_writes() -> None:
    import torch.nn as nn_alias

    assert nn_alias.functional is F
    assert torch.nn.functional is F
