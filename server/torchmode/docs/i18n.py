"""Message catalogue lookup. Every key exists in every supported locale (a test checks it)."""

from __future__ import annotations

from typing import Protocol

from torchmode.docs.catalogue import CATALOGUE

SUPPORTED_LOCALES = ("en", "zh-cn")


class CellLines(Protocol):
    """A notebook's program, which knows the cell and cell line of each of its lines."""

    def cell_line(self, line: int) -> tuple[int, int] | None:
        """(1-based cell number as the notebook shows it, line in that cell) of a program line."""
        ...


def normalize_locale(locale: str | None) -> str:
    """``zh``, ``zh-CN``, ``zh_Hans`` -> ``zh-cn``; anything else -> ``en``."""
    if locale and locale.lower().replace("_", "-").startswith("zh"):
        return "zh-cn"
    return "en"


def _template(key: str, locale: str) -> str:
    entry = CATALOGUE[key]
    return entry.get(normalize_locale(locale)) or entry["en"]


def line_label(number: int, locale: str = "en", lines: CellLines | None = None) -> str:
    """ "line 12" / "第 12 行"; in a notebook "cell 3, line 2" / "第 3 个单元格第 2 行"."""
    found = lines.cell_line(number) if lines is not None else None
    if found is not None:
        return _template("line.cell", locale).format(cell=found[0], number=found[1])
    return _template("line.label", locale).format(number=number)


def line_in_file(file: str, number: int, locale: str = "en") -> str:
    """A line of another file: "engine.py, line 12" / "engine.py 第 12 行"."""
    return _template("line.in_file", locale).format(file=file, number=number)


def text(key: str, locale: str = "en", lines: CellLines | None = None, **values: object) -> str:
    """The catalogue text of ``key``, with ``values`` filled in. An ``int`` for a placeholder
    named ``line`` or ``*_line`` is a line of the checked document, named as a person sees
    it (``lines``: the notebook's cells); pass a ``str`` for a label made already."""
    for name, value in values.items():
        if (
            (name == "line" or name.endswith("_line"))
            and isinstance(value, int)
            and not isinstance(value, bool)
        ):
            values[name] = line_label(value, locale, lines)
    return _template(key, locale).format(**values)
