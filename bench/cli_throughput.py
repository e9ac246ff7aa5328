"""Figure 1: CLI throughput on the real-code corpus, single process, next to the parse floor and peers.

    python bench/cli_throughput.py [--rounds 3] [--peer-sample 5] [--no-peers] [--files PATH ...] [--json OUT]

Measured in one run, round after round, so each ratio compares figures taken
minutes apart on the same machine state:

* ``engine``: ``torchmode.engine.check_source`` over every corpus file in this
  process (texts read beforehand): parse + analysis + rules + fixes;
* ``cli in-process``: ``torchmode.cli.main(["check", ...files])`` in this
  process, output discarded: adds discovery, configuration, project indexing
  and formatting;
* ``cli``: ``python -m torchmode check --isolated --exit-zero -q FILES`` end to
  end, interpreter start-up and imports included;
* ``libcst``: ``libcst.parse_module`` alone over the same texts, in a worker
  process of a private venv (``~/.cache/torchmode-bench/libcst``, libcst
  pinned, same Python version), timed round by round beside torchmode;
* ``ast``: CPython's ``ast.parse`` alone over the same texts, in the same worker
  (in a worker of this interpreter with ``--no-libcst``): the parse floor.

Peers run end to end, single process, on the same files (the whole corpus with
``--peer-sample 1``; by default every 5th corpus file, about a fifth of the
lines, to keep ``make bench`` within minutes), with torchmode's CLI timed again
on exactly those files: TorchFix standalone (``torchfix -j 1``), TorchFix as a
flake8 plugin (``flake8 --isolated -j 1 --select=TOR0,TOR1,TOR2``) and dslinter
as a pylint plugin on Python 3.9 with pylint 2.12 (``pylint -j 1 --disable=all
--enable=<dslinter's messages>``), each in its own venv.

Every torchmode run is single process: ``--jobs 1`` when the CLI has the option
(its default is one process per core), and without the cache of results
(``--no-cache``, when the CLI has one): these figures are the analysis. Then, on
the whole corpus, the CLI is also timed with ``--jobs N`` on the N usable cores
(N >= 2; the speed-up is ``cli`` / ``cli --jobs N``), if it has
``--no-follow-imports`` without following imports into other project files
(what the cross-file analysis costs), and with its cache (``--cache-dir``, a new
folder each round): ``cli cold cache`` fills it, ``cli warm cache`` runs again
over the unchanged files.

Targets: issue 8, cli / libcst <= 1.3 in the same run and torchmode faster than
each peer; issue 16, cli / ast <= 4, ``--jobs N`` speed-up >= 0.8 N, warm cache /
cold cache <= 0.10.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import (
    ROOT,
    Spread,
    base_python,
    corpus_files,
    count_lines,
    ensure_venv,
    find_python,
    read_source,
    server_environment,
    spread_dict,
    write_json,
)

LIBCST = ("libcst==1.9.0",)
TORCHFIX = ("torchfix==0.7.0",)
DSLINTER = ("dslinter==2.0.9", "pylint==2.12.2", "astroid==2.9.3")
CLI_OPTIONS = ("--isolated", "--exit-zero", "--no-respect-gitignore", "-q")
TARGET_RATIO = 1.3
TARGET_AST_RATIO = 4.0
TARGET_JOBS_EFFICIENCY = 0.8  # --jobs N speed-up >= 0.8 N
TARGET_WARM_CACHE = 0.10  # a run over an unchanged tree, as a share of the first

# Loads the texts once, then times one pass over all of them per line on stdin; libcst is
# imported only when the worker runs in its venv ("--no-libcst" runs it in this interpreter).
LIBCST_WORKER = textwrap.dedent(
    """
    import ast, json, sys, time
    from importlib.metadata import version

    try:
        import libcst
    except ImportError:
        libcst = None
    texts = [open(path, encoding="utf-8", errors="replace").read() for path in sys.argv[1:]]
    print(json.dumps({"version": version("libcst") if libcst else None}), flush=True)
    for command in sys.stdin:
        parse = libcst.parse_module if command.strip() == "libcst" else ast.parse
        failures = 0
        start, cpu = time.perf_counter(), time.process_time()
        for text in texts:
            try:
                parse(text)
            except Exception:
                failures += 1
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        print(json.dumps({"wall": wall, "cpu": cpu, "failures": failures}), flush=True)
    """
)

DSLINTER_MESSAGES = textwrap.dedent(
    """
    from pylint.lint import PyLinter
    import dslinter.plugin
    linter = PyLinter()
    dslinter.plugin.register(linter)
    print(",".join(sorted({message.msgid for checker in linter.get_checkers()
                           if checker.__module__.startswith("dslinter") for message in checker.messages})))
    """
)


class LibcstWorker:
    def __init__(self, python: Path, files: Sequence[Path]) -> None:
        self.process = subprocess.Popen(
            [str(python), "-c", LIBCST_WORKER, *map(str, files)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.version = self._reply()["version"]

    def _reply(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the libcst worker died")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def time(self, parser: str) -> tuple[Timed, int]:
        """One pass of ``parser`` ("libcst" or "ast") over the texts, and how many failed to parse."""
        assert self.process.stdin is not None
        self.process.stdin.write(parser + "\n")
        self.process.stdin.flush()
        reply = self._reply()
        return Timed(float(reply["wall"]), float(reply["cpu"])), int(reply["failures"])

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=30)


@dataclass(frozen=True)
class Timed:
    wall: float
    cpu: float  # user + system seconds of the process (and its children): robust to a busy machine


def timed_run(command: Sequence[str], ok: Callable[[int], bool], env: dict[str, str] | None = None) -> Timed:
    start = time.perf_counter()
    process = subprocess.Popen(
        list(command), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env
    )
    assert process.stderr is not None
    stderr = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    process.stderr.close()
    if not ok(process.returncode):
        tail = stderr.decode("utf-8", errors="replace")[-2000:]
        raise RuntimeError(f"{Path(command[0]).name} ... exited {process.returncode}:\n{tail}")
    return Timed(elapsed, usage.ru_utime + usage.ru_stime)


# ("--jobs", "1") once main() has seen the CLI has the option: every run is single process
# unless it says otherwise. ("--no-cache",) likewise: every run analyses, unless it is about
# the cache (it gives ``--cache-dir``).
SINGLE_PROCESS: list[str] = []
NO_CACHE: list[str] = []


def torchmode_command(files: Sequence[Path], *extra: str) -> list[str]:
    options = [
        *CLI_OPTIONS,
        *(SINGLE_PROCESS if "--jobs" not in extra else []),
        *(NO_CACHE if "--cache-dir" not in extra else []),
        *extra,
    ]
    return [sys.executable, "-m", "torchmode", "check", *options, *map(str, files)]


def torchmode_ok(code: int) -> bool:
    # 2: a file that does not parse (reported, the others still checked).
    return code in (0, 2)


def cli_options() -> set[str]:
    """Which of the options this benchmark cares about ``torchmode check --help`` lists."""
    completed = subprocess.run(
        [sys.executable, "-m", "torchmode", "check", "--help"],
        capture_output=True,
        text=True,
        check=False,
        env=server_environment(),
    )
    wanted = ("--jobs", "--no-follow-imports", "--no-cache")
    return {option for option in wanted if option in completed.stdout}


class Peer:
    """A peer tool: how to run it on files, and which exit codes mean it ran."""

    def __init__(self, name: str, command: Callable[[Sequence[Path]], list[str]], ok: Callable[[int], bool]):
        self.name = name
        self.command = command
        self.ok = ok


def install_peers() -> tuple[list[Peer], dict[str, str]]:
    peers: list[Peer] = []
    versions: dict[str, str] = {}
    skipped: dict[str, str] = {}
    try:
        torchfix = ensure_venv("torchfix", base_python(), TORCHFIX).parent
        versions["torchfix"] = " ".join(TORCHFIX)
        peers.append(
            Peer(
                "TorchFix (standalone)",
                lambda files: [str(torchfix / "torchfix"), "-j", "1", *map(str, files)],
                lambda code: code in (0, 1),
            )
        )
        peers.append(
            Peer(
                "TorchFix (flake8 plugin)",
                lambda files: [
                    str(torchfix / "flake8"),
                    "--isolated",
                    "-j",
                    "1",
                    "--select=TOR0,TOR1,TOR2",
                    *map(str, files),
                ],
                lambda code: code in (0, 1),
            )
        )
    except (RuntimeError, subprocess.CalledProcessError) as error:
        skipped["TorchFix"] = str(error).splitlines()[0]
    python39 = find_python("3.9")
    if python39 is None:
        skipped["dslinter"] = "no python3.9 found (PATH or pyenv)"
    else:
        try:
            dslinter = ensure_venv("dslinter", python39, DSLINTER)
            messages = subprocess.run(
                [str(dslinter), "-c", DSLINTER_MESSAGES], capture_output=True, text=True, check=True
            ).stdout.strip()
            versions["dslinter"] = " ".join(DSLINTER) + " on Python 3.9"
            pylint = dslinter.parent / "pylint"
            peers.append(
                Peer(
                    "dslinter (pylint plugin)",
                    lambda files: [
                        str(pylint),
                        "--load-plugins=dslinter",
                        "--disable=all",
                        f"--enable={messages}",
                        "-j",
                        "1",
                        "--persistent=n",
                        "--score=n",
                        *map(str, files),
                    ],
                    # pylint's exit code is a bit mask of message kinds; 32 is a usage error.
                    lambda code: 0 <= code < 32,
                )
            )
        except (RuntimeError, subprocess.CalledProcessError) as error:
            skipped["dslinter"] = str(error).splitlines()[0]
    versions.update({name: f"skipped: {why}" for name, why in skipped.items()})
    return peers, versions


def engine_pass(texts: Sequence[tuple[str, str]]) -> tuple[Timed, int]:
    from torchmode.engine import check_source

    findings = 0
    start, cpu = time.perf_counter(), time.process_time()
    for path, text in texts:
        findings += len(check_source(text, path).findings)
    return Timed(time.perf_counter() - start, time.process_time() - cpu), findings


def cli_in_process(files: Sequence[Path]) -> Timed:
    from torchmode.cli import main as cli_main

    start, cpu = time.perf_counter(), time.process_time()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = cli_main(["check", *CLI_OPTIONS, *SINGLE_PROCESS, *NO_CACHE, *map(str, files)])
    timed = Timed(time.perf_counter() - start, time.process_time() - cpu)
    if not torchmode_ok(code):
        raise RuntimeError(f"torchmode check (in-process) exited {code}")
    return timed


class Samples:
    """Wall and CPU seconds per measurement, one entry per round; ratios taken within a round."""

    def __init__(self) -> None:
        self.wall: dict[str, list[float]] = {}
        self.cpu: dict[str, list[float]] = {}
        self.ratios: dict[str, list[float]] = {}

    def add(self, name: str, timed: Timed) -> None:
        self.wall.setdefault(name, []).append(timed.wall)
        self.cpu.setdefault(name, []).append(timed.cpu)

    def ratio(self, name: str, numerator: str, denominator: str, cpu: bool = True) -> None:
        self.ratios.setdefault(name, []).append(self.wall[numerator][-1] / self.wall[denominator][-1])
        if cpu:  # a CPU ratio means nothing for a speed-up from more processes
            self.ratios.setdefault(f"{name} (cpu)", []).append(
                self.cpu[numerator][-1] / self.cpu[denominator][-1]
            )

    def last_round(self) -> str:
        return ", ".join(f"{name} {values[-1]:.2f} s" for name, values in self.wall.items())


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every measurement (default 3)")
    parser.add_argument("--files", nargs="*", default=(), help="files or folders (default: the corpus)")
    parser.add_argument("--peer-sample", type=int, default=5, help="peers run on every Nth file (1: all)")
    parser.add_argument("--no-peers", action="store_true", help="skip TorchFix and dslinter")
    parser.add_argument(
        "--no-libcst",
        action="store_true",
        help="no libcst (no registry needed): ast.parse is timed in this interpreter",
    )
    parser.add_argument(
        "--jobs", type=int, default=0, help="N of the --jobs N figure (default: the usable cores, at least 2)"
    )
    parser.add_argument("--json", help="write the figures to this JSON file")
    options = parser.parse_args()

    files = corpus_files(options.files)
    texts = [(str(path), read_source(path)) for path in files]
    lines = count_lines(text for _, text in texts)
    peer_files = files[:: max(1, options.peer_sample)]
    peer_lines = count_lines(read_source(path) for path in peer_files)
    print(
        f"{len(files)} files, {lines} lines; peers on {len(peer_files)} files, {peer_lines} lines", flush=True
    )

    python = Path(sys.executable) if options.no_libcst else ensure_venv("libcst", base_python(), LIBCST)
    worker = LibcstWorker(python, files)
    peers, versions = ([], {}) if options.no_peers else install_peers()
    if worker.version is not None:
        versions["libcst"] = str(worker.version)
    options_found = cli_options()
    jobs = "--jobs" in options_found
    if jobs:
        SINGLE_PROCESS[:] = ["--jobs", "1"]
    cache = "--no-cache" in options_found
    if cache:
        NO_CACHE[:] = ["--no-cache"]
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    jobs_n = options.jobs or max(2, min(cores, 8))
    env = server_environment()

    # Warm-up, untimed: imports and first-touch allocations in this process, the page
    # cache for the files, and the peers' bytecode caches.
    engine_pass(texts[:20])
    for peer in peers:
        timed_run(peer.command(peer_files[:2]), lambda _code: True)

    samples = Samples()
    findings = 0
    parse_failures = 0
    jobs_name = f"cli --jobs {jobs_n}"
    for round_index in range(options.rounds):
        timed, findings = engine_pass(texts)
        samples.add("engine", timed)
        samples.add("cli in-process", cli_in_process(files))
        samples.add("cli", timed_run(torchmode_command(files), torchmode_ok, env))
        samples.add("ast", worker.time("ast")[0])
        for name in ("engine", "cli in-process", "cli"):
            samples.ratio(f"{name} / ast", name, "ast")
        if worker.version is not None:
            timed, parse_failures = worker.time("libcst")
            samples.add("libcst", timed)
            for name in ("engine", "cli in-process", "cli"):
                samples.ratio(f"{name} / libcst", name, "libcst")
        if "--no-follow-imports" in options_found:
            command = torchmode_command(files, "--no-follow-imports")
            samples.add("cli --no-follow-imports", timed_run(command, torchmode_ok, env))
            if worker.version is not None:
                samples.ratio("cli --no-follow-imports / libcst", "cli --no-follow-imports", "libcst")
        if jobs:
            command = torchmode_command(files, "--jobs", str(jobs_n))
            samples.add(jobs_name, timed_run(command, torchmode_ok, env))
            samples.ratio(f"--jobs {jobs_n} speed-up", "cli", jobs_name, cpu=False)
        if cache:
            with tempfile.TemporaryDirectory(prefix="torchmode-bench-cache-") as folder:
                command = torchmode_command(files, "--cache-dir", folder)
                samples.add("cli cold cache", timed_run(command, torchmode_ok, env))
                samples.add("cli warm cache", timed_run(command, torchmode_ok, env))
            samples.ratio("warm cache / cold cache", "cli warm cache", "cli cold cache")
        if peers:
            samples.add("cli (peer files)", timed_run(torchmode_command(peer_files), torchmode_ok, env))
            for peer in peers:
                samples.add(peer.name, timed_run(peer.command(peer_files), peer.ok))
                samples.ratio(f"{peer.name} / torchmode", peer.name, "cli (peer files)")
        print(f"  round {round_index + 1}: {samples.last_round()}", flush=True)
    worker.close()

    peer_names = [peer.name for peer in peers]
    figures: dict[str, Any] = {
        "files": len(files),
        "lines": lines,
        "peer_files": len(peer_files),
        "peer_lines": peer_lines,
        "peer_sample": options.peer_sample,
        "rounds": options.rounds,
        "findings": findings,
        "libcst_parse_failures": parse_failures,
        "versions": versions,
        "jobs_option": jobs,
        "jobs_n": jobs_n,
        "cores": cores,
        "cache_option": cache,
        "cli_options": sorted(options_found),
        "peers": peer_names,
        "wall": {name: spread_dict(values) for name, values in samples.wall.items()},
        "cpu": {name: spread_dict(values) for name, values in samples.cpu.items()},
        "ratios": {name: spread_dict(values) for name, values in samples.ratios.items()},
        "target_ratio": TARGET_RATIO,
        "target_ast_ratio": TARGET_AST_RATIO,
        "target_jobs_efficiency": TARGET_JOBS_EFFICIENCY,
        "target_warm_cache": TARGET_WARM_CACHE,
    }
    write_json(options.json, figures)
    for name, values in samples.wall.items():
        size = peer_lines if name in peer_names or name == "cli (peer files)" else lines
        wall, cpu = Spread.of(values), Spread.of(samples.cpu[name])
        per_kloc = wall.median / (size / 1000) * 1000
        print(f"  {name:34s} {wall.format('s', 2)}, cpu {cpu.format('s', 2)}: {per_kloc:.1f} ms/kLOC")
    for name, values in samples.ratios.items():
        print(f"  {name:34s} {Spread.of(values).format('x', 2)}")
    if not jobs:
        print("  torchmode check has no --jobs option yet: scaling not measured")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
