"""How long `torchmode check` takes on real PyTorch code, next to parsing the same file alone.

Run from the repository root, with the project's venv active:

    python bench/check_speed.py              # or: --repeat 15, --no-cli, --peers-python PATH

Everything is measured in one run, on the same files, on this machine:

* ``torchmode check`` in-process: ``check_document`` on a fresh ``Document``
  (parse + analysis + rules + fixes), which is what the language server pays
  per edit;
* ``torchmode check`` end to end: ``python -m torchmode check FILE --exit-zero``
  in a subprocess, which adds interpreter start-up and imports (shown
  separately as ``python -c pass`` and ``python -c "import torchmode.cli"``);
* ``ast.parse`` alone, the parser torchmode runs on;
* ``libcst.parse_module`` alone, the usual parser for Python refactoring tools.

libcst is not a torchmode dependency, so the benchmark installs it into its own
throwaway venv, ``bench/.venv-peers`` (same interpreter version, created on the
first run; needs the package registry once). ``--peers-python`` points at any
other interpreter that has libcst instead.

The inputs are real PyTorch code taken from the installed ``torch`` package:
files that contain training loops, ``train()``/``eval()`` switches and
``backward()`` calls, concatenated whole (never cut, so they stay parseable)
until they reach about 1,000 and 5,000 lines. They are written to
``bench/.corpus/`` so a run can be repeated on the exact same text.

Timings are the median of ``--repeat`` runs after one warm-up, with the minimum
beside it; ratios use the medians. Nothing here asserts a time: machines differ.
"""

from __future__ import annotations

import argparse
import ast
import gc
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
CORPUS = BENCH / ".corpus"
PEERS_VENV = BENCH / ".venv-peers"
LIBCST_REQUIREMENT = "libcst>=1.9,<2"

# Real files of the installed torch package, relative to its directory, in the
# order they are taken. They were chosen because they hold training code: the
# parameter-server test runs a training loop with backward(), swa_utils toggles
# train()/eval() in update_bn, the sparsity callbacks and QAT modules switch
# modes, and common_quantization/common_fsdp are torch's own train/eval test
# harnesses. Later entries are fallbacks if a torch release drops a file.
SOURCES_1K = (
    "testing/_internal/distributed/rpc/examples/parameter_server_test.py",
    "optim/swa_utils.py",
    "ao/pruning/_experimental/data_sparsifier/lightning/callbacks/data_sparsity.py",
    "ao/nn/intrinsic/qat/modules/linear_fused.py",
    "ao/quantization/quantize.py",
    "ao/nn/intrinsic/qat/modules/conv_fused.py",
)
SOURCES_5K = (
    "testing/_internal/common_quantization.py",
    "testing/_internal/common_fsdp.py",
    "ao/quantization/quantize.py",
    "ao/quantization/quantize_fx.py",
    "testing/_internal/distributed/nn/api/remote_module_test.py",
)


@dataclass(frozen=True)
class Timing:
    median: float
    minimum: float

    def __str__(self) -> str:
        return f"{self.median * 1000:9.1f} ms (min {self.minimum * 1000:8.1f})"


def measure(action: Callable[[], object], repeat: int) -> Timing:
    action()  # warm-up: imports, caches, first-touch allocations
    samples = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return Timing(statistics.median(samples), min(samples))


# --- corpus ------------------------------------------------------------------------


def torch_directory() -> Path:
    # find_spec locates the package without importing torch (which takes seconds).
    spec = importlib.util.find_spec("torch")
    if spec is None or spec.origin is None:
        raise SystemExit("torch is not installed in this interpreter; activate the project venv (.venv)")
    return Path(spec.origin).parent


def concatenate(sources: list[tuple[str, str]]) -> str:
    """Join whole files into one parseable module.

    ``from __future__`` imports are only legal at the top of a module, so they
    are removed from each file and their union is put first.
    """
    features: set[str] = set()
    parts: list[str] = []
    for name, text in sources:
        lines = text.splitlines()
        for node in ast.parse(text).body:
            if isinstance(node, ast.ImportFrom) and node.module == "__future__":
                features.update(alias.name for alias in node.names)
                for index in range(node.lineno - 1, node.end_lineno or node.lineno):
                    lines[index] = ""  # keeps the line count and every other line intact
        parts.append(f"# ---- torch/{name} ----\n" + "\n".join(lines) + "\n")
    header = "".join(f"from __future__ import {feature}\n" for feature in sorted(features))
    return header + "\n".join(parts)


def build_corpus(target_lines: int, candidates: tuple[str, ...], name: str) -> tuple[Path, list[str]]:
    torch_dir = torch_directory()
    chosen: list[tuple[str, str]] = []
    total = 0
    for relative in candidates:
        path = torch_dir / relative
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        chosen.append((relative, text))
        total += text.count("\n")
        if total >= target_lines:
            break
    if total < target_lines * 0.9:
        raise SystemExit(f"only {total} lines of real code found for {name}; torch layout changed?")
    text = concatenate(chosen)
    ast.parse(text)  # refuse to time a file that does not parse
    CORPUS.mkdir(parents=True, exist_ok=True)
    out = CORPUS / name
    out.write_text(text, encoding="utf-8")
    return out, [relative for relative, _ in chosen]


