"""Garbage-collector settings for long checks, shared by the language server and the CLI.

A full collection walks every live object. Open documents' trees and the analyses the
project keeps are hundreds of thousands to millions of objects: with Python's default
thresholds, full collections doubled the server's p95 edit-to-squiggle time and took a
third of a CLI run over the registry corpus. So what is imported is frozen (it lives as
long as the process, and later collections skip it) and the young generation is
collected every 20,000 allocations instead of 700, so far less survives into the old
one. Trees hold no cycles and are freed by reference counting; analyses hold some
(functions and their parents, analyzers and their project) and wait for a collection.
``TORCHMODE_GC_DEFAULTS=1`` keeps Python's defaults (the benchmarks' comparison, and a
way out should this ever misbehave).
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import os
from collections.abc import Iterator

THRESHOLDS = (20_000, 20, 20)

_freeze_at_exit_registered = False


def disabled() -> bool:
    return bool(os.environ.get("TORCHMODE_GC_DEFAULTS"))


def tune_process() -> None:
    """For the language server: tuned for the rest of the process."""
    if disabled():
        return
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)


@contextlib.contextmanager
def tuned(until_exit: bool = False) -> Iterator[None]:
    """For the CLI: tuned while files are checked, put back afterwards (``main`` also runs
    inside other programs and the tests; objects the caller froze stay frozen).

    At exit everything is frozen: the project and the analyses it kept are garbage in
    cycles by then, and the interpreter's last collection walked and freed them one by
    one, about two million objects and 3.5 s on the corpus, for memory the operating
    system takes back anyway.

    ``until_exit``: the process ends when the caller is done (the command line's own
    process, a ``--jobs`` worker), so nothing is put back. Putting Python's thresholds
    back let the next allocations start a full collection of that garbage, which cost
    as much as the collection at exit had (a tenth of a run over the corpus).
    """
    if disabled():
        yield
        return
    global _freeze_at_exit_registered
    if not _freeze_at_exit_registered:
        _freeze_at_exit_registered = True
        atexit.register(gc.freeze)
    thresholds = gc.get_threshold()
    freeze = gc.get_freeze_count() == 0
    if freeze:
        gc.freeze()
    gc.set_threshold(*THRESHOLDS)
    if until_exit:
        yield
        return
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        if freeze:
            gc.unfreeze()
