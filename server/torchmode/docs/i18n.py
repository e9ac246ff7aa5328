"""Message catalogue lookup. Every key exists in every supported locale (a test checks it)."""

from __future__ import annotations

from torchmode.docs.catalogue import CATALOGUE

SUPPORTED_LOCALES = ("en", "zh-cn")


def normalize_locale(locale: str | None) -> str:
    """``zh``, ``zh-CN``, ``zh_Hans`` -> ``zh-cn``; anything else -> ``en``."""
    if locale and locale.lower().replace("_", "-").startswith("zh"):
        return "zh-cn"
    return "en"


def text(key: str, locale: str = "en", **values: object) -> str:
    entry = CATALOGUE[key]
    template = entry.get(normalize_locale(locale)) or entry["en"]
    return template.format(**values)
