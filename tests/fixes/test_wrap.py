"""The block edits of ``torchmode.fixes.wrap``: whole files before and after.

Re-indenting is where a fix can silently change a program: a multi-line string's
inner lines are part of its value, a tab-indented block must stay tab-indented,
and a blank line must not gain trailing spaces. Every result here is also parsed.
"""

from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path

import pytest

from torchmode.fixes.wrap import (
    add_decorator,
    combine,
    dedent_out_of_with,
    indentation_unit,
    string_inner_lines,
    torch_spelling,
    wrap_statements,
)
from torchmode.syntax import Document, Span, TextEdit, apply_edits


def _function(document: Document, name: str) -> ast.FunctionDef:
    assert document.tree is not None
    for node in ast.walk(document.tree):
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return node
    raise AssertionError(name)


def _apply(text: str, edits: list[TextEdit] | tuple[TextEdit, ...]) -> str:
    result = apply_edits(text, edits)
    ast.parse(result)
    return result


def _wrap_body(text: str, function: str, start: int, stop: int, header: str = "with torch.no_grad():") -> str:
    document = Document(text)
    body = _function(document, function).body
    edit = wrap_statements(document, body[start:stop], header)
    assert edit is not None
    return _apply(text, [edit])


# -- wrap_statements ---------------------------------------------------------------------------


def test_wrap_keeps_comments_blank_lines_and_continuations() -> None:
    before = (
        "def evaluate(model, loader):\n"
        "    model.eval()\n"
        "    # sum over the set\n"
        "    for x in loader:\n"
        "        out = model(x,\n"
        "                    scale=2)\n"
        "\n"
        "        total = out.sum() + \\\n"
        "            1  # trailing\n"
        "    return total\n"
    )
    after = (
        "def evaluate(model, loader):\n"
        "    model.eval()\n"
        "    # sum over the set\n"
        "    with torch.no_grad():\n"
        "        for x in loader:\n"
        "            out = model(x,\n"
        "                        scale=2)\n"
        "\n"
        "            total = out.sum() + \\\n"
        "                1  # trailing\n"
        "    return total\n"
    )
    assert _wrap_body(before, "evaluate", 1, 2) == after


def test_wrap_leaves_the_inner_lines_of_multi_line_strings_alone() -> None:
    before = (
        "def report(model, x):\n"
        '    text = """first\n'
        "  second, indented as data\n"
        'last"""\n'
        "    note = 'one \\\n"
        "two'\n"
        "    value = f'''{model(x)}\n"
        "    kept'''\n"
        "    return text, note, value\n"
    )
    after = (
        "def report(model, x):\n"
        "    with torch.no_grad():\n"
        '        text = """first\n'
        "  second, indented as data\n"
        'last"""\n'
        "        note = 'one \\\n"
        "two'\n"
        "        value = f'''{model(x)}\n"
        "    kept'''\n"
        "        return text, note, value\n"
    )
    result = _wrap_body(before, "report", 0, 4)
    assert result == after
    namespace: dict[str, object] = {}
    exec(compile(before.replace("model(x)", "x"), "<before>", "exec"), namespace)
    expected = namespace["report"](None, 1)  # type: ignore[operator]
    namespace = {"torch": _FakeTorch}
    exec(compile(result.replace("model(x)", "x"), "<after>", "exec"), namespace)
    assert namespace["report"](None, 1) == expected  # type: ignore[operator]


class _FakeTorch:
    """Just enough of torch for the string test to run the wrapped code."""

    class no_grad:  # named like torch's
        def __enter__(self) -> None:
            return None

        def __exit__(self, *exc: object) -> None:
            return None


def test_wrap_follows_a_tab_indented_block() -> None:
    before = "def f(model, xs):\n\tmodel.eval()\n\tfor x in xs:\n\t\tmodel(x)\n"
    after = "def f(model, xs):\n\tmodel.eval()\n\twith torch.no_grad():\n\t\tfor x in xs:\n\t\t\tmodel(x)\n"
    assert _wrap_body(before, "f", 1, 2) == after


