"""What every benchmark in bench/ shares: statistics, machine facts, private venvs, the corpus.

Not a benchmark itself. Each ``bench/*.py`` figure script imports it by putting
``bench/`` on ``sys.path`` (the scripts run as plain files, ``python bench/x.py``).

* Statistics: a figure is the median over repeated runs with the spread (min-max)
  beside it; latency distributions are summarised by percentiles.
* Private venvs: peers and tools that are not torchmode dependencies (libcst,
  TorchFix, dslinter, pyinstrument) are installed from the package registry into
  their own venvs under ``~/.cache/torchmode-bench`` on first use, with pinned
  versions, never into the project's ``.venv``.
* The corpus: the real-code corpus of the accuracy tests
  (``tests/realworld/corpus.py``), and modules of a chosen size built by
  concatenating real PyTorch training code into one parseable file.
"""

from __future__ import annotations

import ast
import datetime
import functools
import importlib.util
import json
import math
import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
CACHE = Path(os.environ.get("TORCHMODE_BENCH_CACHE", Path.home() / ".cache" / "torchmode-bench"))
# Generated modules (gitignored): a run can be repeated on the exact same text.
GENERATED = BENCH / ".corpus"
SERVER_SOURCES = ROOT / "server"
CORPUS_MODULE = ROOT / "tests" / "realworld" / "corpus.py"
# The edit kinds the incremental tests prove correct, timed by class_edits.py.
EDIT_KINDS_MODULE = ROOT / "tests" / "support" / "edit_kinds.py"


# --- statistics -----------------------------------------------------------------------


@dataclass(frozen=True)
class Spread:
    """A figure over repeated runs: the median, and the smallest and largest run."""

    median: float
    low: float
    high: float
    runs: int

    @classmethod
    def of(cls, samples: Sequence[float]) -> Spread:
        if not samples:
            return cls(math.nan, math.nan, math.nan, 0)
        return cls(statistics.median(samples), min(samples), max(samples), len(samples))

    def format(self, unit: str = "s", digits: int = 2, scale: float = 1.0) -> str:
        if self.runs == 0:
            return "n/a"
        median, low, high = (value * scale for value in (self.median, self.low, self.high))
        if self.runs == 1:
            return f"{median:.{digits}f} {unit}"
        return f"{median:.{digits}f} {unit} ({low:.{digits}f}-{high:.{digits}f})"


def percentile(samples: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (``fraction`` in 0..1): a value that was really observed."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def spread_dict(samples: Sequence[float]) -> dict[str, float | int]:
    return asdict(Spread.of(samples))


def spread_from(data: dict[str, Any]) -> Spread:
    return Spread(float(data["median"]), float(data["low"]), float(data["high"]), int(data["runs"]))


# --- machine facts --------------------------------------------------------------------


def _proc_field(path: str, key: str) -> str | None:
    try:
        for line in Path(path).read_text(encoding="utf-8", errors="replace").splitlines():
            name, _, value = line.partition(":")
            if name.strip() == key:
                return value.strip()
    except OSError:
        return None
    return None


def git_revision() -> str:
    try:
        revision = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", "server"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{revision}{' + uncommitted changes in server/' if dirty else ''}"


def machine_info() -> dict[str, Any]:
    memory_kb = _proc_field("/proc/meminfo", "MemTotal")
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count() or 0
    try:
        load = os.getloadavg()
    except OSError:
        load = (math.nan, math.nan, math.nan)
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": _proc_field("/proc/cpuinfo", "model name") or platform.processor() or "unknown",
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "memory": memory_kb or "unknown",
        "os": f"{platform.system()} {platform.release()}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "torchmode": git_revision(),
        "load_average": [round(value, 2) for value in load],
    }


# --- private venvs --------------------------------------------------------------------


def base_python() -> str:
    """The interpreter the project's venv was made from: the peers get the same Python version."""
    candidate = Path(sys.base_prefix) / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    return str(candidate) if candidate.exists() else sys.executable


def find_python(version: str) -> str | None:
    """``python3.9`` on PATH, or from pyenv's versions."""
    for name in (f"python{version}",):
        try:
            found = subprocess.run(
                [name, "-c", "import sys; print(sys.executable)"], capture_output=True, text=True, check=True
            ).stdout.strip()
            if found:
                return found
        except (OSError, subprocess.CalledProcessError):
            pass
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    if pyenv.is_dir():
        for candidate in sorted(pyenv.glob(f"{version}.*"), reverse=True):
            python = candidate / "bin" / f"python{version}"
            if python.exists():
                return str(python)
    return None


