"""End to end under real torch: ``torchmode run`` watches a program, and the language server
opened on its project shows what the run observed, at the forward pass the checker alone
cannot judge (the mode comes from a table through ``getattr``), with the switch that caused it."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_lsp
from guard_helpers import PROGRAMS, expected
from lsp_helpers import SERVER, RecordingClient, open_document, wait_until
from lsprotocol import types
from pytest_lsp import client_capabilities

from support.checkout import checkout_env, torchmode_command


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: RecordingClient) -> AsyncIterator[RecordingClient]:
    yield lsp_client
    await lsp_client.shutdown_session()


async def test_a_real_run_report_shows_in_the_editor(client: RecordingClient, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text("[project]\nname = 'watched'\n", encoding="utf-8")
    program = project / "getattr_switch.py"
    shutil.copy(PROGRAMS / "getattr_switch.py", program)
    shutil.copy(PROGRAMS / "common.py", project / "common.py")
    marks = expected(program)
    ((code, line),) = marks.observed
    (switch_line,) = marks.switches[code]

    run = subprocess.run(
        [*torchmode_command(), "run", program.name],
        cwd=project,
        env=checkout_env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    report = project / ".torchmode" / "runtime.json"
    findings = json.loads(report.read_text(encoding="utf-8"))["findings"]
    assert [(item["code"], item["location"]["row"]) for item in findings] == [(code, line)]

    await client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            root_uri=project.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=project.as_uri(), name="project")],
            initialization_options={"debounceMs": 0, "settings": {"diagnosticMode": "openFilesOnly"}},
        )
    )
    uri = program.as_uri()
    open_document(client, program.read_text(encoding="utf-8"), uri=uri)

    def observed() -> list[types.Diagnostic]:
        return [d for d in client.diagnostics.get(uri, []) if d.source == "torchmode run"]

    await wait_until(observed, "the observed finding")
    (diagnostic,) = observed()
    # The static check cannot follow the table, so the run's finding is the only one there.
    assert [d for d in client.diagnostics[uri] if d.source == "torchmode"] == []
    assert (diagnostic.code, diagnostic.range.start.line + 1) == (code, line)
    assert "was trained in eval mode (observed at run time" in diagnostic.message
    (related,) = diagnostic.related_information or []
    assert (related.location.uri, related.location.range.start.line + 1) == (uri, switch_line)
