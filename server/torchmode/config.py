"""``[tool.torchmode]`` in pyproject.toml, editor settings and command-line options -> ``Settings``.

Where settings come from
------------------------
The configuration of a file is the ``[tool.torchmode]`` table of the nearest
``pyproject.toml`` found walking up from the file's folder, as ruff does. A
``pyproject.toml`` without that table does not count and the walk goes on, so a
monorepo's sub-package without its own table inherits the root's.

Keys (all optional)::

    [tool.torchmode]
    select = ["TM"]                 # code prefixes to report; "ALL" = every rule (default: all)
    extend-select = ["TM3"]         # added to `select` (whatever it is)
    ignore = ["TM201"]              # code prefixes never to report; wins over select
    severity = { TM201 = "hint" }   # per code or prefix: error | warning | information | hint
    fix-safe = { TM302 = true }     # per code or prefix: true = the rule's fixes count as safe,
                                    # false = as unsafe (a list of codes means `true` for each)
    eval-names = ["score"]          # replaces the words that make a function/loop an evaluation
    extend-eval-names = ["score"]   # adds to them (keeps the defaults)
    eval-loader-names = ["holdout"] # replaces the words that make a loader an evaluation loader
    extend-eval-loader-names = ["holdout"]
    train-names = ["fit"]           # words that make a function a training driver, never an evaluation
    locale = "zh-cn"                # en | zh-cn: language of messages
    cache-dir = ".torchmode_cache"  # where `torchmode check` keeps results, relative to this file
                                    # (command line only; the table of the current folder counts)

Layers
------
Settings are built from *layers* in increasing priority: the defaults, the
file's table, then the command line (CLI) or the editor settings (LSP; the
editor's ``configurationPreference`` can swap or drop the file layer). In each
layer, as in ruff:

* ``select`` replaces the selection of the layers below and clears their
  ``ignore``: ``--select TM201`` on the command line reports TM201 even if the
  file ignores it. ``extend-select`` and ``ignore`` add to what is below.
  Within one layer ``ignore`` wins; a later layer's ``extend-select`` removes
  an earlier ``ignore`` entry it covers (``extend-select = ["TM201"]`` undoes
  ``ignore = ["TM201"]`` but not ``ignore = ["TM2"]``).
* ``severity`` and ``fix-safe`` tables merge code by code, higher layers
  winning; a longer prefix wins over a shorter one in the same table.
* ``eval-names`` / ``eval-loader-names`` / ``train-names`` / ``locale`` replace; ``extend-*`` add.

Problems
--------
Nothing here raises on bad input. A bad key is one ``ConfigProblem`` naming the
file (and line when it can be found), the key and the expected form; that key
keeps its default and every other key still applies. Invalid TOML is one problem
with its line, and the file's table is then ignored as a whole; so is a file that
is not UTF-8 (Latin-1 bytes, UTF-16), which TOML requires. A UTF-8 byte order mark
is accepted. A broken file that never mentions torchmode is skipped silently.
"""

from __future__ import annotations

import difflib
import os
import re
import sys
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, TypeVar

from torchmode.findings import Severity
from torchmode.rules import RULE_CODES
from torchmode.settings import Settings, name_words

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = [
    "KEYS",
    "ConfigLayer",
    "ConfigLoader",
    "ConfigProblem",
    "FileConfig",
    "KeyStyle",
    "ResolvedConfig",
    "load_settings",
    "parse_layer",
    "parse_locale",
    "resolve_settings",
]

TABLE = "tool.torchmode"
PYPROJECT = "pyproject.toml"

KeyStyle = Literal["toml", "editor"]
_Value = TypeVar("_Value")

