"""The jedi side of ``bench/jedi_resolution.py``: run by the jedi venv's interpreter, never imported.

    <jedi venv>/bin/python bench/jedi_worker.py REQUEST.json ANSWERS.jsonl

The request lists corpus projects, each with its root, the folders jedi may also
import from (the other corpus trees), and the files holding a question: a
position (1-based line, 0-based column in characters) on a name whose kind
torchmode's resolver left unknown. One ``jedi.Script`` per file answers its
questions with ``infer``; each answer is written as one JSON line as soon as it
is known, with the wall and CPU seconds it took (the first includes jedi's
warm-up: its environment, grammar and the first modules it parses). A question
that runs past ``timeout`` seconds is stopped by an alarm and answered
``timeout``.

What an answer says (``kind``):

* ``module``: a class with ``torch.nn.Module`` among its bases, walked through
  jedi's inferred bases;
* ``other``: a class whose every base jedi found, none of them a module;
* ``class``: a class with a base jedi could not find (kind unknown);
* ``function``: a function, with its decorators and what calling it returns
  (``returns``: ``module`` or ``other`` when every inferred return value is an
  instance of a class of that kind, else null);
* ``instance``, ``module-object``, ...: another kind of name (jedi's type);
* ``unresolved``: jedi found nothing; ``ambiguous``: several answers of
  different kinds; ``timeout``; ``error``.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from typing import Any

MODULE_CLASSES = frozenset({"torch.nn.modules.module.Module", "torch.nn.Module"})
NO_GRAD_DECORATORS = ("no_grad", "inference_mode")


class SiteTimeout(BaseException):
    """Raised by the alarm; a BaseException so that no ``except Exception`` in jedi swallows it."""


def _alarm(signum: int, frame: Any) -> None:
    raise SiteTimeout


def qualified(value: Any) -> str:
    """``torch.nn.modules.module.Module`` for jedi's value of that class."""
    try:
        module = value.get_root_context().py__name__() or ""
    except Exception:
        module = ""
    name = value.py__name__()
    return f"{module}.{name}" if module else str(name)


def class_kind(value: Any, seen: set[str], depth: int = 0) -> str:
    """``module``, ``other`` (every base found, none a module) or ``class`` (a base not found)."""
    name = qualified(value)
    if name in MODULE_CLASSES:
        return "module"
    if name in seen or name.startswith(("builtins.", "typing.")) or depth > 40:
        return "other"
    seen.add(name)
    unknown = False
    for lazy in value.py__bases__():
        bases = list(lazy.infer())
        if not bases:
            unknown = True
            continue
        for base in bases:
            if not base.is_class():
                unknown = True
                continue
            kind = class_kind(base, seen, depth + 1)
            if kind == "module":
                return "module"
            if kind == "class":
                unknown = True
    return "class" if unknown else "other"


def returned_kind(name: Any) -> str | None:
    """What calling a function gives: ``module``/``other`` when every inferred value is an
    instance of a class of that kind; None when nothing is inferred or the kinds differ."""
    kinds: set[str] = set()
    for returned in name.execute():
        values = list(returned._name.infer())
        if not values:
            return None
        for value in values:
            cls = getattr(value, "class_value", None)
            if cls is None or not cls.is_class():
                return None
            kinds.add(class_kind(cls, set()))
    return kinds.pop() if len(kinds) == 1 and "class" not in kinds else None


def describe(name: Any) -> dict[str, Any]:
    answer: dict[str, Any] = {"full_name": name.full_name, "path": str(name.module_path or "")}
    if name.type == "class":
        kinds = {class_kind(value, set()) for value in name._name.infer() if value.is_class()}
        answer["kind"] = kinds.pop() if len(kinds) == 1 else "class"
    elif name.type == "function":
        answer["kind"] = "function"
        decorators: list[str] = []
        for value in name._name.infer():
            node = getattr(value, "tree_node", None)
            if node is not None and hasattr(node, "get_decorators"):
                decorators += [
                    decorator.get_code(include_prefix=False).strip() for decorator in node.get_decorators()
                ]
        answer["decorators"] = decorators
        answer["no_grad"] = any(word in decorator for decorator in decorators for word in NO_GRAD_DECORATORS)
        answer["returns"] = returned_kind(name)
        answer["module_name"] = name.module_name
    else:
        answer["kind"] = "module-object" if name.type == "module" else name.type
    return answer


def settle(script: Any, line: int, column: int) -> dict[str, Any]:
    names = script.infer(line, column)
    if not names:
        return {"kind": "unresolved"}
    answers = [describe(name) for name in names]
    if len({answer["kind"] for answer in answers}) > 1:
        return {"kind": "ambiguous", "answers": answers}
    first = answers[0]
    if len(answers) > 1:
        first["alternatives"] = len(answers)
    return first


def status_kib(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def main() -> int:
    request_path, answers_path = sys.argv[1], sys.argv[2]
    with open(request_path, encoding="utf-8") as handle:
        request = json.load(handle)
    timeout = float(request["timeout"])
    started, cpu_started = time.perf_counter(), time.process_time()
    import jedi

    jedi.settings.cache_directory = request["cache_dir"]  # parso's disk cache: empty on a cold run
    imported = {"import_seconds": time.perf_counter() - started, "jedi": jedi.__version__}
    signal.signal(signal.SIGALRM, _alarm)
    # jedi's default for a process outside any virtualenv variable: this interpreter, its
    # compiled modules inspected in a subprocess of jedi's.
    environment = jedi.get_default_environment()
    with open(answers_path, "w", encoding="utf-8") as out:
        out.write(json.dumps(imported) + "\n")
        for project in request["projects"]:
            jedi_project = jedi.Project(project["root"], added_sys_path=project["sys_path"])
            for file in project["files"]:
                with open(file["path"], encoding="utf-8", errors="replace") as handle:
                    code = handle.read()
                script = None
                for question in file["questions"]:
                    wall, cpu = time.perf_counter(), time.process_time()
                    try:
                        signal.setitimer(signal.ITIMER_REAL, timeout)
                        try:
                            if script is None:
                                script = jedi.Script(
                                    code, path=file["path"], project=jedi_project, environment=environment
                                )
                            answer = settle(script, question["line"], question["column"])
                        finally:
                            signal.setitimer(signal.ITIMER_REAL, 0)
                    except SiteTimeout:
                        answer = {"kind": "timeout"}
                        # Stopped anywhere, even amid a talk with jedi's subprocess: start afresh.
                        script = None
                        environment = jedi.get_default_environment()
                    except Exception as error:  # jedi's own failure: reported, not fatal
                        answer = {"kind": "error", "error": f"{type(error).__name__}: {error}"[:300]}
                    answer["id"] = question["id"]
                    answer["seconds"] = time.perf_counter() - wall
                    answer["cpu_seconds"] = time.process_time() - cpu
                    out.write(json.dumps(answer) + "\n")
                    out.flush()
        out.write(
            json.dumps(
                {
                    "done": True,
                    "seconds": time.perf_counter() - started,
                    "cpu_seconds": time.process_time() - cpu_started,
                    "peak_rss_kib": status_kib("VmHWM"),
                }
            )
            + "\n"
        )
    return 0


if __name__ == "__main__":
    # Otherwise jedi would take the environment of a virtualenv active in the caller's shell.
    os.environ.pop("VIRTUAL_ENV", None)
    os.environ.pop("CONDA_PREFIX", None)
    raise SystemExit(main())
