"""Block edits shared by the grad rules: wrap statements in ``with``, de-indent them out of one,
decorate a function, and spell ``torch.no_grad()`` the way the file imports torch.

Everything works on whole lines of the original text, so comments, blank lines and
formatting inside the edited statements survive unchanged apart from their
indentation. Two things need care when re-indenting:

* Lines that start *inside* a string literal (the inner lines of a triple-quoted
  string, or of a string continued with a backslash) are part of the string's
  value: adding or removing spaces there would change the program. They are found
  with ``tokenize`` and left alone.
* The unit added is the block's own indentation unit (what the block adds to its
  parent's indentation), so a tab-indented file gets a tab and a two-space file
  gets two spaces.

Every builder returns ``None`` when it cannot produce a correct edit (a statement
sharing its line with another, a one-line compound body, a file ``tokenize``
rejects); rules then offer no fix rather than a wrong one.
"""

from __future__ import annotations

import ast
import io
import tokenize
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

from torchmode.fixes.lines import insert_line_after, top_level_block
from torchmode.syntax.document import Document
from torchmode.syntax.node_index import node_index
from torchmode.syntax.positions import Position, Span, TextEdit

DEFAULT_UNIT = "    "

# Computed once per document: fixes for several findings of one file share them.
_STRING_LINES: weakref.WeakKeyDictionary[Document, dict[tuple[int, int], frozenset[int] | None]] = (
    weakref.WeakKeyDictionary()
)


# -- facts about lines ---------------------------------------------------------------------------


def string_inner_lines(document: Document, first: int, last: int) -> frozenset[int] | None:
    """1-based lines that begin inside a string literal, among those of the top-level
    statements holding lines ``first`` to ``last``; None when they do not tokenize.

    The first line of a multi-line string begins with code (``x = \"\"\"...``) and may be
    re-indented; every later line of it may not. Only those statements are tokenized (the
    tokenizer is pure Python: the whole file cost more than the rest of a check): they
    start at column 0 after a complete statement, so their tokens are the same alone.
    """
    block = top_level_block(document, first, last)
    if block is None:
        block = (1, len(document.line_offsets))
    known = _STRING_LINES.setdefault(document, {})
    if block in known:
        return known[block]
    offsets = document.line_offsets
    start = offsets[block[0] - 1]
    end = offsets[block[1]] if block[1] < len(offsets) else len(document.text)
    shift = block[0] - 1
    found: set[int] = set()
    fstring_start = getattr(tokenize, "FSTRING_START", None)  # Python 3.12+ splits f-strings
    fstring_end = getattr(tokenize, "FSTRING_END", None)
    open_fstrings: list[int] = []
    result: frozenset[int] | None
    try:
        for token in tokenize.generate_tokens(io.StringIO(document.text[start:end]).readline):
            if token.type == tokenize.STRING:
                found.update(range(token.start[0] + 1 + shift, token.end[0] + 1 + shift))
            elif fstring_start is not None and token.type == fstring_start:
                open_fstrings.append(token.start[0] + shift)
            elif fstring_end is not None and token.type == fstring_end and open_fstrings:
                found.update(range(open_fstrings.pop() + 1, token.end[0] + 1 + shift))
        result = frozenset(found)
    except (tokenize.TokenError, SyntaxError):
        result = None
    known[block] = result
    return result


def parent_of(document: Document, node: ast.AST) -> ast.AST | None:
    index = node_index(document)
    return index.parent_of(node) if index is not None else None


def block_of(document: Document, statement: ast.stmt) -> list[ast.stmt] | None:
    """The list of statements (a body, ``else``, handler or ``case`` block) holding ``statement``."""
    parent = parent_of(document, statement)
    if parent is None:
        return None
    for body in _body_fields(parent):
        if any(item is statement for item in body):
            return body
    return None


def first_line(statement: ast.stmt) -> int:
    """The statement's first line, its decorators included."""
    decorators: list[ast.expr] = getattr(statement, "decorator_list", []) or []
    return min([statement.lineno, *(decorator.lineno for decorator in decorators)])


def _leading_whitespace(text: str) -> str:
    return text[: len(text) - len(text.lstrip(" \t"))]


def _starts_its_line(document: Document, statement: ast.stmt) -> bool:
    line = first_line(statement)
    if line != statement.lineno:
        return True  # starts with a decorator, which always begins a line
    span = document.span_of(statement)
    return not document.line_text(line)[: span.start.column].strip()


def _ends_its_line(document: Document, statement: ast.stmt) -> bool:
    span = document.span_of(statement)
    rest = document.line_text(span.end.line)[span.end.column :].strip()
    return not rest or rest.startswith("#")


