"""Object identity: aliases and wrappers are the same model; a new object is another one."""

from __future__ import annotations

import textwrap

import pytest

from torchmode.engine import check_source


def codes(source: str) -> list[str]:
    return [finding.code for finding in check_source(textwrap.dedent(source), "/tmp/identity.py").findings]


LOOP = """\
import torch
from torch.nn.parallel import DistributedDataParallel as DDP
{helpers}

def fit(model, loader, val_loader, opt):
{setup}
    model.train()
    for epoch in range(3):
        for x, y in loader:
            opt.zero_grad()
            {forward}(x).sum().backward()
            opt.step()
{after}
"""


def loop(setup: str = "    pass", forward: str = "model", after: str = "", helpers: str = "") -> str:
    return LOOP.format(setup=setup, forward=forward, after=after, helpers=helpers)


@pytest.mark.parametrize(
    ("setup", "forward", "after"),
    [
        pytest.param("    m = model", "model", "        m.eval()", id="alias-switched"),
        pytest.param("    m = model", "m", "        model.eval()", id="alias-forward"),
        pytest.param("    net = model.to('cpu')", "net", "        model.eval()", id="to-device"),
        pytest.param("    net = torch.compile(model)", "net", "        model.eval()", id="compile"),
        pytest.param("    model = DDP(model)", "model", "        model.eval()", id="ddp-rebinding"),
        pytest.param("    wrapped = DDP(model)", "wrapped", "        model.eval()", id="ddp-alias"),
    ],
)
def test_switching_another_name_of_the_model_is_seen(setup: str, forward: str, after: str) -> None:
    assert codes(loop(setup, forward, after)) == ["TM101"]


@pytest.mark.parametrize(
    "after",
    ["        {0}.backbone.eval()", "        {0}.train(False)", "        {0}.eval()\n        {0}.train()"],
)
def test_through_an_alias_is_the_same_as_directly(after: str) -> None:
    direct = codes(loop("    m = model", "model", after.format("model")))
    assert codes(loop("    m = model", "model", after.format("m"))) == direct


@pytest.mark.parametrize(
    ("setup", "forward", "after"),
    [
        # ``m`` is later another object: not an alias anywhere.
        pytest.param("    m = model\n    m = make()", "model", "        m.eval()", id="reassigned"),
        pytest.param("    m = make()", "model", "        m.eval()", id="other-object"),
        pytest.param(
            "    m = model", "model", "        m.eval()\n        m.train()", id="restored-via-alias"
        ),
    ],
)
def test_other_objects_and_restores_stay_silent(setup: str, forward: str, after: str) -> None:
    assert codes(loop(setup, forward, after)) == []


def test_an_evaluation_that_builds_a_new_network_does_not_touch_the_training_model() -> None:
    helpers = """
class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.drop = torch.nn.Dropout(0.5)


def evaluate_checkpoint(path, loader):
    model = Net()
    model.load_state_dict(torch.load(path))
    model.eval()
    with torch.no_grad():
        return [model(x) for x in loader]
"""
    assert codes(loop(after="        evaluate_checkpoint('w.pt', val_loader)", helpers=helpers)) == []


def test_an_evaluation_of_the_argument_model_does() -> None:
    helpers = """
def evaluate(model, loader):
    model.eval()
    with torch.no_grad():
        return [model(x) for x in loader]
"""
    assert codes(loop(after="        evaluate(model, val_loader)", helpers=helpers)) == ["TM101"]


@pytest.mark.parametrize(
    ("init", "expected"),
    [
        pytest.param("        self.model = model", ["TM101"], id="kept"),
        pytest.param("        self.model = model.to(device)", ["TM101"], id="kept-to-device"),
        pytest.param("        self.model = copy.deepcopy(model)", [], id="copied"),
        # The caller passes device='cpu', so this branch runs and the evaluator keeps the
        # model: the eval() in run() really leaks into training. Silent today because only
        # assignments in the direct body of __init__ are read (one that may not run is no
        # alias); a call's constant arguments do not yet pick the callee's branches.
        pytest.param("        if device:\n            self.model = model", [], id="conditional"),
    ],
)
def test_a_trainer_object_keeps_the_model_it_was_given(init: str, expected: list[str]) -> None:
    helpers = f"""
import copy


class Evaluator:
    def __init__(self, model, device=None):
{init}

    def run(self, loader):
        self.model.eval()
"""
    setup = "    evaluator = Evaluator(model, device='cpu')"
    assert codes(loop(setup, after="        evaluator.run(val_loader)", helpers=helpers)) == expected
