"""jedi where the resolver gives up: which names of installed packages it settles, at what cost.

    python bench/jedi_resolution.py [--files PATH ...] [--json OUT] [--bare] [--timeout 60]
                                    [--limit N] [--every-site]

torchmode's resolver (``analysis/project.py``, ``analysis/calls.py``) follows
imports statically into the project and, for calls that get a model, into
installed packages; what an installed class is comes from a small table
(``api_names.library_class_kind``). Where neither answers, it gives up. This
measures what jedi's inference would add there.

1. torchmode checks every file in this process, one project (a workspace with
   the measurement venv's site-packages as library paths) per corpus project:
   once untimed-free (the reference: wall and CPU seconds, peak RSS), once with
   hooks that record the give-up sites, read only (they wrap
   ``CallResolver.class_kind``, ``Project._base_kind`` and
   ``CallResolver.resolve_call`` and never change an answer):

   * ``construction``, ``instance``, ``from_pretrained``, ``base``: a name
     imported from an installed package (not the project) whose class kind
     stays unknown where a call builds it, a path built by it has a mode
     method called, or a class derives from it;
   * ``call``, ``method call``: a call that gets a model and resolves to no
     function (a function of an installed package, or a method of an instance
     of an installed class).

   Names of the standard library are counted but not asked (never a module).
2. jedi (pinned, in its own venv under ``~/.cache/torchmode-bench``, with the
   corpus's main dependencies pinned beside it unless ``--bare``) is asked
   once per project and name, as a check that cached its answers would
   (``--every-site``: at every site), at the name's first use:
   ``jedi.Script(code, path, project=jedi.Project(root, added_sys_path=<the
   other corpus trees>)).infer(line, column)``, in a worker process
   (``bench/jedi_worker.py``) whose process tree's RSS and CPU are sampled.
   A class is settled when jedi finds ``torch.nn.Module`` among its bases
   (``module``) or finds every base and none is (``not a module``); a
   function when jedi finds it (with its decorators and, for a construction,
   what calling it returns).
3. torchmode checks again with the settled answers put in (an installed name's
   kind where the table had none, and the function a call that gets a model
   runs), and the findings are compared: how many would change.

The figures: sites and questions, what jedi settled (module / not a module /
function), the findings that change, time per question (the first with jedi's
warm-up, the median after), jedi's total time next to torchmode's check of the
same files, and memory. Measured on a parso cache that starts empty.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import (
    BENCH,
    CORPUS_MODULE,
    SERVER_SOURCES,
    _load_corpus_module,
    base_python,
    count_lines,
    ensure_venv,
    percentile,
    read_source,
    write_json,
)

sys.path.insert(0, str(SERVER_SOURCES))

from torchmode import engine, gc_tuning
from torchmode.analysis import api_names, calls, models, project
from torchmode.analysis.calls import CallResolver, ResolvedCall
from torchmode.analysis.names import ImportMap, access_path
from torchmode.analysis.project import Project, project_for_paths
from torchmode.syntax import Document

JEDI = ("jedi==0.20.0", "parso==0.8.7")
# The corpus's dependencies that most give-up sites name, pinned to the releases the local
# package index has: torch and its ecosystem, and the scientific stack beside them.
DEPENDENCIES = (
    "torch==2.13.0",
    "torchvision==0.28.0",
    "transformers==5.17.0",
    "timm==1.0.29",
    "lightning==2.6.6",
    "pytorch-lightning==2.6.6",
    "torchmetrics==1.9.0",
    "accelerate==1.15.0",
    "einops==0.8.2",
    "datasets==5.0.1",
    "matplotlib==3.11.2",
    "pandas==3.0.6",
    "scikit-learn==1.9.1",
    "scipy==1.17.1",
    "pillow==12.3.0",
    "tqdm==4.70.1",
    "pyyaml==6.0.3",
    "opencv-python-headless==4.14.0.94",
)
WORKER = BENCH / "jedi_worker.py"
CLASS_REASONS = ("construction", "instance", "from_pretrained", "base", "other use")
CALL_REASONS = ("call", "method call")


# --- projects ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Corpus:
    name: str
    root: Path
    files: list[Path]


def projects_of(explicit: Sequence[str]) -> list[Corpus]:
    """The corpus projects, or one project per path given (a file's folder is its root)."""
    if explicit:
        found: list[Corpus] = []
        for name in explicit:
            path = Path(name).resolve()
            files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
            found.append(Corpus(path.name, path if path.is_dir() else path.parent, files))
        return found
    if not CORPUS_MODULE.exists():
        raise SystemExit("tests/realworld/corpus.py is missing; give files or folders with --files instead")
    return [
        Corpus(item.name, item.root.resolve(), list(item.files))
        for item in _load_corpus_module().ensure_corpus()
    ]


# --- give-up sites -----------------------------------------------------------------------


@dataclass
class Site:
    """A name of an installed package, in one file, whose kind or callee stayed unknown."""

    file: str
    name: str  # the access path in the file: ``nn.Linear``, ``trainer.fit``
    key: str  # the qualified name: ``torch.nn.Linear``; for a method, ``<class>.fit``
    reasons: set[str] = field(default_factory=set)
    position: tuple[int, int] | None = None  # 1-based line, 0-based column in characters

    @property
    def is_call(self) -> bool:
        return bool(self.reasons & set(CALL_REASONS))


class Recorder:
    """Hooks that note the give-up sites; they return what the wrapped method returned."""

    def __init__(self) -> None:
        self.sites: dict[tuple[str, str], Site] = {}
        self.context: list[str] = []

    def note(
        self, file: Path, name: str, key: str, reason: str, position: tuple[int, int] | None = None
    ) -> None:
        site = self.sites.get((str(file), name))
        if site is None:
            site = self.sites[(str(file), name)] = Site(str(file), name, key)
        site.reasons.add(reason)
        if site.position is None and position is not None:
            site.position = position


def installed_target(owner: Project, importer: Path, imports: ImportMap, local: str) -> str | None:
    """The qualified name of ``local`` when it is imported absolutely from no file of the project."""
    target = imports.import_target(local)
    if target is None or target[0] != 0:
        return None
    parts = target[1].split(".")
    for split in range(len(parts), 0, -1):
        if owner.module_file(".".join(parts[:split]), importer, 0) is not None:
            return None
    return target[1]


def name_position(text: str, node: ast.expr) -> tuple[int, int]:
    """Where jedi should look for the last name of ``node``: its line and character column
    (``ast`` columns count UTF-8 bytes)."""
    if isinstance(node, ast.Attribute) and node.end_lineno is not None and node.end_col_offset is not None:
        line, offset = node.end_lineno, node.end_col_offset - len(node.attr.encode("utf-8"))
    else:
        line, offset = node.lineno, node.col_offset
    source = text.splitlines()[line - 1].encode("utf-8")
    return line, len(source[:offset].decode("utf-8", errors="replace"))


@contextlib.contextmanager
def patched(owner: Any, name: str, replacement: Callable[..., Any]) -> Iterator[None]:
    original = getattr(owner, name)
    setattr(owner, name, replacement)
    try:
        yield
    finally:
        setattr(owner, name, original)


@contextlib.contextmanager
def recording(recorder: Recorder) -> Iterator[None]:
    class_kind = CallResolver.class_kind
    resolve_call = CallResolver.resolve_call
    base_kind = Project._base_kind

    def recorded_class_kind(self: CallResolver, local_path: str, depth: int = 0) -> Any:
        kind = class_kind(self, local_path, depth)
        if kind is None and self.project is not None and self.path is not None:
            assert isinstance(self.project, Project)
            key = installed_target(self.project, self.path, self.imports, local_path)
            if key is not None:
                reason = "base" if depth else (recorder.context[-1] if recorder.context else "other use")
                recorder.note(self.path, local_path, key, reason)
        return kind

    def recorded_base_kind(self: Project, entry: Any, path: Path, base: str, depth: int) -> Any:
        kind = base_kind(self, entry, path, base, depth)
        if kind is None:
            key = installed_target(self, path, entry.imports, base)
            if key is not None:
                recorder.note(path, base, key, "base")
        return kind

    def recorded_resolve_call(self: CallResolver, function: Any, call: ast.Call) -> ResolvedCall | None:
        resolved = resolve_call(self, function, call)
        if resolved is not None or self.project is None or self.path is None or not self._gets_a_model(call):
            return resolved
        assert isinstance(self.project, Project)
        name = access_path(call.func)
        if name is None:
            return None
        text = self.owner.document.text  # type: ignore[attr-defined]  # the file's ModuleAnalyzer
        key = installed_target(self.project, self.path, self.imports, name)
        if key is not None:
            recorder.note(self.path, name, key, "call", name_position(text, call.func))
        elif isinstance(call.func, ast.Attribute):
            receiver = access_path(call.func.value)
            for class_name in sorted(self.instances.get(receiver, ())) if receiver is not None else ():
                owner_key = installed_target(self.project, self.path, self.imports, class_name)
                if owner_key is not None:
                    position = name_position(text, call.func)
                    recorder.note(self.path, name, f"{owner_key}.{call.func.attr}", "method call", position)
                    break
        return None

    def in_context(reason: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            recorder.context.append(reason)
            try:
                return method(self, *args, **kwargs)
            finally:
                recorder.context.pop()

        return wrapper

    discovery = models.ModelDiscovery
    with contextlib.ExitStack() as stack:
        stack.enter_context(patched(CallResolver, "class_kind", recorded_class_kind))
        stack.enter_context(patched(CallResolver, "resolve_call", recorded_resolve_call))
        stack.enter_context(patched(Project, "_base_kind", recorded_base_kind))
        for reason, method in (
            ("construction", "construction_kind"),
            ("instance", "instance_kind"),
            ("from_pretrained", "_from_pretrained_kind"),
        ):
            stack.enter_context(patched(discovery, method, in_context(reason, getattr(discovery, method))))
        yield


def locate(sites: list[Site]) -> int:
    """Give each site without a position its name's first use in its file: as the callee of
    a call, else as a class base, else anywhere it is read. Returns how many have none."""
    by_file: dict[str, list[Site]] = {}
    for site in sites:
        if site.position is None:
            by_file.setdefault(site.file, []).append(site)
    missing = 0
    for file, pending in by_file.items():
        text = read_source(Path(file))
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError):
            missing += len(pending)
            continue
        wanted = {site.name for site in pending}
        first: dict[str, dict[str, ast.expr]] = {"call": {}, "base": {}, "read": {}}
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                path = access_path(node.func)
                if path in wanted:
                    first["call"].setdefault(path, node.func)
            elif isinstance(node, ast.ClassDef):
                for base in node.bases:
                    path = access_path(base)
                    if path in wanted:
                        first["base"].setdefault(path, base)
            elif isinstance(node, (ast.Name, ast.Attribute)) and isinstance(node.ctx, ast.Load):
                path = access_path(node)
                if path in wanted:
                    first["read"].setdefault(path, node)
        for site in pending:
            node = next((found[site.name] for found in first.values() if site.name in found), None)
            if node is None:
                missing += 1
            else:
                site.position = name_position(text, node)
    return missing


# --- torchmode passes --------------------------------------------------------------------


FindingKey = tuple[str, int, int, str, str]


@dataclass
class Pass:
    wall: float = 0.0
    cpu: float = 0.0
    findings: set[FindingKey] = field(default_factory=set)


CURRENT_ROOT: list[str] = [""]


def check_all(corpora: list[Corpus], library: list[Path]) -> Pass:
    """torchmode over every project, one workspace each, as ``torchmode check <root>`` does."""
    result = Pass()
    with gc_tuning.tuned():
        for corpus in corpora:
            gc.collect()  # the last project's analyses: a check of one project would not hold them
            CURRENT_ROOT[0] = str(corpus.root)
            workspace = engine.Workspace()
            workspace.project = project_for_paths([corpus.root], library)
            for path in corpus.files:
                text = read_source(path)
                wall, cpu = time.perf_counter(), time.process_time()
                checked = engine.check_document(Document(text, str(path)), engine.DEFAULT_SETTINGS, workspace)
                result.wall += time.perf_counter() - wall
                result.cpu += time.process_time() - cpu
                for finding in checked.findings:
                    start = finding.span.start
                    result.findings.add((str(path), start.line, start.column, finding.code, finding.message))
    return result


@dataclass
class Settled:
    """What jedi settled, put into a rerun: kinds by (project root, qualified name), and the
    function a call that gets a model runs by (project root, key): (file, name in it)."""

    kinds: dict[tuple[str, str], str] = field(default_factory=dict)
    functions: dict[tuple[str, str], tuple[Path, str]] = field(default_factory=dict)


@contextlib.contextmanager
def injecting(settled: Settled) -> Iterator[None]:
    library_class_kind = api_names.library_class_kind
    module_bases = api_names._MODULE_BASES
    resolve_call = CallResolver.resolve_call

    def injected_kind(qualified: str) -> Any:
        known = library_class_kind(qualified)
        return known if known is not None else settled.kinds.get((CURRENT_ROOT[0], qualified))

    class Bases(frozenset):  # type: ignore[type-arg]
        """``_MODULE_BASES`` with the installed classes jedi found to be modules, per project."""

        def __contains__(self, item: object) -> bool:
            return (
                frozenset.__contains__(self, item)
                or settled.kinds.get((CURRENT_ROOT[0], str(item))) == "module"
            )

    def injected_resolve_call(self: CallResolver, function: Any, call: ast.Call) -> ResolvedCall | None:
        resolved = resolve_call(self, function, call)
        if resolved is not None or self.project is None or self.path is None:
            return resolved
        assert isinstance(self.project, Project)
        name = access_path(call.func)
        if name is None:
            return None
        key = installed_target(self.project, self.path, self.imports, name)
        receiver = None
        if key is None and isinstance(call.func, ast.Attribute):
            receiver = access_path(call.func.value)
            for class_name in sorted(self.instances.get(receiver, ())) if receiver is not None else ():
                owner_key = installed_target(self.project, self.path, self.imports, class_name)
                if owner_key is not None:
                    key = f"{owner_key}.{call.func.attr}"
                    break
        target = settled.functions.get((CURRENT_ROOT[0], key)) if key is not None else None
        if target is None:
            return None
        file, dotted = target
        analyzer = self.project.analyzer_for(file)
        if analyzer is None:
            return None
        with self.project.lock:
            if "." in dotted:
                class_name, _, method = dotted.rpartition(".")
                found = analyzer.calls.method(class_name, method)
            else:
                callee = analyzer.module.nested.get(dotted)
                found = (callee, analyzer) if callee is not None else None
        if found is None or found[0].node is None:
            return None
        positional, keywords = self._arguments(call, receiver)
        return ResolvedCall(found[0], positional, keywords, found[1])

    with contextlib.ExitStack() as stack:
        for module in (api_names, calls, project):
            stack.enter_context(patched(module, "library_class_kind", injected_kind))
        stack.enter_context(patched(api_names, "_MODULE_BASES", Bases(module_bases)))
        stack.enter_context(patched(CallResolver, "resolve_call", injected_resolve_call))
        yield


# --- the jedi worker ---------------------------------------------------------------------


@dataclass
class Question:
    id: int
    corpus: Corpus
    site: Site
    sites: list[Site]  # every site the answer stands for


def questions_of(corpora: list[Corpus], sites: list[Site], every_site: bool) -> list[Question]:
    """One question per project and name (the answer a check would cache), or per site."""
    root_of_file = {str(path): corpus for corpus in corpora for path in corpus.files}
    grouped: dict[tuple[str, str, bool], Question] = {}
    questions: list[Question] = []
    for site in sites:
        corpus = root_of_file.get(site.file)
        if corpus is None or site.position is None:
            continue
        name = f"{site.file}:{site.name}" if every_site else site.key
        key = (str(corpus.root), name, site.is_call)
        known = grouped.get(key)
        if known is None:
            known = grouped[key] = Question(len(questions), corpus, site, [])
            questions.append(known)
        known.sites.append(site)
    return questions


def request_for(
    questions: list[Question], corpora: list[Corpus], timeout: float, cache: str
) -> dict[str, Any]:
    roots = [str(corpus.root) for corpus in corpora]
    projects: dict[str, dict[str, Any]] = {}
    for question in questions:
        root = str(question.corpus.root)
        entry = projects.setdefault(
            root, {"root": root, "sys_path": [other for other in roots if other != root], "files": {}}
        )
        assert question.site.position is not None
        line, column = question.site.position
        entry["files"].setdefault(question.site.file, []).append(
            {"id": question.id, "line": line, "column": column}
        )
    return {
        "timeout": timeout,
        "cache_dir": cache,
        "projects": [
            {**entry, "files": [{"path": path, "questions": asked} for path, asked in entry["files"].items()]}
            for entry in projects.values()
        ],
    }


class TreeSampler:
    """Samples the RSS of a process and its descendants (jedi's own subprocess included) and
    keeps the peak of their sum and each one's last CPU seconds."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self.pid = pid
        self.interval = interval
        self.peak_kib = 0
        self.cpu: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._tick = os.sysconf("SC_CLK_TCK")

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _tree(self) -> list[int]:
        parents: dict[int, list[int]] = {}
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            parents.setdefault(ppid, []).append(int(entry.name))
        found, pending = [], [self.pid]
        while pending:
            pid = pending.pop()
            found.append(pid)
            pending.extend(parents.get(pid, ()))
        return found

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            total = 0
            for pid in self._tree():
                try:
                    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                    status = Path(f"/proc/{pid}/status").read_text()
                except OSError:
                    continue
                self.cpu[pid] = (int(fields[11]) + int(fields[12])) / self._tick
                for line in status.splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            self.peak_kib = max(self.peak_kib, total)


def ask_jedi(python: Path, request: dict[str, Any]) -> tuple[dict[int, dict[str, Any]], dict[str, Any]]:
    """The worker's answers by question id, and its totals (time, CPU, memory)."""
    with tempfile.TemporaryDirectory(prefix="torchmode-jedi-") as folder:
        request_file, answers_file = Path(folder, "request.json"), Path(folder, "answers.jsonl")
        request_file.write_text(json.dumps(request), encoding="utf-8")
        env = {key: value for key, value in os.environ.items() if key not in ("VIRTUAL_ENV", "CONDA_PREFIX")}
        env.pop("PYTHONPATH", None)
        started = time.perf_counter()
        process = subprocess.Popen(
            [str(python), str(WORKER), str(request_file), str(answers_file)], env=env, cwd=folder
        )
        with TreeSampler(process.pid) as sampler:
            _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        lines = [json.loads(line) for line in answers_file.read_text(encoding="utf-8").splitlines() if line]
    if os.waitstatus_to_exitcode(status) != 0 or not lines or not lines[-1].get("done"):
        raise RuntimeError(f"the jedi worker failed (exit {os.waitstatus_to_exitcode(status)})")
    answers = {int(line["id"]): line for line in lines[1:-1]}
    totals = {
        **lines[0],
        **lines[-1],
        "wall": wall,
        # The worker's own CPU, and its children's (jedi's subprocess) as last sampled.
        "tree_cpu_seconds": usage.ru_utime
        + usage.ru_stime
        + sum(cpu for pid, cpu in sampler.cpu.items() if pid != process.pid),
        "tree_peak_rss_mb": sampler.peak_kib / 1024,
    }
    return answers, totals


# --- figures -----------------------------------------------------------------------------


def settled_kind(question: Question, answer: dict[str, Any]) -> str | None:
    """What a rerun may take from an answer: a kind for a name whose kind was unknown."""
    if question.site.is_call:
        return None
    kind = answer.get("kind")
    if kind in ("module", "other"):
        return str(kind)
    if kind == "function" and answer.get("returns") in ("module", "other"):
        return str(answer["returns"])
    return None


def settled_function(answer: dict[str, Any]) -> tuple[Path, str] | None:
    """The function a call runs, as a file torchmode can read and the name in it."""
    path, module, full = (
        answer.get("path", ""),
        answer.get("module_name") or "",
        answer.get("full_name") or "",
    )
    if answer.get("kind") != "function" or not path.endswith(".py") or not full.startswith(module + "."):
        return None
    return Path(path), full[len(module) + 1 :]


def classify(answer: dict[str, Any], installed: Callable[[str], bool], key: str) -> str:
    """The outcome's label; a name jedi did not find is told apart by whether its package is
    there at all (in jedi's venv or the corpus trees) or jedi missed it."""
    kind = str(answer.get("kind", "error"))
    if kind == "unresolved":
        return "unresolved" if installed(key.split(".", 1)[0]) else "package not installed"
    return {"module": "module", "other": "not a module", "function": "function"}.get(kind, kind)


def package_finder(folders: list[Path]) -> Callable[[str], bool]:
    """Whether a top-level package or module is in one of ``folders``."""
    names: set[str] = set()
    for folder in folders:
        for entry in folder.iterdir() if folder.is_dir() else ():
            names.add(entry.name.split(".", 1)[0])
    return names.__contains__


def rss_peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def sampled(questions: list[Question], every: int) -> list[Question]:
    """The questions asked in every ``every``-th file that has some (a file's questions share
    one jedi Script, as a check would share them)."""
    files = sorted({question.site.file for question in questions})
    kept = set(files[::every])
    return [question for question in questions if question.site.file in kept]


def timing(samples: list[float]) -> dict[str, float]:
    """The first question (jedi's warm-up in it), then the median, p95 and sum of the rest."""
    after = samples[1:]
    return {
        "first": samples[0] if samples else 0.0,
        "median_after_first": statistics.median(after) if after else 0.0,
        "p95_after_first": percentile(after, 0.95) if after else 0.0,
        "max": max(samples, default=0.0),
        "total": sum(samples),
    }


SETTLED = ("module", "not a module", "function")


def summarize(
    questions: list[Question], answers: dict[int, dict[str, Any]], installed: Callable[[str], bool]
) -> tuple[dict[str, Any], Settled]:
    """What jedi settled, per question and per site it stands for, and what a rerun takes."""
    outcome: Counter[str] = Counter()
    site_outcome: Counter[str] = Counter()
    functions: Counter[str] = Counter()
    by_reason: dict[str, Counter[str]] = {}
    settled = Settled()
    details: list[dict[str, Any]] = []
    wall: list[float] = []
    cpu: list[float] = []
    for question in questions:
        answer = answers.get(question.id, {"kind": "error", "error": "no answer"})
        wall.append(float(answer.get("seconds", 0.0)))
        cpu.append(float(answer.get("cpu_seconds", 0.0)))
        label = classify(answer, installed, question.site.key)
        outcome[label] += 1
        site_outcome[label] += len(question.sites)
        for reason in question.site.reasons:
            by_reason.setdefault(reason, Counter())[label] += 1
        if label == "function":
            returns = answer.get("returns")
            functions[f"returns {'no module' if returns == 'other' else returns or 'unknown'}"] += 1
            if answer.get("no_grad"):
                functions["decorated with no_grad or inference_mode"] += 1
        root = str(question.corpus.root)
        kind = settled_kind(question, answer)
        if kind is not None:
            settled.kinds[(root, question.site.key)] = kind
        target = settled_function(answer) if question.site.is_call else None
        if target is not None:
            settled.functions[(root, question.site.key)] = target
        details.append(
            {
                "project": question.corpus.name,
                "key": question.site.key,
                "file": question.site.file,
                "position": question.site.position,
                "reasons": sorted(question.site.reasons),
                "sites": len(question.sites),
                "outcome": label,
                **{
                    name: answer[name]
                    for name in ("full_name", "returns", "decorators", "error")
                    if name in answer
                },
                "seconds": wall[-1],
                "cpu_seconds": cpu[-1],
            }
        )
    figures = {
        "outcome": dict(outcome),
        "site_outcome": dict(site_outcome),
        "settled_questions": sum(outcome[label] for label in SETTLED),
        "settled_sites": sum(site_outcome[label] for label in SETTLED),
        "asked_sites": sum(len(question.sites) for question in questions),
        "by_reason": {reason: dict(counts) for reason, counts in by_reason.items()},
        "functions": dict(functions),
        "settled_kinds": dict(Counter(settled.kinds.values())),
        "settled_functions": len(settled.functions),
        "wall": timing(wall),
        "cpu": timing(cpu),
        "answers": details,
    }
    return figures, settled


def report(figures: dict[str, Any]) -> list[str]:
    """The figures as the lines printed."""
    outcome = figures["outcome"]
    others = ", ".join(f"{label} {count}" for label, count in outcome.items() if label not in SETTLED)
    functions = ", ".join(f"{name} {count}" for name, count in sorted(figures["functions"].items()))
    wall, cpu = figures["wall"], figures["cpu"]
    sample = f" (every {figures['sample']}th file's questions)" if figures["sample"] > 1 else ""
    lines = [
        f"give-up sites: {figures['sites']} (file, name) of installed packages, "
        f"{figures['stdlib_sites']} more of the standard library (not asked); by reason: "
        + ", ".join(f"{reason} {count}" for reason, count in sorted(figures["reasons"].items())),
        f"jedi {figures['jedi']} asked {figures['questions']} of {figures['all_questions']} questions"
        f"{sample}, "
        f"standing for {figures['asked_sites']} sites: settled {figures['settled_questions']} "
        f"({figures['settled_sites']} sites): module {outcome.get('module', 0)}, not a module "
        f"{outcome.get('not a module', 0)}, function {outcome.get('function', 0)} ({functions}); {others}",
        f"findings changed with the settled answers put in: +{len(figures['findings_added'])} "
        f"-{len(figures['findings_removed'])} (of {figures['findings']})",
    ]
    for sign, key in (("+", "findings_added"), ("-", "findings_removed")):
        lines += [
            f"  {sign} {item[0]}:{item[1]}:{item[2]} {item[3]} {item[4][:100]}" for item in figures[key][:15]
        ]
    lines += [
        f"time per question: first {wall['first']:.2f} s (jedi imported in "
        f"{figures['jedi_import_seconds']:.2f} s before it), then median "
        f"{wall['median_after_first'] * 1000:.0f} ms, p95 "
        f"{wall['p95_after_first'] * 1000:.0f} ms, max {wall['max']:.1f} s; CPU: first {cpu['first']:.2f} s, "
        f"median {cpu['median_after_first'] * 1000:.0f} ms; {outcome.get('timeout', 0)} timeouts",
        f"jedi in all: {figures['jedi_wall']:.1f} s wall, {figures['jedi_cpu']:.1f} s CPU = "
        f"{figures['added_time_ratio']:.1f} x the torchmode check of the same files "
        f"({figures['torchmode_wall']:.1f} s wall; {figures['added_cpu_ratio']:.1f} x its "
        f"{figures['torchmode_cpu']:.1f} s CPU)"
        + (
            f"; all questions: about {figures['jedi_cpu_all_estimate']:.0f} s CPU"
            if figures["sample"] > 1
            else ""
        ),
        f"memory: jedi's processes peak {figures['jedi_peak_rss_mb']:.0f} MB; torchmode's check peak "
        f"{figures['torchmode_peak_rss_mb']:.0f} MB",
    ]
    return lines


def load_average() -> list[float]:
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return []


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--files", nargs="*", default=(), help="files or folders (default: the corpus)")
    parser.add_argument("--json", help="write the figures to this JSON file")
    parser.add_argument(
        "--bare", action="store_true", help="jedi alone in its venv: no corpus dependencies to infer from"
    )
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds one jedi question may take")
    parser.add_argument(
        "--sample",
        type=int,
        default=1,
        help="ask only the questions of every Nth file that has some (1: all)",
    )
    parser.add_argument("--limit", type=int, default=0, help="ask at most this many questions (0: all)")
    parser.add_argument(
        "--every-site", action="store_true", help="ask at every site, not once per project and name"
    )
    options = parser.parse_args()
    load_at_start = load_average()

    corpora = projects_of(options.files)
    files = [path for corpus in corpora for path in corpus.files]
    lines = count_lines(read_source(path) for path in files)
    requirements = JEDI if options.bare else (*JEDI, *DEPENDENCIES)
    python = ensure_venv("jedi-bare" if options.bare else "jedi", base_python(), requirements)
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    library = [
        Path(
            subprocess.run(
                [str(python), "-c", purelib], capture_output=True, text=True, check=True
            ).stdout.strip()
        )
    ]
    print(f"{len(files)} files, {lines} lines, {len(corpora)} projects; jedi's venv: {python.parent.parent}")

    reference = check_all(corpora, library)
    torchmode_peak = rss_peak_mb()
    print(
        f"torchmode check: {reference.wall:.1f} s wall, {reference.cpu:.1f} s CPU, "
        f"{len(reference.findings)} findings, peak RSS {torchmode_peak:.0f} MB",
        flush=True,
    )

    recorder = Recorder()
    with recording(recorder):
        recorded = check_all(corpora, library)
    if recorded.findings != reference.findings:
        raise SystemExit("the recording hooks changed the findings: they must only read")
    every = sorted(recorder.sites.values(), key=lambda site: (site.file, site.name))
    stdlib = [site for site in every if site.key.split(".", 1)[0] in sys.stdlib_module_names]
    sites = [site for site in every if site.key.split(".", 1)[0] not in sys.stdlib_module_names]
    unlocated = locate(sites)
    all_questions = questions_of(corpora, sites, options.every_site)
    questions = sampled(all_questions, max(1, options.sample))
    if options.limit:
        questions = questions[: options.limit]
    print(f"{len(sites)} give-up sites, {len(all_questions)} questions; asking {len(questions)}", flush=True)

    with tempfile.TemporaryDirectory(prefix="torchmode-parso-") as cache:
        answers, totals = ask_jedi(python, request_for(questions, corpora, options.timeout, cache))
    figures, settled = summarize(
        questions, answers, package_finder([*library, *(corpus.root for corpus in corpora)])
    )

    with injecting(settled):
        rerun = check_all(corpora, library)
    jedi_wall, jedi_cpu = float(totals["wall"]), float(totals["tree_cpu_seconds"])
    figures.update(
        {
            "jedi": totals.get("jedi"),
            "bare": options.bare,
            "requirements": list(requirements),
            "files": len(files),
            "lines": lines,
            "projects": len(corpora),
            "every_site": options.every_site,
            "sample": max(1, options.sample),
            "sites": len(sites),
            "stdlib_sites": len(stdlib),
            "unlocated_sites": unlocated,
            "reasons": dict(Counter(reason for site in sites for reason in site.reasons)),
            "all_questions": len(all_questions),
            "questions": len(questions),
            "findings": len(reference.findings),
            "findings_added": [list(item) for item in sorted(rerun.findings - reference.findings)],
            "findings_removed": [list(item) for item in sorted(reference.findings - rerun.findings)],
            "torchmode_wall": reference.wall,
            "torchmode_cpu": reference.cpu,
            "torchmode_peak_rss_mb": torchmode_peak,
            "jedi_import_seconds": float(totals.get("import_seconds", 0.0)),
            "jedi_wall": jedi_wall,
            "jedi_cpu": jedi_cpu,
            "jedi_cpu_all_estimate": jedi_cpu * len(all_questions) / len(questions) if questions else 0.0,
            "jedi_peak_rss_mb": float(totals["tree_peak_rss_mb"]),
            "added_time_ratio": jedi_wall / reference.wall if reference.wall else 0.0,
            "added_cpu_ratio": jedi_cpu / reference.cpu if reference.cpu else 0.0,
            "load_average": [load_at_start, load_average()],
        }
    )
    print("\n".join(report(figures)))
    write_json(options.json, figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
