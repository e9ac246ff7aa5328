"""Generated pathological inputs: huge files and deep nesting."""

from __future__ import annotations

from edits import REPO

SEED = (REPO / "examples" / "seed_loop.py").read_text(encoding="utf-8")


def huge_file(lines: int = 50_000) -> str:
    """Copies of the seed example (model, loaders, train and test functions, the epoch loop)."""
    parts: list[str] = []
    count = 0
    index = 0
    while count < lines:
        part = SEED.replace("def train(", f"def train{index}(").replace("def test(", f"def test{index}(")
        parts.append(part)
        count += part.count("\n")
        index += 1
    return "".join(parts)


def huge_function(statements: int = 50_000) -> str:
    """One training loop whose body is ``statements`` lines long, switching modes as it goes."""
    body = []
    for index in range(statements):
        kind = index % 5
        if kind == 0:
            body.append("        model.eval()" if index % 10 == 0 else "        model.train()")
        elif kind == 1:
            body.append(f"        if step % {index % 7 + 2}:")
        elif kind == 2:
            body.append("            output = model(data)")
        elif kind == 3:
            body.append("        loss = criterion(output, target)")
        else:
            body.append("        loss.backward()")
    head = (
        "import torch\n\n"
        "model = torch.nn.Linear(2, 2)\n"
        "criterion = torch.nn.MSELoss()\n"
        "optimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n\n"
        "def train(loader):\n"
        "    for step, (data, target) in enumerate(loader):\n"
        "        optimizer.zero_grad()\n"
    )
    # The step that makes the backward calls training (a backward alone is no training step).
    return head + "\n".join(body) + "\n        optimizer.step()\n"


def nested_blocks(depth: int = 90) -> str:
    """``depth`` nested if/for/while/with/try blocks (CPython's parser stops at 100 levels)."""
    lines = ["import torch", "model = torch.nn.Linear(2, 2)", "model.eval()", "def train(loader, flags):"]
    kinds = (
        "for batch{0} in loader:",
        "if flags[{0}]:",
        "while flags[{0}]:",
        "with torch.no_grad():",
        "try:",
    )
    indent = 1
    closers: list[tuple[int, str]] = []
    for level in range(depth):
        kind = kinds[level % len(kinds)]
        lines.append("    " * indent + kind.format(level))
        if kind == "try:":
            closers.append((indent, "except ValueError:"))
        indent += 1
    lines += ["    " * indent + "model.train()", "    " * indent + "model(batch0).sum().backward()"]
    for at, closer in reversed(closers):
        lines += ["    " * at + closer, "    " * (at + 1) + "model.eval()"]
    return "\n".join(lines) + "\n"


def call_chain(depth: int = 3_000) -> str:
    """f0 calls f1 ... calls f<depth>, which switches the model to eval; then a training loop."""
    lines = [
        "import torch",
        "model = torch.nn.Linear(2, 2)",
        "optimizer = torch.optim.SGD(model.parameters(), lr=0.1)",
    ]
    for index in range(depth):
        lines += [f"def f{index}(m):", f"    f{index + 1}(m)"]
    lines += [f"def f{depth}(m):", "    m.eval()"]
    lines += [
        "model.train()",
        "for batch in range(3):",
        "    f0(model)",
        "    optimizer.zero_grad()",
        "    out = model(batch)",
        "    out.sum().backward()",
        "    optimizer.step()",
    ]
    return "\n".join(lines) + "\n"


def deep_expression(depth: int = 3_000) -> str:
    """A 3,000-deep attribute/call chain in one expression: ``model.a().a()...``."""
    return "import torch\nmodel = torch.nn.Linear(2, 2)\nx = model" + ".a()" * depth + "\nmodel.eval()\n"
