"""What the client declared it can do (``initialize``'s capabilities), asked the way the server needs it.

The server uses a feature of the client only when the client declared it (pytest-lsp warns
about any other use).
"""

from __future__ import annotations

from lsprotocol import types

from torchmode.config import PYPROJECT
from torchmode.runtime.report import REPORT_FOLDER, REPORT_NAME

# Changes on disk that matter: an imported module re-checks the files that use it, a Python
# file or notebook of the workspace itself, a pyproject.toml the settings, a .gitignore which
# files the workspace check covers, and a runtime report what a run observed.
WATCHED_FILES = types.Registration(
    id="torchmode-watched-files",
    method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
    register_options=types.DidChangeWatchedFilesRegistrationOptions(
        watchers=[
            types.FileSystemWatcher(glob_pattern="**/*.py"),
            types.FileSystemWatcher(glob_pattern="**/*.ipynb"),
            types.FileSystemWatcher(glob_pattern=f"**/{PYPROJECT}"),
            types.FileSystemWatcher(glob_pattern="**/.gitignore"),
            types.FileSystemWatcher(glob_pattern=f"**/{REPORT_FOLDER}/{REPORT_NAME}"),
        ]
    ),
)


def pulls_configuration(capabilities: types.ClientCapabilities) -> bool:
    workspace = capabilities.workspace
    return bool(workspace and workspace.configuration)


def refreshes_inlay_hints(capabilities: types.ClientCapabilities) -> bool:
    workspace = capabilities.workspace
    return bool(workspace and workspace.inlay_hint and workspace.inlay_hint.refresh_support)


def watches_files(capabilities: types.ClientCapabilities) -> bool:
    """The client takes a file watcher registered at run time."""
    workspace = capabilities.workspace
    watched = workspace.did_change_watched_files if workspace is not None else None
    return watched is not None and bool(watched.dynamic_registration)


def shows_progress(capabilities: types.ClientCapabilities) -> bool:
    window = capabilities.window
    return bool(window and window.work_done_progress)


def hover_markup(capabilities: types.ClientCapabilities) -> types.MarkupKind:
    text_document = capabilities.text_document
    hover = text_document.hover if text_document else None
    formats = (hover.content_format if hover else None) or []
    if formats and types.MarkupKind.Markdown not in formats:
        return types.MarkupKind.PlainText
    return types.MarkupKind.Markdown
