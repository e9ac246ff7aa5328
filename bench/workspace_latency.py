"""Edit latency in an open file while the workspace check runs over a large workspace.

    python bench/workspace_latency.py [--workspace-files 600] [--size 1000] [--edits 80]
                                      [--pause-ms 100,400] [--runs 1] [--files ...] [--json OUT]

The workspace is a folder of ``--workspace-files`` real files (the corpus's, copied with their
package layout into ``bench/.corpus/workspace-N/``, so imports between them resolve); the open
document is a module of ``--size`` lines of training code (``benchlib.build_module``) inside it.
The server runs as the editor runs it, with the debounce at 0 (``--debounce-ms``) so the
figure is the server's own work, and reports progress at once (``progressAfterMs: 0``), which says how far the
background check is.

Three sessions per run, one after the other:

* **scan alone**: ``diagnosticMode: workspace``, nothing open: how long the check of the whole
  workspace takes, and its files per second;
* **edits during the scan**: the same, with the document opened as the scan starts and typed
  into as a person types: single-character edits (insert ``x``, delete it again) each followed
  by a pause drawn from ``--pause-ms`` (seeded, the same in every session). The latency of an
  edit is from writing its ``didChange`` to receiving the ``publishDiagnostics`` of that
  version; only the edits sent while the scan still ran count;
* **open files only**: ``diagnosticMode: openFilesOnly``, the same edits and pauses: the
  latency with no background check, for the ratio.

The figures are p50, p95 and max of each session's latencies (the median over ``--runs``), the
ratio of the p95s within a run, and how far the scan got while being typed into. Nothing here
is asserted; ``tests/bench/test_bench_smoke.py`` only runs it on a tiny workspace.
"""

from __future__ import annotations

import argparse
import copy
import os
import random
import re
import shutil
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import ROOT, Spread, build_module, corpus_files, percentile, spread_dict, write_json
from editor_latency import TARGETS_MS, edit_site
from lsp_driver import CAPABILITIES, LspSession, Message, position_of, rss_kib

WORKSPACES = ROOT / "bench" / ".corpus"


def build_workspace(files: list[Path], count: int) -> Path:
    """``count`` files copied under one folder with their paths below the files' common root."""
    chosen = files[:count]
    base = Path(os.path.commonpath([str(path.parent) for path in chosen]))
    folder = WORKSPACES / f"workspace-{len(chosen)}"
    if folder.exists():
        shutil.rmtree(folder)
    for path in chosen:
        relative = path.relative_to(base) if path.is_relative_to(base) else Path(path.name)
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    return folder


DEBOUNCE_MS = 0


def _options(mode: str) -> dict[str, Any]:
    return {"debounceMs": DEBOUNCE_MS, "progressAfterMs": 0, "settings": {"diagnosticMode": mode}}


def _capabilities() -> dict[str, Any]:
    """The driver's client, showing progress: the progress reports say how far the scan is."""
    capabilities = copy.deepcopy(CAPABILITIES)
    capabilities["window"]["workDoneProgress"] = True
    return capabilities


def _scan_reports(session: LspSession) -> list[tuple[float, dict[str, Any]]]:
    """The workspace check's progress reports (the open document's own checks report progress
    too, under another title), with their arrival times."""
    token: object = None
    found: list[tuple[float, dict[str, Any]]] = []
    for message in list(session.notifications):
        body = message.body
        if body.get("method") != "$/progress":
            continue
        params = body.get("params") or {}
        value = params.get("value") or {}
        if value.get("kind") == "begin" and "workspace" in str(value.get("title", "")):
            token = params.get("token")
        if token is not None and params.get("token") == token:
            found.append((message.received, value))
    return found


def _scan_end(session: LspSession) -> float | None:
    """When the workspace check's progress ended, if it did."""
    ends = [received for received, value in _scan_reports(session) if value.get("kind") == "end"]
    return ends[0] if ends else None


def _last_progress(session: LspSession) -> str:
    messages = [str(value["message"]) for _, value in _scan_reports(session) if value.get("message")]
    return messages[-1] if messages else ""


def _wait_scan_end(session: LspSession, timeout: float) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        end = _scan_end(session)
        if end is not None:
            return end
        time.sleep(0.05)
    raise TimeoutError(f"the workspace check did not end within {timeout} s")