# --- peers (libcst in its own venv) -----------------------------------------------------

PEER_SCRIPT = textwrap.dedent(
    """
    import ast, gc, json, statistics, sys, time
    from importlib.metadata import version
    import libcst

    def measure(action, repeat):
        action()
        samples = []
        for _ in range(repeat):
            gc.collect()
            start = time.perf_counter()
            action()
            samples.append(time.perf_counter() - start)
        return [statistics.median(samples), min(samples)]

    repeat = int(sys.argv[1])
    result = {"libcst_version": version("libcst")}
    for path in sys.argv[2:]:
        text = open(path, encoding="utf-8").read()
        result[path] = {
            "libcst": measure(lambda: libcst.parse_module(text), repeat),
            "ast": measure(lambda: ast.parse(text), repeat),
        }
    print(json.dumps(result))
    """
)


def peers_python(explicit: str | None) -> str:
    if explicit:
        return explicit
    python = PEERS_VENV / "bin" / "python"
    if not python.exists():
        print(
            f"creating {PEERS_VENV.relative_to(ROOT)} with {LIBCST_REQUIREMENT} (first run only) ...",
            flush=True,
        )
        subprocess.run([sys.executable, "-m", "venv", str(PEERS_VENV)], check=True)
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                LIBCST_REQUIREMENT,
            ],
            check=True,
        )
    return str(python)


def libcst_timings(python: str, files: list[Path], repeat: int) -> dict[str, Any]:
    completed = subprocess.run(
        [python, "-c", PEER_SCRIPT, str(repeat), *map(str, files)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(completed.stdout)
    return result


# --- torchmode ---------------------------------------------------------------------------


def cli_run(arguments: list[str]) -> None:
    completed = subprocess.run(
        [sys.executable, *arguments], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise SystemExit(f"{' '.join(arguments)} failed ({completed.returncode}):\n{completed.stderr}")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9, help="timed runs per measurement (default 9)")
    parser.add_argument("--cli-repeat", type=int, default=5, help="timed CLI subprocess runs (default 5)")
    parser.add_argument("--no-cli", action="store_true", help="skip the end-to-end CLI subprocess runs")
    parser.add_argument("--peers-python", help="an interpreter with libcst (default: bench/.venv-peers)")
    options = parser.parse_args()

    from torchmode.engine import Settings, check_document
    from torchmode.syntax import Document

    corpora = [
        build_corpus(1000, SOURCES_1K, "real_1k.py"),
        build_corpus(5000, SOURCES_5K, "real_5k.py"),
    ]
    python = peers_python(options.peers_python)
    peers = libcst_timings(python, [path for path, _ in corpora], options.repeat)

    print(f"python {sys.version.split()[0]} on {os.cpu_count()} cores; libcst {peers['libcst_version']}")
    print(f"median of {options.repeat} runs after a warm-up (CLI: {options.cli_repeat} runs)\n")

    if not options.no_cli:
        startup = measure(partial(cli_run, ["-c", "pass"]), options.cli_repeat)
        imports = measure(partial(cli_run, ["-c", "import torchmode.cli"]), options.cli_repeat)
        print(f"  python -c pass                     {startup}")
        print(f"  python -c 'import torchmode.cli'   {imports}\n")

    for path, sources in corpora:
        text = path.read_text(encoding="utf-8")
        lines = text.count("\n")
        relative = str(path.relative_to(ROOT))
        findings = check_document(Document(text, relative), Settings()).findings

        parse_ast = measure(partial(ast.parse, text), options.repeat)
        # A fresh Document each time: it caches its parse, and the server pays for one per edit.
        check = measure(lambda: check_document(Document(text, relative), Settings()), options.repeat)  # noqa: B023
        peer = peers[str(path)]
        libcst = Timing(*peer["libcst"])
        peer_ast = Timing(*peer["ast"])

        print(f"{relative}: {lines} lines of real torch code, {len(findings)} findings")
        print("  from " + ", ".join(sources))
        print(f"  ast.parse                          {parse_ast}")
        print(f"  ast.parse (peers venv)             {peer_ast}")
        print(f"  libcst.parse_module                {libcst}")
        print(f"  torchmode check (in-process)       {check}")
        if not options.no_cli:
            # --no-respect-gitignore: bench/.corpus/ is gitignored, the file is still to be checked.
            command = ["-m", "torchmode", "check", relative, "--exit-zero", "--no-respect-gitignore"]
            cli = measure(partial(cli_run, command), options.cli_repeat)
            print(f"  python -m torchmode check (CLI)    {cli}")
        print("  ratios:")
        print(f"    check / ast.parse                {check.median / parse_ast.median:6.2f}x")
        print(f"    check / libcst.parse_module      {check.median / libcst.median:6.2f}x")
        print(f"    libcst.parse_module / ast.parse  {libcst.median / peer_ast.median:6.2f}x")
        if not options.no_cli:
            print(f"    CLI / libcst.parse_module        {cli.median / libcst.median:6.2f}x")
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
