"""Figure 6: where the time goes, for the figures that miss their target.

    python bench/profiles.py --figure cli|latency|requests|cold|memory [--json OUT]
    python bench/profiles.py --figure class --file PATH --kind KIND [--rounds 3] [--json OUT]

Profiles are taken with py-spy (a sampling profiler, installed into a private
venv under ``~/.cache/torchmode-bench/profiler`` with pyinstrument beside it)
attached to the real process doing the real work, so the language server is
profiled in its analysis threads, as it runs in the editor:

* ``cli``: ``python -m torchmode check`` over the corpus (every 2nd file);
* ``latency``: the server while typing into the 5,000-line file of figure 2;
* ``requests``: the server while answering the hovers and code actions of figure 3;
* ``cold``: the server from launch to the first diagnostics of figure 4;
* ``memory``: tracemalloc over the server run in a thread of the profiler's own
  process, opening the 100 documents of figure 5: what it still holds,
  by the line that allocated it and by the innermost torchmode line on the
  allocation's stack;
* ``class``: cProfile of the in-process incremental path of figure 10
  (``bench/class_edits.py``), ``syntax.incremental.reparse`` then
  ``engine.check_document`` for each version of one edit kind (the worst one) typed
  into the method that figure types into: the same work the server does per edit,
  without the server's threads, so a deterministic profiler sees every call (py-spy's
  samples at 200 Hz would be a handful per 20 ms edit). Each function's cumulative
  time and own time, as a share of the whole chain, and the heaviest call path
  through cProfile's caller graph.

The raw stacks are folded by function (line numbers dropped) into two tables,
inclusive time (the function and what it calls) and own time, each as a share of
all samples, plus the heaviest call path. Hot spots that are known get a
one-line remedy (``REMEDIES``), so the report says what would close the gap.
"""

from __future__ import annotations

import argparse
import ast
import functools
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import (
    ROOT,
    base_python,
    build_module,
    corpus_files,
    ensure_venv,
    read_source,
    server_environment,
    write_json,
)
from lsp_driver import LspSession, position_of

PROFILERS = ("py-spy==0.4.3", "pyinstrument==5.1.3")
RATE = 200  # samples a second

# Frames that only carry the work (thread pools, event loops, the interpreter's entry).
PLUMBING = re.compile(
    r"\((threading|concurrent/futures/\S+|asyncio/\S+|runpy|selectors|<frozen [^>]+>|<string>)\.?p?y?\)$"
    r"|^<module> "
)

# Known hot spots: what would take them off the profile. Keys match "function (file)" prefixes.
REMEDIES: dict[str, str] = {
    "parses_after (torchmode/fixes/lines.py)": (
        "checks that each candidate fix still parses by re-parsing the top-level statements it "
        "touches (the whole file when that cannot settle it): for a fix inside a big class or "
        "function that is most of the file, on every check; in the editor compute fixes lazily, "
        "when a code action asks for them"
    ),
    "line_start_offsets (torchmode/syntax/positions.py)": (
        "a character-by-character Python loop over the whole text, run by apply_edits for every "
        "candidate fix: reuse the Document's cached line_offsets, or find line starts with "
        "str.find/re.finditer (C speed)"
    ),
    "apply_edits (torchmode/syntax/positions.py)": (
        "builds the whole fixed text (and its line index) per candidate fix; see parses_after"
    ),
    "hover_at (torchmode/engine.py)": (
        "runs the whole analysis again for every hover: keep the FileAnalysis of the last check "
        "(on the server's Analysis) and answer hovers from it"
    ),
    "analyze (torchmode/analysis/project.py)": (
        "the whole-file analysis, from scratch for every new text: per keystroke it should run "
        "only for the changed function and what depends on its summary (incremental analysis)"
    ),
    "_call_with_frames_removed (<frozen importlib._bootstrap>)": "imports: see the -X importtime table",
    "parse (ast.py)": (
        "CPython's parser: the floor is one parse per file and check; more comes from parses_after "
        "(fix validation) and from a file parsed once as another file's dependency (Project._entry) "
        "and again for its own check"
    ),
    "Project.search_roots (torchmode/analysis/project.py)": (
        "rebuilt for every uncached module lookup: probes root/src on disk for every root and "
        "compares Paths in a list (root not in found); compute the roots and their src once per "
        "add_root, and the importer's part once per folder"
    ),
    "Project._resolve_dotted (torchmode/analysis/project.py)": (
        "resolving imported names to files: see search_roots, Path.stat, PurePath.__eq__"
    ),
    "Path.stat (pathlib.py)": (
        "file-system probes while resolving imports (search_roots, _file_in, __init__.py checks): "
        "list each folder once (os.scandir) and answer from that"
    ),
    "PurePath.__eq__ (pathlib.py)": "Path comparisons in lists while resolving imports: use sets of str",
    "Project.analyzer_for_document (torchmode/analysis/project.py)": (
        "the edited document's project entry is rebuilt from scratch on every keystroke "
        "(_summarize_file, ModuleAnalyzer.__init__): keep the previous version's per-function "
        "results when only one function changed"
    ),
    "_model_at (torchmode/hover/state.py)": (
        "walks the whole tree (ast.walk) on every hover to find the model under the cursor: "
        "index the nodes by line once per analysis and look the position up"
    ),
    "attrs (attr/_make.py)": (
        "lsprotocol.types builds its ~1,000 attrs classes at import (pygls needs it): the floor of "
        "the server's start-up; keep the engine's own imports lazy so they add nothing to it"
    ),
    "ModuleAnalyzer.__init__ (torchmode/analysis/dataflow.py)": (
        "whole-tree walks for every new text (_find_model_paths, classes, imports): make them "
        "per top-level statement and reuse the unchanged ones"
    ),
    "check_source (torchmode/engine.py)": "the whole check of one file: see its callees",
}


