"""The language server's progress report for a check that takes longer than a second."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "progress.title": {"en": "torchmode", "zh-cn": "torchmode"},
    "progress.checking": {
        "en": "Checking {name} and the project files it imports",
        "zh-cn": "正在检查 {name} 及其导入的项目文件",
    },
}
