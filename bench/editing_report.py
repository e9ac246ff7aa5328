"""The report's parts for issue 16's editor figures: 10 (edits in a method of a class, on two
files) and 11 (a long editing session). Used by ``bench/run_all.py``; kept apart so that
module stays readable.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from benchlib import table, verdict

# Figure 10 on the two files of issue 16: trainer.py (4,768 lines, one class; 50 ms) and the
# class-based file whose class is closest to 1,000 lines (25 ms).
CLASS_FIGURES = ("class", "class_1000")
# Figures that can miss a target but that bench/profiles.py has no workload for.
NOT_PROFILED = {
    "session": "11. long session",
    "stale": "stale or missing publishes (a fault in what is published, not time)",
}


def worst_kind(edits: dict[str, Any]) -> str:
    """The edit kind of figure 10 with the highest p95 over LSP (in process without LSP)."""
    if "lsp" in edits:
        return max(edits["in_process"], key=lambda kind: edits["lsp"][kind]["p95"])
    return max(edits["in_process"], key=lambda kind: edits["in_process"][kind]["incremental_p95"])


def editing_rows(results: dict[str, dict[str, Any] | None]) -> list[tuple[str, str, str, str, bool]]:
    """Summary rows of figures 10 and 11: (profile workload, figure, measured, target, met)."""
    rows: list[tuple[str, str, str, str, bool]] = []
    for name in CLASS_FIGURES:
        edits = results.get(name)
        if edits is None or "lsp" not in edits:
            continue
        lsp, target = edits["lsp"], edits["target_p95_ms"]
        worst = worst_kind(edits)
        where = f"{edits['lines']:,} lines (`{edits['name']}`, one class of {edits['class_lines']:,})"
        rows.append(
            (
                name,
                f"10. edit in a method of a class -> diagnostics p95, worst of the four kinds, {where}",
                f"{lsp[worst]['p95'] * 1000:.1f} ms ({worst}; "
                + ", ".join(f"{kind} {lsp[kind]['p95'] * 1000:.1f}" for kind in edits["in_process"])
                + " ms)",
                f"<= {target:.0f} ms each",
                all(lsp[kind]["p95"] * 1000 <= target for kind in edits["in_process"]),
            )
        )
        # Not a profile's question (workload "stale" is never profiled): the order of publishes.
        rows.append(
            (
                "stale",
                f"10. stale publishes over those edits, {edits['lines']:,} lines",
                str(lsp["stale_publishes"]),
                "0",
                lsp["stale_publishes"] == 0,
            )
        )
    session = results.get("session")
    if session is not None:
        window, growth = session["window"], session["rss_growth"]
        target_growth = session.get("target_rss_growth", 0.10)
        tolerance = session.get("p95_tolerance", 0.10)
        size = f"{session['documents']} documents of ~{session['size']:,} lines, {session['edits']:,} edits"
        rows.append(
            (
                "session",
                f"11. long session: server RSS growth after the first {window:,} edits, {size}",
                f"{growth:+.1%} ({session['rss_early_mb']:.0f} MB -> {session['rss_end_mb']:.0f} MB)",
                f"<= +{target_growth:.0%}",
                growth <= target_growth,
            )
        )
        rows.append(
            (
                "session",
                f"11. long session: p95 of the last {window:,} edits against the first {window:,}",
                f"{session['last_p95'] * 1000:.1f} ms against {session['first_p95'] * 1000:.1f} ms",
                f"no worse (at most +{tolerance:.0%})",
                session["last_p95"] <= session["first_p95"] * (1 + tolerance),
            )
        )
        rows.append(
            (
                "stale",
                "11. long session: stale publishes (and versions never published)",
                f"{session['stale_publishes']} ({session['missing_publishes']} never published)",
                "0 (0)",
                session["stale_publishes"] == 0 and session["missing_publishes"] == 0,
            )
        )
    return rows


def render_class_edits(figures: Sequence[dict[str, Any]]) -> list[str]:
    """Section 10: the four edit kinds in a method of a class, one table per file."""
    first = figures[0]
    out = [
        "## 10. Edits in a method of a big class",
        "",
        "`bench/class_edits.py` (issue 16): the four ways people type, in a method near the middle of "
        "the file's largest class (its method with at least 3 statements nearest the class's middle), "
        "at the statement in the middle of that method (`tests/support/edit_kinds.py`, the versions the "
        "incremental tests prove equal to a check from scratch): `character` = `x` typed after a name, "
        "twice, then deleted; `enter` = a line break with the indentation, twice, then deleted; `paste` "
        "= a 6-line block pasted, then removed; `typing` = a line break, then `with torch.no_grad():` "
        "typed one character at a time (most versions do not parse), its body, then removed. "
        f"{first['rounds']} round{'' if first['rounds'] == 1 else 's'} of each kind. Over LSP: the real "
        "server, debounce 0, each version an incremental `didChange`, timed to the `publishDiagnostics` "
        "of that version; a publish for a version older than one already published is stale. In "
        "process: each version parsed and analysed from the one before (`reparse` + `check_document`, "
        "what the server does), then the "
        "same text checked from scratch; the ratio is taken edit by edit and its median shown.",
        "",
    ]
    for edits in figures:
        lsp = edits.get("lsp", {})
        target = edits["target_p95_ms"]
        out += [
            f"`{edits['name']}`: {edits['lines']:,} lines, class `{edits['class']}` "
            f"({edits['class_lines']:,} lines), typing into `{edits['method']}` (line "
            f"{edits['method_line']:,}); {edits['chosen_by']}. Target p95 <= {target:.0f} ms per kind"
            + (f"; stale publishes: {lsp['stale_publishes']}." if lsp else " (not measured over LSP)."),
            "",
        ]
        rows = []
        for kind, row in edits["in_process"].items():
            over = lsp.get(kind)
            rows.append(
                [
                    kind,
                    f"{row['versions']} ({row['parsed']})",
                    *(
                        [f"{over[name] * 1000:.1f} ms" for name in ("p50", "p95", "max")]
                        if over
                        else ["-", "-", "-"]
                    ),
                    f"{row['incremental_p50'] * 1000:.1f} ms",
                    f"{row['scratch_p50'] * 1000:.1f} ms",
                    f"{row['ratio_p50']:.2f}",
                    verdict(over["p95"] * 1000 <= target) if over else "-",
                ]
            )
        out += table(
            [
                "kind",
                "versions (that parse)",
                "LSP p50",
                "LSP p95",
                "LSP max",
                "in process: incremental p50",
                "from scratch p50",
                "ratio",
                f"p95 <= {target:.0f} ms?",
            ],
            rows,
        )
    return out


def render_long_session(session: dict[str, Any]) -> list[str]:
    """Section 11: memory and latency over a long editing session."""
    window = session["window"]
    return [
        "## 11. A long editing session",
        "",
        f"`bench/long_session.py` (issue 16): one server (debounce 0), {session['documents']} open documents "
        f"of ~{session['size']:,} lines of real training code, each importing and calling a helper of the "
        f"one before; {session['edits']:,} edits round the documents (a character typed after an assigned "
        "name, its deletion, Enter at the end of that line, its deletion), each an incremental `didChange` "
        "waiting for the `publishDiagnostics` of its version. RSS from `/proc/<pid>/status`; growth is "
        f"from after the first {window:,} edits to the end.",
        "",
        *table(
            ["RSS open", f"after {window:,} edits", "at the end", "growth", "peak (VmHWM)"],
            [
                [
                    f"{session['rss_open_mb']:.1f} MB",
                    f"{session['rss_early_mb']:.1f} MB",
                    f"{session['rss_end_mb']:.1f} MB",
                    f"{session['rss_growth']:+.1%}",
                    f"{session['hwm_mb']:.1f} MB",
                ]
            ],
        ),
        *table(
            ["edits", "p50", "p95"],
            [
                [
                    f"first {window:,}",
                    *(f"{session[f'first_{name}'] * 1000:.1f} ms" for name in ("p50", "p95")),
                ],
                [
                    f"last {window:,}",
                    *(f"{session[f'last_{name}'] * 1000:.1f} ms" for name in ("p50", "p95")),
                ],
            ],
        ),
        f"Stale publishes: {session['stale_publishes']}; versions never published (within the timeout): "
        f"{session['missing_publishes']}.",
        "",
    ]
