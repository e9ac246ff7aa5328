"""Parses in two threads at once, as the language server's two check threads run them.

CPython 3.11 builds the ``ast`` objects of a parse with a depth count that every thread
shares; a thread switch in the middle (a garbage collection running a finalizer) let the
other thread's parse move it, and either parse failed with ``SystemError: AST constructor
recursion depth mismatch``. In the server that was a check failed for nothing, or, in the
incremental parse, a version never published. ``syntax.document`` parses one at a time.
"""

from __future__ import annotations

import gc
import threading
from pathlib import Path

from torchmode.syntax import Document
from torchmode.syntax.document import parse

SEED = Path(__file__).resolve().parents[2] / "examples" / "seed_loop.py"
PARSES = 150


class _Finalized:
    """Garbage in a cycle with a finalizer: collecting it runs Python code, where threads switch."""

    def __init__(self, others: list[_Finalized]) -> None:
        self.others = others

    def __del__(self) -> None:
        self.others = []


def test_parses_in_two_threads_at_once_all_succeed() -> None:
    text = SEED.read_text(encoding="utf-8") * 3
    failures: list[BaseException] = []
    trees: list[bool] = []

    def parse_many() -> None:
        for index in range(PARSES):
            garbage: list[_Finalized] = []
            garbage.extend(_Finalized(garbage) for _ in range(50))
            del garbage
            try:
                tree = parse(text) if index % 2 else Document(text).tree
            except BaseException as error:  # what a check thread would have met
                failures.append(error)
                continue
            trees.append(tree is not None)

    thresholds = gc.get_threshold()
    gc.set_threshold(700, 10, 10)  # Python's own: collections in the middle of parses
    try:
        threads = [threading.Thread(target=parse_many) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        gc.set_threshold(*thresholds)
    assert failures == []
    assert trees == [True] * (2 * PARSES)
