"""The long server fuzz (``make fuzz``): >= 10,000 random incremental edits through the real server.

Same driver and invariants as tests/robustness/test_server_fuzz.py, over every case file and
example. Prints the figures (edits, files, crashes, violations, time) and exits 1 on any
violation or server error.

    python bench/fuzz_server.py [--edits 10000] [--seed 1]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "server"), str(REPO / "tests" / "robustness"), str(REPO / "tests" / "lsp")]

from edits import CORPUS, corpus_texts  # noqa: E402
from lsp_helpers import SERVER, RecordingClient, initialize  # noqa: E402
from server_fuzz import FuzzFigures, error_logs, fuzz_file  # noqa: E402


async def run(total_edits: int, seed: int, batch: int) -> int:
    rng = random.Random(seed)
    corpus = corpus_texts()
    per_file = max(1, -(-total_edits // len(CORPUS)))
    figures = FuzzFigures()
    crashes = 0
    started = time.perf_counter()
    client: RecordingClient = await SERVER.start()  # type: ignore[assignment]
    await initialize(client)
    try:
        for path in CORPUS:
            try:
                await fuzz_file(client, path, corpus, rng, per_file, batch, figures)
            except Exception as error:  # a dead or silent server: count it, restart, go on
                crashes += 1
                figures.violations.append(f"{path.name}: {type(error).__name__}: {error}")
                await client.stop()
                client = await SERVER.start()  # type: ignore[assignment]
                await initialize(client)
        errors = error_logs(client)
    finally:
        await client.shutdown_session()
    elapsed = time.perf_counter() - started
    print(
        f"server fuzz: {figures.edits} edits over {figures.files} files, {figures.requests} requests, "
        f"{figures.publishes} publishes; crashes {crashes}, invariant violations {len(figures.violations)}, "
        f"server errors logged {len(errors)}; {elapsed:.1f} s (seed {seed})"
    )
    for line in [*figures.violations, *errors][:50]:
        print("  " + line)
    return 1 if crashes or figures.violations or errors else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch", type=int, default=8)
    options = parser.parse_args()
    return asyncio.run(run(options.edits, options.seed, options.batch))


if __name__ == "__main__":
    sys.exit(main())
