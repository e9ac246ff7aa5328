"""Figure 2: edit-to-squiggle latency over a real LSP session.

    python bench/editor_latency.py [--sizes 300,1000,5000] [--edits 200] [--runs 3] [--json OUT]

The server runs as the editor runs it (``python -m torchmode.lsp`` over stdio),
with the debounce set to 0 (``initializationOptions: {"debounceMs": 0}``) so
the figure is the server's own work. For each file size, a module of real
PyTorch training code (examples, case files and corpus files concatenated,
see ``benchlib.build_module``) is opened, then typed into: single-character
edits inside a training function near the middle of the file, alternately
inserting ``x`` after an assigned name and deleting it again, each sent as an
incremental ``didChange``. The latency of an edit is the time from writing its
``didChange`` to receiving the ``publishDiagnostics`` of that version; the next
edit is sent after it. p50 and p95 are over the edits of one session; the
figure is the median of the sessions with the smallest and largest beside it.

Targets (issue 8): p95 <= 25 ms (300 lines), 50 ms (1,000), 150 ms (5,000).
"""

from __future__ import annotations

import argparse
import ast
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import (
    Spread,
    build_module,
    corpus_files,
    percentile,
    spread_dict,
    write_json,
)
from lsp_driver import LspSession, position_of

TARGETS_MS = {300: 25.0, 1000: 50.0, 5000: 150.0}


def edit_site(text: str) -> int:
    """The offset just after an assigned name in a training function near the middle of the file."""
    tree = ast.parse(text)
    middle = text.count("\n") // 2
    candidates: list[tuple[int, int]] = []  # (distance to the middle, offset)
    line_starts = [0]
    for index, char in enumerate(text):
        if char == "\n":
            line_starts.append(index + 1)
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        source = ast.get_source_segment(text, node) or ""
        if ".backward(" not in source and ".step(" not in source and ".eval()" not in source:
            continue
        for inner in ast.walk(node):
            if (
                isinstance(inner, ast.Assign)
                and isinstance(inner.targets[0], ast.Name)
                and inner.targets[0].end_col_offset is not None
            ):
                target = inner.targets[0]
                line_text = text[line_starts[target.lineno - 1] :].split("\n", 1)[0]
                if not line_text.isascii():
                    continue
                offset = line_starts[target.lineno - 1] + (target.end_col_offset or 0)
                candidates.append((abs(target.lineno - middle), offset))
                break
    if not candidates:
        raise SystemExit("no training function with an assignment to type into")
    return min(candidates)[1]


def typing_session(path: Path, edits: int, timeout: float, budget: float) -> dict[str, Any]:
    """One server, one open file, ``edits`` edits (fewer if ``budget`` seconds run out first)."""
    text = path.read_text(encoding="utf-8")
    uri = path.resolve().as_uri()
    offset = edit_site(text)
    where = position_of(text, offset)
    latencies: list[float] = []
    with LspSession.start() as session:
        session.initialize()
        session.did_open(uri, text, version=1)
        _, seen = session.wait_for_diagnostics(uri, 1, timeout=timeout)
        deadline = time.perf_counter() + budget
        for index in range(edits):
            # Stop after a whole insert/delete pair, so the text is back to the original.
            if index % 2 == 0 and index >= 20 and time.perf_counter() > deadline:
                break
            version = index + 2
            if index % 2 == 0:
                change = {"range": {"start": where, "end": where}, "text": "x"}
            else:
                end = {"line": where["line"], "character": where["character"] + 1}
                change = {"range": {"start": where, "end": end}, "text": ""}
            sent = session.did_change(uri, version, [change])
            message, seen = session.wait_for_diagnostics(uri, version, after=seen, timeout=timeout)
            latencies.append(message.received - sent)
    return {
        "p50": percentile(latencies, 0.50),
        "p95": percentile(latencies, 0.95),
        "max": max(latencies),
        "edits": len(latencies),
        "stopped_at_budget": len(latencies) < edits,
        "line": where["line"] + 1,
    }


def in_process_check(path: Path, repeat: int = 5) -> float:
    """A from-scratch check of the same text in this process: what an edit would cost without reuse."""
    from torchmode.engine import check_document
    from torchmode.syntax import Document

    text = path.read_text(encoding="utf-8")
    check_document(Document(text, str(path)))
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        check_document(Document(text, str(path)))
        samples.append(time.perf_counter() - start)
    return Spread.of(samples).median


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--sizes", default="300,1000,5000", help="file sizes in lines (default 300,1000,5000)"
    )
    parser.add_argument("--edits", type=int, default=200, help="edits per session (default 200)")
    parser.add_argument("--runs", type=int, default=3, help="sessions per size (default 3)")
    parser.add_argument(
        "--files", nargs="*", default=(), help="source files or folders (default: the corpus)"
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=90.0,
        help="seconds per session: a slower session stops early, after at least 20 edits (default 90)",
    )
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for one publish")
    parser.add_argument("--json", help="write the figures to this JSON file")
    options = parser.parse_args()

    files = corpus_files(options.files)
    figures: dict[str, Any] = {"edits": options.edits, "runs": options.runs, "sizes": []}
    for size in (int(part) for part in options.sizes.split(",")):
        path = build_module(size, files, f"latency_{size}.py")
        lines = path.read_text(encoding="utf-8").count("\n")
        sessions = [
            typing_session(path, options.edits, options.timeout, options.budget) for _ in range(options.runs)
        ]
        full_check = in_process_check(path)
        row = {
            "size": size,
            "lines": lines,
            "file": path.name,
            "edit_line": sessions[0]["line"],
            "edits_done": [run["edits"] for run in sessions],
            "p50": spread_dict([run["p50"] for run in sessions]),
            "p95": spread_dict([run["p95"] for run in sessions]),
            "max": spread_dict([run["max"] for run in sessions]),
            "full_check": full_check,
            "target_p95_ms": TARGETS_MS.get(size),
        }
        figures["sizes"].append(row)
        p50 = Spread.of([run["p50"] for run in sessions])
        p95 = Spread.of([run["p95"] for run in sessions])
        target = TARGETS_MS.get(size)
        verdict = ""
        if target is not None:
            verdict = (
                f"; target p95 <= {target:.0f} ms: {'met' if p95.median * 1000 <= target else 'NOT met'}"
            )
        edits_done = "/".join(str(run["edits"]) for run in sessions)
        print(
            f"{lines:6d} lines, edits {edits_done} at line {row['edit_line']}: "
            f"p50 {p50.format('ms', 1, 1000)}, p95 {p95.format('ms', 1, 1000)}; "
            f"from-scratch check in-process {full_check * 1000:.1f} ms{verdict}",
            flush=True,
        )
    write_json(options.json, figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
