"""Layer-aware severity: a mode finding on a model that no mode can change is a Hint."""

from __future__ import annotations

import ast
import textwrap

import pytest

from torchmode.analysis.layers import LayerSensitivity
from torchmode.analysis.names import ImportMap
from torchmode.engine import Settings, check_source
from torchmode.findings import Severity

LOOP = """
def test(model, loader):
    model.eval()
    return [model(x) for x in loader]


def train(model, optimizer, loader, val_loader):
    model.train()
    for i, (x, y) in enumerate(loader):
        loss = (model(x) - y).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        test(model, val_loader)


model = {constructor}
train(model, None, [], [])
"""


def tm101(constructor: str, prelude: str = "") -> tuple[Severity, str]:
    code = "import torch\nfrom torch import nn\n" + textwrap.dedent(prelude)
    code += LOOP.format(constructor=constructor)
    (finding,) = check_source(code, settings=Settings(select=("TM101",))).findings
    return finding.severity, finding.message


def test_linear_only_model_gets_a_hint_that_says_why() -> None:
    severity, message = tm101("nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))")
    assert severity is Severity.HINT
    assert "Harmless for `nn.Sequential` today" in message


def test_dropout_keeps_the_warning() -> None:
    severity, message = tm101("nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.1), nn.Linear(8, 1))")
    assert severity is Severity.WARNING and "Harmless" not in message


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("self.fc = nn.Linear(2, 2); self.norm = nn.LayerNorm(2)", False),
        ("self.fc = nn.Linear(2, 2); self.bn = nn.BatchNorm1d(2)", True),
        ("self.rnn = nn.LSTM(2, 2, num_layers=2)", False),
        ("self.rnn = nn.LSTM(2, 2, num_layers=2, dropout=0.1)", True),
        ("self.inorm = nn.InstanceNorm1d(2)", False),
        ("self.inorm = nn.InstanceNorm1d(2, track_running_stats=True)", True),
        ("self.blocks = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])", False),
        ("self.encoder = encoder", None),
        ("self.head = make_head()", None),
        ("self.inner = Inner()", True),
    ],
)
def test_class_sensitivity(body: str, expected: bool | None) -> None:
    code = textwrap.dedent(
        f"""
        from torch import nn

        class Inner(nn.Module):
            def forward(self, x):
                return x if not self.training else x * 2

        class Net(nn.Module):
            def __init__(self, encoder=None):
                super().__init__()
                {body}
        """
    )
    tree = ast.parse(code)
    layers = LayerSensitivity(tree, ImportMap(tree), frozenset({"Net", "Inner"}))
    assert layers.of_class("Net") is expected
