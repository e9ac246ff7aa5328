"""How messages and hovers name a line: of the file, of a notebook's cell, of another file.

Templates write a line placeholder where the whole label goes (``({line})``, ``在{line}``);
``i18n.text`` renders an ``int`` given for a placeholder named ``line`` or ``*_line`` with
these, through the notebook's cells when the text is about a notebook.
"""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "line.label": {"en": "line {number}", "zh-cn": "第 {number} 行"},
    "line.cell": {"en": "cell {cell}, line {number}", "zh-cn": "第 {cell} 个单元格第 {number} 行"},
    "line.in_file": {"en": "{file}, line {number}", "zh-cn": "{file} 第 {number} 行"},
}
