"""Random edits for the fuzz tests: the kinds of damage an editor does to a file while typing.

Each edit is a plain description (kind, where, payload) applied to a str, so the engine fuzz
and the server fuzz (which must send the same edit as an LSP range) share one vocabulary.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CORPUS = sorted([*REPO.glob("tests/cases/**/*.py"), *REPO.glob("examples/*.py")])

KINDS = (
    "insert_char",
    "delete_chars",
    "split_line",
    "join_lines",
    "paste_fragment",
    "truncate",
    "tab_indent",
    "insert_unicode",
    "crlf",
)
# Astral-plane characters take two UTF-16 units: the easiest place for column conversions to go wrong.
UNICODE = (
    "é",
    "ß",
    "模型",
    "\u00a0",
    "\U0001d501",
    "\U0001f525",
    "\U00010348",
    "a\u0301",
    "\u200b",
    "\t",
    "\x0c",
    "\u2028",
    "\ufeff",
)
CHARS = "abcxyz_ ()[]{}:.,=+-*#'\"\\\n\t0123456789"


@dataclass(frozen=True)
class Replacement:
    """Replace text[start:end] (str indices) with ``text``."""

    start: int
    end: int
    text: str

    def apply(self, source: str) -> str:
        return source[: self.start] + self.text + source[self.end :]


def _snap(source: str, offset: int) -> int:
    """Never between "\r" and "\n": no LSP position names that place."""
    if 0 < offset < len(source) and source[offset - 1] == "\r" and source[offset] == "\n":
        return offset - 1
    return offset


def random_edit(source: str, rng: random.Random, corpus: list[str]) -> Replacement:
    """One edit of a random kind at a random place of ``source``."""
    edit = _random_edit(source, rng, corpus)
    start = _snap(source, edit.start)
    return Replacement(start, max(start, _snap(source, edit.end)), edit.text)


def _random_edit(source: str, rng: random.Random, corpus: list[str]) -> Replacement:
    kind = rng.choice(KINDS)
    length = len(source)
    at = rng.randint(0, length)
    line_start = source.rfind("\n", 0, at) + 1
    line_end = source.find("\n", at)
    if line_end == -1:
        line_end = length
    if kind == "insert_char":
        return Replacement(at, at, rng.choice(CHARS))
    if kind == "delete_chars":
        return Replacement(at, min(length, at + rng.randint(1, 8)), "")
    if kind == "split_line":
        return Replacement(at, at, "\n" + " " * rng.choice((0, 4, 8)))
    if kind == "join_lines":
        return Replacement(line_end, min(length, line_end + 1), "" if rng.random() < 0.5 else " ")
    if kind == "paste_fragment":
        other = rng.choice(corpus)
        begin = rng.randint(0, len(other))
        return Replacement(at, at, other[begin : begin + rng.randint(1, 400)])
    if kind == "truncate":
        return Replacement(at, length, "")
    if kind == "tab_indent":
        stripped = len(source[line_start:line_end]) - len(source[line_start:line_end].lstrip(" "))
        return Replacement(line_start, line_start + min(stripped, 4), "\t")
    if kind == "insert_unicode":
        return Replacement(at, at, rng.choice(UNICODE))
    # crlf: turn one line end into "\r\n" (mixed endings), or a lone "\r".
    if line_end < length:
        return Replacement(line_end, line_end + 1, rng.choice(("\r\n", "\r\n", "\r")))
    return Replacement(at, at, "\r\n")


def corpus_texts() -> list[str]:
    return [path.read_text(encoding="utf-8") for path in CORPUS]
