"""Texts shown to people: messages, fix titles, hovers and rule docs, in English and Simplified Chinese."""

from torchmode.docs.i18n import SUPPORTED_LOCALES, CellLines, line_in_file, line_label, normalize_locale, text

__all__ = ["SUPPORTED_LOCALES", "CellLines", "line_in_file", "line_label", "normalize_locale", "text"]
