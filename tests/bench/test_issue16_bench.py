"""Issue 16's figures in ``make bench``: the edit kinds in a class (figure 10, on two files)
and the long session (figure 11) run on tiny inputs, and their summary rows, verdicts,
sections and profile render. No timing is asserted: machines differ; verdicts are checked
only on made-up figures, where the right answer is known.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from test_bench_smoke import BENCH, EXAMPLES, ROOT, bench_module

from support.checkout import checkout_env

TRAINER = ROOT / "tests" / "engine" / "incremental_sources" / "trainer_class.py"
KINDS = ("character", "enter", "paste", "typing")

RUNS: dict[str, list[str]] = {
    # The largest of the files given with a class: the trainer (126 lines).
    "class": ["class_edits.py", "--rounds", "1", "--files", EXAMPLES, str(TRAINER)],
    # The class closest to 10 lines: call_chain.py's Net (no file here is class-based).
    "class_1000": [
        "class_edits.py",
        "--class-lines",
        "10",
        "--rounds",
        "1",
        "--files",
        EXAMPLES,
        str(TRAINER),
    ],
    "session": ["long_session.py", "--documents", "2", "--edits", "8", "--size", "150", "--files", EXAMPLES],
}


def test_class_edits_on_two_files_and_the_long_session_run_and_render(tmp_path: Path) -> None:
    processes = {}
    for name, (script, *arguments) in RUNS.items():
        out = tmp_path / f"{name}.json"
        command = [sys.executable, str(BENCH / script), *arguments, "--json", str(out)]
        process = subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=checkout_env()
        )
        processes[name] = (process, out)
    results: dict[str, Any] = {}
    for name, (process, out) in processes.items():
        output, _ = process.communicate(timeout=300)
        assert process.returncode == 0, f"{RUNS[name][0]} failed:\n{output.decode(errors='replace')}"
        results[name] = json.loads(out.read_text(encoding="utf-8"))

    big, small = results["class"], results["class_1000"]
    assert (big["name"], big["class"], big["method"]) == (
        "tests/engine/incremental_sources/trainer_class.py",
        "Trainer",
        "training_step",
    )
    assert (small["name"], small["class"], small["class_lines"]) == ("examples/call_chain.py", "Net", 10)
    assert "closest to 10 lines" in small["chosen_by"] and "largest" in big["chosen_by"]
    for edits in (big, small):
        assert edits["target_p95_ms"] == 25.0  # both small: the 1,000-line target is the nearer
        assert tuple(edits["in_process"]) == KINDS and set(edits["lsp"]) == {*KINDS, "stale_publishes"}
        for kind in KINDS:
            row = edits["in_process"][kind]
            assert row["versions"] > 0 and row["incremental_p50"] > 0 and row["ratio_p50"] > 0
            assert row["versions"] == edits["lsp"][kind]["versions"]
            assert 0 < edits["lsp"][kind]["p50"] <= edits["lsp"][kind]["p95"] <= edits["lsp"][kind]["max"]
        # Typing passes through versions that do not parse; the other kinds always parse.
        assert edits["in_process"]["typing"]["parsed"] < edits["in_process"]["typing"]["versions"]
        assert edits["in_process"]["paste"]["parsed"] == edits["in_process"]["paste"]["versions"] == 2
        assert edits["lsp"]["stale_publishes"] == 0

    session = results["session"]
    assert session["edits"] == 8 and session["stale_publishes"] == 0 and session["missing_publishes"] == 0
    assert session["rss_end_mb"] > 10 and 0 < session["first_p50"] <= session["first_p95"]
    assert session["target_rss_growth"] == 0.10

    run_all = bench_module("run_all")
    report = run_all.render(results, [], bench_module("benchlib").machine_info(), [0.0], 1.0, "make bench")
    section = report.split("## 10. Edits in a method of a big class", 1)[1].split("\n## ", 1)[0]
    assert "`tests/engine/incremental_sources/trainer_class.py`: 126 lines" in section
    assert "`examples/call_chain.py`" in section
    kind_rows = [
        line for line in section.splitlines() if line.startswith(tuple(f"| {kind} |" for kind in KINDS))
    ]
    assert len(kind_rows) == 8 and all(line.count("|") == 10 for line in kind_rows)
    session_section = report.split("## 11. A long editing session", 1)[1]
    assert "2 open documents" in session_section and "8 edits round the documents" in session_section
    assert "Stale publishes: 0; versions never published (within the timeout): 0." in session_section
    summary = report.split("## Summary", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in summary.splitlines() if line.startswith(("| 10.", "| 11."))]
    # Per file: p95 of the worst kind and stale publishes; the session: RSS, p95, stale.
    assert len(rows) == 7 and all(line.count("|") == 5 for line in rows)
    assert all(line.endswith("| 0 | met |") for line in rows if "10. stale publishes" in line)


def _class_figure(p95_ms: dict[str, float], target: float, stale: int = 0) -> dict[str, Any]:
    in_process = {
        kind: {
            "versions": 4,
            "parsed": 4,
            "incremental_p50": 0.001,
            "incremental_p95": 0.002,
            "scratch_p50": 0.01,
            "ratio_p50": 0.1,
        }
        for kind in KINDS
    }
    lsp: dict[str, Any] = {
        kind: {"versions": 4, "p50": value / 2000, "p95": value / 1000, "max": value / 1000}
        for kind, value in p95_ms.items()
    }
    lsp["stale_publishes"] = stale
    return {
        "file": "/somewhere/project-1.0-0123456789/project/trainer.py",
        "name": "project/trainer.py",
        "chosen_by": "given with --file",
        "lines": 1000 if target == 25 else 4768,
        "class": "Trainer",
        "class_lines": 990,
        "method": "fit",
        "method_line": 500,
        "rounds": 1,
        "target_p95_ms": target,
        "in_process": in_process,
        "lsp": lsp,
    }


SESSION = {
    "documents": 20,
    "size": 300,
    "edits": 20000,
    "window": 1000,
    "rss_open_mb": 100.0,
    "rss_early_mb": 110.0,
    "rss_end_mb": 132.0,
    "rss_growth": 0.2,
    "hwm_mb": 140.0,
    "first_p50": 0.010,
    "first_p95": 0.020,
    "last_p50": 0.010,
    "last_p95": 0.021,
    "stale_publishes": 0,
    "missing_publishes": 0,
    "target_rss_growth": 0.10,
    "p95_tolerance": 0.10,
}


def test_verdicts_of_the_issue_16_rows() -> None:
    """Made-up figures: the verdict follows the worst kind's p95 against the file's own target,
    stale publishes and the session's targets; what missed is profiled where it can be."""
    run_all = bench_module("run_all")
    results = {
        "class": _class_figure({"character": 10, "enter": 12, "paste": 49, "typing": 30}, 50.0),
        "class_1000": _class_figure({"character": 10, "enter": 12, "paste": 20, "typing": 26}, 25.0, stale=1),
        "session": SESSION,
    }
    rows, missed = run_all.summary_rows(results)
    by_figure = {row[0]: row for row in rows}
    big = by_figure[
        "10. edit in a method of a class -> diagnostics p95, worst of the four kinds, 4,768 lines "
        "(`project/trainer.py`, one class of 990)"
    ]
    assert big[1:] == [
        "49.0 ms (paste; character 10.0, enter 12.0, paste 49.0, typing 30.0 ms)",
        "<= 50 ms each",
        "met",
    ]
    small = by_figure[
        "10. edit in a method of a class -> diagnostics p95, worst of the four kinds, 1,000 lines "
        "(`project/trainer.py`, one class of 990)"
    ]
    assert small[1].startswith("26.0 ms (typing;") and small[2:] == ["<= 25 ms each", "**not met**"]
    assert by_figure["10. stale publishes over those edits, 1,000 lines"][1:] == ["1", "0", "**not met**"]
    growth = next(row for row in rows if "RSS growth" in row[0])
    assert growth[1:] == ["+20.0% (110 MB -> 132 MB)", "<= +10%", "**not met**"]
    p95 = next(row for row in rows if "p95 of the last 1,000 edits" in row[0])
    assert p95[1:] == ["21.0 ms against 20.0 ms", "no worse (at most +10%)", "met"]  # within the tolerance
    assert missed == {"class_1000", "stale", "session"}
    assert run_all.worst_kind(results["class_1000"]) == "typing"

    report = run_all.render(results, [], bench_module("benchlib").machine_info(), [0.0], 1.0, "make bench")
    assert "Every target was met" not in report
    assert "No profile was taken" in report  # class_1000 missed and none was given
    assert (
        "Missed but not profiled (`bench/profiles.py` has no workload for it): 11. long session; stale"
        in report
    )
    assert "| last 1,000 | 10.0 ms | 21.0 ms |" in report and "| +20.0% |" in report


