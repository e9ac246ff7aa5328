"""The one grammar of suppression comments: ``# noqa`` and ``# torchmode: ignore``.

* ``# noqa`` and ``# torchmode: ignore`` silence every rule on their line;
* ``# noqa: TM101, TM303`` and ``# torchmode: ignore[TM101, TM303]`` silence the codes
  listed: full codes in any case, separated by commas and/or spaces (ruff's grammar for
  ``noqa``; a prefix such as ``TM1`` is not a code and silences nothing).

Only a real comment counts: ``"# noqa"`` inside a string on the line is text. The engine
asks whether a finding is silenced (on the line it starts on), the hover where each code
of a directive is (to show that rule's page).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_CODE = re.compile(r"[A-Za-z]+[0-9]+")
# From the comment's ``#`` on: the directives, several of which may share one comment
# (a type checker's ignore followed by ours).
_DIRECTIVE = re.compile(
    r"#\s*(?:"
    r"noqa(?::\s*(?P<noqa_codes>[A-Za-z]+[0-9]+(?:[\s,]+[A-Za-z]+[0-9]+)*))?"
    r"|torchmode\s*:\s*ignore(?:\s*\[(?P<ignore_codes>[^\]]*)\])?"
    r")",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class CodeMention:
    """One code in a directive: upper-cased, with its 0-based column range on the line."""

    code: str
    start: int
    end: int


@dataclass(frozen=True)
class Directive:
    """One suppression directive; ``codes`` is None when it names no code (silences all)."""

    codes: tuple[CodeMention, ...] | None

    def silences(self, code: str) -> bool:
        return self.codes is None or any(mention.code == code.upper() for mention in self.codes)


def comment_start(line: str) -> int | None:
    """The column of the ``#`` that starts the line's comment, if any.

    The line is read from its start as code: quotes open and close strings (prefixes,
    escapes and triple quotes included). A line that continues a string opened on an
    earlier line is not known here; such a line is never where a finding starts.
    """
    index = 0
    quote: str | None = None
    length = len(line)
    while index < length:
        char = line[index]
        if quote is not None:
            if char == "\\":
                index += 2
                continue
            if line.startswith(quote, index):
                index += len(quote)
                quote = None
                continue
            index += 1
            continue
        if char == "#":
            return index
        if char in "\"'":
            quote = char * 3 if line.startswith(char * 3, index) else char
            index += len(quote)
            continue
        index += 1
    return None


def directives(line: str) -> list[Directive]:
    """The suppression directives in the line's comment, in order."""
    start = comment_start(line)
    if start is None:
        return []
    found: list[Directive] = []
    for match in _DIRECTIVE.finditer(line, start):
        group = "noqa_codes" if match.group("noqa_codes") is not None else "ignore_codes"
        listed = match.group(group)
        if listed is None:
            found.append(Directive(None))
            continue
        offset = match.start(group)
        mentions = tuple(
            CodeMention(code.group().upper(), offset + code.start(), offset + code.end())
            for code in _CODE.finditer(listed)
        )
        # ``# torchmode: ignore[]`` names nothing: it silences nothing rather than everything.
        found.append(Directive(mentions))
    return found


def silences(line: str, code: str) -> bool:
    """Does a directive on ``line`` silence findings of ``code``?"""
    if "#" not in line:
        return False
    return any(directive.silences(code) for directive in directives(line))


def code_mentions(line: str) -> list[CodeMention]:
    """Every code named by a directive on ``line`` (for hovers on them)."""
    return [mention for directive in directives(line) for mention in directive.codes or ()]
