"""Installed as ``sitecustomize.py`` in the test's "user Python": records what its processes do.

The offline tests must show that the extension ran no pip, made no virtual environment and
opened no connection, and that the server imported the libraries the .vsix carries. Every
process of this interpreter (the extension's probe, the server, and anything the extension
might run with it, such as ``python -m venv`` or ``python -m pip``) imports sitecustomize at
start (``-I`` does not stop that; only ``-S`` would), so this file appends JSON lines to
``$TORCHMODE_TEST_PROCESS_LOG``:

* ``start``: the process's command line (``sys.orig_argv``) and the pip settings it sees;
* ``spawn``: a subprocess, exec or spawn it asked for (PEP 578 audit events);
* ``network``: a DNS lookup or socket connection;
* ``module``: where each watched package (pygls, lsprotocol...) was first read from.

Without the variable it does nothing. An audit hook must never raise into the program it
watches, so every failure here is swallowed.
"""

from __future__ import annotations

import json
import os
import re
import sys
from typing import Any

_LOG = os.environ.get("TORCHMODE_TEST_PROCESS_LOG")
_WATCHED = (
    "torchmode",
    "pygls",
    "lsprotocol",
    "cattrs",
    "attrs",
    "attr",
    "typing_extensions",
    "exceptiongroup",
)
_MODULE_PATH = re.compile(r"[/\\](" + "|".join(_WATCHED) + r")(?:[/\\]|\.py)")
_SPAWN_EVENTS = {
    "subprocess.Popen",
    "os.system",
    "os.exec",
    "os.posix_spawn",
    "os.spawn",
    "os.fork",
    "os.forkpty",
}
_NETWORK_EVENTS = {"socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "urllib.Request"}
_seen_modules: set[str] = set()
_busy = False


def _write(record: dict[str, Any]) -> None:
    global _busy
    if _busy or _LOG is None:
        return
    _busy = True  # the write below raises an "open" event of its own
    try:
        record["pid"] = os.getpid()
        with open(_LOG, "a", encoding="utf-8") as log:
            log.write(json.dumps(record, default=repr) + "\n")
    except Exception:
        pass
    finally:
        _busy = False


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if _busy:
        return
    try:
        if event == "open" and isinstance(args[0], str):
            match = _MODULE_PATH.search(args[0])
            if match and match.group(1) not in _seen_modules:
                _seen_modules.add(match.group(1))
                _write({"event": "module", "name": match.group(1), "path": args[0]})
        elif event in _SPAWN_EVENTS:
            _write({"event": "spawn", "kind": event, "args": [repr(arg) for arg in args[:2]]})
        elif event in _NETWORK_EVENTS:
            _write({"event": "network", "kind": event, "args": [repr(arg) for arg in args[:2]]})
    except Exception:
        pass


if _LOG is not None:
    _write(
        {
            "event": "start",
            "argv": list(getattr(sys, "orig_argv", sys.argv)),
            "executable": sys.executable,
            "pip": {key: value for key, value in os.environ.items() if key.startswith("PIP_")},
        }
    )
    sys.addaudithook(_hook)
