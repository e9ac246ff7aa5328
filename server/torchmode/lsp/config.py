"""Editor settings -> engine ``Settings``, validated so that a bad value is a warning, never a crash.

Settings arrive as ``initializationOptions``::

    {"settings": {"locale": "zh-cn", "select": ["TM1"], "ignore": ["TM203"], "inlayHints": false},
     "debounceMs": 300}

and later through ``workspace/didChangeConfiguration`` (either the ``torchmode``
section itself, ``{"torchmode": {...}}``, or nothing, in which case the server
asks the client with ``workspace/configuration``). Unknown keys are ignored:
the VS Code client also sends its own settings (``interpreter``,
``importStrategy``...) in the same section.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from torchmode.engine import Settings

DEFAULT_DEBOUNCE_SECONDS = 0.3
MAX_DEBOUNCE_MS = 60_000
SECTION = "torchmode"
LOCALES = ("en", "zh-cn")
NOTIFICATION_LEVELS = ("off", "onError", "onWarning", "always")

# A rule code or a prefix of one: "TM", "TM1", "TM101".
_CODE_PREFIX = re.compile(r"^[A-Z]+[0-9]*$")


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
    """The validated ``torchmode`` settings section; None means "not set, use the default"."""

    locale: str | None = None
    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] | None = None
    # Off by default: a hint at every forward call is noise until someone asks for it.
    inlay_hints: bool = False
    # As in the VS Code Python-tool template: which problems also pop up, beyond the log.
    show_notifications: str = "onWarning"

    def to_engine(self, client_locale: str) -> Settings:
        defaults = Settings()
        return Settings(
            select=defaults.select if self.select is None else self.select,
            ignore=defaults.ignore if self.ignore is None else self.ignore,
            locale=self.locale or client_locale,
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
    warnings: list[str] = []
    locale = _parse_locale(raw.get("locale"), where, warnings)
    select = _parse_codes(raw.get("select"), f"{where}.select", warnings)
    ignore = _parse_codes(raw.get("ignore"), f"{where}.ignore", warnings)
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
    settings = UserSettings(
        locale=locale,
        select=select,
        ignore=ignore,
        inlay_hints=inlay_hints,
        show_notifications=str(show_notifications),
    )
    return Parsed(settings, tuple(warnings))


def _parse_locale(value: object, where: str, warnings: list[str]) -> str | None:
    # None, "" and "auto" mean: follow the editor's display language.
    if value is None or value in ("", "auto"):
        return None
    if isinstance(value, str):
        normalized = value.strip().lower().replace("_", "-")
        if normalized in ("en", "en-us", "en-gb") or normalized.startswith("en-"):
            return "en"
        if normalized.startswith("zh"):
            return "zh-cn"
    warnings.append(
        f"{where}.locale: {value!r} is not supported (use one of {', '.join(LOCALES)}); "
        "using the editor's language"
    )
    return None


def _parse_codes(value: object, where: str, warnings: list[str]) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        warnings.append(f"{where}: expected a list of rule codes, got {_describe(value)}; using the default")
        return None
    codes: list[str] = []
    for item in value:
        code = item.strip().upper() if isinstance(item, str) else None
        if code is None or not _CODE_PREFIX.match(code):
            warnings.append(f"{where}: {item!r} is not a rule code or prefix (like TM1 or TM101); ignored")
            continue
        codes.append(code)
    return tuple(codes)


def parse_debounce(value: object, warnings: list[str]) -> float:
    """``debounceMs`` -> seconds; 0 analyses on every change (tests, benchmarks)."""
    if value is None:
        return DEFAULT_DEBOUNCE_SECONDS
    # bool is an int in Python; ``true`` is not a delay.
    if (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and 0 <= value <= MAX_DEBOUNCE_MS
    ):
        return float(value) / 1000.0
    warnings.append(
        f"debounceMs: expected a number of milliseconds between 0 and {MAX_DEBOUNCE_MS}, "
        f"got {value!r}; using {int(DEFAULT_DEBOUNCE_SECONDS * 1000)}"
    )
    return DEFAULT_DEBOUNCE_SECONDS


@dataclass(frozen=True)
class InitializationOptions:
    settings: UserSettings
    debounce_seconds: float
    warnings: tuple[str, ...]


def parse_initialization_options(raw: object) -> InitializationOptions:
    if raw is None:
        return InitializationOptions(UserSettings(), DEFAULT_DEBOUNCE_SECONDS, ())
    if not isinstance(raw, Mapping):
        warning = f"initializationOptions: expected an object, got {_describe(raw)}; using defaults"
        return InitializationOptions(UserSettings(), DEFAULT_DEBOUNCE_SECONDS, (warning,))
    warnings: list[str] = []
    debounce = parse_debounce(raw.get("debounceMs"), warnings)
    parsed = parse_settings(raw.get("settings"), "initializationOptions.settings")
    return InitializationOptions(parsed.settings, debounce, (*parsed.warnings, *warnings))


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
    if any(key in payload for key in ("locale", "select", "ignore", "inlayHints", "showNotifications")):
        return True, payload
    return False, None


def _describe(value: object) -> str:
    return (
        f"{type(value).__name__} {value!r}" if not isinstance(value, (dict, list)) else type(value).__name__
    )