def _body_fields(node: ast.AST) -> list[list[ast.stmt]]:
    bodies: list[list[ast.stmt]] = []
    for name in ("body", "orelse", "finalbody"):
        value = getattr(node, name, None)
        if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
            bodies.append(value)
    for handler in getattr(node, "handlers", []) or []:
        bodies.append(handler.body)
    for case in getattr(node, "cases", []) or []:
        bodies.append(case.body)
    return bodies


def _unit_between(document: Document, outer_line: int, inner_line: int) -> str | None:
    outer = document.indentation_of_line(outer_line)
    inner = document.indentation_of_line(inner_line)
    if inner_line > outer_line and inner.startswith(outer) and len(inner) > len(outer):
        return inner[len(outer) :]
    return None


def indentation_unit(document: Document, statement: ast.stmt) -> str:
    """What the block holding ``statement`` adds to its parent's indentation.

    At module level there is no parent to compare with: the unit is taken from the
    nearest compound statement with a body on its own lines (in the file), else four
    spaces, or a tab in a file whose first indented line uses tabs.
    """
    parent = parent_of(document, statement)
    if parent is not None and not isinstance(parent, ast.Module):
        # ``else:``/``except:`` line up with their statement, so the statement's line works;
        # a ``case`` has no line of its own, its pattern does.
        owner = parent.pattern if isinstance(parent, ast.match_case) else parent
        owner_line = getattr(owner, "lineno", None)
        if owner_line is not None:
            unit = _unit_between(document, owner_line, statement.lineno)
            if unit is not None:
                return unit
    tree = document.tree
    candidates: list[tuple[int, str]] = []
    if tree is not None:
        for node in ast.walk(tree):
            for body in _body_fields(node):
                if isinstance(node, ast.stmt):
                    unit = _unit_between(document, node.lineno, body[0].lineno)
                    if unit is not None:
                        candidates.append((abs(node.lineno - statement.lineno), unit))
                break  # the first body is enough per statement
    if candidates:
        return min(candidates, key=lambda item: item[0])[1]
    for text in document.lines:
        whitespace = _leading_whitespace(text)
        if whitespace and text.strip():
            return "\t" if whitespace.startswith("\t") else DEFAULT_UNIT
    return DEFAULT_UNIT


# -- re-indenting a run of statements ------------------------------------------------------------


@dataclass(frozen=True)
class _Lines:
    """Whole lines ``first``..``last`` of a document, each with its original terminator."""

    first: int
    last: int
    texts: list[str]  # without terminators
    terminators: list[str]

    @staticmethod
    def of(document: Document, first: int, last: int) -> _Lines:
        texts: list[str] = []
        terminators: list[str] = []
        offsets = document.line_offsets
        for line in range(first, last + 1):
            start = offsets[line - 1]
            end = offsets[line] if line < len(offsets) else len(document.text)
            raw = document.text[start:end]
            text = raw.rstrip("\r\n")
            texts.append(text)
            terminators.append(raw[len(text) :])
        return _Lines(first, last, texts, terminators)

    def edit(self, document: Document, new_texts: list[str], prefix: str = "") -> TextEdit:
        """One edit replacing these lines (terminators kept) by ``prefix`` plus ``new_texts``."""
        body = "".join(
            text + terminator for text, terminator in zip(new_texts, self.terminators, strict=True)
        )
        last_terminator = self.terminators[-1]
        # The replaced span ends before the last terminator, so it stays where it is.
        if last_terminator:
            body = body[: -len(last_terminator)]
        span = Span(Position(self.first, 0), Position(self.last, len(self.texts[-1])))
        return TextEdit(span, prefix + body)


def _is_run_of_siblings(document: Document, statements: Sequence[ast.stmt]) -> bool:
    block = block_of(document, statements[0])
    if block is None:
        return False
    index = next(position for position, item in enumerate(block) if item is statements[0])
    run = block[index : index + len(statements)]
    return len(run) == len(statements) and all(a is b for a, b in zip(run, statements, strict=True))


