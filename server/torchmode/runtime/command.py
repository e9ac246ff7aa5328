"""``torchmode run [options] SCRIPT [ARGS...]`` and ``torchmode run [options] -m MODULE [ARGS...]``.

Runs the program as ``python SCRIPT ARGS...`` (or ``python -m MODULE ARGS...``) would, in
this interpreter, with the runtime guard installed: ``__main__``, ``sys.argv``,
``sys.path[0]``, ``__file__``, its standard output, exceptions and exit status are the
program's own. The guard writes only to standard error: each finding once, when it is
first observed, and a summary at the end; the JSON report goes to ``--report`` (default
``.torchmode/runtime.json`` under the project root above the script).

Under ``torchrun`` run it as ``torchrun ... -m torchmode run train.py``: every rank writes
its own report file and the ranks' files are merged into the report.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.machinery
import importlib.util
import io
import json
import os
import runpy
import sys
import types
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, TextIO

from torchmode.config import parse_locale
from torchmode.docs import text
from torchmode.runtime import locale_from_environment
from torchmode.runtime.report import default_report_path, display_path, observation_to_json, write_report

if TYPE_CHECKING:
    from torchmode.runtime.hooks import Guard

EXIT_USAGE = 2
USAGE = (
    "torchmode run [--report FILE] [--format {text,json}] [--select CODES] [--locale {en,zh-CN}] "
    "(SCRIPT | -m MODULE) [ARGS ...]"
)
_OPTIONS_WITH_VALUES = ("--report", "--format", "--select", "--locale", "--lang")


class UsageError(Exception):
    pass


@dataclass
class Target:
    """What to run: a script path or a module name, and the arguments it gets."""

    script: str | None
    module: str | None
    arguments: list[str]

    @property
    def argv0(self) -> str:
        return self.script if self.script is not None else f"-m {self.module}"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="torchmode run",
        usage=USAGE,
        description=(
            "Run a Python program with the runtime guard: it watches the model's train/eval mode "
            "while the program trains and reports what it observed (TM101, TM102; TM201 with --select)."
        ),
        epilog="The exit status, standard output and exceptions are the program's own.",
    )
    parser.add_argument(
        "--report",
        metavar="FILE",
        help="the JSON report (default: .torchmode/runtime.json under the project root)",
    )
    parser.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="on standard error: each finding as it is observed (text), or all of them as JSON at the end",
    )
    parser.add_argument(
        "--select",
        metavar="CODES",
        default="TM101,TM102",
        help="comma-separated codes to observe among TM101, TM102, TM201 (default: TM101,TM102)",
    )
    parser.add_argument(
        "--locale", "--lang", dest="locale", metavar="{en,zh-CN}", help="language of the messages"
    )
    return parser


def split_arguments(argv: list[str]) -> tuple[list[str], Target | None]:
    """Our options, then the program: everything from SCRIPT (or ``-m MODULE``) on is the program's."""
    index = 0
    while index < len(argv):
        argument = argv[index]
        if argument == "--":
            rest = argv[index + 1 :]
            return argv[:index], (Target(rest[0], None, rest[1:]) if rest else None)
        if argument == "-m":
            if index + 1 >= len(argv):
                raise UsageError("-m needs a module name")
            return argv[:index], Target(None, argv[index + 1], argv[index + 2 :])
        if argument.startswith("-m") and not argument.startswith("--"):
            return argv[:index], Target(None, argument[2:], argv[index + 1 :])
        if argument in _OPTIONS_WITH_VALUES:
            index += 2
            continue
        if argument.startswith("-"):
            index += 1
            continue
        return argv[:index], Target(argument, None, argv[index + 1 :])
    return argv, None


def _selected(value: str) -> tuple[str, ...]:
    from torchmode.runtime.observations import KNOWN_CODES

    codes = tuple(dict.fromkeys(code.strip().upper() for code in value.split(",") if code.strip()))
    unknown = [code for code in codes if code not in KNOWN_CODES]
    if unknown or not codes:
        raise UsageError(f"--select takes codes among {', '.join(KNOWN_CODES)}, not {value!r}")
    return codes


# --- running the program ----------------------------------------------------------------------


@contextlib.contextmanager
def _program_environment(target: Target) -> Iterator[None]:
    """``sys.argv`` and ``sys.path[0]`` as Python sets them for the program; restored afterwards
    (the tests run programs in their own process)."""
    saved_argv, saved_path = sys.argv[:], sys.path[:]
    if target.script is not None:
        sys.argv = [target.script, *target.arguments]
        # `python script.py` puts the script's folder first, symbolic links resolved.
        first = os.path.dirname(os.path.realpath(target.script))
    else:
        sys.argv = [f"-m {target.module}", *target.arguments]  # run_module sets the file path
        first = os.getcwd()
    if sys.path:
        sys.path[0] = first
    else:
        sys.path.append(first)
    try:
        yield
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path


def _run_script(path: str) -> None:
    """Run a file as ``python path`` does: ``__main__`` with an absolute ``__file__``, ``sys.argv[0]``
    left as typed (``runpy.run_path`` would set it to the path it is given)."""
    absolute = os.path.abspath(path)
    if not os.path.isfile(absolute) or zipfile.is_zipfile(absolute):
        runpy.run_path(absolute, run_name="__main__")  # a folder or zip with __main__.py
        return
    with io.open_code(absolute) as stream:
        source = stream.read()
    code = compile(source, absolute, "exec", dont_inherit=True)
    main = types.ModuleType("__main__")
    main.__file__ = absolute
    main.__loader__ = importlib.machinery.SourceFileLoader("__main__", absolute)
    main.__spec__ = None
    main.__cached__ = None  # type: ignore[attr-defined]
    saved = sys.modules.get("__main__")
    sys.modules["__main__"] = main
    try:
        exec(code, main.__dict__)
    finally:
        if saved is not None:
            sys.modules["__main__"] = saved


