"""Figure 3: hover and code-action latency on a 1,000-line file, over a real LSP session.

    python bench/requests_latency.py [--size 1000] [--requests 200] [--runs 3] [--json OUT]

The file (real training code, see ``benchlib.build_module``) is opened and its
first diagnostics awaited, so every request is served for a document that is
already analysed, as in an editor where the user points and clicks after
typing. Then, one request at a time, each timed from writing the request to
receiving its response:

* ``textDocument/hover`` at the start of every call's callee (``model`` in
  ``model(x)``: the inferred mode; ``eval`` in ``model.eval()``: what it does;
  any other name: usually nothing), spread evenly over the file;
* ``textDocument/codeAction`` as an editor sends it on every cursor move: at
  each diagnostic with that diagnostic in the context, then at lines spread
  evenly over the file with an empty context; no ``only`` filter, so fix-all
  is computed (once per version) as well as quick fixes.

p50 and p95 are over the requests of one session; the figure is the median of
the sessions, with the smallest and largest beside it. Target (issue 8): p95 <= 30 ms.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import Spread, build_module, corpus_files, percentile, spread_dict, write_json
from lsp_driver import LspSession

TARGET_MS = 30.0


def hover_positions(text: str, count: int) -> list[dict[str, int]]:
    """LSP positions of callees (ASCII lines only, so columns are UTF-16 columns), spread evenly."""
    lines = text.splitlines()
    found: list[dict[str, int]] = []
    for node in ast.walk(ast.parse(text)):
        if not isinstance(node, ast.Call):
            continue
        callee = node.func
        if isinstance(callee, ast.Attribute) and callee.end_col_offset is not None:
            line, column = callee.end_lineno or callee.lineno, callee.end_col_offset - len(callee.attr)
        elif isinstance(callee, ast.Name):
            line, column = callee.lineno, callee.col_offset
        else:
            continue
        if lines[line - 1].isascii():
            found.append({"line": line - 1, "character": column})
    found.sort(key=lambda position: (position["line"], position["character"]))
    return _spread(found, count)


def _spread(items: list[Any], count: int) -> list[Any]:
    if not items:
        return []
    step = len(items) / count
    return [items[int(index * step) % len(items)] for index in range(count)]


def code_action_params(uri: str, text: str, diagnostics: list[dict[str, Any]], count: int) -> list[Any]:
    params = [
        {"textDocument": {"uri": uri}, "range": diagnostic["range"], "context": {"diagnostics": [diagnostic]}}
        for diagnostic in diagnostics[:count]
    ]
    lines = text.count("\n")
    for line in _spread(list(range(lines)), count - len(params)):
        position = {"line": line, "character": 0}
        params.append(
            {
                "textDocument": {"uri": uri},
                "range": {"start": position, "end": position},
                "context": {"diagnostics": []},
            }
        )
    return params


def session(path: Path, requests: int) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    uri = path.resolve().as_uri()
    hovers: list[float] = []
    actions: list[float] = []
    answered = 0
    offered = 0
    with LspSession.start() as lsp:
        lsp.initialize()
        lsp.did_open(uri, text)
        message, _ = lsp.wait_for_diagnostics(uri, 1)
        diagnostics = message.body["params"]["diagnostics"]
        for position in hover_positions(text, requests):
            result, elapsed = lsp.request(
                "textDocument/hover", {"textDocument": {"uri": uri}, "position": position}
            )
            hovers.append(elapsed)
            answered += result is not None
        for params in code_action_params(uri, text, diagnostics, requests):
            result, elapsed = lsp.request("textDocument/codeAction", params)
            actions.append(elapsed)
            offered += bool(result)
    return {
        "hover": {"p50": percentile(hovers, 0.5), "p95": percentile(hovers, 0.95), "max": max(hovers)},
        "codeAction": {
            "p50": percentile(actions, 0.5),
            "p95": percentile(actions, 0.95),
            "max": max(actions),
        },
        "hovers_answered": answered,
        "hovers": len(hovers),
        "actions_with_result": offered,
        "actions": len(actions),
        "diagnostics": len(diagnostics),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size", type=int, default=1000, help="file size in lines (default 1000)")
    parser.add_argument("--requests", type=int, default=200, help="requests of each kind per session")
    parser.add_argument("--runs", type=int, default=3, help="sessions (default 3)")
    parser.add_argument(
        "--files", nargs="*", default=(), help="source files or folders (default: the corpus)"
    )
    parser.add_argument("--json", help="write the figures to this JSON file")
    options = parser.parse_args()

    path = build_module(options.size, corpus_files(options.files), f"requests_{options.size}.py")
    lines = path.read_text(encoding="utf-8").count("\n")
    runs = [session(path, options.requests) for _ in range(options.runs)]
    figures: dict[str, Any] = {
        "lines": lines,
        "file": path.name,
        "requests": options.requests,
        "runs": options.runs,
        "target_p95_ms": TARGET_MS,
        "diagnostics": runs[0]["diagnostics"],
        "hovers_answered": runs[0]["hovers_answered"],
        "actions_with_result": runs[0]["actions_with_result"],
    }
    for kind in ("hover", "codeAction"):
        figures[kind] = {
            statistic: spread_dict([run[kind][statistic] for run in runs])
            for statistic in ("p50", "p95", "max")
        }
        p50 = Spread.of([run[kind]["p50"] for run in runs])
        p95 = Spread.of([run[kind]["p95"] for run in runs])
        verdict = "met" if p95.median * 1000 <= TARGET_MS else "NOT met"
        print(
            f"{kind:10s} on {lines} lines: p50 {p50.format('ms', 1, 1000)}, p95 {p95.format('ms', 1, 1000)}; "
            f"target p95 <= {TARGET_MS:.0f} ms: {verdict}"
        )
    print(
        f"  {figures['hovers_answered']}/{options.requests} hovers had content; "
        f"{figures['actions_with_result']}/{options.requests} code-action requests offered actions; "
        f"{figures['diagnostics']} diagnostics"
    )
    write_json(options.json, figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
