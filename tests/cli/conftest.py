"""Fixtures for the CLI tests: in-process runs of ``main(argv)``, real subprocess runs, and a
stand-in engine whose findings and fixes are fully known, so the CLI's own logic (fix loop,
encodings, output shapes) is tested apart from the analysis."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cli_helpers import SEED, Run

from support.checkout import checkout_env
from torchmode import cli, engine
from torchmode.engine import CheckResult, RuleInfo, Settings
from torchmode.findings import Finding, Fix, Severity
from torchmode.syntax import Document, Span, TextEdit


@pytest.fixture(autouse=True)
def in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every CLI test runs in its own folder, so relative paths in the output are short and known."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Callable[..., Run]:
    """``main(argv)`` in this process; fast, and the engine can be replaced."""

    def invoke(*argv: str | os.PathLike[str]) -> Run:
        capsys.readouterr()
        code = cli.main([os.fspath(arg) for arg in argv])
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return invoke


@pytest.fixture
def run_process() -> Callable[..., Run]:
    """``python -m torchmode`` as a real process, for exit codes and stream handling."""

    def invoke(*argv: str | os.PathLike[str], cwd: Path | None = None) -> Run:
        completed = subprocess.run(
            [sys.executable, "-m", "torchmode", *map(os.fspath, argv)],
            cwd=cwd,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=300,
            env=checkout_env(),
        )
        return Run(completed.returncode, completed.stdout, completed.stderr)

    return invoke


@pytest.fixture
def seed_copy(tmp_path: Path) -> Path:
    target = tmp_path / "seed_loop.py"
    target.write_bytes(SEED.read_bytes())
    return target


# --- a stand-in engine ------------------------------------------------------------------

# Each marker call is reported on its line with a known code and fix:
#   leak()    TM101, safe fix -> fixed()
#   risky()   TM102, unsafe fix -> checked()
#   broken()  TM103, safe fix whose result does not parse
#   nofix()   TM201, no fix
#   chain()   TM101, safe fix -> leak()  (a fix whose result needs another fix)
#   spin()    TM101, safe fix -> spin(spin()) (never converges; bounded by the CLI)
FAKE_RULES = {
    "leak()": ("TM101", "fixed()", "safe"),
    "risky()": ("TM102", "checked()", "unsafe"),
    "broken()": ("TM103", "broken(", "safe"),
    "nofix()": ("TM201", None, "safe"),
    "chain()": ("TM101", "leak()", "safe"),
    "spin()": ("TM101", "spin(spin())", "safe"),
}
_MARKER = re.compile("|".join(re.escape(marker) for marker in FAKE_RULES))


def fake_check_document(
    document: Document, settings: Settings, project: object = None, cells: object = None
) -> CheckResult:
    if document.parse_failure is not None:
        return CheckResult(document, (), document.parse_failure)
    findings: list[Finding] = []
    for line_number, line in enumerate(document.lines, start=1):
        for match in _MARKER.finditer(line):
            code, replacement, applicability = FAKE_RULES[match.group()]
            selected = any(code.startswith(prefix) for prefix in settings.select)
            if not selected or any(code.startswith(prefix) for prefix in settings.ignore):
                continue
            span = Span.of(line_number, match.start(), line_number, match.end())
            fixes = ()
            if replacement is not None:
                title = f"Replace `{match.group()}` by `{replacement}`"
                fixes = (Fix(title, (TextEdit(span, replacement),), applicability),)  # type: ignore[arg-type]
            message = f"`{match.group()}` found" + (" (zh)" if settings.locale == "zh-cn" else "")
            findings.append(
                Finding(
                    code, f"fake-{code.lower()}", message, span, Severity.WARNING, (), fixes, "https://x/y"
                )
            )
    return CheckResult(document, tuple(findings), None)


@pytest.fixture
def fake_engine(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(engine, "check_document", fake_check_document)
    known = tuple(
        RuleInfo(code, f"fake-{code.lower()}", None) for code in ("TM101", "TM102", "TM103", "TM201")
    )
    monkeypatch.setattr(engine, "rule_catalogue", lambda: known)
    yield
