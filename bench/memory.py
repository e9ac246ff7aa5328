"""Figure 5: resident memory of the server with 100 open 1,000-line documents.

    python bench/memory.py [--documents 100] [--size 1000] [--runs 3] [--json OUT]

A server is launched and initialised; its RSS is read (baseline). Then
``--documents`` distinct files of about ``--size`` lines of real training code
(``benchlib.build_module`` with a different starting file for each) are opened
one after another, each followed by its first diagnostics, so every document
has been analysed and whatever the server keeps per document is alive. RSS
(``VmRSS``) and the peak (``VmHWM``) come from ``/proc/<pid>/status``. Median of
the runs, with the smallest and largest beside it.

Target (issue 8): RSS <= 250 MB with 100 open 1,000-line documents.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import Spread, build_module, corpus_files, spread_dict, write_json
from lsp_driver import LspSession, rss_kib

TARGET_MB = 250.0


def memory_run(paths: list[Path]) -> dict[str, float]:
    with LspSession.start() as session:
        session.initialize()
        # One tiny document first: the engine's modules are imported on the first check.
        warm = paths[0].with_name("memory_warm.py")
        warm.write_text("import torch\n", encoding="utf-8")
        session.did_open(warm.as_uri(), warm.read_text(encoding="utf-8"))
        _, seen = session.wait_for_diagnostics(warm.as_uri(), 1)
        baseline = rss_kib(session.pid)
        for path in paths:
            uri = path.resolve().as_uri()
            session.did_open(uri, path.read_text(encoding="utf-8"))
            _, seen = session.wait_for_diagnostics(uri, 1, after=seen)
        time.sleep(0.2)  # let the last publish's bookkeeping finish
        loaded = rss_kib(session.pid)
    return {
        "baseline_mb": baseline["VmRSS"] / 1024,
        "rss_mb": loaded["VmRSS"] / 1024,
        "hwm_mb": loaded["VmHWM"] / 1024,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--documents", type=int, default=100, help="open documents (default 100)")
    parser.add_argument("--size", type=int, default=1000, help="lines per document (default 1000)")
    parser.add_argument("--runs", type=int, default=3, help="server launches (default 3)")
    parser.add_argument(
        "--files", nargs="*", default=(), help="source files or folders (default: the corpus)"
    )
    parser.add_argument("--json", help="write the figures to this JSON file")
    options = parser.parse_args()

    files = corpus_files(options.files)
    paths = [
        build_module(options.size, files, f"memory_{index:03d}.py", skip=index * 3)
        for index in range(options.documents)
    ]
    lines = sum(path.read_text(encoding="utf-8").count("\n") for path in paths)
    runs = [memory_run(paths) for _ in range(options.runs)]
    rss = Spread.of([run["rss_mb"] for run in runs])
    figures: dict[str, Any] = {
        "documents": options.documents,
        "lines": lines,
        "runs": options.runs,
        "target_mb": TARGET_MB,
        **{key: spread_dict([run[key] for run in runs]) for key in ("baseline_mb", "rss_mb", "hwm_mb")},
    }
    per_document = (rss.median - Spread.of([run["baseline_mb"] for run in runs]).median) / options.documents
    figures["per_document_mb"] = per_document
    verdict = "met" if rss.median <= TARGET_MB else "NOT met"
    print(
        f"{options.documents} open documents ({lines} lines): RSS {rss.format('MB', 1)}, "
        f"peak {Spread.of([run['hwm_mb'] for run in runs]).format('MB', 1)}, "
        f"baseline {Spread.of([run['baseline_mb'] for run in runs]).format('MB', 1)}, "
        f"{per_document:.2f} MB per document; target <= {TARGET_MB:.0f} MB: {verdict}"
    )
    write_json(options.json, figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
