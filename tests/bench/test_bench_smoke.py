"""The benchmarks run and write well-formed figures, on a tiny input (no timing is asserted).

Each bench/ script is run once as ``make bench`` runs it, but on the repository's
examples, with one repetition and a handful of edits or requests, and without
anything that needs the package registry (libcst, the peers, the profiler). The
report renderer then turns their JSON into results.md. Wall-clock figures are
never checked here: machines differ; only that they are there and positive.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from support.checkout import checkout_env

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"
EXAMPLES = str(ROOT / "examples")

RUNS: dict[str, list[str]] = {
    "cli": ["cli_throughput.py", "--rounds", "1", "--no-peers", "--no-libcst"],
    "latency": ["editor_latency.py", "--sizes", "150", "--edits", "4", "--runs", "1"],
    "requests": ["requests_latency.py", "--size", "150", "--requests", "3", "--runs", "1"],
    "cold": ["cold_start.py", "--size", "150", "--runs", "1"],
    "memory": ["memory.py", "--documents", "2", "--size", "150", "--runs", "1"],
    "workspace": [
        "workspace_latency.py",
        "--workspace-files",
        "6",
        "--size",
        "150",
        "--edits",
        "4",
        "--pause-ms",
        "0,1",
    ],
}


def bench_module(name: str) -> ModuleType:
    """A bench/ script as a module (they import each other by plain name, bench/ on sys.path)."""
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    return importlib.import_module(name)


def run_all_figures(tmp_path: Path) -> dict[str, Any]:
    """All scripts at once (each is mostly waiting on a server), then their JSON."""
    processes = {}
    for name, (script, *arguments) in RUNS.items():
        out = tmp_path / f"{name}.json"
        command = [sys.executable, str(BENCH / script), *arguments, "--files", EXAMPLES, "--json", str(out)]
        processes[name] = (
            subprocess.Popen(
                command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=checkout_env()
            ),
            out,
        )
    results: dict[str, Any] = {}
    for name, (process, out) in processes.items():
        output, _ = process.communicate(timeout=120)
        assert process.returncode == 0, f"{RUNS[name][0]} failed:\n{output.decode(errors='replace')}"
        results[name] = json.loads(out.read_text(encoding="utf-8"))
    return results


def test_every_figure_runs_and_the_report_renders(tmp_path: Path) -> None:
    results = run_all_figures(tmp_path)

    cli = results["cli"]
    assert cli["files"] == len(list((ROOT / "examples").glob("*.py")))
    assert cli["wall"]["engine"]["median"] > 0 and cli["wall"]["cli"]["median"] > 0
    assert not any("libcst" in name for name in cli["ratios"])  # no libcst here
    assert cli["ratios"]["cli / ast"]["median"] > 0  # ast.parse is timed in this interpreter then
    assert cli["ratios"]["warm cache / cold cache"]["median"] > 0

    (size,) = results["latency"]["sizes"]
    assert size["edits_done"] == [4] and 0 < size["p50"]["median"] <= size["p95"]["median"]

    requests = results["requests"]
    for kind in ("hover", "codeAction"):
        assert requests[kind]["p95"]["median"] > 0

    cold = results["cold"]
    assert cold["first_diagnostics"]["median"] > cold["initialize"]["median"] > 0
    assert any(row["module"].startswith("torchmode") for row in cold["imports"]["top_cumulative"])

    memory = results["memory"]
    assert memory["rss_mb"]["median"] >= memory["baseline_mb"]["median"] > 10

    workspace = results["workspace"]
    assert workspace["workspace_files"] >= 6 and workspace["scan_seconds"]["median"] > 0
    assert workspace["server_rss_mb"]["median"] > 10 and workspace["worker_rss_mb"]["median"] > 10
    assert 0 < workspace["open_files_only"]["p50"]["median"] <= workspace["open_files_only"]["p95"]["median"]
    # A tiny workspace may be checked before the first edit: then there is no figure during it.
    (during,) = workspace["edits_during_scan"]
    assert (workspace["during_scan"]["p95"] is None) == (during == 0)

    run_all = bench_module("run_all")
    benchlib = bench_module("benchlib")
    report = run_all.render(results, [], benchlib.machine_info(), [0.0, 0.0, 0.0], 1.0, "make bench")
    assert (
        "## Summary" in report
        and "## 5. Memory" in report
        and "## 7. Edits during the workspace check" in report
    )
    summary = report.split("## Summary", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in summary.splitlines() if line.startswith("| ") and "figure" not in line]
    # CLI / ast.parse, --jobs (scaling, or a note that there is no option), the cache's second run,
    # one file size, hover, codeAction, cold start, memory, and the edits during the workspace check
    # when some were made; no libcst or peer rows without them.
    assert len(rows) == 8 + (during > 0)
    assert all(line.count("|") == 5 for line in rows)


def test_profile_folding() -> None:
    profiles = bench_module("profiles")
    raw = (
        "_worker (concurrent/futures/thread.py:83);check_document (torchmode/engine.py:153);"
        "parses_after (torchmode/fixes/lines.py:75);parse (ast.py:50) 6\n"
        "_worker (concurrent/futures/thread.py:83);check_document (torchmode/engine.py:140) 4\n"
    )
    summary = profiles.summary(profiles.fold(raw))
    assert summary["samples"] == 10
    hot = {row["function"]: row for row in summary["hot_path"]}
    assert hot["check_document (torchmode/engine.py)"]["share"] == 1.0
    assert hot["parses_after (torchmode/fixes/lines.py)"]["remedy"]
    assert summary["inclusive"] == []  # every function is on the hot path
    assert (summary["own"][0]["function"], summary["own"][0]["share"]) == ("parse (ast.py)", 0.6)
    assert [row["function"] for row in summary["hot_path"]][:2] == [
        "check_document (torchmode/engine.py)",
        "parses_after (torchmode/fixes/lines.py)",
    ]


def test_in_process_session_publishes() -> None:
    """The driver's in-process server (used for the memory profile) speaks the same protocol."""
    lsp_driver = bench_module("lsp_driver")
    seed = ROOT / "examples" / "seed_loop.py"
    with lsp_driver.LspSession.in_process() as session:
        session.initialize()
        session.did_open(seed.as_uri(), seed.read_text(encoding="utf-8"))
        message, _ = session.wait_for_diagnostics(seed.as_uri(), 1, timeout=60)
    assert [item["code"] for item in message.body["params"]["diagnostics"]] == ["TM101"]