# Known holders of memory, matched against "file:line source" of the allocating line.
MEMORY_REMEDIES: dict[str, str] = {
    "ast.parse(self.text": (
        "the ast of every open document's last check stays alive: the server's Analysis keeps "
        "the Document, and the project keeps up to MAX_CACHED_FILES (256) analyzers with their "
        "trees and fixpoints; keep only findings and the line index for documents not being "
        "edited and re-parse on demand, or cap the analyzers kept for open documents (LRU of a few)"
    ),
    "parents[id(": (
        "fixes.wrap's parent map of the whole tree is kept with each result: build it only "
        "while computing a fix, or drop it once the fixes are computed"
    ),
    "Node(len(self.nodes)": (
        "every function's CFG stays alive with the analysis: keep only the facts hovers and "
        "inlay hints need once the check is done"
    ),
    "Edge(target": "CFG edges: see the CFG nodes",
    "self.text[start:end]": "Document.lines: a second copy of the text, line by line; slice it on demand",
}


@dataclass
class Folded:
    """Samples folded by function: inclusive and own counts, and the call tree for the hot path."""

    total: int = 0
    inclusive: Counter[str] = field(default_factory=Counter)
    own: Counter[str] = field(default_factory=Counter)
    tree: dict[str, Any] = field(default_factory=dict)


_FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>.*?)(?::\d+)?\)$")


def frame_name(raw: str) -> str:
    """``check (torchmode/rules/x.py:42)`` -> ``check (torchmode/rules/x.py)``; paths shortened."""
    match = _FRAME.match(raw.strip())
    if not match:
        return raw.strip()
    path = match.group("file")
    for marker in ("/site-packages/", "/server/", "/lib/python3."):
        if marker in path:
            path = path.split(marker, 1)[1]
            if marker == "/lib/python3.":
                path = path.split("/", 1)[1] if "/" in path else path
    return f"{match.group('function')} ({path})"


def fold(raw_text: str) -> Folded:
    folded = Folded()
    for line in raw_text.splitlines():
        stack, _, count_text = line.rstrip().rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [frame_name(frame) for frame in stack.split(";")]
        # py-spy prefixes the thread when asked to; drop a leading "thread (...)" frame.
        frames = [frame for frame in frames if not frame.startswith(("thread (", "process "))]
        if not frames:
            continue
        folded.total += count
        folded.own[frames[-1]] += count
        for frame in set(frames):
            folded.inclusive[frame] += count
        node = folded.tree
        for frame in frames:
            child = node.setdefault(frame, {"count": 0, "children": {}})
            child["count"] += count
            node = child["children"]
    return folded