# (pyproject key, editor key). The editor uses VS Code's camelCase setting names.
KEYS: tuple[tuple[str, str], ...] = (
    ("select", "select"),
    ("extend-select", "extendSelect"),
    ("ignore", "ignore"),
    ("severity", "severity"),
    ("fix-safe", "fixSafe"),
    ("eval-names", "evalNames"),
    ("extend-eval-names", "extendEvalNames"),
    ("eval-loader-names", "evalLoaderNames"),
    ("extend-eval-loader-names", "extendEvalLoaderNames"),
    ("train-names", "trainNames"),
    ("extend-train-names", "extendTrainNames"),
    ("locale", "locale"),
)
# Keys only a pyproject.toml has (the command line reads them; an editor has no such setting).
FILE_ONLY_KEYS = ("cache-dir",)
_TOML_KEYS = (*(toml for toml, _ in KEYS), *FILE_ONLY_KEYS)

LOCALES = ("en", "zh-cn")
SEVERITY_NAMES = tuple(severity.value for severity in Severity)
# A rule code or a prefix of one: "TM", "TM1", "TM101" ("ALL" is turned into "TM").
_CODE_PREFIX = re.compile(r"[A-Z]+[0-9]*")
_AT_END = " (at end of document)"
_TOML_ERROR_POSITION = re.compile(r"\s*\(at line (?P<line>\d+), column (?P<column>\d+)\)$")


@dataclass(frozen=True)
class ConfigProblem:
    """One bad setting (or an unreadable/invalid file), already worded for the user."""

    source: str  # the pyproject.toml path, or "torchmode settings" for the editor
    key: str | None  # "select", "severity.TM999"; None for the file as a whole
    message: str  # what is wrong, the expected form, and what is used instead
    line: int | None = None

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class ConfigLayer:
    """One source of settings. ``None`` (or empty for the ``extend``/``ignore`` keys): not set."""

    select: tuple[str, ...] | None = None
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    # (prefix, value) pairs; expanded to codes when the layers are resolved.
    severity: tuple[tuple[str, Severity], ...] = ()
    fix_safe: tuple[tuple[str, bool], ...] = ()
    eval_names: tuple[str, ...] | None = None
    extend_eval_names: tuple[str, ...] = ()
    eval_loader_names: tuple[str, ...] | None = None
    extend_eval_loader_names: tuple[str, ...] = ()
    train_names: tuple[str, ...] | None = None
    extend_train_names: tuple[str, ...] = ()
    locale: str | None = None
    # Not a setting of the analysis: where the command line's cache is (a path as written,
    # relative to the pyproject.toml's folder).
    cache_dir: str | None = None


# --- parsing one layer ----------------------------------------------------------------------


