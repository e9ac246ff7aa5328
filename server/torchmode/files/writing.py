"""Writing a file so that no reader ever sees part of it."""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from pathlib import Path

# The prefix of the temporary files beside a target while it is written.
TEMPORARY_PREFIX = ".torchmode-tmp-"


def write_atomically(target: Path, data: bytes, keep_mode_of: Path | None = None) -> None:
    """Write ``data`` to a temporary file beside ``target`` and move it into place: a reader
    (another run sharing a cache, the editor reading a report) sees the old file or the new
    one, never half of one. The new file is created like any other (0o666 less the umask),
    or with the permissions of ``keep_mode_of`` (a source file rewritten by ``--fix``).
    Raises ``OSError``; the temporary file is removed on any failure."""
    temporary = target.parent / f"{TEMPORARY_PREFIX}{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    descriptor = os.open(temporary, flags, 0o666)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        if keep_mode_of is not None:
            shutil.copymode(keep_mode_of, temporary)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
