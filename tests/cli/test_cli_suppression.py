"""Suppression comments through ``torchmode check --format json``: what CI sees.

The grammar itself is tested on the engine in ``tests/engine/test_suppression.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

from cli_helpers import RunCli

PROGRAM = """\
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        return F.dropout(self.fc(x), 0.5){dropout_comment}


model = Net()
model.eval{eval_comment}
"""


def reported(run: RunCli, source: Path, dropout_comment: str, eval_comment: str) -> list[str]:
    source.write_text(PROGRAM.format(dropout_comment=dropout_comment, eval_comment=eval_comment))
    result = run("check", "--format", "json", str(source))
    return [item["code"] for item in json.loads(result.out)]


def test_the_json_output_keeps_what_a_comment_does_not_name(run: RunCli, tmp_path: Path) -> None:
    source = tmp_path / "net.py"
    assert reported(run, source, "", "") == ["TM303", "TM301"]
    assert reported(run, source, "  # noqa: TM301", "  # noqa: TM303") == ["TM303", "TM301"]
    assert reported(run, source, "  # noqa: TM301", "  # noqa: TM301") == ["TM303"]
    assert reported(run, source, "  # torchmode: ignore[TM303]", "  # noqa: tm303") == ["TM301"]
    assert reported(run, source, "  # torchmode: ignore", "  # noqa") == []