class _LayerParser:
    """Validates the keys of one table/section; collects problems instead of raising."""

    def __init__(
        self,
        style: KeyStyle,
        source: str,
        known_codes: Collection[str],
        locate: Callable[[str], int | None],
    ) -> None:
        self.style = style
        self.source = source
        self.known_codes = known_codes
        self.locate = locate
        self.problems: list[ConfigProblem] = []

    def key_name(self, toml_key: str) -> str:
        if self.style == "toml":
            return toml_key
        return dict(KEYS)[toml_key]

    def problem(self, key: str, detail: str, fallback: str = "using the default") -> None:
        label = f"[{TABLE}] {key}" if self.style == "toml" else key
        self.problems.append(
            ConfigProblem(self.source, key, f"{label}: {detail}; {fallback}", self.locate(key.split(".")[0]))
        )

    # --- value kinds ---------------------------------------------------------------------

    def codes(self, key: str, value: object) -> tuple[str, ...] | None:
        """A list of code prefixes; None (and a problem) if any item is bad."""
        if not isinstance(value, (list, tuple)):
            self.problem(
                key,
                f'expected a list of rule codes or prefixes like ["TM1", "TM201"], got {_describe(value)}',
            )
            return None
        codes: list[str] = []
        for item in value:
            code = self.code(key, item)
            if code is None:
                return None
            codes.append(code)
        return tuple(codes)

    def code(self, key: str, item: object) -> str | None:
        if not isinstance(item, str):
            self.problem(
                key, f'expected rule codes or prefixes (strings like "TM201"), got {_describe(item)}'
            )
            return None
        code = item.strip().upper()
        if code == "ALL":
            return "TM"
        if not _CODE_PREFIX.fullmatch(code):
            self.problem(key, f"{item!r} is not a rule code or prefix (like TM1 or TM201)")
            return None
        if self.known_codes and not any(known.startswith(code) for known in self.known_codes):
            self.problem(
                key, f"no rule code starts with {item!r} (known: {', '.join(sorted(self.known_codes))})"
            )
            return None
        return code

    def table(self, key: str, value: object) -> list[tuple[str, object]] | None:
        if not isinstance(value, Mapping):
            example = '{ TM201 = "hint" }' if key.startswith("severity") else "{ TM302 = true }"
            if self.style == "editor":
                example = '{"TM201": "hint"}' if key.startswith("severity") else '{"TM302": true}'
            self.problem(
                key, f"expected a table of rule code = value, like {example}, got {_describe(value)}"
            )
            return None
        entries: list[tuple[str, object]] = []
        for raw_code, entry in value.items():
            code = self.code(f"{key}.{raw_code}", raw_code)
            if code is not None:
                entries.append((code, entry))
        return entries

    def severities(self, key: str, value: object) -> tuple[tuple[str, Severity], ...]:
        entries = self.table(key, value)
        result: list[tuple[str, Severity]] = []
        for code, level in entries or ():
            normalized = level.strip().lower() if isinstance(level, str) else None
            if normalized == "info":  # VS Code and LSP spell it both ways
                normalized = "information"
            if normalized not in SEVERITY_NAMES:
                self.problem(
                    f"{key}.{code}",
                    f"expected one of {', '.join(SEVERITY_NAMES)}, got {_describe(level)}",
                    "using the rule's default severity",
                )
                continue
            result.append((code, Severity(normalized)))
        return tuple(result)

    def fix_safety(self, key: str, value: object) -> tuple[tuple[str, bool], ...]:
        if isinstance(value, (list, tuple)):
            codes = self.codes(key, value)
            return tuple((code, True) for code in codes or ())
        entries = self.table(key, value)
        result: list[tuple[str, bool]] = []
        for code, safe in entries or ():
            if not isinstance(safe, bool):
                self.problem(
                    f"{key}.{code}",
                    f"expected true (fixes are safe) or false (fixes are unsafe), got {_describe(safe)}",
                    "using the rule's own marking",
                )
                continue
            result.append((code, safe))
        return tuple(result)

    def words(self, key: str, value: object) -> tuple[str, ...] | None:
        if not isinstance(value, (list, tuple)) or not all(isinstance(item, str) for item in value):
            self.problem(key, f'expected a list of words like ["validate", "score"], got {_describe(value)}')
            return None
        words: list[str] = []
        for item in value:
            assert isinstance(item, str)
            # The analysis matches whole words of a name (validate_epoch -> validate, epoch),
            # so "val_step" or "val*" could never match anything: say so instead of ignoring it.
            if len(name_words(item)) != 1 or not item.isalnum():
                self.problem(
                    key,
                    f"{item!r} is not a single word; names are split into words at '_' and case changes "
                    "(validate_epoch -> validate, epoch) and each word is compared",
                )
                return None
            words.append(item.lower())
        return tuple(words)


def parse_locale(value: object) -> str | None:
    """``en``, ``en-US``, ``zh``, ``zh-CN``, ``zh_Hans`` -> a supported locale; None if unknown."""
    if not isinstance(value, str):
        return None
    normalized = value.strip().lower().replace("_", "-")
    if normalized == "en" or normalized.startswith("en-"):
        return "en"
    if normalized == "zh" or normalized.startswith("zh-"):
        return "zh-cn"
    return None


