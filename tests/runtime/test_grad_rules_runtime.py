"""The grad rules (TM201, TM202, TM203, TM302) held against real PyTorch.

Each test runs a small program with real torch (CPU, tiny tensors) *and* checks it
statically, so every sentence the rules' messages and docs say about PyTorch is
observed here, the rule reports exactly the programs that misbehave, and the
preferred fix, applied to the text and run again, removes the misbehaviour.
"""

from __future__ import annotations

import gc
import sys
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import torch
from torch import nn

from torchmode.engine import Settings, check_source
from torchmode.findings import Finding
from torchmode.syntax import apply_edits

ELEMENT_0 = "element 0 of tensors does not require grad and does not have a grad_fn"
NOT_A_CONTEXT_MANAGER = "'type' object does not support the context manager protocol"


@pytest.fixture(autouse=True)
def _grad_mode_restored() -> Iterator[None]:
    # Programs below switch grad mode with plain calls; never leak it into other tests.
    torch.manual_seed(0)
    previous = torch.is_grad_enabled()
    yield
    torch.set_grad_enabled(previous)


def findings(code: str, rule: str) -> tuple[Finding, ...]:
    return check_source(code, settings=Settings(select=(rule,))).findings


def load(code: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {}
    exec(compile(code, "<program>", "exec"), namespace)
    return namespace


def preferred_fix(code: str, rule: str) -> str:
    found = findings(code, rule)
    assert found and found[0].preferred_fix is not None
    fixed = apply_edits(code, found[0].preferred_fix.edits)
    assert findings(fixed, rule) == ()
    return fixed


def line_of(code: str, marker: str) -> int:
    return next(number for number, line in enumerate(code.splitlines(), start=1) if marker in line)


def net() -> nn.Sequential:
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))


def batches(count: int = 3) -> list[tuple[Any, Any]]:
    return [(torch.randn(5, 4), torch.randn(5, 2)) for _ in range(count)]


class SavedTensors:
    """Counts the activations autograd saves for backward, and how many are still alive.

    Only intermediate results count (tensors with a ``grad_fn``): parameters and input
    batches are saved too, but they live on anyway.
    """

    def __init__(self) -> None:
        self.saved: list[weakref.ref[Any]] = []

    def pack(self, tensor: Any) -> Any:
        if tensor.grad_fn is None:
            return tensor
        # A detached alias holds the same values; the tensor itself would form a cycle with
        # its own grad_fn when an op saves its output (tanh), which gc cannot collect.
        alias = tensor.detach()
        self.saved.append(weakref.ref(alias))
        return alias

    def alive(self) -> int:
        gc.collect()
        return sum(reference() is not None for reference in self.saved)

    def run(self, function: Callable[..., Any], *arguments: Any) -> Any:
        with torch.autograd.graph.saved_tensors_hooks(self.pack, lambda tensor: tensor):
            return function(*arguments)


# -- TM201 eval-without-no-grad ---------------------------------------------------------------

EVALUATE_KEEPING_LOSSES = """\
import torch


def evaluate(model, loader):
    model.eval()
    total = 0
    outputs = []
    for x, y in loader:
        out = model(x)  # the forward pass
        outputs.append(out)
        total = total + torch.nn.functional.mse_loss(out, y)
    return outputs, total
"""

EVALUATE_WITH_ITEM = """\
import torch


def evaluate(model, loader):
    model.eval()
    total = 0.0
    for x, y in loader:
        out = model(x)  # the forward pass
        total += torch.nn.functional.mse_loss(out, y).item()
    return total
"""


def test_tm201_eval_outputs_require_grad_and_keep_every_batch_graph() -> None:
    found = findings(EVALUATE_KEEPING_LOSSES, "TM201")
    assert [finding.span.start.line for finding in found] == [line_of(EVALUATE_KEEPING_LOSSES, "the forward")]
    model, loader = net(), batches()
    saved = SavedTensors()
    outputs, total = saved.run(load(EVALUATE_KEEPING_LOSSES)["evaluate"], model, loader)
    # model.eval() does not turn autograd off: a graph is recorded.
    assert all(output.requires_grad and output.grad_fn is not None for output in outputs)
    assert total.requires_grad and total.grad_fn is not None
    # The tensors backward would need are kept, for every batch, as long as the total lives.
    assert saved.alive() >= 2 * len(loader)
    total.backward()  # the graph of every batch is still there
    first = model[0]
    assert isinstance(first, nn.Linear) and first.weight.grad is not None
    del outputs, total
    assert saved.alive() == 0