def test_wrap_follows_a_two_space_block() -> None:
    before = "def f(model, xs):\n  for x in xs:\n    model(x)\n"
    after = "def f(model, xs):\n  with torch.no_grad():\n    for x in xs:\n      model(x)\n"
    assert _wrap_body(before, "f", 0, 1) == after


def test_wrap_at_module_level_takes_the_unit_from_the_file() -> None:
    before = "import torch\n\nfor x in xs:\n  model(x)\nprint('done')\n"
    document = Document(before)
    assert document.tree is not None
    edit = wrap_statements(document, document.tree.body[1:2], "with torch.no_grad():")
    assert edit is not None
    assert (
        _apply(before, [edit])
        == "import torch\n\nwith torch.no_grad():\n  for x in xs:\n    model(x)\nprint('done')\n"
    )


def test_wrap_at_module_level_defaults_to_four_spaces_or_the_files_tabs() -> None:
    plain = Document("out = model(x)\n")
    assert plain.tree is not None
    assert indentation_unit(plain, plain.tree.body[0]) == "    "
    tabbed = Document("out = model(x)\nif out:\n\tprint(out)\n")
    assert tabbed.tree is not None
    assert indentation_unit(tabbed, tabbed.tree.body[0]) == "\t"


def test_wrap_keeps_crlf_line_endings() -> None:
    before = "def f(model, xs):\r\n    for x in xs:\r\n        model(x)\r\n    return 1\r\n"
    after = (
        "def f(model, xs):\r\n    with torch.no_grad():\r\n"
        "        for x in xs:\r\n            model(x)\r\n    return 1\r\n"
    )
    assert _wrap_body(before, "f", 0, 1) == after


def test_wrap_indents_decorators_of_a_wrapped_def() -> None:
    before = (
        "def outer(model):\n    @staticmethod\n    def inner(x):\n        return model(x)\n    return inner\n"
    )
    result = _wrap_body(before, "outer", 0, 1, "with ctx():")
    assert result == (
        "def outer(model):\n    with ctx():\n        @staticmethod\n        def inner(x):\n"
        "            return model(x)\n    return inner\n"
    )


def test_wrap_of_the_last_line_without_a_final_newline() -> None:
    before = "def f(model, x):\n    return model(x)"
    assert (
        _wrap_body(before, "f", 0, 1)
        == "def f(model, x):\n    with torch.no_grad():\n        return model(x)"
    )


@pytest.mark.parametrize(
    "text",
    [
        "def f(model, x):\n    a = 1; out = model(x)\n",  # shares its line with another statement
        "def f(model, xs):\n    for x in xs: model(x)\n",  # a one-line compound body
    ],
)
def test_wrap_refuses_statements_that_do_not_own_their_lines(text: str) -> None:
    document = Document(text)
    function = _function(document, "f")
    statement = function.body[-1]
    target = statement.body[0] if isinstance(statement, ast.For) else statement
    assert wrap_statements(document, [target], "with torch.no_grad():") is None


def test_wrap_refuses_statements_that_are_not_a_run_of_one_block() -> None:
    document = Document("def f(a, b):\n    x = a\n    y = b\n    z = a\n")
    body = _function(document, "f").body
    assert wrap_statements(document, [body[0], body[2]], "with torch.no_grad():") is None


def test_wrap_replacing_a_statement_keeps_its_comment_and_moves_comments_in() -> None:
    before = (
        "def predict(model, batch):\n"
        "    torch.no_grad()  # no graph please\n"
        "    # the forward pass\n"
        "\n"
        "    logits = model(batch)\n"
        "    return logits\n"
    )
    document = Document(before)
    body = _function(document, "predict").body
    edit = wrap_statements(document, body[1:], "with torch.no_grad():", replacing=body[0])
    assert edit is not None
    assert _apply(before, [edit]) == (
        "def predict(model, batch):\n"
        "    with torch.no_grad():  # no graph please\n"
        "        # the forward pass\n"
        "\n"
        "        logits = model(batch)\n"
        "        return logits\n"
    )