def parse_layer(
    raw: Mapping[str, object],
    style: KeyStyle,
    source: str,
    known_codes: Collection[str] = (),
    locate: Callable[[str], int | None] = lambda key: None,
) -> tuple[ConfigLayer, list[ConfigProblem]]:
    """Validate one ``[tool.torchmode]`` table (``style="toml"``) or editor section (``"editor"``).

    ``known_codes`` are the rule codes that exist; an empty collection skips that check.
    Editor sections carry the client's own settings too, so unknown keys are only
    reported for pyproject tables.
    """
    parser = _LayerParser(style, source, known_codes, locate)
    names = {parser.key_name(toml_key): toml_key for toml_key, _ in KEYS}
    if style == "toml":
        names.update((key, key) for key in FILE_ONLY_KEYS)
    values: dict[str, object] = {}
    for key, value in raw.items():
        toml_key = names.get(key)
        if toml_key is not None:
            values[toml_key] = value
        elif style == "toml":
            parser.problems.append(
                ConfigProblem(
                    source, key, f"[{TABLE}] {key}: unknown key{_suggestion(key)}; ignored", locate(key)
                )
            )

    def given(toml_key: str) -> tuple[str, object] | None:
        if toml_key not in values:
            return None
        value = values[toml_key]
        # VS Code sends null for settings left at their default, and lists default to [];
        # neither is a choice the user made. (In pyproject, `select = []` is a choice.)
        if value is None or (style == "editor" and toml_key == "select" and value == []):
            return None
        return parser.key_name(toml_key), value

    layer = ConfigLayer()
    if (item := given("select")) is not None:
        layer = replace(layer, select=parser.codes(*item))
    if (item := given("extend-select")) is not None:
        layer = replace(layer, extend_select=parser.codes(*item) or ())
    if (item := given("ignore")) is not None:
        layer = replace(layer, ignore=parser.codes(*item) or ())
    if (item := given("severity")) is not None:
        layer = replace(layer, severity=parser.severities(*item))
    if (item := given("fix-safe")) is not None:
        layer = replace(layer, fix_safe=parser.fix_safety(*item))
    if (item := given("eval-names")) is not None:
        layer = replace(layer, eval_names=parser.words(*item))
    if (item := given("extend-eval-names")) is not None:
        layer = replace(layer, extend_eval_names=parser.words(*item) or ())
    if (item := given("eval-loader-names")) is not None:
        layer = replace(layer, eval_loader_names=parser.words(*item))
    if (item := given("extend-eval-loader-names")) is not None:
        layer = replace(layer, extend_eval_loader_names=parser.words(*item) or ())
    if (item := given("train-names")) is not None:
        layer = replace(layer, train_names=parser.words(*item))
    if (item := given("extend-train-names")) is not None:
        layer = replace(layer, extend_train_names=parser.words(*item) or ())
    if (item := given("locale")) is not None:
        key, value = item
        # "auto" and "" mean: follow the editor (LSP) or the default (CLI).
        if not (isinstance(value, str) and value.strip().lower() in ("", "auto")):
            locale = parse_locale(value)
            if locale is None:
                parser.problem(key, f"expected one of {', '.join(LOCALES)}, got {_describe(value)}")
            layer = replace(layer, locale=locale)
    if (item := given("cache-dir")) is not None:
        key, value = item
        if isinstance(value, str) and value.strip():
            layer = replace(layer, cache_dir=value.strip())
        else:
            parser.problem(key, f'expected a folder like ".torchmode_cache", got {_describe(value)}')
    return layer, parser.problems


def _suggestion(key: str) -> str:
    # Common slips: snake_case or camelCase spellings of a kebab-case key.
    spelled = re.sub(r"(?<=[a-z])([A-Z])", r"-\1", key).replace("_", "-").lower()
    if spelled in _TOML_KEYS:
        return f" (did you mean {spelled!r}?)"
    close = difflib.get_close_matches(spelled, _TOML_KEYS, n=1)
    if close:
        return f" (did you mean {close[0]!r}?)"
    return f" (known keys: {', '.join(_TOML_KEYS)})"