def test_tm201_preferred_fix_records_no_graph() -> None:
    fixed = preferred_fix(EVALUATE_KEEPING_LOSSES, "TM201")
    saved = SavedTensors()
    outputs, total = saved.run(load(fixed)["evaluate"], net(), batches())
    assert not any(output.requires_grad for output in outputs)
    assert total.grad_fn is None
    assert saved.saved == []  # nothing saved for backward at all


def test_tm201_item_totals_free_each_graph_but_still_build_it() -> None:
    # Even with .item(), each forward pass records a graph and saves tensors (memory, time).
    assert findings(EVALUATE_WITH_ITEM, "TM201")
    saved = SavedTensors()
    total = saved.run(load(EVALUATE_WITH_ITEM)["evaluate"], net(), batches())
    assert isinstance(total, float)
    assert len(saved.saved) > 0
    assert saved.alive() == 0


def test_tm201_silent_idioms_really_run_without_grad() -> None:
    for decorator in (
        "@torch.no_grad()",
        "@torch.no_grad",
        "@torch.inference_mode()",
        "@torch.inference_mode",
    ):
        code = EVALUATE_KEEPING_LOSSES.replace("def evaluate", f"{decorator}\ndef evaluate")
        assert findings(code, "TM201") == (), decorator
        outputs, total = load(code)["evaluate"](net(), batches())
        assert not any(output.requires_grad for output in outputs), decorator
        assert not total.requires_grad, decorator


def test_tm201_inference_mode_tensors_cannot_be_used_by_autograd_or_updated_outside() -> None:
    # Backs the warning on the inference_mode alternative (and why that fix is unsafe).
    layer = nn.Linear(4, 4)
    with torch.inference_mode():
        features = layer(torch.randn(2, 4))
    with pytest.raises(RuntimeError, match="Inference tensors cannot be saved for backward"):
        layer(features).sum().backward()
    with pytest.raises(RuntimeError, match="Inplace update to inference tensor outside InferenceMode"):
        features.add_(1)
    with torch.no_grad():
        plain = layer(torch.randn(2, 4))
    layer(plain).sum().backward()  # no_grad results can be used later


def test_tm201_a_yield_inside_no_grad_leaves_grad_off_for_the_consumer() -> None:
    # Why no wrap is offered around ``yield``; the decorator handles generators.
    def wrapped() -> Iterator[int]:
        with torch.no_grad():
            yield 1

    @torch.no_grad()
    def decorated() -> Iterator[int]:
        yield 1

    generator = wrapped()
    next(generator)
    assert not torch.is_grad_enabled()  # the consumer runs with grad off while it is paused
    generator.close()
    assert torch.is_grad_enabled()
    other = decorated()
    next(other)
    assert torch.is_grad_enabled()


# -- TM202 backward-under-no-grad -------------------------------------------------------------

STEP_INSIDE_NO_GRAD = """\
import torch


def main(model, optimizer, loader):
    model.train()
    for x, y in loader:
        optimizer.zero_grad()
        with torch.no_grad():
            loss = torch.nn.functional.mse_loss(model(x), y)
            loss.backward()  # backward
        optimizer.step()
"""

INLINE_SUM_INSIDE_NO_GRAD = """\
import torch


def main(model, optimizer, loader):
    for x, y in loader:
        optimizer.zero_grad()
        with torch.no_grad():
            (model(x) - y).pow(2).mean().backward()  # backward
        optimizer.step()
"""

DECORATED_HELPER = """\
import torch


@torch.no_grad()
def compute_loss(model, x, y):
    return torch.nn.functional.mse_loss(model(x), y)


def main(model, optimizer, loader):
    for x, y in loader:
        optimizer.zero_grad()
        loss = compute_loss(model, x, y)
        loss.backward()  # backward
        optimizer.step()
"""

INFERENCE_MODE_WITH_SCALER = """\
import torch


def main(model, optimizer, loader):
    scaler = torch.amp.GradScaler("cpu")
    for x, y in loader:
        optimizer.zero_grad()
        with torch.inference_mode():
            loss = torch.nn.functional.mse_loss(model(x), y)
        scaler.scale(loss).backward()  # backward
        scaler.step(optimizer)
        scaler.update()
"""

