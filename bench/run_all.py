"""``make bench``: run every figure's benchmark, profile each missed target, write bench/results.md.

    python bench/run_all.py [--quick] [--no-peers] [--only FIGURE,...] [--out bench/results.md]

Each figure is its own command (``bench/<figure>.py``, runnable alone, see its
``--help``); this runs them one after another as subprocesses, collects their
JSON, profiles every figure that misses its target (``bench/profiles.py``) and
renders one Markdown report with the machine, the date, every figure as median
and spread (min-max) over repeated runs, and each ratio as measured within one
run. ``--quick`` lowers the repetitions for a rough look (not for results.md
in the repository).

Issue 16's editor figures are in it too (``editing_report.py`` renders them):
figure 10, ``class_edits.py`` on transformers' ``trainer.py`` and on the corpus's
class-based file whose class is closest to 1,000 lines, and figure 11,
``long_session.py`` with the issue's 20,000 edits, the longest part of the run
(a ``--quick`` run of 1,000 edits took 3 minutes on 2 shared cores).

A whole run takes well over an hour on two cores. Every figure's JSON (and the profile of a
missed one) is kept in ``--figures`` (default ``~/.cache/torchmode-bench/figures``) with when
and at which commit it was measured, so one figure that failed or was disturbed is measured
again alone, ``--only cli``, and the report is written with the others as they were kept:
its "Commands" table says which figures this run measured and which it took from an earlier
run (date and commit).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import BENCH, ROOT, Spread, machine_info, server_environment, spread_from, table, verdict
from editing_report import (
    CLASS_FIGURES,
    NOT_PROFILED,
    editing_rows,
    render_class_edits,
    render_long_session,
    worst_kind,
)

RESULTS = BENCH / "results.md"
# Two processes on two cores: "scales" read as at least this speed-up (the files are independent;
# what is lost is start-up and each process building its own cross-file cache). Figures written
# before issue 16 (no "jobs_n") are held to it; issue 16 asks 0.8 N on N cores.
JOBS_2_SPEED_UP = 1.4

DURATIONS: dict[str, float] = {}
# Figures taken from an earlier run (``--only``): command -> (took, when and at which commit).
REUSED: dict[str, tuple[float, str]] = {}
DEFAULT_FIGURES = Path.home() / ".cache" / "torchmode-bench" / "figures"


def keep_figure(kept: Path, name: str, data: dict[str, Any], command: str, took: float, stamp: str) -> None:
    """``<name>.json`` and how it was measured (``<name>.run.json``) into the kept folder."""
    kept.mkdir(parents=True, exist_ok=True)
    (kept / f"{name}.json").write_text(json.dumps(data), encoding="utf-8")
    run = {"command": command, "took": took, "measured": stamp}
    (kept / f"{name}.run.json").write_text(json.dumps(run), encoding="utf-8")


def kept_figure(kept: Path, name: str) -> dict[str, Any] | None:
    """A figure an earlier run kept (noted in ``REUSED``), or None if there is none readable."""
    try:
        data: dict[str, Any] = json.loads((kept / f"{name}.json").read_text(encoding="utf-8"))
        run = json.loads((kept / f"{name}.run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    REUSED[str(run["command"])] = (float(run["took"]), str(run["measured"]))
    print(
        f"\n{name}: kept from an earlier run ({run['measured']}): python bench/{run['command']}", flush=True
    )
    return data


def run_figure(script: str, arguments: Sequence[str], out: Path) -> dict[str, Any] | None:
    """Run ``bench/<script>`` with ``--json out``; its output streams through. None if it failed."""
    command = [sys.executable, str(BENCH / script), *arguments, "--json", str(out)]
    print(f"\n$ python bench/{script} {' '.join(arguments)}", flush=True)
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=ROOT, env=server_environment(), check=False)
    elapsed = time.perf_counter() - started
    DURATIONS[f"{script} {' '.join(arguments)}".strip()] = elapsed
    print(f"  ({elapsed:.0f} s)", flush=True)
    if completed.returncode != 0 or not out.exists():
        print(f"  bench/{script} failed with exit code {completed.returncode}", file=sys.stderr)
        return None
    data: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return data


# --- verdicts -------------------------------------------------------------------------


def ms(spread: Spread) -> str:
    return spread.format("ms", 1, 1000)


def _latency_met(row: dict[str, Any]) -> bool:
    target = row["target_p95_ms"]
    return target is None or spread_from(row["p95"]).median * 1000 <= target


def _smallest_missed_size(results: dict[str, dict[str, Any] | None]) -> int:
    """The smallest file size whose latency target was missed (the one to profile)."""
    latency = results.get("latency") or {}
    missed = [row["size"] for row in latency.get("sizes", []) if not _latency_met(row)]
    return min(missed, default=5000)


def summary_rows(results: dict[str, dict[str, Any] | None]) -> tuple[list[list[str]], set[str]]:
    """Rows of the summary table, and the figures (profile workloads) that missed a target."""
    rows: list[list[str]] = []
    missed: set[str] = set()

    def add(workload: str, figure: str, measured: str, target: str, ok: bool) -> None:
        rows.append([figure, measured, target, verdict(ok)])
        if not ok:
            missed.add(workload)

    cli = results.get("cli")
    if cli is not None:
        ratios = cli["ratios"]
        if "cli / ast" in ratios:
            ratio = spread_from(ratios["cli / ast"])
            add(
                "cli",
                f"1. CLI: `torchmode check` / `ast.parse`, {cli['lines']:,} lines",
                f"{ratio.format('x')} (engine alone {spread_from(ratios['engine / ast']).format('x')})",
                f"<= {cli['target_ast_ratio']}x",
                ratio.median <= cli["target_ast_ratio"],
            )
        if "cli / libcst" in ratios:
            ratio = spread_from(ratios["cli / libcst"])
            engine = spread_from(ratios["engine / libcst"])
            add(
                "cli",
                f"1. CLI: `torchmode check` / `libcst.parse_module`, {cli['lines']:,} lines",
                f"{ratio.format('x')} (engine alone {engine.format('x')})",
                f"<= {cli['target_ratio']}x",
                ratio.median <= cli["target_ratio"],
            )
        for peer in cli["peers"]:
            ratio = spread_from(ratios[f"{peer} / torchmode"])
            ok = ratio.median > 1.0
            add(
                "cli",
                f"1. CLI: {peer} / torchmode, {cli['peer_lines']:,} lines",
                f"{ratio.format('x')} (torchmode {ratio.median:.1f}x faster)" if ok else ratio.format("x"),
                "> 1x (torchmode faster)",
                ok,
            )
        if "cli --no-follow-imports / libcst" in ratios:
            ratio = spread_from(ratios["cli --no-follow-imports / libcst"])
            rows.append(
                ["1. CLI with `--no-follow-imports` / `libcst.parse_module`", ratio.format("x"), "-", "-"]
            )
        jobs_n = cli.get("jobs_n", 2)
        if f"--jobs {jobs_n} speed-up" in ratios:
            speed_up = spread_from(ratios[f"--jobs {jobs_n} speed-up"])
            wanted = jobs_n * cli["target_jobs_efficiency"] if "jobs_n" in cli else JOBS_2_SPEED_UP
            cores = f" ({cli['cores']} usable cores)" if cli.get("cores", jobs_n) < jobs_n else ""
            add(
                "cli",
                f"1. CLI: `--jobs {jobs_n}` speed-up over `--jobs 1`, {cli['lines']:,} lines{cores}",
                speed_up.format("x"),
                f">= {wanted:.1f}x",
                speed_up.median >= wanted,
            )
        elif not cli["jobs_option"]:
            rows.append(["1. CLI: `--jobs N` scaling", "no `--jobs` option yet", "scales", "not measured"])
        if "warm cache / cold cache" in ratios:
            share = spread_from(ratios["warm cache / cold cache"])
            add(
                "cli",
                f"1. CLI cache: a second `torchmode check` over the unchanged files / the first, "
                f"{cli['lines']:,} lines",
                f"{share.median:.1%} ({share.low:.1%}-{share.high:.1%})",
                f"<= {cli['target_warm_cache']:.0%}",
                share.median <= cli["target_warm_cache"],
            )
    latency = results.get("latency")
    if latency is not None:
        for row in latency["sizes"]:
            target = row["target_p95_ms"]
            add(
                "latency",
                f"2. edit -> diagnostics p95, {row['lines']:,} lines",
                f"{ms(spread_from(row['p95']))} (p50 {ms(spread_from(row['p50']))})",
                f"<= {target:.0f} ms" if target else "-",
                _latency_met(row),
            )
    requests = results.get("requests")
    if requests is not None:
        for kind in ("hover", "codeAction"):
            p95 = spread_from(requests[kind]["p95"])
            add(
                "requests",
                f"3. {kind} p95, {requests['lines']:,} lines",
                f"{ms(p95)} (p50 {ms(spread_from(requests[kind]['p50']))})",
                f"<= {requests['target_p95_ms']:.0f} ms",
                p95.median * 1000 <= requests["target_p95_ms"],
            )
    cold = results.get("cold")
    if cold is not None:
        first = spread_from(cold["first_diagnostics"])
        add(
            "cold",
            f"4. cold start to first diagnostics, {cold['lines']:,} lines",
            first.format("s", 2),
            f"<= {cold['target_seconds']} s",
            first.median <= cold["target_seconds"],
        )
    memory = results.get("memory")
    if memory is not None:
        rss = spread_from(memory["rss_mb"])
        add(
            "memory",
            f"5. server RSS, {memory['documents']} open documents, {memory['lines']:,} lines",
            f"{rss.format('MB', 0)} (peak {spread_from(memory['hwm_mb']).format('MB', 0)})",
            f"<= {memory['target_mb']:.0f} MB",
            rss.median <= memory["target_mb"],
        )
    workspace = results.get("workspace")
    if workspace is not None and workspace["during_scan"]["p95"] is not None:
        p95 = spread_from(workspace["during_scan"]["p95"])
        target = workspace["target_p95_ms"]
        add(
            "workspace",
            f"7. edit -> diagnostics p95 during the workspace check, {workspace['document_lines']:,} lines, "
            f"{workspace['workspace_files']:,} files",
            f"{ms(p95)} (open files only {ms(spread_from(workspace['open_files_only']['p95']))})",
            f"<= {target:.0f} ms" if target else "-",
            target is None or p95.median * 1000 <= target,
        )
    runtime = results.get("runtime")
    if runtime is not None:
        for model in runtime["models"]:
            ratio = spread_from(model["ratio"])
            rows.append(
                [
                    f"6. runtime guard per training step, {model['name']} (CPU)",
                    f"{ratio.format('x', 3)} ({model['cost_per_step_seconds'] * 1e6:+.0f} us per step)",
                    f"<= {model['target_ratio']}x",
                    verdict(ratio.median <= model["target_ratio"]),
                ]
            )
    jedi = results.get("jedi")
    if jedi is not None:
        rows.append(
            [
                f"9. jedi where the resolver gives up on an installed name, {jedi['lines']:,} lines",
                f"settles {jedi['settled_questions']:,} of {jedi['questions']:,} questions, changes "
                f"{len(jedi['findings_added']) + len(jedi['findings_removed'])} findings, costs "
                f"{jedi['added_cpu_ratio']:.1f}x the check's CPU",
                "-",
                "-",
            ]
        )
    for workload, figure, measured, target, ok in editing_rows(results):  # figures 10 and 11
        add(workload, figure, measured, target, ok)
    return rows, missed


# --- rendering ------------------------------------------------------------------------


def render_cli(cli: dict[str, Any]) -> list[str]:
    out = [
        "## 1. CLI throughput",
        "",
        f"{cli['files']:,} corpus files, {cli['lines']:,} lines (`tests/realworld/corpus.py`); "
        f"{cli['findings']} findings; {cli['libcst_parse_failures']} files libcst cannot parse. "
        f"Peers on every {cli['peer_sample']}th file: {cli['peer_files']} files, "
        f"{cli['peer_lines']:,} lines, "
        f"torchmode's CLI timed again on exactly those. {cli['rounds']} rounds; in each round every "
        "measurement runs once, and each ratio is taken within the round. Single process everywhere "
        "(`-j 1` for the peers). Wall time is the figure; CPU time (user + system) is beside it, "
        "as it is less disturbed by other load on the machine.",
        "",
        "Versions: " + "; ".join(f"{name} {version}" for name, version in sorted(cli["versions"].items())),
        "",
    ]
    rows = []
    for name, wall in cli["wall"].items():
        spread = spread_from(wall)
        size = cli["peer_lines"] if name in cli["peers"] or name == "cli (peer files)" else cli["lines"]
        rows.append(
            [
                name,
                spread.format("s", 2),
                spread_from(cli["cpu"][name]).format("s", 2),
                f"{spread.median / (size / 1000) * 1000:.1f}",
            ]
        )
    out += table(["measurement", "wall (min-max)", "cpu (min-max)", "ms per 1,000 lines"], rows)
    ratio_rows = [[name, spread_from(value).format("x")] for name, value in cli["ratios"].items()]
    out += table(["ratio (within each round)", "median (min-max)"], ratio_rows)
    out += [
        "What each line is: `engine` = `engine.check_source` per file in one process (texts read "
        "beforehand, no project: imports are not followed); `cli in-process` = "
        "`torchmode.cli.main(['check', ...])` in one process (discovery, configuration, the project "
        "that follows imports into other corpus files, formatting); `cli` = `python -m torchmode check "
        "--isolated --exit-zero -q --jobs 1 FILES` end to end (`--jobs 1` when the CLI has the option); "
        "`cli --no-follow-imports` = the same, analysing each file alone; `cli --jobs N` = N "
        "processes; `libcst`/`ast` = `libcst.parse_module`/`ast.parse` alone over the same texts in a "
        "worker process. Every `cli` run is `--no-cache` but `cli cold cache` (a new, empty cache "
        "folder) and `cli warm cache` (the same command again over the unchanged files).",
        "",
    ]
    if not cli["jobs_option"]:
        out += ["`torchmode check` has no `--jobs` option yet, so multi-process scaling is not measured.", ""]
    return out


def render_latency(latency: dict[str, Any]) -> list[str]:
    rows = []
    for row in latency["sizes"]:
        rows.append(
            [
                f"{row['lines']:,}",
                "/".join(str(count) for count in row["edits_done"]),
                ms(spread_from(row["p50"])),
                ms(spread_from(row["p95"])),
                ms(spread_from(row["max"])),
                f"{row['full_check'] * 1000:.1f} ms",
                f"<= {row['target_p95_ms']:.0f} ms" if row["target_p95_ms"] else "-",
            ]
        )
    out = [
        "## 2. Editor latency (edit -> publishDiagnostics)",
        "",
        f"`python -m torchmode.lsp` over stdio, debounce 0; {latency['edits']} single-character edits "
        f"per session (insert `x` after an assigned name in a training function near the middle of the "
        f"file, then delete it), each timed from `didChange` to the `publishDiagnostics` of its version; "
        f"{latency['runs']} sessions per size. A session over its time budget stops early (the edit "
        "counts show it). Files: real training code from the corpus, with an example or case file after "
        "every fourth corpus file (`benchlib.build_module`).",
        "",
    ]
    out += table(
        ["lines", "edits per session", "p50", "p95", "max", "from-scratch check in-process", "target p95"],
        rows,
    )
    return out


def render_requests(requests: dict[str, Any]) -> list[str]:
    rows = []
    for kind in ("hover", "codeAction"):
        figure = requests[kind]
        rows.append(
            [
                kind,
                ms(spread_from(figure["p50"])),
                ms(spread_from(figure["p95"])),
                ms(spread_from(figure["max"])),
            ]
        )
    out = [
        "## 3. Hover and code action",
        "",
        f"{requests['lines']:,}-line file, analysed before the first request; {requests['requests']} "
        f"requests of each kind per session, {requests['runs']} sessions. Hovers at every call's callee "
        f"({requests['hovers_answered']} of {requests['requests']} had content); code actions at each "
        f"diagnostic ({requests['diagnostics']}) and at lines spread over the file, no `only` filter "
        f"({requests['actions_with_result']} offered actions). "
        f"Target p95 <= {requests['target_p95_ms']:.0f} ms.",
        "",
    ]
    return out + table(["request", "p50", "p95", "max"], rows)


def render_cold(cold: dict[str, Any]) -> list[str]:
    imports = cold["imports"]
    out = [
        "## 4. Cold start",
        "",
        f"Process spawn to the first `publishDiagnostics` after `didOpen` of a {cold['lines']:,}-line file: "
        f"{spread_from(cold['first_diagnostics']).format('s', 3)}; of which the `initialize` round trip "
        f"(interpreter start and imports): {ms(spread_from(cold['initialize']))}. {cold['runs']} launches.",
        "",
        f"`python -X importtime` over the server's imports and a first check: {imports['total']:.3f} s.",
        "",
    ]
    out += table(
        ["package", "own import time"],
        [[row["package"], f"{row['seconds'] * 1000:.1f} ms"] for row in imports["by_package"]],
    )
    out += table(
        ["heaviest imports below the entry point", "cumulative"],
        [
            ["&nbsp;&nbsp;" * (row["depth"] - 1) + f"`{row['module']}`", f"{row['seconds'] * 1000:.1f} ms"]
            for row in imports["top_cumulative"]
        ],
    )
    return out


def render_memory(memory: dict[str, Any]) -> list[str]:
    return [
        "## 5. Memory",
        "",
        f"{memory['documents']} distinct documents, {memory['lines']:,} lines in all, opened one after "
        f"another in one server, each analysed (first diagnostics received) before the next; "
        f"{memory['runs']} launches. From `/proc/<pid>/status`.",
        "",
        *table(
            ["VmRSS after initialize", "VmRSS with all open", "VmHWM (peak)", "per document"],
            [
                [
                    spread_from(memory["baseline_mb"]).format("MB", 1),
                    spread_from(memory["rss_mb"]).format("MB", 1),
                    spread_from(memory["hwm_mb"]).format("MB", 1),
                    f"{memory['per_document_mb']:.2f} MB",
                ]
            ],
        ),
    ]


PROFILE_TITLES = {
    "cli": "CLI throughput",
    "latency": "editor latency",
    "requests": "hover and code action",
    "cold": "cold start",
    "memory": "memory",
    "class": "edits in a method of a class (figure 10)",
}


def render_memory_profile(profile: dict[str, Any]) -> list[str]:
    documents = profile["documents"]
    out = [
        "### Profile: memory",
        "",
        f"tracemalloc of {profile['workload']}: {profile['total_mb']:.1f} MB more Python memory held "
        f"once all are open ({profile['total_mb'] / documents:.2f} MB per document; RSS also counts "
        "the allocator's free lists and fragmentation). Held for (the innermost torchmode line on the "
        "allocation's stack):",
        "",
    ]
    out += table(
        ["held", "share", "torchmode line", "what would take it off"],
        [
            [f"{row['mb']:.1f} MB", f"{row['share']:.1%}", f"`{row['function']}`", row["remedy"]]
            for row in profile["inclusive"]
        ],
    )
    out += ["Allocated at:", ""]
    out += table(
        ["held", "share", "line"],
        [
            [f"{row['mb']:.1f} MB", f"{row['share']:.1%}", f"`{row['function']}`"]
            for row in profile["own"][:10]
        ],
    )
    return out


def render_profile(profile: dict[str, Any]) -> list[str]:
    if profile.get("kind") == "memory":
        return render_memory_profile(profile)
    if profile.get("kind") == "cprofile":
        how = (
            f"cProfile of {profile['workload']} ({profile['seconds']:.2f} s with the profiler; it slows "
            "Python calls, so shares are the figure, not times). Shares are of the whole chain."
        )
    else:
        how = f"py-spy ({profile['samples']} samples) of {profile['workload']}. Shares are of all samples."
    title = PROFILE_TITLES.get(profile["figure"], profile["figure"])
    if profile.get("file_name"):  # figure 10 is profiled on each of its files that missed
        title += f", `{profile['file_name']}`"
    out = [
        f"### Profile: {title}",
        "",
        how,
        "",
        "Heaviest call path:",
        "",
    ]
    out += [
        f"{'  ' * index}- {row['share']:.0%} `{row['function']}`"
        + (f": {row['remedy']}" if row.get("remedy") else "")
        for index, row in enumerate(profile["hot_path"])
    ]
    out += ["", "Heaviest functions off that path (inclusive: the function and all it calls):", ""]
    out += table(
        ["inclusive", "function", "what would take it off"],
        [[f"{row['share']:.1%}", f"`{row['function']}`", row["remedy"]] for row in profile["inclusive"]],
    )
    out += table(
        ["own time", "function", "what would take it off"],
        [[f"{row['share']:.1%}", f"`{row['function']}`", row["remedy"]] for row in profile["own"][:10]],
    )
    return out


def render_runtime(runtime: dict[str, Any]) -> list[str]:
    rows = [
        [
            model["name"],
            ms(spread_from(model["step_seconds"])),
            ms(spread_from(model["guarded_step_seconds"])),
            spread_from(model["ratio"]).format("x", 3),
        ]
        for model in runtime["models"]
    ]
    return [
        "## 6. Runtime guard overhead",
        "",
        f"`torchmode run`'s guard around training steps on CPU ({runtime['threads']} torch thread, torch "
        f"{runtime['torch']}): unguarded and guarded steps alternate in one process, CPU time per step, "
        f"{runtime['rounds']} rounds (`bench/runtime_overhead.py`).",
        "",
        *table(["model", "step", "step with the guard", "ratio"], rows),
    ]


def render_jedi(jedi: dict[str, Any]) -> list[str]:
    """Section 9: what jedi settles where the resolver gives up, and its cost (not a target)."""
    outcome, sites = jedi["outcome"], jedi["site_outcome"]
    wall, cpu = jedi["wall"], jedi["cpu"]
    asked = (
        f"the questions of every {jedi['sample']}th file that has some"
        if jedi["sample"] > 1
        else "every question"
    )
    reasons = ", ".join(f"{reason} {count:,}" for reason, count in sorted(jedi["reasons"].items()))
    where = "alone in its venv" if jedi["bare"] else "beside the corpus dependencies, pinned"
    rows = [
        [label, f"{outcome.get(key, 0):,}", f"{sites.get(key, 0):,}"]
        for label, key in (
            ("a module (`torch.nn.Module` among its bases)", "module"),
            ("a class, not a module (every base found)", "not a module"),
            ("a function", "function"),
            *(
                (f"not settled: {key}", key)
                for key in sorted(outcome)
                if key not in ("module", "not a module", "function")
            ),
        )
    ]
    functions = ", ".join(f"{name} {count}" for name, count in sorted(jedi["functions"].items())) or "none"
    return [
        "## 9. jedi on the names the resolver gives up on",
        "",
        f"`bench/jedi_resolution.py`: {jedi['files']:,} files, {jedi['lines']:,} lines in {jedi['projects']} "
        f"projects. Give-up sites: {jedi['sites']:,} (file, name) pairs where a name of an installed package "
        f"stays unknown ({reasons}), "
        f"and {jedi['stdlib_sites']:,} more of the standard library, not asked. jedi {jedi['jedi']} "
        f"({where}) is asked once per "
        f"project and name: {jedi['all_questions']:,} questions, of which {asked}: {jedi['questions']:,}, "
        f"standing for {jedi['asked_sites']:,} sites. The rerun with its answers put in changes "
        f"+{len(jedi['findings_added'])} / -{len(jedi['findings_removed'])} of {jedi['findings']} findings.",
        "",
        *table(["jedi says the name is", "questions", "sites"], rows),
        f"Functions: {functions}.",
        "",
        *table(
            ["cost", "wall", "CPU"],
            [
                [
                    "torchmode check of the same files",
                    f"{jedi['torchmode_wall']:.1f} s",
                    f"{jedi['torchmode_cpu']:.1f} s",
                ],
                ["jedi, the questions asked", f"{jedi['jedi_wall']:.1f} s", f"{jedi['jedi_cpu']:.1f} s"],
                ["jedi / torchmode", f"{jedi['added_time_ratio']:.1f} x", f"{jedi['added_cpu_ratio']:.1f} x"],
                ["first question (jedi's warm-up)", f"{wall['first']:.2f} s", f"{cpu['first']:.2f} s"],
                [
                    "each later question: median (p95)",
                    f"{wall['median_after_first'] * 1000:.0f} ms ({wall['p95_after_first'] * 1000:.0f} ms)",
                    f"{cpu['median_after_first'] * 1000:.0f} ms ({cpu['p95_after_first'] * 1000:.0f} ms)",
                ],
            ],
        ),
        f"Peak RSS: jedi's processes (its worker and jedi's subprocess) {jedi['jedi_peak_rss_mb']:.0f} MB; "
        f"torchmode's check {jedi['torchmode_peak_rss_mb']:.0f} MB.",
        "",
    ]


def render_workspace(workspace: dict[str, Any]) -> list[str]:
    rows = []
    for label, key in (("during the workspace check", "during_scan"), ("open files only", "open_files_only")):
        figures = workspace[key]
        if figures["p95"] is None:
            rows.append([label, "-", "-", "-"])
            continue
        rows.append([label, *(ms(spread_from(figures[name])) for name in ("p50", "p95", "max"))])
    scan = spread_from(workspace["scan_seconds"]).format("s", 1)
    speed = spread_from(workspace["files_per_second"]).format("files/s", 1)
    return [
        "## 7. Edits during the workspace check",
        "",
        f"A {workspace['document_lines']:,}-line file typed into (pauses of {workspace['pause_ms'][0]:.0f}-"
        f"{workspace['pause_ms'][1]:.0f} ms between edits, debounce {workspace['debounce_ms']} ms) while the "
        f"server checks a workspace of {workspace['workspace_files']:,} corpus files in the background, "
        "and the same edits with `diagnosticMode: openFilesOnly` (`bench/workspace_latency.py`). The check "
        f"of the whole workspace with nothing open took {scan} ({speed}); then the server's RSS was "
        f"{spread_from(workspace['server_rss_mb']).format('MB', 0)}"
        + (
            f" and the worker process's {spread_from(workspace['worker_rss_mb']).format('MB', 0)} (peak "
            f"{spread_from(workspace['worker_peak_mb']).format('MB', 0)})."
            if workspace.get("worker_rss_mb")
            else "."
        ),
        "",
        *table(["edits", "p50", "p95", "max"], rows),
    ]


def _gigabytes(meminfo: str) -> str:
    """``24684092 kB`` -> ``23.5 GiB``."""
    number, _, unit = meminfo.partition(" ")
    return f"{int(number) / 2**20:.1f} GiB" if number.isdigit() and unit == "kB" else meminfo


def render(
    results: dict[str, dict[str, Any] | None],
    profiles: list[dict[str, Any]],
    machine: dict[str, Any],
    load_after: list[float],
    duration: float,
    command: str,
) -> str:
    rows, missed = summary_rows(results)
    out = [
        "# torchmode performance results",
        "",
        f"Written by `{command}` (`bench/run_all.py`) on {machine['date']}; the whole run took "
        f"{duration / 60:.1f} minutes. Each figure is the median over repeated runs with the smallest and "
        "largest run in parentheses; each ratio is taken within one run. How the figures are measured: "
        "each script's docstring (`python bench/<script>.py --help`) and `docs/performance.md`.",
        "",
        "## Machine",
        "",
        *table(
            ["", ""],
            [
                ["CPU", f"{machine['cpu']}, {machine['cores']} cores ({machine['usable_cores']} usable)"],
                ["memory", _gigabytes(str(machine["memory"]))],
                ["OS", machine["os"]],
                ["Python", machine["python"]],
                ["torchmode", machine["torchmode"]],
                ["load average (1, 5, 15 min) at start", ", ".join(map(str, machine["load_average"]))],
                ["load average at end", ", ".join(f"{value:.2f}" for value in load_after)],
            ],
        ),
        "## Summary",
        "",
        *table(["figure", "measured: median (min-max)", "target", "met?"], rows),
    ]
    failed = [name for name, data in results.items() if data is None]
    if failed:
        out += [f"Failed to run: {', '.join(failed)} (see the console output of `make bench`).", ""]
    renderers = {
        "cli": render_cli,
        "latency": render_latency,
        "requests": render_requests,
        "cold": render_cold,
        "memory": render_memory,
        "runtime": render_runtime,
        "workspace": render_workspace,
    }
    for name, renderer in renderers.items():
        data = results.get(name)
        if data is not None:
            out += renderer(data)
    out += ["## 8. Profiles of the missed targets", ""]
    if profiles:
        out += [
            "Each profile is of the real process doing the figure's work (`bench/profiles.py`). "
            "The remedies are those known for the hot spot (`REMEDIES` in `bench/profiles.py`).",
            "",
        ]
        for profile in profiles:
            out += render_profile(profile)
    elif not missed:
        out += ["Every target was met: nothing to profile.", ""]
    elif missed - NOT_PROFILED.keys():
        out += ["No profile was taken (`--no-profiles`, or the profiler failed: see the console output).", ""]
    unprofiled = [label for name, label in NOT_PROFILED.items() if name in missed]
    if unprofiled:
        out += [
            f"Missed but not profiled (`bench/profiles.py` has no workload for it): {'; '.join(unprofiled)}.",
            "",
        ]
    if results.get("jedi") is not None:
        out += render_jedi(results["jedi"])
    class_figures = [data for name in CLASS_FIGURES if (data := results.get(name)) is not None]
    if class_figures:
        out += render_class_edits(class_figures)
    if results.get("session") is not None:
        out += render_long_session(results["session"])
    if DURATIONS or REUSED:
        out += ["## Commands", "", "Run by `bench/run_all.py`, in this order, each with `--json FILE`:", ""]
        rows = [
            [f"`python bench/{command}`", f"{seconds:.0f} s", "this run"]
            for command, seconds in DURATIONS.items()
        ]
        rows += [
            [f"`python bench/{command}`", f"{seconds:.0f} s", f"an earlier run: {measured}"]
            for command, (seconds, measured) in REUSED.items()
            if command not in DURATIONS
        ]
        out += table(["command", "took", "measured by"], rows)
    return "\n".join(out).rstrip() + "\n"


# --- main -----------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="fewer repetitions: a rough look, not for the record"
    )
    parser.add_argument("--no-peers", action="store_true", help="skip TorchFix and dslinter")
    parser.add_argument("--no-profiles", action="store_true", help="do not profile the missed targets")
    parser.add_argument(
        "--files", nargs="*", default=(), help="source files or folders (default: the corpus)"
    )
    parser.add_argument("--out", default=str(RESULTS), help="the report (default bench/results.md)")
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated figures to measure (cli, latency, ..., session); the others are taken "
        "from --figures, as an earlier run kept them",
    )
    parser.add_argument(
        "--figures", default=str(DEFAULT_FIGURES), help=f"where figures are kept (default {DEFAULT_FIGURES})"
    )
    options = parser.parse_args()

    started = time.perf_counter()
    machine = machine_info()
    files = ["--files", *options.files] if options.files else []
    quick = options.quick
    plan: dict[str, tuple[str, list[str]]] = {
        "cli": (
            "cli_throughput.py",
            ["--rounds", "1" if quick else "3", *(["--no-peers"] if options.no_peers else []), *files],
        ),
        "latency": (
            "editor_latency.py",
            ["--runs", "1" if quick else "3", *(["--edits", "40"] if quick else [])],
        ),
        "requests": ("requests_latency.py", ["--runs", "1" if quick else "3"]),
        "cold": ("cold_start.py", ["--runs", "3" if quick else "7"]),
        "memory": ("memory.py", ["--runs", "1" if quick else "3"]),
        "runtime": ("runtime_overhead.py", ["--rounds", "2" if quick else "7"]),
        "workspace": (
            "workspace_latency.py",
            [
                "--runs",
                "1" if quick else "3",
                *(["--edits", "40", "--workspace-files", "300"] if quick else []),
            ],
        ),
        "jedi": ("jedi_resolution.py", ["--sample", "20" if quick else "5"]),
        "class": ("class_edits.py", ["--rounds", "1" if quick else "5"]),
        "class_1000": ("class_edits.py", ["--class-lines", "1000", "--rounds", "1" if quick else "5"]),
        # Issue 16 asks 20,000 edits; --quick: 1,000 (its windows are then the first and last 100).
        "session": ("long_session.py", ["--edits", "1000" if quick else "20000"]),
    }
    only = {name.strip() for name in options.only.split(",") if name.strip()}
    unknown = only - plan.keys()
    if unknown:
        parser.error(f"--only: no figure {', '.join(sorted(unknown))} (figures: {', '.join(plan)})")
    kept = Path(options.figures).expanduser()
    stamp = f"{machine['date']} at {machine['torchmode']}"

    def measure(name: str, script: str, arguments: list[str], folder: Path) -> dict[str, Any] | None:
        """Run the figure (kept for later runs), or with ``--only`` naming others, take it as kept."""
        if only and name.removeprefix("p-") not in only:
            return kept_figure(kept, name)
        data = run_figure(script, arguments, folder / f"{name}.json")
        command = f"{script} {' '.join(arguments)}".strip()
        if data is not None:
            keep_figure(kept, name, data, command, DURATIONS[command], stamp)
        return data

    results: dict[str, dict[str, Any] | None] = {}
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        for name, (script, arguments) in plan.items():
            if name != "cli":
                arguments = [*arguments, *files]
            results[name] = measure(name, script, arguments, folder)
        _, missed = summary_rows(results)
        profiles: list[dict[str, Any]] = []
        if not options.no_profiles:
            for figure in ("cli", "latency", "requests", "cold", "memory"):
                if figure in missed:
                    extra = ["--documents", "10" if quick else "30"] if figure == "memory" else []
                    if figure == "latency":
                        extra = ["--lines", str(_smallest_missed_size(results))]
                    arguments = ["--figure", figure, *extra, *files]
                    profile = measure(f"p-{figure}", "profiles.py", arguments, folder)
                    if profile is not None:
                        profiles.append(profile)
            for figure in CLASS_FIGURES:
                edits = results.get(figure)
                if figure in missed and edits is not None:
                    arguments = ["--figure", "class", "--file", edits["file"], "--kind", worst_kind(edits)]
                    arguments += ["--rounds", "1" if quick else "3"]
                    profile = measure(f"p-{figure}", "profiles.py", arguments, folder)
                    if profile is not None:
                        profiles.append(profile)
    try:
        load_after = list(os.getloadavg())
    except OSError:
        load_after = []
    duration = time.perf_counter() - started
    command = "make bench" if not quick else "python bench/run_all.py --quick"
    if only:
        command = f"python bench/run_all.py {'--quick ' if quick else ''}--only {','.join(sorted(only))}"
    report = render(results, profiles, machine, load_after, duration, command)
    Path(options.out).write_text(report, encoding="utf-8")
    print(f"\nwrote {options.out} ({duration / 60:.1f} minutes)")
    return 0 if all(data is not None for data in results.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
