"""The runtime guard's API, for notebooks, frameworks and test suites::

    import torchmode.runtime as tmr

    tmr.install()            # watch from here on; the report is written when Python exits
    ...                      # train
    tmr.report()             # the findings so far (JSON items), also written to the report file

    with tmr.guard():        # or watch one block, report written when it ends
        train(model)

``torchmode run`` (``runtime/command.py``) and ``pytest --torchmode-guard``
(``runtime/pytest_plugin.py``) use the same guard. Importing this package does not
import torch; installing the guard does (and fails with ``ModuleNotFoundError``
when torch is not installed).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from torchmode.config import parse_locale
from torchmode.runtime.observations import Observation
from torchmode.runtime.report import default_report_path, observation_to_json, write_report

if TYPE_CHECKING:
    from torchmode.runtime.hooks import Guard

__all__ = ["findings", "guard", "install", "locale_from_environment", "report", "uninstall"]

_installed: Guard | None = None
_installed_options: dict[str, Any] = {}
_exit_hook_registered = False


def locale_from_environment(environment: dict[str, str] | None = None) -> str:
    """The terminal's language: LC_ALL, then LC_MESSAGES, then LANG (POSIX order); else English."""
    variables = os.environ if environment is None else environment
    for variable in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = variables.get(variable, "")
        if value and value not in ("C", "POSIX"):
            return parse_locale(value.split(".")[0]) or "en"
    return "en"


def _new_guard(
    select: Sequence[str] | None, locale: str | None, stream: TextIO | None, print_findings: bool
) -> Guard:
    from torchmode.runtime.hooks import Guard
    from torchmode.runtime.observations import DEFAULT_SELECT

    return Guard(
        select=tuple(select) if select is not None else DEFAULT_SELECT,
        locale=locale or locale_from_environment(),
        stream=stream,
        print_findings=print_findings,
    )


def install(
    *,
    report: str | os.PathLike[str] | None = None,
    select: Sequence[str] | None = None,
    locale: str | None = None,
    stream: TextIO | None = None,
    print_findings: bool = True,
    write_at_exit: bool = True,
) -> Guard:
    """Start watching. Each finding is printed to ``stream`` (stderr) when first observed; with
    ``write_at_exit`` the report goes to ``report`` (default: ``.torchmode/runtime.json`` under
    the project root above the current folder) when Python exits. Installing twice returns the
    guard already installed."""
    global _installed, _exit_hook_registered
    if _installed is not None:
        return _installed
    guard_ = _new_guard(select, locale, stream, print_findings).install()
    _installed = guard_
    _installed_options.clear()
    _installed_options.update(report=report, write_at_exit=write_at_exit)
    if write_at_exit and not _exit_hook_registered:
        atexit.register(_write_at_exit)
        _exit_hook_registered = True
    return guard_


def _report_path(report: str | os.PathLike[str] | None) -> Path:
    return Path(report) if report is not None else default_report_path(Path.cwd())


def _write(guard_: Guard, path: Path) -> Path | None:
    try:
        return write_report(guard_.run_report(command=list(sys.argv), cwd=os.getcwd()), path, guard_.locale)
    except OSError as error:
        from torchmode.docs import text

        guard_.say(
            "warning",
            text("runtime.warning.report_not_written", guard_.locale, path=str(path), error=error),
        )
        return None


def _write_at_exit() -> None:
    if _installed is not None and _installed_options.get("write_at_exit"):
        uninstall(write=True)


def uninstall(write: bool = True) -> Path | None:
    """Stop watching; with ``write``, finish and write the report. Returns where it was written."""
    global _installed
    guard_ = _installed
    if guard_ is None:
        return None
    _installed = None
    guard_.finish()
    guard_.uninstall()
    if not write:
        return None
    return _write(guard_, _report_path(_installed_options.get("report")))


@contextlib.contextmanager
def guard(
    *,
    report: str | os.PathLike[str] | None = None,
    select: Sequence[str] | None = None,
    locale: str | None = None,
    stream: TextIO | None = None,
    print_findings: bool = True,
    write: bool = True,
) -> Iterator[Guard]:
    """Watch the block; at its end, finish and (with ``write``) write the report. Inside an
    already installed guard, the block is watched by that one and nothing is written."""
    if _installed is not None:
        yield _installed
        return
    guard_ = install(
        report=report,
        select=select,
        locale=locale,
        stream=stream,
        print_findings=print_findings,
        write_at_exit=False,
    )
    try:
        yield guard_
    finally:
        uninstall(write=write)


def findings() -> list[Observation]:
    """What the installed guard observed so far (empty when none is installed)."""
    return _installed.findings if _installed is not None else []


def report(path: str | os.PathLike[str] | None = None, write: bool = True) -> list[dict[str, Any]]:
    """The findings so far, as the report's JSON items; with ``write``, the report file is written
    too (``path``, else the one given to ``install``, else the default)."""
    guard_ = _installed
    if guard_ is None:
        return []
    locale = guard_.locale
    if write:
        _write(guard_, _report_path(path if path is not None else _installed_options.get("report")))
    return [observation_to_json(finding, locale) for finding in guard_.findings]