def ensure_venv(name: str, python: str, requirements: Sequence[str], *, quiet: bool = False) -> Path:
    """A venv ``CACHE/name`` with exactly ``requirements`` installed; returns its python.

    A stamp file records the interpreter and requirements: when either changes the
    venv is made again, otherwise it is reused as is.
    """
    venv = CACHE / name
    venv_python = venv / "bin" / "python"
    stamp = venv / ".torchmode-bench-stamp"
    wanted = json.dumps({"python": python, "requirements": list(requirements)}, sort_keys=True)
    if venv_python.exists() and stamp.exists() and stamp.read_text(encoding="utf-8") == wanted:
        return venv_python
    if not quiet:
        print(f"  installing {' '.join(requirements)} into {venv} (first run only) ...", file=sys.stderr)
    subprocess.run([python, "-m", "venv", "--clear", str(venv)], check=True, capture_output=True)
    install = [str(venv_python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    completed = subprocess.run([*install, *requirements], capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"pip install {' '.join(requirements)} failed:\n{completed.stderr[-3000:]}")
    stamp.write_text(wanted, encoding="utf-8")
    return venv_python


# --- the corpus -----------------------------------------------------------------------


def tests_module(path: Path, name: str) -> Any:
    """A module of tests/ loaded from its file, under a name of its own.

    Not by putting tests/ on sys.path: its folders (``cli``, ``lsp``, ``runtime``...) would
    then be importable by names the bench and the server use for other things.
    """
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _load_corpus_module() -> Any:
    return tests_module(CORPUS_MODULE, "torchmode_realworld_corpus")


def corpus_files(explicit: Sequence[str] = ()) -> list[Path]:
    """The files to measure: those given, else the real-world corpus of the accuracy tests.

    A folder given explicitly stands for every ``*.py`` file under it.
    """
    if explicit:
        files: list[Path] = []
        for name in explicit:
            path = Path(name)
            files.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
        return [path.resolve() for path in files]
    if not CORPUS_MODULE.exists():
        raise SystemExit(
            f"{CORPUS_MODULE.relative_to(ROOT)} is missing; give files or folders with --files instead"
        )
    module = _load_corpus_module()
    return [Path(path).resolve() for path in module.corpus_files()]


def read_source(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


def count_lines(texts: Iterable[str]) -> int:
    return sum(text.count("\n") + (0 if text.endswith("\n") or not text else 1) for text in texts)


# --- modules of a chosen size, from real training code ----------------------------------

# Words that mark a file as training or evaluation code.
_TRAINING_MARKERS = (".backward(", ".eval()", ".train()", "no_grad", "optimizer.step(", "zero_grad(")


@functools.cache
def _parseable_training_code(files: tuple[Path, ...]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for path in files:
        try:
            text = read_source(path)
            ast.parse(text)
        except (OSError, SyntaxError, ValueError):
            continue
        if any(marker in text for marker in _TRAINING_MARKERS):
            label = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else "/".join(path.parts[-3:])
            found.append((label, text))
    return found


def concatenate(sources: Sequence[tuple[str, str]]) -> str:
    """Join whole files into one parseable module.

    ``from __future__`` imports are legal only at the top of a module: they are
    blanked in each file (keeping its line count) and their union is put first.
    """
    features: set[str] = set()
    parts: list[str] = []
    for label, text in sources:
        lines = text.splitlines()
        for node in ast.parse(text).body:
            if isinstance(node, ast.ImportFrom) and node.module == "__future__":
                features.update(alias.name for alias in node.names)
                for index in range(node.lineno - 1, node.end_lineno or node.lineno):
                    lines[index] = ""
        parts.append(f"# ---- {label} ----\n" + "\n".join(lines) + "\n")
    header = "".join(f"from __future__ import {feature}\n" for feature in sorted(features))
    return header + "\n".join(parts)


def build_module(target_lines: int, files: Sequence[Path], name: str, *, skip: int = 0) -> Path:
    """A parseable module of about ``target_lines`` lines of real training code, in bench/.corpus/.

    Mostly corpus files with training code (real projects' code, with the density
    of findings real code has), whole or cut at a top-level statement boundary; one
    of the repository's examples or case files (each written around a finding) in
    the middle and after every four corpus files, so the module has a training
    function with a finding to type into. ``skip`` rotates the starting files, for
    distinct documents of the same size.
    """
    local = sorted((ROOT / "examples").glob("*.py")) + sorted((ROOT / "tests" / "cases").rglob("*.py"))
    mine = _parseable_training_code(tuple(local))
    real = _parseable_training_code(tuple(files)) or mine
    if not mine:
        raise SystemExit("no examples or case files with training code found")
    chosen: list[tuple[str, str]] = []
    total = 0
    taken_real = 0
    taken_mine = 0

    def take(source: tuple[str, str]) -> bool:
        nonlocal total
        label, text = source
        lines = text.count("\n")
        if total + lines > target_lines * 1.05:
            text = _cut(text, target_lines - total)
            lines = text.count("\n")
            if lines < 5:
                return False
        chosen.append((label, text))
        total += lines + 2
        return True

    attempts = 0
    while total < target_lines and attempts < 20 * (len(real) + len(mine)):
        attempts += 1
        middle_due = taken_mine == 0 and total >= target_lines * 0.4
        if middle_due or (taken_real and taken_real % 4 == 0 and taken_real // 4 > taken_mine):
            take(mine[(skip + taken_mine) % len(mine)])
            taken_mine += 1
            continue
        take(real[(skip + taken_real) % len(real)])
        taken_real += 1
    module = concatenate(chosen)
    ast.parse(module)  # never time a file that does not parse
    GENERATED.mkdir(parents=True, exist_ok=True)
    out = GENERATED / name
    out.write_text(module, encoding="utf-8")
    return out


def _cut(text: str, budget: int) -> str:
    """The longest prefix of whole top-level statements within ``budget`` lines."""
    end = 0
    for node in ast.parse(text).body:
        last = node.end_lineno or node.lineno
        if last > budget:
            break
        end = last
    return "\n".join(text.splitlines()[:end]) + "\n" if end else ""


# --- output ---------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    """The report's "met?" column."""
    return "met" if ok else "**not met**"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A Markdown table, as lines, with the blank line after it."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return [*lines, ""]


def write_json(path: str | None, data: dict[str, Any]) -> None:
    if path:
        Path(path).write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")


def server_environment() -> dict[str, str]:
    """The environment for a torchmode subprocess: the working tree's sources first."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SERVER_SOURCES), env.get("PYTHONPATH", "")]))
    return env