def test_string_inner_lines_is_none_for_text_tokenize_rejects() -> None:
    assert string_inner_lines(Document('x = """never closed\n'), 1, 1) is None
    assert string_inner_lines(Document('x = """a\nb\nc"""\ny = 1\n'), 1, 3) == frozenset({2, 3})


_SOURCES = sorted((Path(__file__).resolve().parents[1] / "cases").glob("tm*/*.py")) + sorted(
    (Path(__file__).resolve().parents[2] / "examples").glob("*.py")
)


def _whole_file_string_lines(text: str) -> set[int]:
    found: set[int] = set()
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type == tokenize.STRING:
            found.update(range(token.start[0] + 1, token.end[0] + 1))
    return found


@pytest.mark.parametrize("source", _SOURCES, ids=lambda path: path.name)
def test_string_inner_lines_of_one_statement_are_the_whole_files(source: Path) -> None:
    """Only the top-level statement is tokenized: its string lines must be those a
    tokenization of the whole file finds there (each statement starts afresh)."""
    text = source.read_text(encoding="utf-8")
    document = Document(text)
    assert document.tree is not None
    whole = _whole_file_string_lines(text)
    for statement in document.tree.body:
        first = min([statement.lineno, *(d.lineno for d in getattr(statement, "decorator_list", []))])
        last = statement.end_lineno or statement.lineno
        inner = string_inner_lines(document, first, last)
        assert inner is not None
        assert set(inner) == {line for line in whole if first <= line <= last}


# -- dedent_out_of_with -----------------------------------------------------------------------


def _with_in(document: Document, function: str) -> ast.With:
    for statement in ast.walk(_function(document, function)):
        if isinstance(statement, ast.With):
            return statement
    raise AssertionError("no with")


def test_dedent_the_whole_block_removes_the_header_and_keeps_its_comment() -> None:
    before = (
        "def step(model, x):\n"
        "    with torch.no_grad():  # cheap\n"
        "        # forward\n"
        "        loss = model(x).sum()\n"
        '        doc = """a\n'
        '    b"""\n'
        "        loss.backward()\n"
        "    return loss\n"
    )
    document = Document(before)
    edit = dedent_out_of_with(document, _with_in(document, "step"), 0)
    assert edit is not None
    assert _apply(before, [edit]) == (
        "def step(model, x):\n"
        "    # cheap\n"
        "    # forward\n"
        "    loss = model(x).sum()\n"
        '    doc = """a\n'
        '    b"""\n'
        "    loss.backward()\n"
        "    return loss\n"
    )


def test_dedent_the_whole_block_without_a_header_comment_drops_the_line() -> None:
    before = "def step(model, x):\n\twith torch.no_grad():\n\t\tloss = model(x).sum()\n\t\tloss.backward()\n"
    document = Document(before)
    edit = dedent_out_of_with(document, _with_in(document, "step"), 0)
    assert edit is not None
    assert _apply(before, [edit]) == "def step(model, x):\n\tloss = model(x).sum()\n\tloss.backward()\n"


def test_dedent_a_tail_leaves_the_head_inside() -> None:
    before = (
        "def step(teacher, student, x):\n"
        "    with torch.no_grad():\n"
        "        target = teacher(x)\n"
        "        loss = (student(x) - target).pow(2).mean()\n"
        "        loss.backward()\n"
    )
    document = Document(before)
    edit = dedent_out_of_with(document, _with_in(document, "step"), 1)
    assert edit is not None
    assert _apply(before, [edit]) == (
        "def step(teacher, student, x):\n"
        "    with torch.no_grad():\n"
        "        target = teacher(x)\n"
        "    loss = (student(x) - target).pow(2).mean()\n"
        "    loss.backward()\n"
    )


def test_dedent_refuses_a_header_over_several_lines_or_a_one_line_with() -> None:
    several = Document("def f(m, x):\n    with torch.no_grad(\n    ):\n        m(x).sum().backward()\n")
    assert dedent_out_of_with(several, _with_in(several, "f"), 0) is None
    one_line = Document("def f(m, x):\n    with torch.no_grad(): m(x).sum().backward()\n")
    assert dedent_out_of_with(one_line, _with_in(one_line, "f"), 0) is None


# -- add_decorator ------------------------------------------------------------------------------


