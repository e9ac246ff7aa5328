"""Figure 4: cold start, from launching the server to the first diagnostics of a 1,000-line file.

    python bench/cold_start.py [--size 1000] [--runs 5] [--json OUT]

Each run launches ``python -m torchmode.lsp`` as an editor does, sends
``initialize``/``initialized`` and, at once, ``didOpen`` of a 1,000-line file of
real training code; the figure is the time from just before the process is
spawned to the receipt of that file's first ``publishDiagnostics`` (the
``initialize`` round trip is shown too). Median of the runs, with the smallest
and largest beside it.

Then ``python -X importtime``, over the server's imports and the first check of
the same file, gives the top offenders: the slowest top-level imports by
cumulative time, and the slowest single modules by their own time.

Target (issue 8): <= 1.0 s.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import ROOT, Spread, build_module, corpus_files, server_environment, spread_dict, write_json
from lsp_driver import LspSession

TARGET_SECONDS = 1.0
IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")
FIRST_CHECK = (
    "import sys; import torchmode.lsp.server; from torchmode.engine import check_source; "
    "path = sys.argv[1]; check_source(open(path, encoding='utf-8').read(), path)"
)


def cold_run(path: Path) -> dict[str, float]:
    text = path.read_text(encoding="utf-8")
    uri = path.resolve().as_uri()
    with LspSession.start() as session:
        initialize = session.initialize()
        session.did_open(uri, text)
        message, _ = session.wait_for_diagnostics(uri, 1)
        return {"first_diagnostics": message.received - session.started, "initialize": initialize}


def import_times(path: Path) -> dict[str, Any]:
    """``-X importtime`` of the server's imports plus one check: top offenders, in seconds."""
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", FIRST_CHECK, str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env=server_environment(),
    )
    rows: list[tuple[int, int, int, str]] = []  # (self us, cumulative us, depth, module)
    for line in completed.stderr.splitlines():
        match = IMPORT_LINE.match(line)
        if match:
            depth = (len(match.group(3)) - 1) // 2
            rows.append((int(match.group(1)), int(match.group(2)), depth, match.group(4)))
    top_level = [row for row in rows if row[2] == 0]
    by_package: dict[str, int] = {}
    for own, _, _, module in rows:
        package = module.split(".")[0]
        by_package[package] = by_package.get(package, 0) + own
    # The heaviest subtrees below the entry point: what a lazy import would take off the start.
    nested = [row for row in rows if row[2] >= 1]
    return {
        "total": sum(row[1] for row in top_level) / 1e6,
        "by_package": [
            {"package": package, "seconds": own / 1e6}
            for package, own in sorted(by_package.items(), key=lambda item: -item[1])[:12]
        ],
        "top_cumulative": [
            {"module": module, "seconds": cumulative / 1e6, "depth": depth}
            for _, cumulative, depth, module in sorted(nested, key=lambda row: -row[1])[:15]
        ],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size", type=int, default=1000, help="file size in lines (default 1000)")
    parser.add_argument("--runs", type=int, default=5, help="server launches (default 5)")
    parser.add_argument(
        "--files", nargs="*", default=(), help="source files or folders (default: the corpus)"
    )
    parser.add_argument("--json", help="write the figures to this JSON file")
    options = parser.parse_args()

    path = build_module(options.size, corpus_files(options.files), f"cold_{options.size}.py")
    lines = path.read_text(encoding="utf-8").count("\n")
    cold_run(path)  # untimed: writes the bytecode caches a fresh install would have after its first start
    runs = [cold_run(path) for _ in range(options.runs)]
    imports = import_times(path)
    first = Spread.of([run["first_diagnostics"] for run in runs])
    initialize = Spread.of([run["initialize"] for run in runs])
    figures: dict[str, Any] = {
        "lines": lines,
        "runs": options.runs,
        "first_diagnostics": spread_dict([run["first_diagnostics"] for run in runs]),
        "initialize": spread_dict([run["initialize"] for run in runs]),
        "imports": imports,
        "target_seconds": TARGET_SECONDS,
    }
    verdict = "met" if first.median <= TARGET_SECONDS else "NOT met"
    print(
        f"start to first diagnostics ({lines} lines): {first.format('s', 3)} "
        f"(initialize round trip {initialize.format('ms', 1, 1000)}); target <= {TARGET_SECONDS} s: {verdict}"
    )
    print(f"imports (-X importtime, server + first check): {imports['total']:.3f} s; by package (own time):")
    for row in imports["by_package"][:8]:
        print(f"  {row['seconds'] * 1000:7.1f} ms  {row['package']}")
    print("heaviest imports (cumulative):")
    for row in imports["top_cumulative"][:8]:
        print(f"  {row['seconds'] * 1000:7.1f} ms  {'  ' * (row['depth'] - 1)}{row['module']}")
    write_json(options.json, figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