AUTOGRAD_GRAD_ON_NO_GRAD_OUTPUT = """\
import torch


def main(model, optimizer, loader):
    for x, y in loader:
        x = x.clone().requires_grad_(True)
        with torch.no_grad():
            scores = model(x)
        (grad,) = torch.autograd.grad(scores.sum(), x)  # backward
"""

CALLED_UNDER_NO_GRAD = """\
import torch


def train_step(model, optimizer, x, y):
    optimizer.zero_grad()
    loss = torch.nn.functional.mse_loss(model(x), y)
    loss.backward()  # backward
    optimizer.step()


def main(model, optimizer, loader):
    for x, y in loader:
        with torch.no_grad():
            train_step(model, optimizer, x, y)
"""

LEAKING_VALIDATION = """\
import torch


def validate(model, loader):
    model.eval()
    torch.set_grad_enabled(False)
    return sum(torch.nn.functional.mse_loss(model(x), y).item() for x, y in loader)


def main(model, optimizer, loader, epochs=2):
    for epoch in range(epochs):
        model.train()
        for x, y in loader:
            optimizer.zero_grad()
            loss = torch.nn.functional.mse_loss(model(x), y)
            loss.backward()  # backward
            optimizer.step()
        validate(model, loader)
"""

RAISING = [
    STEP_INSIDE_NO_GRAD,
    INLINE_SUM_INSIDE_NO_GRAD,
    DECORATED_HELPER,
    INFERENCE_MODE_WITH_SCALER,
    AUTOGRAD_GRAD_ON_NO_GRAD_OUTPUT,
    CALLED_UNDER_NO_GRAD,
    LEAKING_VALIDATION,
]


def run_main(code: str, **keywords: Any) -> nn.Module:
    model = net()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    load(code)["main"](model, optimizer, batches(), **keywords)
    return model


@pytest.mark.parametrize("code", RAISING, ids=lambda code: code.splitlines()[3][:40])
def test_tm202_reports_exactly_where_backward_raises(code: str) -> None:
    found = findings(code, "TM202")
    assert [finding.span.start.line for finding in found] == [line_of(code, "# backward")]
    # The message quotes the error PyTorch really raises.
    assert ELEMENT_0 in found[0].message
    with pytest.raises(RuntimeError, match=ELEMENT_0):
        run_main(code)


def test_tm202_leak_raises_only_once_the_validation_has_run() -> None:
    run_main(LEAKING_VALIDATION, epochs=1)  # the first epoch trains fine
    torch.set_grad_enabled(True)
    with pytest.raises(RuntimeError, match=ELEMENT_0):
        run_main(LEAKING_VALIDATION, epochs=2)
    # Nothing restored it: the plain call outlived the function that made it.
    assert not torch.is_grad_enabled()


BACKWARD_INSIDE_NO_GRAD_ON_A_GRAPH = """\
import torch


def main(model, optimizer, loader):
    for x, y in loader:
        loss = torch.nn.functional.mse_loss(model(x), y)
        optimizer.zero_grad()
        with torch.no_grad():
            loss.backward()
        optimizer.step()
"""

PHASES = """\
import torch


def main(model, optimizer, loader):
    for phase in ["train", "val"]:
        model.train(phase == "train")
        for x, y in loader:
            optimizer.zero_grad()
            with torch.set_grad_enabled(phase == "train"):
                loss = torch.nn.functional.mse_loss(model(x), y)
                if phase == "train":
                    loss.backward()
                    optimizer.step()
"""

PLAIN_FLAG_RUNNER = """\
import torch


def run_epoch(model, optimizer, loader, is_train):
    torch.set_grad_enabled(is_train)
    for x, y in loader:
        loss = torch.nn.functional.mse_loss(model(x), y)
        if is_train:
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    torch.set_grad_enabled(True)


def main(model, optimizer, loader):
    for epoch in range(2):
        run_epoch(model, optimizer, loader, True)
        run_epoch(model, optimizer, loader, False)
"""

ENABLE_GRAD_HELPER = """\
import torch


@torch.enable_grad()
def penalty(model, x):
    return model(x).pow(2).mean()


def main(model, optimizer, loader):
    for x, _ in loader:
        optimizer.zero_grad()
        with torch.no_grad():
            loss = penalty(model, x)
        loss.backward()
        optimizer.step()
"""