def _worker_pid(session: LspSession) -> int | None:
    """The workspace check's worker process, from the server's log."""
    for message in list(session.notifications):
        if message.body.get("method") == "window/logMessage":
            found = re.search(r"worker process (\d+) started", str(message.body["params"].get("message", "")))
            if found:
                return int(found.group(1))
    return None


def scan_alone(workspace: Path, timeout: float) -> dict[str, Any]:
    """The whole workspace checked with nothing open; then the memory of both processes."""
    with LspSession.start() as session:
        session.initialize(_options("workspace"), root=workspace, capabilities=_capabilities())
        started = time.perf_counter()
        end = _wait_scan_end(session, timeout)
        worker = _worker_pid(session)
        memory = {
            "server_rss_mb": rss_kib(session.pid)["VmRSS"] / 1024,
            "worker_rss_mb": rss_kib(worker)["VmRSS"] / 1024 if worker is not None else None,
            "worker_peak_mb": rss_kib(worker)["VmHWM"] / 1024 if worker is not None else None,
        }
        return {"seconds": end - started, "progress": _last_progress(session), **memory}


def typing(workspace: Path, document: Path, mode: str, pauses: list[float], timeout: float) -> dict[str, Any]:
    text = document.read_text(encoding="utf-8")
    uri = document.resolve().as_uri()
    where = position_of(text, edit_site(text))
    latencies: list[float] = []
    during: list[float] = []
    with LspSession.start() as session:
        session.initialize(_options(mode), root=workspace, capabilities=_capabilities())
        session.did_open(uri, text, version=1)
        _, seen = session.wait_for_diagnostics(uri, 1, timeout=timeout)
        for index, pause in enumerate(pauses):
            version = index + 2
            if index % 2 == 0:
                change = {"range": {"start": where, "end": where}, "text": "x"}
            else:
                end = {"line": where["line"], "character": where["character"] + 1}
                change = {"range": {"start": where, "end": end}, "text": ""}
            sent = session.did_change(uri, version, [change])
            message: Message
            message, seen = session.wait_for_diagnostics(uri, version, after=seen, timeout=timeout)
            latency = message.received - sent
            latencies.append(latency)
            if mode == "workspace" and _scan_end(session) is None:
                during.append(latency)
            time.sleep(pause)
        progress = _last_progress(session) if mode == "workspace" else ""
        scan_ended = _scan_end(session) is not None
    chosen = during if mode == "workspace" else latencies
    return {
        "p50": percentile(chosen, 0.50) if chosen else None,
        "p95": percentile(chosen, 0.95) if chosen else None,
        "max": max(chosen) if chosen else None,
        "edits": len(chosen),
        "scan_progress_at_end": progress,
        "scan_ended": scan_ended,
    }


