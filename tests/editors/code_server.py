"""code-server (VS Code for the browser) on 127.0.0.1 with a throwaway profile, for the tests.

Each instance gets its own config file, user-data and extensions folders, so
nothing is read from or written to the user's home; the extension gallery and the
Python package index point at a closed local port (``editor_tools.offline_env``), so
nothing leaves the machine and the extension must start without pip. code-server and everything
it spawns (extension host, the torchmode server) run in their own process group,
which ``stop`` ends as a whole.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import editor_tools

EXTENSION_ID = "torchmode.torchmode"

# VS Code settings for a quiet, deterministic window (see tests/editors/README.md).
BASE_SETTINGS: dict[str, Any] = {
    "security.workspace.trust.enabled": False,
    "workbench.startupEditor": "none",
    "workbench.tips.enabled": False,
    "extensions.autoCheckUpdates": False,
    "extensions.autoUpdate": False,
    "extensions.ignoreRecommendations": True,
    "telemetry.telemetryLevel": "off",
    "update.mode": "none",
    "chat.disableAIFeatures": True,
    "editor.hover.delay": 100,
    "editor.minimap.enabled": False,
    "window.commandCenter": False,
    "workbench.secondarySideBar.defaultVisibility": "hidden",
    "files.autoSave": "off",
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# Workspace trust on, and no prompt: a folder opened for the first time stays untrusted
# (restricted mode) until someone trusts it, which no test does.
UNTRUSTED_SETTINGS: dict[str, Any] = {
    "security.workspace.trust.enabled": True,
    "security.workspace.trust.startupPrompt": "never",
    "security.workspace.trust.emptyWindow": False,
}


class CodeServer:
    def __init__(
        self,
        home: Path,
        settings: dict[str, Any],
        env: dict[str, str] | None = None,
        workspace_trust: bool = False,
    ) -> None:
        self.home = home
        self.workspace_trust = workspace_trust
        self.user_data = home / "user-data"
        self.extensions = home / "extensions"
        self.config = home / "config.yaml"
        self.log_path = home / "code-server.log"
        self.port = free_port()
        self.node = editor_tools.ensure_node() / "bin" / "node"
        self.entry = editor_tools.ensure_code_server()
        self.extra_env = env or {}
        self.process: subprocess.Popen[bytes] | None = None
        (self.user_data / "User").mkdir(parents=True, exist_ok=True)
        self.extensions.mkdir(parents=True, exist_ok=True)
        self.config.write_text(f"bind-addr: 127.0.0.1:{self.port}\nauth: none\ncert: false\n")
        (self.user_data / "User" / "settings.json").write_text(
            json.dumps(
                {**BASE_SETTINGS, **(UNTRUSTED_SETTINGS if workspace_trust else {}), **settings}, indent=2
            )
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _env(self) -> dict[str, str]:
        env = editor_tools.offline_env(editor_tools.node_env())
        env["EXTENSIONS_GALLERY"] = editor_tools.DEAD_GALLERY
        env.update(self.extra_env)
        return env

    def _base_args(self) -> list[str]:
        return [
            str(self.node),
            str(self.entry),
            "--config",
            str(self.config),
            "--user-data-dir",
            str(self.user_data),
            "--extensions-dir",
            str(self.extensions),
        ]

    def install_extension(self, vsix: Path) -> None:
        subprocess.run(
            [*self._base_args(), "--install-extension", str(vsix)],
            env=self._env(),
            check=True,
            timeout=180,
            capture_output=True,
        )

    def start(self, folder: Path) -> None:
        args = [
            *self._base_args(),
            "--bind-addr",
            f"127.0.0.1:{self.port}",
            "--auth",
            "none",
            "--disable-telemetry",
            "--disable-update-check",
            *([] if self.workspace_trust else ["--disable-workspace-trust"]),
            "--disable-getting-started-override",
            str(folder),
        ]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                args,
                env=self._env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stop() ends all it spawned
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"code-server exited at start:\n{self.log_tail()}")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response,
            ):
                if response.status == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"code-server did not answer on {self.url}:\n{self.log_tail()}")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, sig)
            try:
                process.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
        # Orphans of the group (the extension host, the language server) go too.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def extension_logs(self) -> str:
        """The torchmode output channel (whole) and the extension host logs (their ends)."""
        parts = []
        for pattern, limit in (
            ("**/*torchmode*.log", None),
            ("**/exthost.log", 6000),
            ("**/remoteexthost.log", 6000),
        ):
            for path in sorted(self.user_data.glob(f"logs/{pattern}")):
                text = path.read_text(errors="replace")
                parts.append(
                    f"--- {path.relative_to(self.user_data)}\n{text if limit is None else text[-limit:]}"
                )
        return "\n".join(parts) or "(no extension logs)"

    def global_storage(self, extension_id: str = EXTENSION_ID) -> Path:
        return self.user_data / "User" / "globalStorage" / extension_id

    def installed_extension(self, extension_id: str = EXTENSION_ID) -> Path:
        """The folder ``--install-extension`` unpacked the .vsix into (``<id>-<version>``)."""
        folders = sorted(self.extensions.glob(f"{extension_id}-*"))
        assert len(folders) == 1, f"{extension_id} installed {len(folders)} times: {folders}"
        return folders[0]


@contextlib.contextmanager
def running_code_server(
    home: Path,
    folder: Path,
    vsixes: Sequence[Path],
    settings: dict[str, Any],
    env: dict[str, str] | None = None,
    workspace_trust: bool = False,
) -> Iterator[CodeServer]:
    """``workspace_trust``: trust enabled and ``folder`` untrusted (restricted mode)."""
    server = CodeServer(home, settings, env, workspace_trust)
    for vsix in vsixes:
        server.install_extension(vsix)
    try:
        server.start(folder)
        yield server
    finally:
        server.stop()
