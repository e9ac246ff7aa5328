"""The language server's workspace check: its progress, its command's answer, unopened notebooks,
and what a run observed, in a hover."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "workspace.progress.title": {
        "en": "torchmode: checking the workspace",
        "zh-cn": "torchmode:正在检查工作区",
    },
    "workspace.progress.message": {
        "en": "{done} of {total} files",
        "zh-cn": "已检查 {done}/{total} 个文件",
    },
    "workspace.checked": {
        "en": "torchmode checked {files} files of the workspace: {findings} findings in {with_findings} files.",
        "zh-cn": "torchmode 检查了工作区的 {files} 个文件:{with_findings} 个文件中有 {findings} 个问题。",
    },
    "workspace.cancelled": {
        "en": "torchmode's workspace check was cancelled after {files} files.",
        "zh-cn": "torchmode 的工作区检查在检查了 {files} 个文件后被取消。",
    },
    "workspace.open_files_only": {
        "en": "torchmode checks open files only (torchmode.diagnosticMode is openFilesOnly): set it to workspace to check every file of the workspace.",
        "zh-cn": "torchmode 只检查打开的文件(torchmode.diagnosticMode 为 openFilesOnly):将其设为 workspace 即可检查工作区的所有文件。",
    },
    # A finding in a notebook that is not open: the Problems panel shows the file, the
    # message says where in it.
    "workspace.notebook.where": {"en": "{line}: ", "zh-cn": "{line}:"},
    # The hover of a static finding that a `torchmode run` report confirms.
    "observed.confirmed": {
        "en": "**Confirmed at run time** by `torchmode run`: {code} was observed here {frequency}.",
        "zh-cn": "**运行时已确认**(`torchmode run`):{code} 在此处被观察到 {frequency}。",
    },
}