LEAF_MADE_UNDER_NO_GRAD = """\
import torch


def main(model, optimizer, loader):
    with torch.no_grad():
        scale = torch.ones(1, requires_grad=True)
    for x, y in loader:
        (model(x) * scale).sum().backward()
"""


@pytest.mark.parametrize(
    "code",
    [
        BACKWARD_INSIDE_NO_GRAD_ON_A_GRAPH,
        PHASES,
        PLAIN_FLAG_RUNNER,
        ENABLE_GRAD_HELPER,
        LEAF_MADE_UNDER_NO_GRAD,
    ],
    ids=["backward-inside-no-grad", "phases", "plain-flag", "enable-grad-helper", "leaf"],
)
def test_tm202_silent_where_backward_works(code: str) -> None:
    assert findings(code, "TM202") == ()
    torch.manual_seed(1)
    untouched = net()[0]
    torch.manual_seed(1)
    model = run_main(code)  # the same initial weights; runs without RuntimeError
    # Gradients reached the parameters: still in .grad, or already applied by a step.
    first = model[0]
    assert isinstance(first, nn.Linear) and isinstance(untouched, nn.Linear)
    assert first.weight.grad is not None or not torch.equal(first.weight, untouched.weight)


def test_tm202_fix_makes_the_step_work() -> None:
    model = run_main(preferred_fix(STEP_INSIDE_NO_GRAD, "TM202"))
    first = model[0]
    assert isinstance(first, nn.Linear) and first.weight.grad is not None


DISTILLATION = """\
import torch


def main(student, teacher, optimizer, loader):
    teacher.eval()
    student.train()
    for x, _ in loader:
        optimizer.zero_grad()
        with torch.no_grad():
            target = teacher(x)
            loss = (student(x) - target).pow(2).mean()
            loss.backward()  # backward
        optimizer.step()
"""


def test_tm202_move_out_fix_trains_the_student_and_keeps_the_teacher_frozen() -> None:
    student, teacher = net(), net()
    optimizer = torch.optim.SGD(student.parameters(), lr=0.1)
    with pytest.raises(RuntimeError, match=ELEMENT_0):
        load(DISTILLATION)["main"](student, teacher, optimizer, batches())
    fixed = preferred_fix(DISTILLATION, "TM202")
    assert "        with torch.no_grad():\n            target = teacher(x)\n        loss" in fixed
    load(fixed)["main"](student, teacher, optimizer, batches())
    assert all(parameter.grad is not None for parameter in student.parameters())
    assert all(parameter.grad is None for parameter in teacher.parameters())


# -- TM203 missing-zero-grad ------------------------------------------------------------------

NO_ZERO_GRAD = """\
import torch


def train(model, optimizer, loader, observe):
    for x, y in loader:
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()  # step
        observe(model)
"""


def single_batch_gradients(model: nn.Module, loader: list[tuple[Any, Any]]) -> list[Any]:
    gradients = []
    for x, y in loader:
        model.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        first = model[0]
        assert isinstance(first, nn.Linear) and first.weight.grad is not None
        gradients.append(first.weight.grad.clone())
    model.zero_grad()
    return gradients


def observed_gradients(code: str, model: nn.Module, loader: list[tuple[Any, Any]]) -> list[Any]:
    seen: list[Any] = []

    def observe(model: nn.Module) -> None:
        first = model[0]
        assert isinstance(first, nn.Linear) and first.weight.grad is not None
        seen.append(first.weight.grad.clone())

    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)  # lr 0: the parameters stay put
    load(code)["train"](model, optimizer, loader, observe)
    return seen


def test_tm203_backward_adds_to_grad_so_each_step_uses_the_running_sum() -> None:
    assert [finding.span.start.line for finding in findings(NO_ZERO_GRAD, "TM203")] == [
        line_of(NO_ZERO_GRAD, "# step")
    ]
    model, loader = net(), batches(3)
    alone = single_batch_gradients(model, loader)
    seen = observed_gradients(NO_ZERO_GRAD, model, loader)
    assert torch.allclose(seen[1], alone[0] + alone[1])
    assert torch.allclose(seen[2], alone[0] + alone[1] + alone[2])