def wrap_statements(
    document: Document, statements: Sequence[ast.stmt], header: str, replacing: ast.stmt | None = None
) -> TextEdit | None:
    """Put a run of whole statements of one block under ``header`` (``with torch.no_grad():``).

    The header goes on a new line at the block's indentation; every line of the run
    gets one more indentation unit, except blank lines (no trailing whitespace is
    added) and lines inside string literals (their text is the string's value).

    With ``replacing`` (the statement just before the run, alone on its lines), the
    header takes that statement's place, keeping its trailing comment, and the comment
    lines between it and the run move into the block with the run.
    """
    if not statements:
        return None
    run = [replacing, *statements] if replacing is not None else list(statements)
    if not _is_run_of_siblings(document, run):
        return None
    if not _starts_its_line(document, run[0]) or not _ends_its_line(document, statements[-1]):
        return None
    start = first_line(run[0])
    end = document.span_of(statements[-1]).end.line
    inner = string_inner_lines(document, start, end)
    if inner is None:
        return None
    indentation = document.indentation_of_line(run[0].lineno)
    unit = indentation_unit(document, statements[0])
    if replacing is not None:
        replaced = document.span_of(replacing)
        if not _ends_its_line(document, replacing) or replaced.end.line >= first_line(statements[0]):
            return None
        comment = document.line_text(replaced.end.line)[replaced.end.column :].strip()
        header = f"{header}  {comment}" if comment else header
        indented_from = replaced.end.line + 1
    else:
        indented_from = start
    lines = _Lines.of(document, indented_from, end)
    new_texts = [
        text if (number in inner or not text.strip()) else unit + text
        for number, text in zip(range(indented_from, end + 1), lines.texts, strict=True)
    ]
    edit = lines.edit(document, new_texts, prefix=f"{indentation}{header}{document.newline}")
    return TextEdit(Span(Position(start, 0), edit.span.end), edit.new_text)


def _dedent_line(text: str, amount: str) -> str:
    """Remove ``amount`` of indentation; continuation and comment lines lose what they have."""
    if text.startswith(amount):
        return text[len(amount) :]
    whitespace = _leading_whitespace(text)
    return text[min(len(whitespace), len(amount)) :]


def dedent_out_of_with(document: Document, with_statement: ast.With, start_index: int) -> TextEdit | None:
    """Move ``with_statement.body[start_index:]`` out of the ``with`` by de-indenting it.

    With ``start_index == 0`` the whole body moves out and the ``with`` line is removed;
    otherwise the statements before ``start_index`` stay inside. Only a one-line
    header (``with torch.no_grad():`` on its own line) is handled.
    """
    body = with_statement.body
    if not 0 <= start_index < len(body):
        return None
    header_line = with_statement.lineno
    header_end = document.span_of(with_statement.items[-1].context_expr).end.line
    first_body_line = first_line(body[0])
    if header_end != header_line or first_body_line <= header_line:
        return None  # ``with x: body`` on one line, or a header over several lines
    header_text = document.line_text(header_line)
    if not _starts_its_line(document, with_statement) or not header_text.rstrip().split("#")[
        0
    ].rstrip().endswith(":"):
        return None
    moved = body[start_index:]
    if not _starts_its_line(document, moved[0]) or not _ends_its_line(document, moved[-1]):
        return None
    inner = string_inner_lines(document, header_line, document.span_of(moved[-1]).end.line)
    if inner is None:
        return None
    outer = document.indentation_of_line(header_line)
    inside = document.indentation_of_line(body[0].lineno)
    if not inside.startswith(outer) or len(inside) <= len(outer):
        return None
    amount = inside[len(outer) :]
    start = header_line if start_index == 0 else first_line(moved[0])
    end = document.span_of(moved[-1]).end.line
    lines = _Lines.of(document, start, end)
    new_texts: list[str] = []
    for number, text in zip(range(start, end + 1), lines.texts, strict=True):
        if number in inner or not text.strip():
            new_texts.append(text)
        else:
            new_texts.append(_dedent_line(text, amount))
    if start_index == 0:
        # Drop the header line; a comment on it stays, on a line of its own.
        comment = _trailing_comment(document, with_statement)
        if comment:
            new_texts[0] = outer + comment
            return lines.edit(document, new_texts)
        rest = _Lines.of(document, header_line + 1, end)
        edit = rest.edit(document, new_texts[1:])
        return TextEdit(Span(Position(header_line, 0), edit.span.end), edit.new_text)
    return lines.edit(document, new_texts)


def _trailing_comment(document: Document, with_statement: ast.With) -> str:
    """``# comment`` after the colon of a one-line ``with`` header, or ""."""
    text = document.line_text(with_statement.lineno)
    column = document.span_of(with_statement.items[-1].context_expr).end.column
    rest = text[column:]
    colon = rest.find(":")
    after = rest[colon + 1 :].strip() if colon >= 0 else ""
    return after if after.startswith("#") else ""


# -- decorators and imports ----------------------------------------------------------------------


