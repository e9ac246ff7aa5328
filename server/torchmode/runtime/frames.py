"""Where in the user's code something happened: the innermost frame outside torch and torchmode.

A forward pass or a ``train()`` call is reported at the user's line, not inside
``torch/nn/modules/module.py``. Frames are classified by their code's file, once
per file: torch, torchmode itself, an installed library (site-packages, the standard
library, frozen modules), or the user's own code. The user's line is the innermost
frame of the user's own code; when the whole stack is library code (a program run
from site-packages), the innermost frame outside torch and torchmode.

Columns come from the code object's positions (Python 3.11+), so the span is the
call expression itself; on 3.10 it is the line's text without its indentation.
"""

from __future__ import annotations

import enum
import functools
import importlib.util
import linecache
import os
import sys
import sysconfig
from types import CodeType, FrameType

from torchmode.runtime.observations import SourceSpan

# Frames between a module's caller and the forward hooks: nn.Module.__call__ and, for a compiled
# module, OptimizedModule.__call__.
_CALL_MACHINERY = ("torch/nn/modules/module.py", "torch/_dynamo/eval_frame.py")


class Origin(enum.Enum):
    TORCH = "torch"
    TORCHMODE = "torchmode"
    LIBRARY = "library"
    USER = "user"


def _package_folder(name: str) -> str | None:
    """The folder of an importable package, found without importing it."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return os.path.realpath(next(iter(spec.submodule_search_locations)))


def _library_folders() -> tuple[str, ...]:
    folders: set[str] = set()
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = sysconfig.get_paths().get(key)
        if path:
            folders.add(os.path.realpath(path))
    for entry in sys.path:
        if entry and os.path.basename(entry) in ("site-packages", "dist-packages"):
            folders.add(os.path.realpath(entry))
    return tuple(sorted(folders))


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder + os.sep)


class FrameClassifier:
    """Decides, once per file, whose code a frame runs; finds the user's frame and its span."""

    def __init__(self) -> None:
        torchmode_folder = os.path.realpath(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        self._own = (
            (Origin.TORCHMODE, torchmode_folder),
            *((Origin.TORCH, folder) for folder in filter(None, [_package_folder("torch")])),
        )
        self._libraries = _library_folders()
        self._origins: dict[str, Origin] = {}
        self._machinery: dict[str, bool] = {}
        self._spans: dict[tuple[CodeType, int], SourceSpan] = {}
        self._positions: dict[CodeType, list[tuple[int | None, int | None, int | None, int | None]]] = {}

    def origin(self, filename: str) -> Origin:
        found = self._origins.get(filename)
        if found is None:
            found = self._classify(filename)
            self._origins[filename] = found
        return found

    def _classify(self, filename: str) -> Origin:
        if filename.startswith("<"):
            # Code typed at a prompt or in a notebook cell is the user's; "<frozen runpy>",
            # "<string>" (exec) and friends are machinery.
            if filename.startswith(("<ipython-input", "<stdin>")):
                return Origin.USER
            return Origin.LIBRARY
        path = os.path.realpath(filename)
        for origin, folder in self._own:
            if _inside(path, folder):
                return origin
        if any(_inside(path, folder) for folder in self._libraries):
            return Origin.LIBRARY
        return Origin.USER

    def user_frame(self, frame: FrameType | None) -> FrameType | None:
        """The innermost frame of the user's code from ``frame`` outwards; failing that, the
        innermost one outside torch and torchmode; failing that, None."""
        fallback: FrameType | None = None
        while frame is not None:
            origin = self.origin(frame.f_code.co_filename)
            if origin is Origin.USER:
                return frame
            if fallback is None and origin is Origin.LIBRARY:
                fallback = frame
            frame = frame.f_back
        return fallback

    def caller_origin(self, frame: FrameType | None) -> Origin | None:
        """Whose code called a module: the first frame from ``frame`` outwards that is neither
        torchmode's nor nn.Module's call machinery (so torch's own callers, such as
        ``swa_utils.update_bn``, are told apart from the user's)."""
        while frame is not None:
            filename = frame.f_code.co_filename
            origin = self.origin(filename)
            if origin is not Origin.TORCHMODE and not (
                origin is Origin.TORCH and self._is_call_machinery(filename)
            ):
                return origin
            frame = frame.f_back
        return None

    def _is_call_machinery(self, filename: str) -> bool:
        found = self._machinery.get(filename)
        if found is None:
            path = os.path.realpath(filename).replace(os.sep, "/")
            found = path.endswith(_CALL_MACHINERY)
            self._machinery[filename] = found
        return found

    def span(self, frame: FrameType) -> SourceSpan:
        """The span of the expression the frame is executing (the call), in an absolute path."""
        key = (frame.f_code, frame.f_lasti)
        found = self._spans.get(key)
        if found is None:
            found = self._span(frame)
            if len(self._spans) > 65536:
                self._spans.clear()
            self._spans[key] = found
        return found

    def _span(self, frame: FrameType) -> SourceSpan:
        code = frame.f_code
        path = code.co_filename
        if not path.startswith("<"):
            path = os.path.abspath(path)
        line = frame.f_lineno or code.co_firstlineno
        positions = self._code_positions(code)
        if positions is not None:
            index = frame.f_lasti // 2
            if 0 <= index < len(positions):
                start_line, end_line, start_column, end_column = positions[index]
                if None not in (start_line, end_line, start_column, end_column):
                    # Columns in positions count UTF-8 bytes; the rest of torchmode counts characters.
                    return SourceSpan(
                        path,
                        start_line or line,
                        _character_column(path, start_line or line, start_column or 0),
                        end_line or line,
                        _character_column(path, end_line or line, end_column or 0),
                    )
        text = linecache.getline(code.co_filename, line).rstrip("\r\n")
        stripped = text.lstrip()
        return SourceSpan(path, line, len(text) - len(stripped), line, len(text.rstrip()))

    def _code_positions(
        self, code: CodeType
    ) -> list[tuple[int | None, int | None, int | None, int | None]] | None:
        if not hasattr(code, "co_positions"):  # Python 3.10
            return None
        positions = self._positions.get(code)
        if positions is None:
            positions = list(code.co_positions())
            self._positions[code] = positions
        return positions


def _character_column(path: str, line: int, byte_column: int) -> int:
    text = linecache.getline(path, line)
    if not text or text.isascii():
        return byte_column
    return len(text.encode("utf-8")[:byte_column].decode("utf-8", errors="replace"))


@functools.lru_cache(maxsize=4096)
def source_text(span: SourceSpan, limit: int = 80) -> str:
    """The source of a one-line span (e.g. ``model.eval()``), shortened; "" if it cannot be read."""
    if span.line != span.end_line:
        first = linecache.getline(span.path, span.line).rstrip("\r\n")[span.column :].strip()
        return (first[: limit - 1] + "…") if first else ""
    line = linecache.getline(span.path, span.line).rstrip("\r\n")
    piece = line[span.column : span.end_column].strip()
    return piece if len(piece) <= limit else piece[: limit - 1] + "…"


def line_text(path: str, line: int) -> str:
    return linecache.getline(path, line).rstrip("\r\n")
