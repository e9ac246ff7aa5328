"""The four ways people type into a method, as chains of versions of a file.

What the language server sees most, and what issue 16 times: one character within a line,
Enter (a line break and the indentation of the next line), a pasted block of lines, and a
statement typed one character at a time (most of its versions do not parse). Each kind is a
chain of versions, each made from the one before, that ends back at the original text.

Shared by ``tests/engine/test_incremental.py`` (every version checked incrementally equals a
check from scratch) and ``bench/class_edits.py`` (the same versions timed), so the benchmark
times exactly the edits the tests prove correct. The bench loads this file by its path
(``benchlib.tests_module``): it must import nothing but the standard library.
"""

from __future__ import annotations

import ast

KINDS = ("character", "enter", "paste", "typing")
# Typed one character at a time: a block statement, so most versions do not parse (no body).
TYPED = "with torch.no_grad():"
# Pasted at once below a statement, re-indented to it: a switch and a block under no_grad.
PASTED = (
    "scale = 0.5 * len(self.__dict__)",
    "if scale > 1:",
    "    scale = 1.0",
    "self.model.eval()",
    "with torch.no_grad():",
    "    probe = self.model(torch.zeros(1, 16))",
)


def methods(text: str) -> list[ast.FunctionDef]:
    """The methods of the classes of a text (nested classes' too), in order."""
    found: list[ast.FunctionDef] = []
    pending: list[ast.stmt] = list(ast.parse(text).body)
    while pending:
        node = pending.pop(0)
        if isinstance(node, ast.ClassDef):
            pending.extend(node.body)
            found.extend(member for member in node.body if isinstance(member, ast.FunctionDef))
    return found


def line_start(text: str, line: int) -> int:
    """The offset of the first character of line ``line`` (1-based)."""
    offset = 0
    for _ in range(line - 1):
        offset = text.index("\n", offset) + 1
    return offset


def line_end(text: str, line: int) -> int:
    """The offset of the end of line ``line`` (before its line break)."""
    end = text.find("\n", line_start(text, line))
    return len(text) if end < 0 else end


def offset(text: str, line: int, byte_column: int) -> int:
    """The str offset of an ``ast`` position (columns count UTF-8 bytes)."""
    start = line_start(text, line)
    return start + len(text[start:].encode("utf-8")[:byte_column].decode("utf-8", errors="ignore"))


def edited_statement(method: ast.FunctionDef) -> ast.stmt:
    """The statement in the middle of the method's body, its docstring left out (nobody types
    code into a docstring); the docstring itself when it is all the body."""
    body = method.body
    has_docstring = (
        isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    )
    code = body[1:] if has_docstring and len(body) > 1 else body
    return code[len(code) // 2]


def versions(text: str, method: ast.FunctionDef, kind: str) -> list[str]:
    """One round of ``kind`` typed into ``method``: versions each made from the one before,
    the last equal to ``text``. The edit is at the statement ``edited_statement`` picks."""
    statement = edited_statement(method)
    indentation = " " * statement.col_offset
    at = line_end(text, statement.end_lineno or statement.lineno)
    if kind == "character":
        # After the first name on the statement's first line (``lossx = ...``), else at the end
        # of the statement: a name is where typing within a line mostly happens.
        names = [
            node
            for node in ast.walk(statement)
            if isinstance(node, ast.Name) and node.lineno == statement.lineno
        ]
        if names:
            first = min(names, key=lambda node: node.col_offset)
            at = offset(text, first.lineno, first.end_col_offset or 0)
        return [text[:at] + "x" * count + text[at:] for count in (1, 2, 1, 0)]
    if kind == "enter":
        return [text[:at] + ("\n" + indentation) * count + text[at:] for count in (1, 2, 1, 0)]
    if kind == "paste":
        block = "".join(f"\n{indentation}{line}" for line in PASTED)
        return [text[:at] + block + text[at:], text]
    if kind != "typing":
        raise ValueError(f"unknown edit kind {kind!r} (one of {', '.join(KINDS)})")
    # Enter first (an empty indented line), then the statement character by character, then
    # its body, then all of it removed at once (undo).
    typed = [text[:at] + "\n" + indentation + TYPED[:count] + text[at:] for count in range(len(TYPED) + 1)]
    finished = typed[-1][: at + 1 + len(indentation) + len(TYPED)] + f"\n{indentation}    pass" + text[at:]
    return [*typed, finished, text]
