"""In a notebook, messages name cells and cell lines, not lines of the joined program."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from pathlib import Path

from notebook_helpers import notebook_of, write

from torchmode.cli import main

SETUP = "def test(model, loader):\n    model.eval()\n    return [model(x) for x in loader]\n"
TRAIN = (
    "model.train()\n"
    "for x, y in loader:\n"
    "    loss = (model(x) - y).pow(2).mean()\n"
    "    loss.backward()\n"
    "    optimizer.step()\n"
    "    test(model, val_loader)\n"
)


def check_json(path: Path, *extra: str) -> list[dict[str, object]]:
    out = io.StringIO()
    with redirect_stdout(out):
        main(["check", "--format", "json", "--select", "TM101", *extra, str(path)])
    result: list[dict[str, object]] = json.loads(out.getvalue())
    return result


def test_messages_point_at_cell_lines(tmp_path: Path) -> None:
    path = write(tmp_path / "nb.ipynb", notebook_of(SETUP, TRAIN))
    (finding,) = check_json(path)
    message = str(finding["message"])
    # Cell 1 is markdown; the setup is cell 2, the loop cell 3.
    assert "(cell 3, line 6)" in message  # test(model, val_loader)
    assert "`model.train()` (cell 3, line 1)" in message
    chinese = str(check_json(path, "--lang", "zh-CN")[0]["message"])
    assert "第 3 个单元格第 1 行" in chinese