def hot_path(folded: Folded, limit: int = 14) -> list[tuple[str, float]]:
    """The heaviest chain of calls from the root, skipping plumbing frames, as (frame, share)."""
    path: list[tuple[str, float]] = []
    node = folded.tree
    while node and len(path) < limit:
        name, child = max(node.items(), key=lambda item: item[1]["count"])
        share = child["count"] / folded.total
        if share < 0.05:
            break
        if not PLUMBING.search(name):
            path.append((name, share))
        node = child["children"]
    return path


def summary(folded: Folded, top: int = 15) -> dict[str, Any]:
    """The hot path, then the heaviest functions off it (inclusive), then own time."""
    path = hot_path(folded)
    on_path = {name for name, _ in path}

    def remedy(name: str) -> str:
        return next((text for key, text in REMEDIES.items() if name.startswith(key)), "")

    def rows(counter: Counter[str], skip: Callable[[str], bool]) -> list[dict[str, Any]]:
        found = []
        for name, count in counter.most_common():
            if skip(name):
                continue
            found.append({"function": name, "share": count / folded.total, "remedy": remedy(name)})
            if len(found) == top:
                break
        return found

    return {
        "samples": folded.total,
        "hot_path": [{"function": name, "share": share, "remedy": remedy(name)} for name, share in path],
        "inclusive": rows(folded.inclusive, lambda name: bool(PLUMBING.search(name)) or name in on_path),
        "own": rows(folded.own, lambda _name: False),
    }


# --- running py-spy -------------------------------------------------------------------


def py_spy() -> Path:
    return ensure_venv("profiler", base_python(), PROFILERS).parent / "py-spy"