def _describe(value: object) -> str:
    kinds = {bool: "a boolean", int: "a number", float: "a number", str: "a string", dict: "a table"}
    if isinstance(value, (list, tuple)):
        return f"a list {_short_repr(list(value))}"
    kind = kinds.get(type(value), "a table" if isinstance(value, Mapping) else type(value).__name__)
    return f"{kind} {_short_repr(value)}"


def _short_repr(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# --- combining layers -------------------------------------------------------------------------


def _covers(prefix: str, code: str) -> bool:
    return code.startswith(prefix)


def _expand(entries: Iterable[tuple[str, _Value]], known_codes: Collection[str]) -> list[tuple[str, _Value]]:
    """Prefix entries -> per-code entries; longer prefixes applied last so they win."""
    result: dict[str, _Value] = {}
    for prefix, value in sorted(entries, key=lambda entry: len(entry[0])):
        codes = [code for code in known_codes if _covers(prefix, code)] if known_codes else [prefix]
        for code in codes:
            result[code] = value
    return list(result.items())


def resolve_settings(
    layers: Sequence[ConfigLayer], known_codes: Collection[str] = (), base: Settings | None = None
) -> Settings:
    """The engine's ``Settings`` from ``layers`` (lowest priority first) on top of ``base``.

    ``known_codes`` turns prefix keys of ``severity``/``fix-safe`` into codes; without
    it they are kept as given (only exact codes then take effect).
    """
    base = base or Settings()
    select = list(base.select)
    ignore = list(base.ignore)
    severity: dict[str, Severity] = dict(base.severity)
    fix_safety: dict[str, bool] = dict(base.fix_safety)
    eval_names = list(base.eval_names)
    loader_names = list(base.eval_loader_names)
    train_names = list(base.train_names)
    locale = base.locale
    for layer in layers:
        if layer.select is not None:
            select = list(layer.select)
            ignore = []
        for prefix in layer.extend_select:
            select.append(prefix)
            ignore = [entry for entry in ignore if not _covers(prefix, entry)]
        ignore.extend(layer.ignore)
        severity.update(_expand(layer.severity, known_codes))
        fix_safety.update(_expand(layer.fix_safe, known_codes))
        if layer.eval_names is not None:
            eval_names = list(layer.eval_names)
        eval_names.extend(name for name in layer.extend_eval_names if name not in eval_names)
        if layer.eval_loader_names is not None:
            loader_names = list(layer.eval_loader_names)
        loader_names.extend(name for name in layer.extend_eval_loader_names if name not in loader_names)
        if layer.train_names is not None:
            train_names = list(layer.train_names)
        train_names.extend(name for name in layer.extend_train_names if name not in train_names)
        if layer.locale is not None:
            locale = layer.locale
    return Settings(
        select=tuple(dict.fromkeys(select)),
        ignore=tuple(dict.fromkeys(ignore)),
        locale=locale,
        severity=tuple(sorted(severity.items())),
        eval_names=tuple(eval_names),
        eval_loader_names=tuple(loader_names),
        train_names=tuple(train_names),
        fix_safety=tuple(sorted(fix_safety.items())),
    )


# --- pyproject.toml files -----------------------------------------------------------------------


@dataclass(frozen=True)
class FileConfig:
    """What one pyproject.toml says: ``owned`` when it has a ``[tool.torchmode]`` table."""

    owned: bool
    layer: ConfigLayer = field(default_factory=ConfigLayer)
    problems: tuple[ConfigProblem, ...] = ()


@dataclass(frozen=True)
class ResolvedConfig:
    """The settings of one file, where they came from, and what was wrong on the way."""

    settings: Settings
    config_path: Path | None  # the pyproject.toml used; None when none has [tool.torchmode]
    problems: tuple[ConfigProblem, ...] = ()


def _line_locator(text: str) -> Callable[[str], int | None]:
    """Best-effort line of a key of ``[tool.torchmode]`` (or of a ``[tool.torchmode.KEY]`` table)."""
    lines = text.splitlines()
    header = re.compile(r"\s*\[\s*tool\s*\.\s*torchmode\s*\]")
    any_header = re.compile(r"\s*\[")

    def locate(key: str) -> int | None:
        sub_table = re.compile(rf"\s*\[\s*tool\s*\.\s*torchmode\s*\.\s*[\"']?{re.escape(key)}[\"']?\s*\]")
        assignment = re.compile(rf"\s*[\"']?{re.escape(key)}[\"']?\s*=")
        dotted = re.compile(rf"\s*torchmode\s*\.\s*[\"']?{re.escape(key)}[\"']?\s*=")
        in_table = False
        for number, line in enumerate(lines, start=1):
            if sub_table.match(line):
                return number
            if any_header.match(line):
                in_table = header.match(line) is not None
                continue
            if (in_table and assignment.match(line)) or dotted.match(line):
                return number
        return None

    return locate


_UTF8_BOM = b"\xef\xbb\xbf"
# Longest first: the UTF-32 little-endian mark starts with the UTF-16 one.
_OTHER_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)


