"""`torchmode check` on .ipynb files: findings per cell, --fix/--diff round trips, bad notebooks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from notebook_helpers import (
    EVALUATE,
    SETUP,
    TRAIN,
    code_cell,
    dumps,
    notebook,
    notebook_of,
    split_top_level,
    write,
)

from torchmode import cli, engine
from torchmode.rules import ALL_RULES
from torchmode.syntax import Document, Position, Span, TextEdit
from torchmode.syntax.notebook import CellEditError, Notebook, NotebookProgram


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_classic_bug_across_cells_is_reported_in_the_right_cells(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "nb.ipynb", notebook_of(SETUP, EVALUATE, TRAIN))
    code, out, _ = run(capsys, "check", "nb.ipynb")
    assert code == cli.EXIT_FINDINGS
    lines = out.splitlines()
    # Cell 1 is markdown: cells are numbered as the notebook shows them, like ruff.
    assert lines[0].startswith("nb.ipynb:cell 3:4:17: TM201 ")
    assert lines[1].startswith("nb.ipynb:cell 4:4:16: TM101 ")

    code, out, _ = run(capsys, "check", "--format", "json", "nb.ipynb")
    records = json.loads(out)
    assert [(r["code"], r["cell"], r["location"], r["noqa_row"]) for r in records] == [
        ("TM201", 3, {"row": 4, "column": 17}, 4),
        ("TM101", 4, {"row": 4, "column": 16}, 4),
    ]
    edits = records[1]["fix"]["edits"]
    # Moving model.train() into the loop: one edit in cell 2, one in cell 4, rows relative to each.
    assert [edit["location"]["row"] for edit in edits] == [6, 3]


def test_python_files_still_have_a_null_cell(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "train.py").write_text("\n".join([SETUP.replace("%matplotlib inline", ""), EVALUATE, TRAIN]))
    _, out, _ = run(capsys, "check", "--format", "json", "train.py")
    assert {record["cell"] for record in json.loads(out)} == {None}


def _examples() -> list[tuple[str, str]]:
    return [(rule.code, example.code) for rule in ALL_RULES for example in rule.INVALID]


@pytest.mark.parametrize(
    ("code", "program"), _examples(), ids=[f"{c}-{i}" for i, (c, _) in enumerate(_examples())]
)
def test_every_rule_finds_the_same_in_a_notebook_cut_at_every_statement(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], code: str, program: str
) -> None:
    """Each rule's own invalid examples, one top-level statement per cell: the same findings,
    each in the cell and line where its statement is."""
    pieces = split_top_level(program)
    write(
        tmp_path / "nb.ipynb", notebook(*(code_cell(piece, number) for number, piece in enumerate(pieces, 1)))
    )
    expected = []
    for finding in engine.check_document(Document(program, "x.py")).findings:
        line, cell = finding.span.start.line, 0
        while cell + 1 < len(pieces) and line > pieces[cell].count("\n") + (
            0 if pieces[cell].endswith("\n") else 1
        ):
            line -= pieces[cell].count("\n")
            cell += 1
        expected.append((finding.code, cell + 1, line, finding.span.start.column + 1))
    _, out, _ = run(capsys, "check", "--format", "json", "nb.ipynb")
    found = [(r["code"], r["cell"], r["location"]["row"], r["location"]["column"]) for r in json.loads(out)]
    assert sorted(found) == sorted(expected)
    assert code in {record[0] for record in found}


def test_fix_changes_only_the_intended_cell_sources(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    original = notebook_of(SETUP, EVALUATE, TRAIN)
    path = write(tmp_path / "nb.ipynb", original)
    code, out, _ = run(capsys, "check", "--fix", "nb.ipynb")
    assert code == cli.EXIT_CLEAN, out
    fixed = json.loads(path.read_text(encoding="utf-8"))

    expected: dict[str, Any] = json.loads(dumps(original))
    cells = expected["cells"]
    cells[1]["source"] = [*cells[1]["source"][:-2], "opt = torch.optim.SGD(model.parameters(), lr=0.1)"]
    cells[2]["source"] = [
        "def evaluate(model, loader):\n",
        "    model.eval()\n",
        "    with torch.no_grad():\n",
        "        for x in loader:\n",
        "            preds = model(x)",
    ]
    cells[3]["source"].insert(2, "        model.train()\n")
    assert fixed == expected
    # Byte for byte: what Jupyter itself would write for the changed notebook.
    assert path.read_text(encoding="utf-8") == dumps(expected)
    # The magic line is kept as written.
    assert "%matplotlib inline\n" in fixed["cells"][1]["source"]


@pytest.mark.parametrize(
    ("indent", "ensure_ascii"),
    [(1, False), (2, False), (4, True), (None, False)],
    ids=["jupyter", "2", "ascii", "one-line"],
)
def test_fix_keeps_the_json_style(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], indent: int | None, ensure_ascii: bool
) -> None:
    data = notebook_of("import torch\n# 模型\nmodel = torch.nn.Linear(2, 2)\nmodel.eval\n")
    data["metadata"]["author"] = "张三"
    path = write(tmp_path / "nb.ipynb", data, indent=indent, ensure_ascii=ensure_ascii)
    run(capsys, "check", "--fix", "nb.ipynb")
    data["cells"][1]["source"][-1] = "model.eval()"
    assert path.read_text(encoding="utf-8") == dumps(data, indent=indent, ensure_ascii=ensure_ascii)


def test_string_sources_stay_strings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = notebook_of("import torch\nmodel = torch.nn.Linear(2, 2)\nmodel.eval\n")
    data["cells"][1]["source"] = "".join(data["cells"][1]["source"])
    path = write(tmp_path / "nb.ipynb", data)
    run(capsys, "check", "--fix", "nb.ipynb")
    assert (
        json.loads(path.read_text())["cells"][1]["source"]
        == "import torch\nmodel = torch.nn.Linear(2, 2)\nmodel.eval()"
    )


def test_diff_shows_each_changed_cell(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "nb.ipynb", notebook_of(SETUP, EVALUATE, TRAIN))
    before = path.read_bytes()
    code, out, _ = run(capsys, "check", "--diff", "nb.ipynb")
    assert code == cli.EXIT_FINDINGS
    headers = [line for line in out.splitlines() if line.startswith("--- ")]
    assert headers == ["--- nb.ipynb:cell 2", "--- nb.ipynb:cell 3", "--- nb.ipynb:cell 4"]
    assert "+        model.train()" in out
    assert path.read_bytes() == before


def test_folders_include_notebooks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "pkg").mkdir()
    write(
        tmp_path / "pkg" / "nb.ipynb",
        notebook_of("import torch\nmodel = torch.nn.Linear(2, 2)\nmodel.eval\n"),
    )
    _, out, _ = run(capsys, "check", ".")
    assert out.startswith("pkg/nb.ipynb:cell 2:3:1: TM301 ")


def test_magics_are_neutralised_without_moving_positions() -> None:
    source = "%%bash\necho hi\n"
    data = notebook(
        code_cell(
            "import torch\n!pip install x\nfiles = !ls\n%time y = 1\nmodel?\nmodel = torch.nn.Linear(2, 2)", 1
        ),
        code_cell(source, 2),
        code_cell("for x in []:\n    %time model(x)\nmodel.eval", 3),
    )
    program = Notebook.parse(dumps(data)).program
    lines = program.text.splitlines()
    assert len(lines) == 6 + 2 + 3
    assert lines[5] == "model = torch.nn.Linear(2, 2)"
    assert lines[6:8] == ["pass#_", "pass#__"]
    assert lines[9] == "    pass#_________"
    assert Document(program.text).parse_failure is None
    assert program.to_cell(Position(11, 0)).cell == 2 and program.to_cell(Position(11, 0)).line == 3
    assert program.to_program(program.to_cell(Position(11, 4))) == Position(11, 4)


def test_shell_lines_continued_with_a_backslash_are_shell_to_the_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    install = (
        "!pip install torch \\\n    torchvision \\\n  timm\n"
        "import torch\nmodel = torch.nn.Linear(2, 2)\nmodel.eval"
    )
    program = Notebook.parse(dumps(notebook(code_cell(install, 1)))).program
    assert program.text.splitlines()[:3] == ["pass#" + "_" * 15, "    #" + "_" * 12, "  #___"]
    assert Document(program.text).parse_failure is None
    # Checked like any notebook, not skipped as unparsable; positions are the cell's.
    write(tmp_path / "nb.ipynb", notebook(code_cell(install, 1)))
    code, out, _ = run(capsys, "check", str(tmp_path / "nb.ipynb"))
    assert code == cli.EXIT_FINDINGS
    assert ":cell 1:6:1: TM301 " in out


def test_python_cell_magics_keep_their_body() -> None:
    data = notebook(
        code_cell("import torch\nmodel = torch.nn.Linear(2, 2)", 1),
        code_cell("%%time\nmodel.eval", 2),
        code_cell("%%bash\nmodel.eval", 3),
    )
    program = Notebook.parse(dumps(data)).program
    assert program.text.splitlines()[2:] == ["pass#_", "model.eval", "pass#_", "pass#_____"]
    findings = engine.check_document(Document(program.text)).findings
    assert [(finding.code, program.to_cell(finding.span.start).cell) for finding in findings] == [
        ("TM301", 1)
    ]


def test_edits_across_cells_or_on_magics_are_refused() -> None:
    program = NotebookProgram.build(
        Notebook.parse(dumps(notebook_of("a = 1\n%time b = 2", "c = 3"))).program.cells
    )
    with pytest.raises(CellEditError):
        program.to_cell_edit(TextEdit(Span.of(1, 0, 3, 1), ""))
    with pytest.raises(CellEditError):
        program.to_cell_edit(TextEdit(Span.of(2, 0, 2, 3), "x"))
    # An insertion at a boundary goes to the cell of the statement after it.
    inserted = program.to_cell_edit(TextEdit(Span.of(3, 0, 3, 0), "model.train()\n"))
    assert (inserted.cell, inserted.span.start.line) == (2, 1)
    # Deleting a cell's last line ends at the next cell's start: still that cell's edit.
    deleted = program.to_cell_edit(TextEdit(Span.of(1, 0, 2, 0), ""))
    assert deleted.cell == 1


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('{"cells": [', "invalid notebook: not valid JSON"),
        ("[]", "invalid notebook: not a notebook: the JSON document is not an object"),
        ('{"cells": []}', "invalid notebook: not a notebook: no integer 'nbformat' field"),
        ('{"nbformat": 3, "worksheets": []}', "invalid notebook: unsupported nbformat 3"),
        (
            '{"nbformat": 4, "cells": {}}',
            "invalid notebook: not a notebook: 'cells' is missing or not a list",
        ),
        (
            '{"nbformat": 4, "cells": [{"source": "x"}]}',
            "invalid notebook: cell 1 is not an object with a 'cell_type'",
        ),
        (
            '{"nbformat": 4, "cells": [{"cell_type": "code", "source": 3}]}',
            "invalid notebook: cell 1: 'source' is neither a string nor a list of strings",
        ),
    ],
)
def test_malformed_notebooks_name_the_file_and_the_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, problem: str
) -> None:
    (tmp_path / "bad.ipynb").write_text(content)
    write(tmp_path / "good.ipynb", notebook_of("import torch\nmodel = torch.nn.Linear(2, 2)\nmodel.eval\n"))
    code, out, err = run(capsys, "check", "bad.ipynb", "good.ipynb")
    assert code == cli.EXIT_ERROR
    assert f"torchmode: error: bad.ipynb: {problem}" in err
    assert "good.ipynb:cell 2:3:1: TM301" in out


def test_a_syntax_error_is_located_in_its_cell(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path / "nb.ipynb", notebook_of("import torch", "def f(:\n    pass"))
    code, _, err = run(capsys, "check", "nb.ipynb")
    assert code == cli.EXIT_ERROR
    assert "Failed to parse nb.ipynb:cell 3:1:" in err


def test_github_annotations_point_at_the_cell_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "nb.ipynb", notebook_of(SETUP, EVALUATE, TRAIN))
    _, out, _ = run(capsys, "check", "--format", "github", "nb.ipynb")
    first = out.splitlines()[0]
    assert ",line=4,col=17," in first
    assert first.split("::")[2].startswith("nb.ipynb:cell 3:4:17: TM201 ")
