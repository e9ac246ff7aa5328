"""Hovers: API explanations through aliases, model state at a line, rule codes in suppressions."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from torchmode.engine import Settings, hover_at
from torchmode.syntax import Document, Position

SEED = (Path(__file__).resolve().parents[2] / "examples" / "seed_loop.py").read_text(encoding="utf-8")


def hover(code: str, line: int, needle: str, locale: str = "en", offset: int = 0) -> str | None:
    document = Document(textwrap.dedent(code))
    column = document.line_text(line).index(needle) + offset
    found = hover_at(document, Position(line, column), Settings(locale=locale))
    return found.markdown if found else None


def seed_line(needle: str) -> int:
    """The line that starts with ``needle`` (indentation included), so nested lines do not match."""
    return next(number for number, line in enumerate(SEED.splitlines(), start=1) if line.startswith(needle))


@pytest.mark.parametrize(
    ("code", "needle", "expected_en", "expected_zh"),
    [
        ("model.eval()\n", "eval", "Does not change: autograd", "不会改变:autograd"),
        ("model.train(False)\n", "train", "recurses", "递归"),
        (
            "import torch as T\nwith T.no_grad():\n    pass\n",
            "no_grad",
            "`module.training`",
            "module.training",
        ),
        (
            "from torch import inference_mode\nwith inference_mode():\n    pass\n",
            "inference_mode",
            "does **not**",
            "不会",
        ),
        (
            "import torch\ntorch.set_grad_enabled(False)\n",
            "set_grad_enabled",
            "global until reset",
            "直到被重置",
        ),
        (
            "import torch\nwith torch.enable_grad():\n    pass\n",
            "enable_grad",
            "turns autograd back on",
            "重新开启",
        ),
    ],
)
def test_api_hovers_in_both_languages(code: str, needle: str, expected_en: str, expected_zh: str) -> None:
    # The last line naming the API: the use, not the import.
    line = max(number for number, text in enumerate(code.splitlines(), start=1) if needle in text)
    english = hover(code, line, needle, "en")
    chinese = hover(code, line, needle, "zh-CN")
    assert english is not None and expected_en in english
    assert chinese is not None and expected_zh in chinese


def test_no_hover_on_unrelated_eval() -> None:
    assert hover("import ast\nast.literal_eval('1')\n", 2, "literal_eval") is None
    assert hover("x = 1\n", 1, "x") is None


def test_state_hover_at_the_seed_training_step_shows_the_leak() -> None:
    line = seed_line("        output = model(data)")
    markdown = hover(SEED, line, "model")
    assert markdown is not None
    assert "**mode**: train | eval" in markdown
    assert f"`model.train()` (line {seed_line('    model.train()')})" in markdown
    assert "on an earlier loop iteration" in markdown
    assert f"(line {seed_line('            val_loss, val_correct = test(')})" in markdown
    chinese = hover(SEED, line, "model", "zh-cn")
    assert chinese is not None and "在之前的循环迭代中" in chinese


def test_state_hover_inside_evaluation_shows_eval_and_no_grad() -> None:
    line = seed_line("            output = model(data)")
    markdown = hover(SEED, line, "model")
    assert markdown is not None
    assert "**mode**: eval" in markdown and "**grad**: off" in markdown
    assert "`torch.no_grad()`" in markdown


def test_rule_code_hover_in_suppression_comments() -> None:
    code = "x = model(data)  # noqa: TM101\ny = model(data)  # torchmode: ignore[TM101]\n"
    first = hover(code, 1, "TM101", offset=2)
    second = hover(code, 2, "TM101", offset=2)
    assert first is not None and first.startswith("# TM101 train-step-in-eval-mode")
    assert second == first
    assert hover(code, 1, "TM101", "zh-cn", offset=2) != first


@pytest.mark.parametrize(
    ("code", "needle", "expected"),
    [
        ("from torch import nn\nm = nn.BatchNorm2d(3)\n", "BatchNorm2d", "even under `torch.no_grad()`"),
        ("import torch.nn as tnn\nd = tnn.Dropout(0.1)\n", "Dropout", "passes the input through unchanged"),
        ("import torch.nn.functional as F\ny = F.dropout(x, 0.2)\n", "dropout", "defaults to **True**"),
        ("from torch.nn.functional import dropout2d\ny = dropout2d(x)\n", "dropout2d", "**True**"),
        ("import torch\nc = torch.compile(model)\n", "compile", "compiles a new graph"),
        ("model.backbone.requires_grad_(False)\n", "requires_grad_", "not freezing batch norm"),
        ("optimizer.zero_grad()\n", "zero_grad", "**adds**"),
    ],
)
def test_more_api_hovers(code: str, needle: str, expected: str) -> None:
    line = max(number for number, text in enumerate(code.splitlines(), start=1) if needle in text)
    markdown = hover(code, line, needle, offset=1)
    assert markdown is not None and expected in markdown
    chinese = hover(code, line, needle, "zh-cn", offset=1)
    assert chinese is not None and chinese != markdown


def test_state_hover_on_the_backward_of_a_training_step() -> None:
    line = seed_line("        loss.backward()")
    markdown = hover(SEED, line, "backward", offset=1)
    assert markdown is not None and "**`model`**" in markdown and "**mode**: train | eval" in markdown