def _decode_toml(data: bytes) -> tuple[str, tuple[str, int | None] | None]:
    """The text of a TOML file, and why it is not UTF-8 (message, line) or None.

    TOML files must be UTF-8. A UTF-8 byte order mark is accepted and dropped (Windows
    editors write one; the text is unambiguous). Anything else that is not UTF-8 is a
    problem, and the text returned is a best-effort reading, only good for looking
    for the word "torchmode".
    """
    expected = "cannot decode the file as UTF-8, which TOML requires"
    if data.startswith(_UTF8_BOM):
        data = data[len(_UTF8_BOM) :]
    for bom, name in _OTHER_BOMS:
        if data.startswith(bom):
            text = data.decode(name.lower().replace("-", ""), errors="replace")
            return text, (f"{expected}: it is {name} (it starts with a {name} byte order mark)", None)
    if b"\x00" in data:
        # UTF-16 or UTF-32 without a byte order mark, or a binary file.
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        text = data.replace(b"\x00", b"").decode("utf-8", errors="replace")
        return text, (f"{expected}: it contains null bytes (UTF-16 without a byte order mark?)", line)
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        reason = f"{error.reason} (byte 0x{data[error.start]:02x})"
        return data.decode("utf-8", errors="replace"), (f"{expected}: {reason}", line)


