"""Building nbformat-4 notebooks for the tests, written the way Jupyter writes them."""

from __future__ import annotations

import ast
import itertools
import json
from pathlib import Path
from typing import Any

# Jupyter's own style: indent 1, non-ASCII kept, a final newline.
JUPYTER_INDENT = 1


def code_cell(source: str, number: int) -> dict[str, Any]:
    return {
        "cell_type": "code",
        "execution_count": number,
        "id": f"code-{number}",
        "metadata": {"tags": ["t"], "scrolled": True},
        "outputs": [{"name": "stdout", "output_type": "stream", "text": [f"output of cell {number}\n"]}],
        "source": source.splitlines(keepends=True),
    }


def markdown_cell(source: str) -> dict[str, Any]:
    return {"cell_type": "markdown", "id": "md", "metadata": {}, "source": source.splitlines(keepends=True)}


def notebook(*cells: dict[str, Any]) -> dict[str, Any]:
    return {
        "cells": list(cells),
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python", "version": "3.12.0"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def notebook_of(*sources: str, markdown_first: bool = True) -> dict[str, Any]:
    """A notebook of code cells (after one markdown cell unless told otherwise)."""
    cells = [code_cell(source.rstrip("\n"), number) for number, source in enumerate(sources, 1)]
    return notebook(*([markdown_cell("# Title\n")] if markdown_first else []), *cells)


def dumps(data: dict[str, Any], indent: int | None = JUPYTER_INDENT, ensure_ascii: bool = False) -> str:
    return json.dumps(data, indent=indent, ensure_ascii=ensure_ascii) + "\n"


def write(path: Path, data: dict[str, Any], **style: Any) -> Path:
    path.write_text(dumps(data, **style), encoding="utf-8")
    return path


def split_top_level(code: str) -> list[str]:
    """A program cut into one cell per top-level statement (each cell keeps its lines exactly)."""
    lines = code.splitlines(keepends=True)
    starts = sorted(
        {node.decorator_list[0].lineno if _decorated(node) else node.lineno for node in ast.parse(code).body}
    )
    starts[0] = 1  # comments and blank lines before the first statement stay with it
    bounds = [*starts, len(lines) + 1]
    return ["".join(lines[start - 1 : end - 1]) for start, end in itertools.pairwise(bounds)]


def _decorated(node: ast.stmt) -> bool:
    return isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and bool(
        node.decorator_list
    )


# The classic bug of the design document, spread over cells as a notebook user writes it.
SETUP = """import torch
from torch import nn
%matplotlib inline
model = nn.Sequential(nn.Linear(4, 2), nn.Dropout(0.5))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
model.train()"""
EVALUATE = """def evaluate(model, loader):
    model.eval()
    for x in loader:
        preds = model(x)"""
TRAIN = """for epoch in range(3):
    for x in train_loader:
        opt.zero_grad()
        loss = model(x).sum()
        loss.backward()
        opt.step()
    evaluate(model, val_loader)"""