def test_tm203_fix_makes_each_step_use_its_own_batch() -> None:
    fixed = preferred_fix(NO_ZERO_GRAD, "TM203")
    model, loader = net(), batches(3)
    alone = single_batch_gradients(model, loader)
    seen = observed_gradients(fixed, model, loader)
    assert all(torch.allclose(step, batch) for step, batch in zip(seen, alone, strict=True))


def test_tm203_accumulation_idiom_sums_on_purpose_and_is_silent() -> None:
    code = """\
import torch


def train(model, optimizer, loader, observe, every=2):
    optimizer.zero_grad()
    for i, (x, y) in enumerate(loader):
        torch.nn.functional.mse_loss(model(x), y).backward()
        if (i + 1) % every == 0:
            optimizer.step()
            observe(model)
            optimizer.zero_grad()
"""
    assert findings(code, "TM203") == ()
    model, loader = net(), batches(4)
    alone = single_batch_gradients(model, loader)
    seen = observed_gradients(code, model, loader)
    assert torch.allclose(seen[0], alone[0] + alone[1])
    assert torch.allclose(seen[1], alone[2] + alone[3])


# -- TM302 grad-context-not-called ------------------------------------------------------------


@pytest.mark.parametrize("name", ["no_grad", "enable_grad", "inference_mode", "set_grad_enabled"])
def test_tm302_with_the_class_raises_type_error(name: str) -> None:
    code = f"import torch\n\n\ndef run():\n    with torch.{name}:\n        return 1\n"
    found = findings(code, "TM302")
    assert [finding.span.start.line for finding in found] == [5]
    assert NOT_A_CONTEXT_MANAGER in found[0].message
    # Python 3.11 made `with` on a non-context-manager a TypeError; 3.10 raises AttributeError.
    error, match = (
        (TypeError, NOT_A_CONTEXT_MANAGER) if sys.version_info >= (3, 11) else (AttributeError, "__enter__")
    )
    with pytest.raises(error, match=match):
        load(code)["run"]()
    if name != "set_grad_enabled":
        assert load(preferred_fix(code, "TM302"))["run"]() == 1  # an instance can be entered


def test_tm302_set_grad_enabled_needs_the_mode() -> None:
    with pytest.raises(TypeError):
        torch.set_grad_enabled()  # type: ignore[call-arg]
    with torch.set_grad_enabled(False):
        assert not torch.is_grad_enabled()


BARE_NO_GRAD = """\
import torch


def predict(model, x):
    model.eval()
    torch.no_grad()
    return model(x), torch.is_grad_enabled()
"""


def test_tm302_bare_no_grad_statement_has_no_effect_and_the_fix_gives_it_one() -> None:
    assert [finding.span.start.line for finding in findings(BARE_NO_GRAD, "TM302")] == [6]
    output, enabled = load(BARE_NO_GRAD)["predict"](net(), torch.randn(2, 4))
    assert enabled and output.requires_grad
    fixed = apply_edits(BARE_NO_GRAD, findings(BARE_NO_GRAD, "TM302")[0].fixes[0].edits)
    output, enabled = load(fixed)["predict"](net(), torch.randn(2, 4))
    assert not enabled and not output.requires_grad
    assert torch.is_grad_enabled()  # and the block ends with the function


def test_tm302_bare_inference_mode_and_enable_grad_statements_change_nothing() -> None:
    torch.inference_mode()
    assert not torch.is_inference_mode_enabled()
    assert torch.is_grad_enabled()
    with torch.no_grad():
        torch.enable_grad()
        assert not torch.is_grad_enabled()
    # A plain set_grad_enabled call is different: it does change the mode (not TM302).
    torch.set_grad_enabled(False)
    assert not torch.is_grad_enabled()


def test_tm302_bare_decorators_work_and_are_not_reported() -> None:
    code = """\
import torch


@torch.no_grad
def without_grad():
    return torch.is_grad_enabled()


@torch.inference_mode
def in_inference():
    return torch.is_inference_mode_enabled()


@torch.enable_grad
def with_grad():
    return torch.is_grad_enabled()
"""
    assert findings(code, "TM302") == ()
    namespace = load(code)
    assert namespace["without_grad"]() is False
    assert namespace["in_inference"]() is True
    with torch.no_grad():
        assert namespace["with_grad"]() is True