def add_decorator(
    document: Document, function: ast.FunctionDef | ast.AsyncFunctionDef, decorator: str
) -> TextEdit | None:
    """``@decorator`` directly above the ``def`` line, below any existing decorators.

    Innermost is the right place for a grad-mode decorator: ``@staticmethod`` or
    ``@property`` above it keep wrapping the function object they expect.
    """
    span = document.span_of(function)
    if document.line_text(function.lineno)[: span.start.column].strip():
        return None
    indentation = document.indentation_of_line(function.lineno)
    position = Position(function.lineno, 0)
    return TextEdit(Span(position, position), f"{indentation}@{decorator}{document.newline}")


@dataclass(frozen=True)
class TorchSpelling:
    """How to write a ``torch`` attribute in this file, and the import edit it may need."""

    prefix: str  # "torch." / "T." / "" (from-imported)
    name: str  # the attribute as it can be written: "no_grad", or a from-import alias
    edits: tuple[TextEdit, ...] = ()

    def call(self, arguments: str = "") -> str:
        return f"{self.prefix}{self.name}({arguments})"


def _top_level_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Module-level imports, including those inside top-level ``try``/``if`` blocks."""
    found: list[ast.Import | ast.ImportFrom] = []
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        statement = pending.pop(0)
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            found.append(statement)
        elif isinstance(statement, (ast.Try, ast.If)):
            for body in _body_fields(statement):
                pending.extend(body)
    return found


def _after_docstring_and_future(tree: ast.Module) -> ast.stmt | None:
    """The last statement that must stay before any import: the docstring, ``__future__`` imports."""
    last: ast.stmt | None = None
    for index, statement in enumerate(tree.body):
        is_docstring = (
            index == 0
            and isinstance(statement, ast.Expr)
            and isinstance(statement.value, ast.Constant)
            and isinstance(statement.value.value, str)
        )
        if is_docstring or (isinstance(statement, ast.ImportFrom) and statement.module == "__future__"):
            last = statement
        else:
            break
    return last


def torch_spelling(document: Document, attribute: str, use_line: int) -> TorchSpelling | None:
    """``torch.<attribute>`` as this file can write it on line ``use_line``.

    Uses the file's own binding of torch (``import torch as T`` gives ``T.no_grad``),
    or a ``from torch import no_grad`` of the attribute itself. Otherwise it adds
    ``import torch`` after the last top-level import above ``use_line`` (module-level
    code runs in order, so the import must come first), or at the top of the file after
    the docstring and ``__future__`` imports.
    """
    tree = document.tree
    if tree is None:
        return None
    imports = _top_level_imports(tree)
    for statement in imports:
        if isinstance(statement, ast.Import):
            for alias in statement.names:
                if alias.name == "torch" and alias.asname:
                    return TorchSpelling(f"{alias.asname}.", attribute)
                if alias.asname is None and alias.name.split(".")[0] == "torch":
                    return TorchSpelling("torch.", attribute)  # ``import torch.nn`` binds ``torch``
    for statement in imports:
        if isinstance(statement, ast.ImportFrom) and statement.module == "torch" and statement.level == 0:
            for alias in statement.names:
                if alias.name == attribute:
                    return TorchSpelling("", alias.asname or alias.name)
    above = [
        statement
        for statement in tree.body
        if isinstance(statement, (ast.Import, ast.ImportFrom))
        and document.span_of(statement).end.line < use_line
    ]
    anchor = above[-1] if above else _after_docstring_and_future(tree)
    edit: TextEdit | None
    if anchor is not None:
        edit = insert_line_after(document, document.span_of(anchor), "import torch")
    elif tree.body:
        position = Position(first_line(tree.body[0]), 0)
        edit = TextEdit(Span(position, position), f"import torch{document.newline}")
    else:
        return None
    if edit is None or edit.span.start.line > use_line:
        return None
    return TorchSpelling("torch.", attribute, (edit,))


def combine(edits: Sequence[TextEdit]) -> tuple[TextEdit, ...]:
    """Fold an insertion at the very start of another edit into it.

    An import inserted where a wrapped block begins would otherwise be two edits at
    one position, whose order clients may apply differently.
    """
    result: list[TextEdit] = []
    for edit in sorted(edits, key=lambda item: (item.span.start, item.span.end)):
        if (
            result
            and result[-1].span.start == result[-1].span.end == edit.span.start
            and edit.span.start != edit.span.end
        ):
            previous = result.pop()
            result.append(TextEdit(edit.span, previous.new_text + edit.new_text))
        else:
            result.append(edit)
    return tuple(result)
