"""Inlay hints: the statically inferred mode of a model at each of its forward calls.

Opt-in (``"inlayHints": true``). Calls whose mode is wholly unknown (a
sub-module inside ``forward``, a parameter with no known caller) get no hint:
the hint would only say "unknown" everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable

from lsprotocol import types

from torchmode.docs import text
from torchmode.engine import ForwardCallState
from torchmode.lsp.coordinates import Encoding, to_lsp_position
from torchmode.syntax import Document


def mode_label(modes: frozenset[str]) -> str | None:
    """``train``, ``eval``, ``train|eval``; ``?`` when some path brings a mode set elsewhere."""
    known = [mode for mode in ("train", "eval") if mode in modes]
    if not known:
        return None
    return "|".join(known) + ("?" if "unknown" in modes else "")


def inlay_hints(
    states: Iterable[ForwardCallState],
    document: Document,
    requested: types.Range,
    encoding: Encoding,
    locale: str,
) -> list[types.InlayHint]:
    hints: list[types.InlayHint] = []
    for state in states:
        label = mode_label(state.modes)
        if label is None:
            continue
        position = to_lsp_position(document, state.span.end, encoding)
        if not requested.start.line <= position.line <= requested.end.line:
            continue
        tooltip = text("hint.tooltip", locale, path=state.path, modes=label.rstrip("?"))
        if "unknown" in state.modes:
            tooltip += text("hint.unknown", locale)
        if state.grad == frozenset({"off"}):
            label += text("hint.no_grad", locale)
        hints.append(
            types.InlayHint(
                position=position,
                label=text("hint.label", locale, modes=label),
                padding_left=True,
                tooltip=tooltip,
            )
        )
    return hints
