"""Editor settings -> engine ``Settings``, validated so that a bad value is a warning, never a crash.

Settings arrive as ``initializationOptions``::

    {"settings": {"locale": "zh-cn", "select": ["TM1"], "ignore": ["TM203"], "inlayHints": false,
                  "diagnosticMode": "workspace", "exclude": ["generated/"]},
     "debounceMs": 300, "progressAfterMs": 1000}

and later through ``workspace/didChangeConfiguration`` (either the ``torchmode``
section itself, ``{"torchmode": {...}}``, or nothing, in which case the server
asks the client with ``workspace/configuration``). Unknown keys are ignored:
the VS Code client also sends its own settings (``interpreter``,
``importStrategy``...) in the same section.

Rule settings are those of ``[tool.torchmode]`` (see ``torchmode.config``) in
camelCase: ``select``, ``extendSelect``, ``ignore``, ``severity``, ``fixSafe``,
``evalNames``, ``extendEvalNames``, ``evalLoaderNames``, ``extendEvalLoaderNames``,
``trainNames``, ``extendTrainNames``, ``locale``. ``null`` means "not set", and so does an
empty ``select`` (VS Code's default for a list setting, not a choice).

How they combine with the ``[tool.torchmode]`` table of the document's nearest
pyproject.toml is ``configurationPreference``, as in ruff's extension:

* ``editorFirst`` (default): the file's table, then the editor's settings on
  top, key by key (a ``select`` replaces, ``ignore``/``extendSelect`` add,
  ``severity``/``fixSafe`` merge per code; see ``torchmode.config``).
* ``filesystemFirst``: the editor's settings, then the file's table on top.
* ``editorOnly``: pyproject.toml files are not read.

The client's display language (``initialize``'s ``locale``) is the default
language under all of them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from torchmode.config import KEYS, ConfigLayer, ConfigLoader, ResolvedConfig, parse_layer, resolve_settings
from torchmode.engine import Settings, rule_codes

DEFAULT_DEBOUNCE_SECONDS = 0.3
MAX_DEBOUNCE_MS = 60_000
# A check still running after this long reports progress (``window/workDoneProgress``).
DEFAULT_PROGRESS_AFTER_SECONDS = 1.0
SECTION = "torchmode"
NOTIFICATION_LEVELS = ("off", "onError", "onWarning", "always")
CONFIGURATION_PREFERENCES = ("editorFirst", "filesystemFirst", "editorOnly")
# ``workspace``: every Python file and notebook of the workspace folders is checked in the
# background; ``openFilesOnly``: only the open documents (see ``workspace_scan``).
DIAGNOSTIC_MODES = ("workspace", "openFilesOnly")
# Keys that say a didChangeConfiguration payload is our section itself.
_OWN_KEYS = frozenset(
    {editor for _, editor in KEYS}
    | {"inlayHints", "showNotifications", "configurationPreference", "diagnosticMode", "exclude"}
)


def locale_from_client(locale: str | None) -> str:
    """The LSP ``initialize`` locale (``zh-CN``, ``zh``, ``en-US``...) -> a supported locale.

    Any Chinese locale gets Simplified Chinese, as the engine's own
    ``normalize_locale`` does: it is the only Chinese text there is, and more
    readable to a Traditional-Chinese reader than English.
    """
    if locale and locale.strip().lower().replace("_", "-").startswith("zh"):
        return "zh-cn"
    return "en"


@dataclass(frozen=True)
class UserSettings:
    """The validated ``torchmode`` settings section."""

    # The rule settings the editor sets; unset keys leave the file's or the default.
    rules: ConfigLayer = field(default_factory=ConfigLayer)
    # Off by default: a hint at every forward call is noise until someone asks for it.
    inlay_hints: bool = False
    # As in the VS Code Python-tool template: which problems also pop up, beyond the log.
    show_notifications: str = "onWarning"
    configuration_preference: str = "editorFirst"
    diagnostic_mode: str = "workspace"
    # Globs of files and folders the workspace check skips, as ``torchmode check --exclude``
    # takes them (relative to each workspace folder).
    exclude: tuple[str, ...] = ()

    @property
    def checks_workspace(self) -> bool:
        return self.diagnostic_mode == "workspace"

    def to_engine(self, client_locale: str) -> Settings:
        """The settings from the editor alone (no pyproject.toml)."""
        return resolve_settings([self.rules], rule_codes(), Settings(locale=client_locale))

    def resolve(self, loader: ConfigLoader, folder: Path | None, client_locale: str) -> ResolvedConfig:
        """The settings of a document in ``folder`` (None: not a file; only the editor's apply)."""
        if self.configuration_preference == "editorOnly":
            folder = None
        return loader.resolve(
            folder,
            (self.rules,),
            base=Settings(locale=client_locale),
            file_first=self.configuration_preference != "filesystemFirst",
        )


@dataclass(frozen=True)
class Parsed:
    """A parse result plus the warnings to show the user."""

    settings: UserSettings
    warnings: tuple[str, ...] = field(default=())


def parse_settings(raw: object, where: str = "torchmode settings") -> Parsed:
    if raw is None:
        return Parsed(UserSettings())
    if not isinstance(raw, Mapping):
        return Parsed(UserSettings(), (f"{where}: expected an object, got {_describe(raw)}; using defaults",))
    rules, problems = parse_layer(raw, "editor", where, rule_codes())
    warnings: list[str] = [str(problem) for problem in problems]
    inlay_hints = raw.get("inlayHints", False)
    if not isinstance(inlay_hints, bool):
        warnings.append(
            f"{where}.inlayHints: expected true or false, got {_describe(inlay_hints)}; using false"
        )
        inlay_hints = False
    show_notifications = raw.get("showNotifications", "onWarning")
    if show_notifications not in NOTIFICATION_LEVELS:
        warnings.append(
            f"{where}.showNotifications: expected one of {', '.join(NOTIFICATION_LEVELS)}, "
            f"got {_describe(show_notifications)}; using onWarning"
        )
        show_notifications = "onWarning"
    preference = raw.get("configurationPreference", "editorFirst")
    if preference is None:
        preference = "editorFirst"
    if preference not in CONFIGURATION_PREFERENCES:
        warnings.append(
            f"{where}: configurationPreference: expected one of {', '.join(CONFIGURATION_PREFERENCES)}, "
            f"got {_describe(preference)}; using editorFirst"
        )
        preference = "editorFirst"
    mode = raw.get("diagnosticMode", "workspace")
    if mode is None:
        mode = "workspace"
    if mode not in DIAGNOSTIC_MODES:
        warnings.append(
            f"{where}.diagnosticMode: expected one of {', '.join(DIAGNOSTIC_MODES)}, "
            f"got {_describe(mode)}; using workspace"
        )
        mode = "workspace"
    exclude = raw.get("exclude", [])
    if exclude is None:
        exclude = []
    if not isinstance(exclude, list) or not all(isinstance(item, str) for item in exclude):
        warnings.append(
            f"{where}.exclude: expected a list of globs, got {_describe(exclude)}; excluding nothing"
        )
        exclude = []
    settings = UserSettings(
        rules=rules,
        inlay_hints=inlay_hints,
        show_notifications=str(show_notifications),
        configuration_preference=str(preference),
        diagnostic_mode=str(mode),
        exclude=tuple(item for item in exclude if item.strip()),
    )
    return Parsed(settings, tuple(warnings))


def parse_debounce(value: object, warnings: list[str]) -> float:
    """``debounceMs`` -> seconds; 0 analyses on every change (tests, benchmarks)."""
    return _parse_milliseconds("debounceMs", value, DEFAULT_DEBOUNCE_SECONDS, warnings)


def _parse_milliseconds(name: str, value: object, default: float, warnings: list[str]) -> float:
    if value is None:
        return default
    # bool is an int in Python; ``true`` is not a delay.
    if (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and 0 <= value <= MAX_DEBOUNCE_MS
    ):
        return float(value) / 1000.0
    warnings.append(
        f"{name}: expected a number of milliseconds between 0 and {MAX_DEBOUNCE_MS}, "
        f"got {value!r}; using {int(default * 1000)}"
    )
    return default


@dataclass(frozen=True)
class InitializationOptions:
    settings: UserSettings
    debounce_seconds: float
    warnings: tuple[str, ...]
    # ``progressAfterMs``: a check running longer shows progress in the editor.
    progress_after_seconds: float = DEFAULT_PROGRESS_AFTER_SECONDS


def parse_initialization_options(raw: object) -> InitializationOptions:
    if raw is None:
        return InitializationOptions(UserSettings(), DEFAULT_DEBOUNCE_SECONDS, ())
    if not isinstance(raw, Mapping):
        warning = f"initializationOptions: expected an object, got {_describe(raw)}; using defaults"
        return InitializationOptions(UserSettings(), DEFAULT_DEBOUNCE_SECONDS, (warning,))
    warnings: list[str] = []
    debounce = parse_debounce(raw.get("debounceMs"), warnings)
    progress_after = _parse_milliseconds(
        "progressAfterMs", raw.get("progressAfterMs"), DEFAULT_PROGRESS_AFTER_SECONDS, warnings
    )
    parsed = parse_settings(raw.get("settings"), "initializationOptions.settings")
    return InitializationOptions(parsed.settings, debounce, (*parsed.warnings, *warnings), progress_after)


def section_from_notification(payload: object) -> tuple[bool, object]:
    """Find the torchmode section in a ``didChangeConfiguration`` payload.

    Returns ``(found, section)``. ``found`` is False when the payload carries no
    settings of ours (VS Code sends ``null`` under the pull model), and the
    server should then ask with ``workspace/configuration``.
    """
    if not isinstance(payload, Mapping) or not payload:
        return False, None
    if SECTION in payload:
        return True, payload[SECTION]
    if "settings" in payload:  # the initializationOptions shape
        return True, payload["settings"]
    if any(key in payload for key in _OWN_KEYS):
        return True, payload
    return False, None


def _describe(value: object) -> str:
    return (
        f"{type(value).__name__} {value!r}" if not isinstance(value, (dict, list)) else type(value).__name__
    )
