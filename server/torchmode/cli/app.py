"""The command line: the argument parser, the table of subcommands, and ``main``.

``main`` parses, runs the chosen command and turns what can go wrong at the top (a usage error,
a closed pipe) into an exit code. Each command's work is in its own module: ``check`` (also
``fix``), ``rules`` (``rules`` and ``explain``); the commands that start something else
(``lsp``) are a few lines here.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TextIO

from torchmode import __version__
from torchmode.cli.check import run_check
from torchmode.cli.common import EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, UsageError, add_locale_option
from torchmode.cli.formats import FORMATS
from torchmode.cli.rules import run_explain, run_rules

# --- the options of each command -------------------------------------------------------


def _add_check_options(parser: argparse.ArgumentParser, fix_default: bool = False) -> None:
    parser.add_argument("paths", nargs="*", metavar="PATH", help="files or folders to check (default: .)")
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="text",
        help="output format: text (path:line:col: CODE message), json (ruff's shape), "
        "github (workflow annotations), sarif (SARIF 2.1.0, for code scanning)",
    )
    parser.add_argument("--fix", action="store_true", default=fix_default, help="apply safe fixes in place")
    parser.add_argument(
        "--unsafe-fixes", action="store_true", help="also apply fixes marked unsafe (with --fix or --diff)"
    )
    parser.add_argument(
        "--diff", action="store_true", help="print a unified diff of what --fix would change; write nothing"
    )
    parser.add_argument(
        "--select",
        action="append",
        metavar="CODES",
        help="comma-separated code prefixes to report (replaces select, extend-select and ignore "
        "of the configuration)",
    )
    parser.add_argument(
        "--extend-select",
        action="append",
        metavar="CODES",
        help="comma-separated code prefixes to report in addition to the selected ones",
    )
    parser.add_argument(
        "--ignore",
        action="append",
        metavar="CODES",
        help="comma-separated code prefixes to skip (added to the configuration's ignore)",
    )
    parser.add_argument(
        "--exclude", action="append", metavar="GLOB", help="skip files and folders matching GLOB"
    )
    parser.add_argument(
        "--no-respect-gitignore",
        dest="respect_gitignore",
        action="store_false",
        help="also check files that .gitignore files exclude",
    )
    add_locale_option(parser, help="language of messages (default: the configuration's, or en)")
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="use this pyproject.toml's [tool.torchmode] for every file instead of each file's nearest one",
    )
    parser.add_argument(
        "--isolated",
        action="store_true",
        help="ignore every pyproject.toml: defaults and command-line options only",
    )
    parser.add_argument(
        "-j",
        "--jobs",
        type=_positive_int,
        default=None,
        metavar="N",
        help="check files in N processes (default: the number of cores; --fix and --diff use one)",
    )
    parser.add_argument(
        "--no-follow-imports",
        action="store_true",
        help="analyse each file alone: do not follow calls into the other project files it imports",
    )
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="check every file again: neither read nor write the cache of results "
        "(also TORCHMODE_NO_CACHE=1)",
    )
    parser.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="keep the cache of results in DIR (default: the cache-dir setting, else "
        ".torchmode_cache beside the pyproject.toml of the current folder, else in it; "
        "also TORCHMODE_CACHE_DIR)",
    )
    parser.add_argument(
        "--show-settings",
        action="store_true",
        help="print the effective settings of the first file and the pyproject.toml they come from; exit",
    )
    parser.add_argument("--exit-zero", action="store_true", help="exit 0 even when findings remain")
    parser.add_argument("-q", "--quiet", action="store_true", help="print findings only, no summary")


def _add_fix_options(parser: argparse.ArgumentParser) -> None:
    _add_check_options(parser, fix_default=True)


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1, got {number}")
    return number


def _add_rules_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("text", "json"), default="text")
    add_locale_option(parser, help="language of the summaries (default: from LANG, else en)")


def _add_explain_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("rule", metavar="CODE", help="a rule code such as TM101, or its name")
    add_locale_option(parser, help="language of the page (default: from LANG, else en)")


def _add_lsp_options(parser: argparse.ArgumentParser) -> None:
    # Editors' clients commonly pass --stdio; it is the only transport, so accept it.
    parser.add_argument("--stdio", action="store_true", help=argparse.SUPPRESS)


# --- commands that start something else -------------------------------------------------


def _run_lsp(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    # Imported here so that `torchmode check` never pays for pygls.
    try:
        server = importlib.import_module("torchmode.lsp.server")
    except ImportError as error:
        print(f"torchmode: error: the language server cannot start: {error}", file=err)
        return EXIT_ERROR
    start: Callable[[], object] = server.start_stdio
    start()
    return EXIT_CLEAN


# --- the subcommands --------------------------------------------------------------------


def _dispatched_before_parsing(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    raise AssertionError("`torchmode run` is dispatched before argument parsing")


@dataclass(frozen=True)
class Command:
    """A subcommand: its name and help line, what declares its options, and what runs it
    (with the parsed arguments, stdout and stderr; it returns the exit code)."""

    name: str
    help: str
    add_options: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, TextIO, TextIO], int]


# In the order `torchmode --help` lists them. A new subcommand is one entry here: a function that
# declares its options and one that runs it (in its own module when it does more than start
# something else).
COMMANDS = (
    Command("check", "check files and folders", _add_check_options, run_check),
    Command("fix", "same as `check --fix`", _add_fix_options, run_check),
    Command("rules", "list the rules", _add_rules_options, run_rules),
    Command("explain", "print a rule's documentation (Markdown)", _add_explain_options, run_explain),
    Command("lsp", "run the language server over stdio", _add_lsp_options, _run_lsp),
    # Dispatched in main() before parsing: its arguments are the program's (see ``RUN``).
    Command(
        "run",
        "run a program with the runtime guard (see `torchmode run --help`)",
        lambda _: None,
        _dispatched_before_parsing,
    ),
)
RUN = "run"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="torchmode",
        description="Find PyTorch train/eval and grad mode mistakes.",
        epilog="Exit codes: 0 no findings, 1 findings, 2 usage error or a file that cannot be read or parsed",
    )
    parser.add_argument("--version", action="version", version=f"torchmode {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for command in COMMANDS:
        command.add_options(subparsers.add_parser(command.name, help=command.help))
    return parser


def _make_output_safe(stream: TextIO) -> None:
    # Messages can be Chinese or quote non-ASCII code; a C locale must not turn that
    # into a UnicodeEncodeError traceback.
    if isinstance(stream, io.TextIOWrapper):
        with contextlib.suppress(AttributeError, ValueError, io.UnsupportedOperation):
            stream.reconfigure(errors="backslashreplace")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (argparse's own exits are turned into it)."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == [RUN]:
        # Before anything touches stdout: the program's output must be its own, byte for byte.
        from torchmode.runtime.command import run_main

        return run_main(arguments[1:])
    out, err = sys.stdout, sys.stderr
    _make_output_safe(out)
    _make_output_safe(err)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_request:
        code = exit_request.code
        return code if isinstance(code, int) else (EXIT_CLEAN if code is None else EXIT_ERROR)
    command = next(command for command in COMMANDS if command.name == args.command)
    # No argv: this is the process's own command line (the console script, ``python -m
    # torchmode``), which ends when the command returns; a command may then skip tidying
    # up what the operating system takes back (``gc_tuning.tuned(until_exit=True)``).
    args.process_exits_after = argv is None
    try:
        return command.run(args, out, err)
    except UsageError as error:
        print(f"torchmode: error: {error}", file=err)
        return EXIT_ERROR
    except BrokenPipeError:
        # `torchmode check | head`: the reader left. Point stdout at devnull so the
        # interpreter's final flush does not print a second BrokenPipeError.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError, io.UnsupportedOperation):
            pass
        return EXIT_FINDINGS