def _run_program(target: Target) -> None:
    if target.script is not None:
        _run_script(target.script)
    else:
        assert target.module is not None
        runpy.run_module(target.module, run_name="__main__", alter_sys=True)


def _program_traceback(traceback: TracebackType | None) -> TracebackType | None:
    """The traceback from the program's first frame on, as ``python script.py`` shows it."""
    here = os.path.realpath(__file__)
    machinery = {here, os.path.realpath(runpy.__file__)}
    while traceback is not None:
        filename = traceback.tb_frame.f_code.co_filename
        if filename.startswith("<frozen runpy") or os.path.realpath(filename) in machinery:
            traceback = traceback.tb_next
            continue
        break
    return traceback


def _exit_status(code: object, err: TextIO) -> int:
    """What Python does with ``SystemExit(code)``: None is 0, an int is itself, anything else is
    printed on stderr and gives 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=err)
    return 1


def _execute(target: Target, err: TextIO) -> int:
    """Run the program; its exit status, with an uncaught exception printed as Python prints it."""
    with _program_environment(target):
        try:
            _run_program(target)
        except SystemExit as exit_request:
            return _exit_status(exit_request.code, err)
        except KeyboardInterrupt:
            raise  # Python's own handling (exit by SIGINT) after the report is written
        except BaseException as error:
            # The default hook prints the exception's own traceback: trim that one.
            trimmed = _program_traceback(error.__traceback__)
            sys.excepthook(type(error), error.with_traceback(trimmed), trimmed)
            return 1
    return 0


def _program_exists(target: Target) -> str | None:
    """Python's own complaint when the program cannot be found, else None."""
    if target.script is not None:
        if not os.path.exists(target.script):
            return f"can't open file {os.path.abspath(target.script)!r}: [Errno 2] No such file or directory"
        return None
    assert target.module is not None
    try:
        found = importlib.util.find_spec(target.module)
    except (ImportError, ValueError) as error:
        reason = f"{type(error).__name__}: {error}"
        return f"Error while finding module specification for {target.module!r} ({reason})"
    return None if found is not None else f"No module named {target.module}"


def _report_path(option: str | None, target: Target) -> Path:
    if option:
        return Path(option)
    start = Path(target.script).resolve().parent if target.script is not None else Path.cwd()
    return default_report_path(start)


def _summary(guard: Guard, written: Path | None, path: Path, locale: str) -> str:
    from torchmode.runtime.hooks import count_text

    findings = guard.findings
    steps = count_text("steps", guard.total_steps, locale)
    shown = display_path(str(written if written is not None else path))
    if findings:
        return text(
            "runtime.summary.findings",
            locale,
            findings=count_text("findings", len(findings), locale),
            steps=steps,
            path=shown,
        )
    forwards = count_text("forwards", guard.forwards, locale)
    return text("runtime.summary.none", locale, steps=steps, forwards=forwards, path=shown)


def run_main(argv: list[str]) -> int:
    """``torchmode run ...``: the program's exit status (2 for a usage error of our own)."""
    err = sys.stderr
    try:
        ours, target = split_arguments(argv)
        parser = _parser()
        try:
            options = parser.parse_args(ours)
        except SystemExit as exit_request:  # --help, or argparse's own usage error
            return exit_request.code if isinstance(exit_request.code, int) else EXIT_USAGE
        if target is None:
            raise UsageError("give a SCRIPT to run, or -m MODULE")
        select = _selected(options.select)
        locale = parse_locale(options.locale) if options.locale else locale_from_environment()
        if locale is None:
            raise UsageError(f"unknown language {options.locale!r}: use en or zh-CN")
    except UsageError as error:
        print(f"usage: {USAGE}\ntorchmode run: error: {error}", file=err)
        return EXIT_USAGE
    with _program_environment(target):  # a module is looked for where `python -m` looks
        problem = _program_exists(target)
    if problem is not None:
        # As Python: 2 for a script it cannot open, 1 for a module it cannot find.
        print(f"{sys.executable}: {problem}", file=err)
        return EXIT_USAGE if target.script is not None else 1
    if importlib.util.find_spec("torch") is None:
        print(
            f"torchmode: warning: {text('runtime.warning.no_torch', locale, python=sys.executable)}", file=err
        )
        return _execute(target, err)

    from torchmode.runtime.hooks import Guard

    guard = Guard(select=select, locale=locale, stream=err, print_findings=options.format == "text")
    path = _report_path(options.report, target)
    guard.install()
    try:
        return _execute(target, err)
    finally:
        guard.finish()
        guard.uninstall()
        written = _write_report(guard, path, locale, [target.argv0, *target.arguments])
        if options.format == "json":
            items = [observation_to_json(finding, locale) for finding in guard.findings]
            # One write each, as the guard's lines: the ranks of a distributed run share stderr.
            err.write(json.dumps(items, indent=2, ensure_ascii=False, sort_keys=True) + "\n")
        else:
            err.write(f"torchmode: {_summary(guard, written, path, locale)}\n")
        err.flush()


def _write_report(guard: Guard, path: Path, locale: str, command: list[str]) -> Path | None:
    try:
        return write_report(guard.run_report(command=command, cwd=os.getcwd()), path, locale)
    except OSError as error:
        guard.say("warning", text("runtime.warning.report_not_written", locale, path=str(path), error=error))
        return None
