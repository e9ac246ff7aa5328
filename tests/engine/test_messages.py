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
