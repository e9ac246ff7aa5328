"""The checkout under test, for every process a test starts.

``tests/conftest.py`` puts this checkout's ``server/`` first on ``sys.path`` inside the test
process, but a process the tests start (the language server, ``python -m torchmode``, the
console script) imports whatever ``torchmode`` its interpreter finds: with another editable
install in the virtualenv, the tests would pass against that one. Every such process gets
``checkout_env()``, which puts this checkout's ``server/`` first on ``PYTHONPATH``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SERVER_SOURCE = REPO / "server"
# The package a started process must import: ``torchmode.__file__`` there.
PACKAGE_INIT = SERVER_SOURCE / "torchmode" / "__init__.py"


def checkout_env(base: Mapping[str, str] | None = None, **extra: str) -> dict[str, str]:
    """``base`` (default: this process's environment) with this checkout first on PYTHONPATH."""
    env = dict(os.environ if base is None else base)
    env.update(extra)
    rest = [part for part in env.get("PYTHONPATH", "").split(os.pathsep) if part]
    env["PYTHONPATH"] = os.pathsep.join([str(SERVER_SOURCE), *rest])
    return env


def torchmode_command() -> list[str]:
    """The console script beside this interpreter, else ``python -m torchmode``: with
    ``checkout_env()`` either imports this checkout (a plain ``.pth`` path entry, as
    setuptools' editable install writes, comes after PYTHONPATH)."""
    script = Path(sys.executable).with_name("torchmode")
    return [str(script)] if script.exists() else [sys.executable, "-m", "torchmode"]