def test_decorator_goes_below_existing_decorators_at_the_def_indentation() -> None:
    before = (
        "class Evaluator:\n"
        "    @staticmethod\n"
        "    @some.cache(maxsize=1)\n"
        "    def evaluate(model, loader):\n"
        "        return [model(x) for x in loader]\n"
    )
    document = Document(before)
    edit = add_decorator(document, _function(document, "evaluate"), "torch.no_grad()")
    assert edit is not None
    assert _apply(before, [edit]) == (
        "class Evaluator:\n"
        "    @staticmethod\n"
        "    @some.cache(maxsize=1)\n"
        "    @torch.no_grad()\n"
        "    def evaluate(model, loader):\n"
        "        return [model(x) for x in loader]\n"
    )


def test_decorator_on_a_plain_function_keeps_the_blank_lines_above() -> None:
    before = "import torch\n\n\ndef predict(model, x):\n    return model(x)\n"
    document = Document(before)
    edit = add_decorator(document, _function(document, "predict"), "torch.no_grad()")
    assert edit is not None
    assert (
        _apply(before, [edit])
        == "import torch\n\n\n@torch.no_grad()\ndef predict(model, x):\n    return model(x)\n"
    )


# -- torch_spelling and combine ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("imports", "spelled"),
    [
        ("import torch as T\n", "T.no_grad()"),
        ("import torch.nn as nn\nimport torch.nn\n", "torch.no_grad()"),
        ("from torch import no_grad as ng\n", "ng()"),
        ("try:\n    import torch\nexcept ImportError:\n    torch = None\n", "torch.no_grad()"),
    ],
)
def test_torch_spelling_uses_the_files_own_binding(imports: str, spelled: str) -> None:
    spelling = torch_spelling(Document(imports + "\nx = 1\n"), "no_grad", use_line=99)
    assert spelling is not None
    assert spelling.call() == spelled
    assert spelling.edits == ()


def test_torch_spelling_adds_import_torch_after_the_last_import() -> None:
    text = '"""Doc."""\nimport os\nfrom torch import nn\n\nmodel = nn.Linear(2, 2)\n'
    spelling = torch_spelling(Document(text), "no_grad", use_line=5)
    assert spelling is not None and spelling.call() == "torch.no_grad()"
    assert (
        _apply(text, spelling.edits)
        == '"""Doc."""\nimport os\nfrom torch import nn\nimport torch\n\nmodel = nn.Linear(2, 2)\n'
    )


def test_torch_spelling_without_imports_goes_after_docstring_and_future_imports() -> None:
    text = '"""Doc."""\nfrom __future__ import annotations\n\nvalue = 1\n'
    spelling = torch_spelling(Document(text), "inference_mode", use_line=4)
    assert spelling is not None
    assert _apply(text, spelling.edits) == (
        '"""Doc."""\nfrom __future__ import annotations\nimport torch\n\nvalue = 1\n'
    )
    bare = "value = 1\n"
    spelling = torch_spelling(Document(bare), "no_grad", use_line=1)
    assert spelling is not None
    assert _apply(bare, spelling.edits) == "import torch\nvalue = 1\n"


def test_torch_spelling_never_imports_below_module_level_use() -> None:
    # The only import comes after the module-level code that would need torch.
    text = "out = 1\nimport numpy\n"
    spelling = torch_spelling(Document(text), "no_grad", use_line=1)
    assert spelling is not None
    assert _apply(text, spelling.edits) == "import torch\nout = 1\nimport numpy\n"


def test_combine_folds_an_insert_into_the_edit_that_starts_there() -> None:
    text = "a\nb\nc\n"
    insert = TextEdit(Span.of(2, 0, 2, 0), "import torch\n")
    replace = TextEdit(Span.of(2, 0, 3, 1), "B\nC")
    combined = combine([replace, insert])
    assert len(combined) == 1
    assert apply_edits(text, combined) == "a\nimport torch\nB\nC\n"
    # Edits elsewhere are left as they are.
    assert len(combine([TextEdit(Span.of(1, 0, 1, 0), "x"), replace])) == 2
