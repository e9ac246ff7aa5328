"""Every sentence of a message is true at its site: sentences about code the site does not
have are left out, and what they speak of is named."""

from __future__ import annotations

import pytest

from torchmode.engine import Settings, check_source

_EVALUATE = """\
import torch
import torch.nn.functional as F


def evaluate(model, loader):
    model.eval()
    total_loss = 0
    correct = 0
    for x, y in loader:
        output = model(x)
        loss = F.cross_entropy(output, y)
        {total_line}
        correct += (output.argmax(1) == y).sum()
    return total_loss / len(loader), correct
"""


def _tm201_message(total_line: str, locale: str = "en") -> str:
    source = _EVALUATE.format(total_line=total_line)
    result = check_source(source, "eval.py", Settings(locale=locale))
    findings = [finding for finding in result.findings if finding.code == "TM201"]
    assert len(findings) == 1
    return findings[0].message


def test_tm201_names_the_running_total_that_keeps_every_graph() -> None:
    message = _tm201_message("total_loss += loss")
    assert "`total_loss += loss` (line 12)" in message and "every batch's graph" in message
    chinese = _tm201_message("total_loss += loss", "zh-cn")
    assert "第 12 行的 `total_loss += loss`" in chinese


@pytest.mark.parametrize(
    "total_line",
    [
        "total_loss += loss.item()",
        "total_loss += float(loss)",
        "total_loss += loss.detach()",
        "print(loss.item())",
    ],
)
def test_tm201_says_nothing_of_a_total_the_code_does_not_keep(total_line: str) -> None:
    # The accuracy count (`correct += (...).sum()` of a comparison) holds no graph either.
    message = _tm201_message(total_line)
    assert "adds up" not in message and "total" not in message.split("autograd on", 1)[1]


_EVALUATE_WITH_CHECKPOINT = """\
import torch


def evaluate(model, loader, {parameter}):
    if {test}:
        model.load_state_dict(torch.load("best.pt"))
        model.eval()
    with torch.no_grad():
        return [model(x) for x in loader]


def fit(model, optimizer, loader, val_loader):
    for epoch in range(3):
        model.train()
        for x, y in loader:
            optimizer.zero_grad()
            (model(x) - y).pow(2).mean().backward()
            optimizer.step()
        evaluate(model, val_loader{argument})
"""


@pytest.mark.parametrize(
    ("parameter", "test", "argument", "shown"),
    [
        ("checkpoint=None", "checkpoint is not None", "", "checkpoint is not None"),
        ("fresh=True", "not fresh", "", "not fresh"),
        ("split='test'", "split == 'val'", "", "split == 'val'"),
        ("load=False", "load", ", load=False", "load"),
    ],
)
def test_tm102_names_the_test_the_call_rules_out(
    parameter: str, test: str, argument: str, shown: str
) -> None:
    source = _EVALUATE_WITH_CHECKPOINT.format(parameter=parameter, test=test, argument=argument)
    findings = [finding for finding in check_source(source, "fit.py").findings if finding.code == "TM102"]
    assert len(findings) == 1
    assert f"calls `model.eval()` only when `{shown}`, which `evaluate(…)` (line 19)" in findings[0].message
    chinese = check_source(source, "fit.py", Settings(locale="zh-cn")).findings
    assert any(f"只在 `{shown}` 时才调用 `model.eval()`" in finding.message for finding in chinese)


@pytest.mark.parametrize(
    ("parameter", "test", "argument"),
    [
        ("checkpoint=None", "checkpoint is not None", ", checkpoint='best.pt'"),
        ("checkpoint=None", "checkpoint is not None", ", checkpoint=path"),  # not a constant: unknown
        ("fresh=True", "not fresh", ", fresh=False"),
    ],
)
def test_tm102_is_silent_when_the_call_may_take_the_eval_branch(
    parameter: str, test: str, argument: str
) -> None:
    source = _EVALUATE_WITH_CHECKPOINT.format(parameter=parameter, test=test, argument=argument)
    assert not [finding for finding in check_source(source, "fit.py").findings if finding.code == "TM102"]
