"""Inlay hints: the statically inferred mode of a model at each of its forward calls.

Opt-in (``"inlayHints": true``). Calls whose mode is wholly unknown (a
sub-module inside ``forward``, a parameter with no known caller) get no hint:
the hint would only say "unknown" everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable

from lsprotocol import types

from torchmode.engine import ForwardCallState
from torchmode.lsp.coordinates import Encoding, to_lsp_position
from torchmode.syntax import Document

_TEXTS = {
    "en": {
        "label": "mode: {modes}",
        "tooltip": "`{path}` may be in {modes} mode at this call, as far as torchmode can tell.",
        "unknown": " (or a mode set elsewhere)",
    },
    "zh-cn": {
        "label": "模式: {modes}",
        "tooltip": "据 torchmode 推断,`{path}` 在此处调用时可能处于 {modes} 模式。",
        "unknown": "(也可能是其他地方设置的模式)",
    },
}


def mode_label(modes: frozenset[str]) -> str | None:
    known = [mode for mode in ("train", "eval") if mode in modes]
    if not known:
        return None
    return "/".join(known) + ("?" if "unknown" in modes else "")


def inlay_hints(
    states: Iterable[ForwardCallState],
    document: Document,
    requested: types.Range,
    encoding: Encoding,
    locale: str,
) -> list[types.InlayHint]:
    texts = _TEXTS.get(locale, _TEXTS["en"])
    hints: list[types.InlayHint] = []
    for state in states:
        label = mode_label(state.modes)
        if label is None:
            continue
        position = to_lsp_position(document, state.span.end, encoding)
        if not requested.start.line <= position.line <= requested.end.line:
            continue
        tooltip = texts["tooltip"].format(path=state.path, modes=label.rstrip("?"))
        if "unknown" in state.modes:
            tooltip += texts["unknown"]
        hints.append(
            types.InlayHint(
                position=position,
                label=texts["label"].format(modes=label),
                padding_left=True,
                tooltip=tooltip,
            )
        )
    return hints
