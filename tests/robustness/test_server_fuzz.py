"""Bounded server fuzz: deterministic incremental edits through the real server over stdio."""

from __future__ import annotations

import random

from edits import CORPUS, corpus_texts
from lsp_helpers import RecordingClient, initialize
from server_fuzz import FuzzFigures, error_logs, fuzz_file

# Files with non-ASCII text, CRLF and fixes are all made by the edits themselves.
FILES = [path for path in CORPUS if path.parent.name in ("examples", "tm101", "tm202")][:6]


async def test_incremental_edits_keep_server_invariants(client: RecordingClient) -> None:
    await initialize(client)
    corpus = corpus_texts()
    rng = random.Random(20261127)
    figures = FuzzFigures()
    for path in FILES:
        await fuzz_file(client, path, corpus, rng, edits=120, batch=6, figures=figures)
    assert figures.violations == []
    assert error_logs(client) == []
    assert figures.edits == 120 * len(FILES)
    assert figures.publishes >= len(FILES)
