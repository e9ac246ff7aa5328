"""In a notebook, messages name cells and cell lines, not lines of the joined program."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from pathlib import Path

from notebook_helpers import dumps, notebook_of, write

from torchmode import engine
from torchmode.cli import main
from torchmode.syntax import Document, Position
from torchmode.syntax.notebook import Notebook

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


def test_state_hover_in_a_notebook_names_cell_lines() -> None:
    program = Notebook.parse(dumps(notebook_of(SETUP, TRAIN))).program
    document = Document(program.text, "nb.ipynb")
    # ``model`` in ``test(model, val_loader)``: the last line of the loop cell.
    start = program.starts[1]
    position = Position(start + 5, 9)
    hover = engine.hover_at(document, position, engine.Settings(), None, program)
    assert hover is not None
    assert "cell 3, line 6" in hover.markdown and "`model.train()` (cell 3, line 1)" in hover.markdown
    chinese = engine.hover_at(document, position, engine.Settings(locale="zh-cn"), None, program)
    assert chinese is not None and "第 3 个单元格第 6 行" in chinese.markdown
    # The same program as a file: plain lines.
    plain = engine.hover_at(document, position)
    assert plain is not None and f"line {start + 5}" in plain.markdown and "cell" not in plain.markdown