def _memory(runs: list[dict[str, Any]], key: str) -> dict[str, float | int] | None:
    values = [run["scan"][key] for run in runs if run["scan"][key] is not None]
    return spread_dict(values) if values else None


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--workspace-files", type=int, default=600, help="files in the workspace (default 600)"
    )
    parser.add_argument("--size", type=int, default=1000, help="lines of the open document (default 1000)")
    parser.add_argument("--edits", type=int, default=80, help="edits per session (default 80)")
    parser.add_argument(
        "--pause-ms", default="100,400", help="pause after each edit, min,max ms (default 100,400)"
    )
    parser.add_argument("--runs", type=int, default=1, help="runs of the three sessions (default 1)")
    parser.add_argument(
        "--debounce-ms", type=int, default=0, help="the server's debounce (default 0: its own work only)"
    )
    parser.add_argument(
        "--files", nargs="*", default=(), help="source files or folders (default: the corpus)"
    )
    parser.add_argument(
        "--timeout", type=float, default=600.0, help="seconds to wait for the scan or a publish"
    )
    parser.add_argument("--json", help="write the figures to this JSON file")
    options = parser.parse_args()

    global DEBOUNCE_MS
    DEBOUNCE_MS = options.debounce_ms
    files = corpus_files(options.files)
    workspace = build_workspace(files, options.workspace_files)
    checked_files = sum(1 for _ in workspace.rglob("*.py"))
    module = build_module(options.size, files, f"workspace_latency_{options.size}.py")
    document = workspace / module.name
    shutil.copyfile(module, document)
    lines = document.read_text(encoding="utf-8").count("\n")
    low, high = (float(part) / 1000 for part in options.pause_ms.split(","))
    generator = random.Random(7)
    pauses = [generator.uniform(low, high) for _ in range(options.edits)]

    runs: list[dict[str, Any]] = []
    for _ in range(options.runs):
        alone = scan_alone(workspace, options.timeout)
        busy = typing(workspace, document, "workspace", pauses, options.timeout)
        quiet = typing(workspace, document, "openFilesOnly", pauses, options.timeout)
        ratio = busy["p95"] / quiet["p95"] if busy["p95"] is not None and quiet["p95"] else None
        runs.append({"scan": alone, "during_scan": busy, "open_files_only": quiet, "ratio_p95": ratio})
    measured = [run for run in runs if run["during_scan"]["edits"]]

    def spread(key: str, figure: str, of: list[dict[str, Any]]) -> dict[str, float | int] | None:
        values = [run[key][figure] for run in of if run[key][figure] is not None]
        return spread_dict(values) if values else None

    figures: dict[str, Any] = {
        "workspace_files": checked_files,
        "debounce_ms": options.debounce_ms,
        "document_lines": lines,
        "edits": options.edits,
        "pause_ms": [low * 1000, high * 1000],
        "runs": runs,
        "scan_seconds": spread_dict([run["scan"]["seconds"] for run in runs]),
        "files_per_second": spread_dict([checked_files / run["scan"]["seconds"] for run in runs]),
        "server_rss_mb": spread_dict([run["scan"]["server_rss_mb"] for run in runs]),
        "worker_rss_mb": _memory(runs, "worker_rss_mb"),
        "worker_peak_mb": _memory(runs, "worker_peak_mb"),
        "edits_during_scan": [run["during_scan"]["edits"] for run in runs],
        "during_scan": {figure: spread("during_scan", figure, measured) for figure in ("p50", "p95", "max")},
        "open_files_only": {
            figure: spread("open_files_only", figure, runs) for figure in ("p50", "p95", "max")
        },
        "ratio_p95": spread_dict([run["ratio_p95"] for run in measured]) if measured else None,
        # The open file's own target (figure 2): the background check must not push it past it.
        "target_p95_ms": TARGETS_MS.get(options.size),
    }
    scan = Spread.of([run["scan"]["seconds"] for run in runs])
    worker_rss = figures["worker_rss_mb"]
    print(
        f"workspace of {checked_files} files: checked in {scan.format('s', 1)} "
        f"({figures['files_per_second']['median']:.1f} files/s), nothing open; then RSS: server "
        f"{figures['server_rss_mb']['median']:.0f} MB, worker "
        f"{worker_rss['median'] if worker_rss else float('nan'):.0f} MB "
        f"(peak {figures['worker_peak_mb']['median'] if figures['worker_peak_mb'] else float('nan'):.0f} MB)",
        flush=True,
    )
    for label, key, chosen in (
        ("during the scan", "during_scan", measured),
        ("open files only", "open_files_only", runs),
    ):
        edits = "/".join(str(run[key]["edits"]) for run in runs)
        if not chosen:
            print(f"edits in a {lines}-line file, {label}: none (the scan ended before the first edit)")
            continue
        p50 = Spread.of([run[key]["p50"] for run in chosen])
        p95 = Spread.of([run[key]["p95"] for run in chosen])
        high_ms = Spread.of([run[key]["max"] for run in chosen])
        print(
            f"edits in a {lines}-line file, {label} ({edits} edits): p50 {p50.format('ms', 1, 1000)}, "
            f"p95 {p95.format('ms', 1, 1000)}, max {high_ms.format('ms', 1, 1000)}",
            flush=True,
        )
    if figures["ratio_p95"] is not None:
        print(
            f"p95 ratio, during the scan / open files only: {figures['ratio_p95']['median']:.2f}; "
            f"the scan while typing reached: {runs[-1]['during_scan']['scan_progress_at_end'] or '-'}",
            flush=True,
        )
    write_json(options.json, figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