def read_pyproject(path: Path, known_codes: Collection[str] = ()) -> FileConfig:
    """Parse one pyproject.toml. Never raises."""
    source = str(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        problem = ConfigProblem(source, None, f"cannot read the file: {error.strerror or error}; ignored")
        return FileConfig(False, problems=(problem,))
    text, undecodable = _decode_toml(data)
    if undecodable is not None:
        # As with invalid TOML: a file that never mentions torchmode is another tool's business.
        if "torchmode" not in text:
            return FileConfig(False)
        message, line = undecodable
        problem = ConfigProblem(
            source, None, f"{message}; [{TABLE}] is ignored and the defaults are used", line
        )
        return FileConfig(True, problems=(problem,))
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        # A broken file that never mentions torchmode is some other tool's business;
        # one that does is probably ours, and silently using defaults would hide that.
        if "torchmode" not in text:
            return FileConfig(False)
        message = str(error)
        line = None
        position = _TOML_ERROR_POSITION.search(message)
        if position is not None:
            line = int(position.group("line"))
            message = message[: position.start()] + f" (column {position.group('column')})"
        elif message.endswith(_AT_END):
            # An unclosed bracket or string: the parser only notices at the end.
            line = max(1, len(text.splitlines()))
            message = message[: -len(_AT_END)] + " (at the end of the file)"
        problem = ConfigProblem(
            source, None, f"invalid TOML: {message}; [{TABLE}] is ignored and the defaults are used", line
        )
        return FileConfig(True, problems=(problem,))
    tool = document.get("tool")
    if not isinstance(tool, dict) or "torchmode" not in tool:
        return FileConfig(False)
    table = tool["torchmode"]
    if not isinstance(table, dict):
        problem = ConfigProblem(
            source,
            None,
            f"[{TABLE}] must be a table (a [tool.torchmode] section), got {_describe(table)}; "
            "the defaults are used",
            next(
                (
                    number
                    for number, line in enumerate(text.splitlines(), 1)
                    if re.match(r"\s*torchmode\s*=", line)
                ),
                None,
            ),
        )
        return FileConfig(True, problems=(problem,))
    layer, problems = parse_layer(table, "toml", source, known_codes, _line_locator(text))
    # In file order, so the messages read like a compiler's.
    problems.sort(key=lambda problem: problem.line or 0)
    return FileConfig(True, layer, tuple(problems))


class ConfigLoader:
    """Finds and caches the configuration of files. One per CLI run or language server.

    Each pyproject.toml is parsed once per (mtime, size): asking again after an
    edit re-reads it, so the language server can check on every analysis.
    """

    def __init__(self, known_codes: Collection[str] | None = None) -> None:
        if known_codes is None:
            known_codes = RULE_CODES
        self.known_codes = tuple(known_codes)
        self._files: dict[Path, tuple[tuple[int, int], FileConfig]] = {}

    def config_file(self, path: Path) -> FileConfig:
        """One pyproject.toml, from the cache while its mtime and size are unchanged."""
        try:
            status = path.stat()
        except OSError:
            return FileConfig(False)
        stamp = (status.st_mtime_ns, status.st_size)
        cached = self._files.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        loaded = read_pyproject(path, self.known_codes)
        self._files[path] = (stamp, loaded)
        return loaded

    def find(self, start: Path) -> tuple[Path | None, FileConfig]:
        """The nearest pyproject.toml with ``[tool.torchmode]`` at or above the folder ``start``."""
        folder = Path(os.path.abspath(start))
        problems: list[ConfigProblem] = []
        for candidate in (folder, *folder.parents):
            path = candidate / PYPROJECT
            if not path.is_file():
                continue
            loaded = self.config_file(path)
            if loaded.owned:
                return path, replace(loaded, problems=(*problems, *loaded.problems))
            problems.extend(loaded.problems)  # unreadable files on the way are worth a word
        return None, FileConfig(False, problems=tuple(problems))

    def resolve(
        self,
        start: Path | None,
        overrides: Sequence[ConfigLayer] = (),
        base: Settings | None = None,
        file_first: bool = True,
    ) -> ResolvedConfig:
        """Settings for files in folder ``start`` (None: no file configuration).

        ``overrides`` are layered above the file's table (``file_first``, the
        default), or below it (an editor's ``filesystemFirst`` preference).
        """
        config_path, loaded = (None, FileConfig(False)) if start is None else self.find(start)
        file_layers = (loaded.layer,) if loaded.owned else ()
        layers = (*file_layers, *overrides) if file_first else (*overrides, *file_layers)
        settings = resolve_settings(layers, self.known_codes, base)
        return ResolvedConfig(settings, config_path, loaded.problems)

    def resolve_path(self, file: Path, overrides: Sequence[ConfigLayer] = ()) -> ResolvedConfig:
        """Settings for one checked file: its folder's nearest configuration plus ``overrides``."""
        return self.resolve(Path(os.path.abspath(file)).parent, overrides)


def load_settings(path: Path | str) -> tuple[Settings, list[ConfigProblem]]:
    """The settings of the Python file ``path`` from its nearest ``[tool.torchmode]``."""
    resolved = ConfigLoader().resolve_path(Path(path))
    return resolved.settings, list(resolved.problems)
