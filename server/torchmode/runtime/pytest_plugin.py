"""``pytest --torchmode-guard``: the runtime guard over a whole test run.

Registered through the ``pytest11`` entry point, so it is there wherever torchmode is
installed; without the option it does nothing and imports nothing (torch included).
With it, the guard is installed when the session starts and removed when it ends;
findings are printed in the terminal summary (not while tests run, where pytest
captures output) and the report goes to ``--torchmode-report`` (default:
``.torchmode/runtime.json`` under pytest's root folder).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from torchmode.runtime.report import REPORT_FOLDER, REPORT_NAME, display_path, write_report

if TYPE_CHECKING:
    from torchmode.runtime.hooks import Guard

_GUARD: pytest.StashKey[Guard] = pytest.StashKey()
_WRITTEN: pytest.StashKey[Path | None] = pytest.StashKey()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("torchmode", "torchmode runtime guard")
    group.addoption(
        "--torchmode-guard",
        action="store_true",
        default=False,
        help="watch train/eval modes while the tests run (TM101, TM102) and report what was observed",
    )
    group.addoption(
        "--torchmode-report",
        metavar="FILE",
        default=None,
        help="where the guard's JSON report goes (default: .torchmode/runtime.json under the root folder)",
    )
    group.addoption(
        "--torchmode-select",
        metavar="CODES",
        default="TM101,TM102",
        help="comma-separated codes the guard observes, among TM101, TM102, TM201",
    )


def pytest_configure(config: pytest.Config) -> None:
    if not config.getoption("torchmode_guard"):
        return
    from torchmode.runtime import locale_from_environment
    from torchmode.runtime.hooks import Guard

    select = tuple(code.strip().upper() for code in config.getoption("torchmode_select").split(",") if code)
    guard = Guard(select=select, locale=locale_from_environment(), print_findings=False)
    config.stash[_GUARD] = guard.install()


def pytest_unconfigure(config: pytest.Config) -> None:
    guard = config.stash.get(_GUARD, None)
    if guard is not None:
        guard.uninstall()


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    guard = config.stash.get(_GUARD, None)
    if guard is None:
        return
    guard.finish()
    option = config.getoption("torchmode_report")
    path = Path(option) if option else Path(config.rootpath) / REPORT_FOLDER / REPORT_NAME
    try:
        written: Path | None = write_report(
            guard.run_report(command=list(config.invocation_params.args)), path
        )
    except OSError:
        written = None
    config.stash[_WRITTEN] = written


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    guard = config.stash.get(_GUARD, None)
    if guard is None:
        return
    from torchmode.runtime.hooks import count_text, format_text_line

    locale = guard.locale
    findings = guard.findings
    terminalreporter.section("torchmode runtime guard")
    for finding in findings:
        terminalreporter.write_line(format_text_line(finding, locale))
    written = config.stash.get(_WRITTEN, None)
    where = display_path(str(written)) if written is not None else "not written"
    terminalreporter.write_line(
        f"{count_text('findings', len(findings), locale)}, {count_text('steps', guard.total_steps, locale)}; "
        f"report: {where}"
    )