def test_the_class_edits_profile_renders() -> None:
    """``profiles.py --figure class``: cProfile of the in-process incremental path, functions
    named as py-spy names them, rendered like the other profiles."""
    profile = bench_module("profiles").profile_class_edits(str(TRAINER), "typing", 1, top=5)
    assert profile["kind"] == "cprofile" and profile["samples"] == 24  # 22 typed versions, body, undo
    assert profile["hot_path"][0]["function"] == "check_document (torchmode/engine.py)"
    names = [row["function"] for key in ("hot_path", "inclusive", "own") for row in profile[key]]
    assert any(name.startswith("ModuleAnalyzer.") for name in names)
    assert all(0 < row["share"] <= 1 for key in ("hot_path", "inclusive", "own") for row in profile[key])
    assert len(profile["own"]) == 5
    rendered = "\n".join(bench_module("run_all").render_profile(profile))
    assert rendered.startswith("### Profile: edits in a method of a class (figure 10), `trainer_class.py`")
    assert "cProfile of 24 versions of the `typing` edit (1 round) typed into `training_step`" in rendered


def test_choose_file_prefers_a_class_based_file(tmp_path: Path) -> None:
    """``--class-lines``: among class-based files (the class at least 3/4 of the file), the
    class closest to N lines, though a file that is not class-based has a closer one."""
    class_edits = bench_module("class_edits")

    def write(name: str, class_lines: int, other_lines: int) -> Path:
        body = "".join(
            f"    def m{index}(self):\n        return {index}\n" for index in range(class_lines // 2)
        )
        path = tmp_path / name
        path.write_text("class C:\n" + body + "x = 1\n" * other_lines, encoding="utf-8")
        return path

    mostly_code = write("mostly_code.py", 30, 100)
    class_based = write("class_based.py", 20, 2)
    files = [str(mostly_code), str(class_based)]
    assert class_edits.choose_file(None, files, 30)[0] == class_based
    assert class_edits.choose_file(None, files, None)[0] == mostly_code  # the largest, without --class-lines
    assert class_edits.choose_file(str(mostly_code), files, 30) == (mostly_code, "given with --file")
    assert (class_edits.target_p95_ms(1030), class_edits.target_p95_ms(4768)) == (25.0, 50.0)


def test_a_kept_figure_is_reported_as_measured_by_an_earlier_run(tmp_path: Path) -> None:
    """``--only``: a figure not measured again is read back as an earlier run kept it, and the
    report's commands say which run measured each one; a figure never kept is not invented."""
    run_all = bench_module("run_all")
    run_all.DURATIONS.clear()
    run_all.REUSED.clear()
    kept = tmp_path / "figures"
    run_all.keep_figure(
        kept, "session", SESSION, "long_session.py --edits 20000", 1234.0, "2026-12-06 12:00 UTC at abc"
    )
    assert run_all.kept_figure(kept, "session") == SESSION
    assert run_all.kept_figure(kept, "class") is None
    (kept / "class.json").write_text("{not json", encoding="utf-8")
    (kept / "class.run.json").write_text("{}", encoding="utf-8")
    assert run_all.kept_figure(kept, "class") is None

    run_all.DURATIONS["cli_throughput.py --rounds 3"] = 60.0
    report = run_all.render(
        {"session": SESSION}, [], bench_module("benchlib").machine_info(), [0.0], 1.0, "make bench"
    )
    assert "| `python bench/cli_throughput.py --rounds 3` | 60 s | this run |" in report
    earlier = "| 1234 s | an earlier run: 2026-12-06 12:00 UTC at abc |"
    assert f"| `python bench/long_session.py --edits 20000` {earlier}" in report
    run_all.DURATIONS.clear()
    run_all.REUSED.clear()
