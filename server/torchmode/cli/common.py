"""The ground of the CLI: exit codes, usage errors, the problems printed on stderr, how paths and
counts are shown, and the one ``--locale`` option.

Every other module of ``torchmode.cli`` may import this one; it imports none of them.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from torchmode.config import parse_locale
from torchmode.docs import SUPPORTED_LOCALES

EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2

# The languages of messages, rule summaries and rule pages: those the catalogue has.
LOCALES: tuple[str, ...] = SUPPORTED_LOCALES


class UsageError(Exception):
    """A bad command line or option value; reported like argparse's own errors (exit 2)."""


# --- reporting problems -----------------------------------------------------------------


class Problems:
    """Collects the files that could not be checked; each is printed on stderr as it happens.

    They are also kept, in order, for formats that carry them (SARIF's tool notifications).
    """

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.count = 0
        self.messages: list[tuple[str, str]] = []  # (level "error"|"warning", message)

    def error(self, message: str) -> None:
        self.count += 1
        self.messages.append(("error", message))
        print(f"torchmode: error: {message}", file=self.stream)

    def warning(self, message: str) -> None:
        self.messages.append(("warning", message))
        print(f"torchmode: warning: {message}", file=self.stream)


# --- showing paths and counts -----------------------------------------------------------


def display_path(path: Path) -> str:
    """The path relative to the current folder when below it, as ruff prints; else as given."""
    absolute = os.path.abspath(path)
    cwd = os.getcwd()
    try:
        if os.path.commonpath([absolute, cwd]) == cwd:
            return Path(os.path.relpath(absolute, cwd)).as_posix()
    except ValueError:  # different drives on Windows
        pass
    return str(path)


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


# --- the language of the output ---------------------------------------------------------


def add_locale_option(parser: argparse.ArgumentParser, help: str) -> None:
    """``--lang``/``--locale``, the same option on every command that prints texts."""
    parser.add_argument(
        "--lang",
        "--locale",
        dest="locale",
        type=locale_option,
        default=None,
        metavar="{en,zh-CN}",
        help=help,
    )


def locale_option(value: str) -> str:
    """``en``, ``zh-CN``, ``zh_CN``, ``zh`` -> a supported locale, else a usage error."""
    locale = parse_locale(value)
    if locale is None:
        raise argparse.ArgumentTypeError(f"unknown language {value!r}: use en or zh-CN")
    return locale


def locale_from_environment(environment: Mapping[str, str]) -> str:
    """The language of the user's terminal: LC_ALL, then LC_MESSAGES, then LANG (POSIX order)."""
    for variable in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environment.get(variable, "")
        if value and value not in ("C", "POSIX"):
            return parse_locale(value.split(".")[0]) or "en"
    return "en"