def record_command(command: list[str], out: Path) -> None:
    """py-spy runs ``command`` to its end (its own messages go to stdout, discarded)."""
    subprocess.run(
        [
            str(py_spy()),
            "record",
            "-r",
            str(RATE),
            "-f",
            "raw",
            "-o",
            str(out),
            "--nonblocking",
            "--",
            *command,
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=True,
        env=server_environment(),
    )


def attach(pid: int, out: Path) -> subprocess.Popen[bytes]:
    """py-spy sampling a running process until ``detach``."""
    command = [str(py_spy()), "record", "-p", str(pid), "-r", str(RATE), "-f", "raw", "-o", str(out)]
    return subprocess.Popen([*command, "--nonblocking"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def detach(spy: subprocess.Popen[bytes]) -> None:
    """Stop sampling; py-spy writes its output on SIGINT."""
    spy.send_signal(signal.SIGINT)
    try:
        spy.wait(timeout=60)
    except subprocess.TimeoutExpired:
        spy.kill()
        spy.wait()


def record_session(
    work: Callable[[LspSession], None], out: Path, before: Callable[[LspSession], None]
) -> None:
    """Attach py-spy to a language server while ``work`` drives it; ``before`` runs unprofiled."""
    with LspSession.start() as session:
        before(session)
        spy = attach(session.pid, out)
        time.sleep(0.5)  # attached
        try:
            work(session)
        finally:
            detach(spy)


# --- the workloads ----------------------------------------------------------------------


def profile_cli(files: list[Path], out: Path) -> str:
    from cli_throughput import CLI_OPTIONS, cli_options

    chosen = files[::2]
    options = cli_options()
    single = ["--jobs", "1"] if "--jobs" in options else []
    if "--no-cache" in options:
        single.append("--no-cache")  # the analysis, not a read of the last run's results
    record_command(
        [sys.executable, "-m", "torchmode", "check", *CLI_OPTIONS, *single, *map(str, chosen)], out
    )
    return f"`torchmode check {' '.join(single)}` over {len(chosen)} corpus files (every 2nd)".replace(
        "  ", " "
    )


def profile_latency(files: list[Path], out: Path, edits: int = 40, lines: int = 5000) -> str:
    path = build_module(lines, files, f"latency_{lines}.py")
    text = path.read_text(encoding="utf-8")
    uri = path.resolve().as_uri()
    from editor_latency import edit_site

    where = position_of(text, edit_site(text))
    seen = 0

    def before(session: LspSession) -> None:
        nonlocal seen
        session.initialize()
        session.did_open(uri, text)
        _, seen = session.wait_for_diagnostics(uri, 1)

    def work(session: LspSession) -> None:
        nonlocal seen
        for index in range(edits):
            end = where if index % 2 == 0 else {"line": where["line"], "character": where["character"] + 1}
            change = {"range": {"start": where, "end": end}, "text": "x" if index % 2 == 0 else ""}
            session.did_change(uri, index + 2, [change])
            _, seen = session.wait_for_diagnostics(uri, index + 2, after=seen)

    record_session(work, out, before)
    return f"the server during {edits} edits of {path.name} ({text.count(chr(10))} lines), debounce 0"


def profile_requests(files: list[Path], out: Path, requests: int = 200) -> str:
    from requests_latency import code_action_params, hover_positions

    path = build_module(1000, files, "requests_1000.py")
    text = path.read_text(encoding="utf-8")
    uri = path.resolve().as_uri()

    diagnostics: list[dict[str, Any]] = []

    def before(session: LspSession) -> None:
        session.initialize()
        session.did_open(uri, text)
        message, _ = session.wait_for_diagnostics(uri, 1)
        diagnostics.extend(message.body["params"]["diagnostics"])

    def work(session: LspSession) -> None:
        for position in hover_positions(text, requests):
            session.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": position})
        for params in code_action_params(uri, text, diagnostics, requests):
            session.request("textDocument/codeAction", params)

    record_session(work, out, before)
    return (
        f"the server answering {requests} hovers then {requests} code actions on {path.name} "
        f"({text.count(chr(10))} lines)"
    )


def profile_cold(files: list[Path], out: Path) -> str:
    path = build_module(1000, files, "cold_1000.py")
    text = path.read_text(encoding="utf-8")
    uri = path.resolve().as_uri()
    session = LspSession.start()
    # Attached as soon as the process exists: the first milliseconds of start-up are missed.
    spy = attach(session.pid, out)
    try:
        session.initialize()
        session.did_open(uri, text)
        session.wait_for_diagnostics(uri, 1)
    finally:
        detach(spy)
        session.close()
    return f"the server from launch to the first diagnostics of {path.name}"


def profile_memory(files: list[Path], documents: int = 100, top: int = 15) -> dict[str, Any]:
    """tracemalloc over the server (in a thread of this process) while it opens ``documents`` files.

    What the server still holds once every document is open, attributed to the line that
    allocated it and to the innermost torchmode line on the allocation's stack (what the
    memory is kept for).
    """
    import gc
    import linecache
    import tracemalloc

    paths = [
        build_module(1000, files, f"memory_{index:03d}.py", skip=index * 3) for index in range(documents)
    ]
    tracemalloc.start(12)
    session = LspSession.in_process()
    try:
        session.initialize()
        warm = paths[0].with_name("memory_warm.py")
        warm.write_text("import torch\n", encoding="utf-8")
        session.did_open(warm.as_uri(), "import torch\n")
        _, seen = session.wait_for_diagnostics(warm.as_uri(), 1)
        gc.collect()
        before = tracemalloc.take_snapshot()
        for path in paths:
            uri = path.resolve().as_uri()
            session.did_open(uri, path.read_text(encoding="utf-8"))
            _, seen = session.wait_for_diagnostics(uri, 1, after=seen)
        time.sleep(0.2)
        gc.collect()
        after = tracemalloc.take_snapshot()
    finally:
        session.close()
        tracemalloc.stop()
    allocated: Counter[str] = Counter()
    kept_for: Counter[str] = Counter()
    total = 0
    for diff in after.compare_to(before, "traceback"):
        if diff.size_diff <= 0:
            continue
        total += diff.size_diff
        frames = list(diff.traceback)  # most recent call last
        allocated[_memory_frame(frames[-1], linecache)] += diff.size_diff
        own = next((frame for frame in reversed(frames) if "torchmode/" in frame.filename), None)
        kept_for[_memory_frame(own, linecache) if own is not None else "(no torchmode frame)"] += (
            diff.size_diff
        )

    def rows(counter: Counter[str]) -> list[dict[str, Any]]:
        return [
            {
                "function": name,
                "share": size / total,
                "mb": size / 2**20,
                "remedy": next((text for key, text in MEMORY_REMEDIES.items() if key in name), ""),
            }
            for name, size in counter.most_common(top)
        ]

    return {
        "workload": f"the server (in a thread, over pipes) opening {documents} documents of ~1,000 lines",
        "documents": documents,
        "kind": "memory",
        "total_mb": total / 2**20,
        "samples": 0,
        "hot_path": [],
        "inclusive": rows(kept_for),
        "own": rows(allocated),
    }


def _memory_frame(frame: Any, linecache: Any) -> str:
    source = linecache.getline(frame.filename, frame.lineno).strip()
    return f"{frame_name(f'x ({frame.filename}:{frame.lineno})')[3:-1]}:{frame.lineno} {source[:70]}"


# --- figure 10: cProfile of the in-process incremental path -------------------------------


def _cprofile_name(function: tuple[str, int, str]) -> str:
    """pstats' ``(file, line, name)`` as py-spy names frames (``Class.method (file)``), so
    REMEDIES apply: pstats keeps only the code's bare name, the class is found in the source."""
    file, line, name = function
    if file == "~":  # a built-in: ``<built-in method builtins.compile>``
        return name
    return frame_name(f"{_qualified_names(file).get(line, name)} ({file}:{line})")


@functools.cache
def _qualified_names(file: str) -> dict[int, str]:
    """First line of each function of ``file`` (its first decorator's, as in a code object)
    -> its name with the classes around it."""
    try:
        tree = ast.parse(Path(file).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return {}
    names: dict[int, str] = {}
    pending: list[tuple[ast.AST, str]] = [(tree, "")]
    while pending:
        node, prefix = pending.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                pending.append((child, f"{prefix}{child.name}."))
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                first = min([child.lineno, *(decorator.lineno for decorator in child.decorator_list)])
                names[first] = prefix + child.name
                # Functions defined inside: py-spy names them by their own name only.
                pending.append((child, ""))
            else:
                pending.append((child, prefix))
    return names


def profile_class_edits(file: str, kind: str, rounds: int, top: int = 15) -> dict[str, Any]:
    """cProfile of ``rounds`` rounds of ``kind`` typed into figure 10's method of ``file``."""
    import cProfile
    import pstats

    from class_edits import choose_method, versions
    from torchmode.engine import check_document
    from torchmode.syntax import Document
    from torchmode.syntax.incremental import reparse

    path = Path(file).resolve()
    text = read_source(path)
    _, method = choose_method(text)
    # Each round ends back at the text: rounds chain into one another, as in class_edits.py.
    chain = versions(text, method, kind) * rounds
    first = Document(text, str(path), incremental=True)
    check_document(first)

    def type_the_chain() -> None:
        previous = first
        for version in chain:
            previous = reparse(previous, version)
            check_document(previous)

    type_the_chain()  # warm: the first round fills the caches later edits find filled
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.runcall(type_the_chain)
    seconds = time.perf_counter() - started
    # pstats' raw table: function -> (primitive calls, calls, own time, cumulative, callers).
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, dict[Any, Any]]]
    raw = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    root = next(function for function in raw if function[2] == "type_the_chain")
    total = raw[root][3] or 1e-9
    children: dict[Any, dict[Any, float]] = {}
    for function, (*_, callers) in raw.items():
        for caller, edge in callers.items():
            children.setdefault(caller, {})[function] = edge[3]
    path_rows: list[dict[str, Any]] = []
    node, seen = root, {root}
    while len(path_rows) < 14:
        # The heaviest callee; recursion (a function seen already) ends the path.
        heavier = sorted(children.get(node, {}).items(), key=lambda item: -item[1])
        step = next(((callee, time_) for callee, time_ in heavier if callee not in seen), None)
        if step is None or step[1] / total < 0.05:
            break
        node = step[0]
        seen.add(node)
        name = _cprofile_name(node)
        path_rows.append({"function": name, "share": step[1] / total, "remedy": _remedy(name)})
    on_path = {row["function"] for row in path_rows}

    def rows(column: int, skip: set[str]) -> list[dict[str, Any]]:
        ranked = sorted(
            (function for function in raw if function != root), key=lambda function: -raw[function][column]
        )
        found = []
        for function in ranked:
            name = _cprofile_name(function)
            if name in skip or PLUMBING.search(name):
                continue
            share = raw[function][column] / total
            found.append({"function": name, "share": share, "remedy": _remedy(name)})
            if len(found) == top:
                break
        return found

    return {
        "figure": "class",
        "kind": "cprofile",
        "workload": (
            f"{len(chain)} versions of the `{kind}` edit ({rounds} round{'s' if rounds != 1 else ''}) "
            f"typed into `{method.name}` of "
            f"{path.name} ({text.count(chr(10)):,} lines), in process"
        ),
        "edit_kind": kind,
        "file_name": path.name,
        "seconds": seconds,
        "samples": len(chain),
        "hot_path": path_rows,
        "inclusive": rows(3, on_path),
        "own": rows(2, set()),
    }


def _remedy(name: str) -> str:
    return next((text for key, text in REMEDIES.items() if name.startswith(key)), "")


WORKLOADS: dict[str, Callable[[list[Path], Path], str]] = {
    "cli": profile_cli,
    "latency": profile_latency,
    "requests": profile_requests,
    "cold": profile_cold,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--figure",
        required=True,
        choices=[*sorted(WORKLOADS), "memory", "class"],
        help="which workload to profile",
    )
    parser.add_argument("--file", help="for --figure class: the file class_edits.py typed into")
    parser.add_argument("--kind", default="typing", help="for --figure class: the edit kind (default typing)")
    parser.add_argument("--rounds", type=int, default=3, help="for --figure class: rounds (default 3)")
    parser.add_argument("--documents", type=int, default=100, help="open documents for --figure memory")
    parser.add_argument(
        "--files", nargs="*", default=(), help="source files or folders (default: the corpus)"
    )
    parser.add_argument(
        "--lines", type=int, default=5000, help="file size for --figure latency (default 5000)"
    )
    parser.add_argument("--top", type=int, default=15, help="rows per table (default 15)")
    parser.add_argument("--json", help="write the profile summary to this JSON file")
    options = parser.parse_args()

    if options.figure == "class":
        if not options.file:
            parser.error("--figure class needs --file")
        profile = profile_class_edits(options.file, options.kind, options.rounds, options.top)
        print(f"{profile['workload']}: {profile['seconds']:.2f} s")
        for title, key in (("hot path", "hot_path"), ("cumulative", "inclusive"), ("own time", "own")):
            print(title + ":")
            for row in profile[key]:
                print(f"  {row['share']:6.1%}  {row['function']}")
        write_json(options.json, profile)
        return 0
    files = corpus_files(options.files)
    if options.figure == "memory":
        memory = {"figure": "memory", **profile_memory(files, options.documents, options.top)}
        print(f"{memory['workload']}: {memory['total_mb']:.1f} MB more held after opening them")
        for title, key in (("kept for (innermost torchmode line)", "inclusive"), ("allocated at", "own")):
            print(title + ":")
            for row in memory[key]:
                print(f"  {row['mb']:7.1f} MB {row['share']:6.1%}  {row['function']}")
        write_json(options.json, memory)
        return 0
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "stacks.txt"
        if options.figure == "latency":
            what = profile_latency(files, out, lines=options.lines)
        else:
            what = WORKLOADS[options.figure](files, out)
        raw = out.read_text(encoding="utf-8") if out.exists() else ""
    result = {"figure": options.figure, "workload": what, **summary(fold(raw), options.top)}
    if result["samples"] < 100:
        print(f"only {result['samples']} samples: the workload failed or ended at once", file=sys.stderr)
        return 1
    print(f"{what}: {result['samples']} samples")
    print("hot path:")
    for row in result["hot_path"]:
        print(f"  {row['share']:6.1%}  {row['function']}")
    print("inclusive, off the hot path:")
    for row in result["inclusive"]:
        print(f"  {row['share']:6.1%}  {row['function']}")
    print("own time:")
    for row in result["own"]:
        print(f"  {row['share']:6.1%}  {row['function']}")
    write_json(options.json, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
