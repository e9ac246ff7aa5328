"""Every fix of the grad rules (TM201, TM202, TM203, TM302) on a whole file, before and after.

Each test applies one fix by its title and compares the whole resulting file; the
result must parse, and the rule must no longer report there.
"""

from __future__ import annotations

import ast

from torchmode.engine import Settings, check_source
from torchmode.findings import Fix
from torchmode.syntax import apply_edits


def _fix(code: str, rule: str, title: str) -> tuple[Fix, str]:
    findings = [finding for finding in check_source(code, settings=Settings(select=(rule,))).findings]
    assert findings, f"{rule} reports nothing"
    matches = [fix for finding in findings for fix in finding.fixes if fix.title.startswith(title)]
    assert matches, [fix.title for finding in findings for fix in finding.fixes]
    fixed = apply_edits(code, matches[0].edits)
    ast.parse(fixed)
    after = check_source(fixed, settings=Settings(select=(rule,))).findings
    assert len(after) < len(findings), [finding.message for finding in after]
    return matches[0], fixed


# -- TM201 ------------------------------------------------------------------------------------


def test_tm201_wrap_uses_the_files_alias_for_torch() -> None:
    before = """\
import torch as T


def evaluate(model, loader):
    model.eval()
    correct = 0
    for x, y in loader:
        correct += (model(x).argmax(1) == y).sum().item()
    return correct / len(loader.dataset)
"""
    fix, after = _fix(before, "TM201", "Wrap the evaluation in `with T.no_grad():`")
    assert fix.applicability == "safe"
    assert (
        after
        == """\
import torch as T


def evaluate(model, loader):
    model.eval()
    correct = 0
    with T.no_grad():
        for x, y in loader:
            correct += (model(x).argmax(1) == y).sum().item()
    return correct / len(loader.dataset)
"""
    )


def test_tm201_wrap_adds_import_torch_when_the_file_has_none() -> None:
    before = """\
from transformers import AutoModelForSequenceClassification

model = AutoModelForSequenceClassification.from_pretrained("bert-base-uncased")
model.eval()
scores = []
for batch in test_loader:
    scores.append(model(**batch).logits.softmax(-1))
"""
    fix, after = _fix(before, "TM201", "Wrap the evaluation in `with torch.no_grad():`")
    assert fix.applicability == "safe"
    assert (
        after
        == """\
from transformers import AutoModelForSequenceClassification
import torch

model = AutoModelForSequenceClassification.from_pretrained("bert-base-uncased")
model.eval()
scores = []
with torch.no_grad():
    for batch in test_loader:
        scores.append(model(**batch).logits.softmax(-1))
"""
    )


def test_tm201_wrap_spans_every_forward_of_a_function_and_returns_make_it_unsafe() -> None:
    before = """\
import torch


def predict_pair(model, left, right):
    model.eval()
    a = model(left)
    b = model(right)
    return torch.stack([a, b])
"""
    fix, after = _fix(before, "TM201", "Wrap the evaluation in `with torch.no_grad():`")
    assert fix.applicability == "unsafe"  # the tensors are returned: a caller may differentiate them
    assert (
        after
        == """\
import torch


def predict_pair(model, left, right):
    model.eval()
    with torch.no_grad():
        a = model(left)
        b = model(right)
    return torch.stack([a, b])
"""
    )


def test_tm201_decorate_goes_below_existing_decorators() -> None:
    before = """\
import functools

import torch


class Evaluator:
    def __init__(self, model):
        self.model = model

    @functools.lru_cache(maxsize=None)
    def validate(self, loader):
        self.model.eval()
        return sum(self.model(x).sum().item() for x in loader)
"""
    fix, after = _fix(before, "TM201", "Decorate `Evaluator.validate` with `@torch.no_grad()`")
    assert fix.applicability == "unsafe"
    assert (
        after
        == """\
import functools

import torch


class Evaluator:
    def __init__(self, model):
        self.model = model

    @functools.lru_cache(maxsize=None)
    @torch.no_grad()
    def validate(self, loader):
        self.model.eval()
        return sum(self.model(x).sum().item() for x in loader)
"""
    )


def test_tm201_inference_mode_alternative() -> None:
    before = """\
import torch


def test(model, test_loader):
    model.eval()
    for images in test_loader:
        print(model(images).argmax(1).tolist())
"""
    fix, after = _fix(before, "TM201", "Wrap the evaluation in `with torch.inference_mode():`")
    assert fix.applicability == "unsafe"
    assert (
        after
        == """\
import torch


def test(model, test_loader):
    model.eval()
    with torch.inference_mode():
        for images in test_loader:
            print(model(images).argmax(1).tolist())
"""
    )


# -- TM202 ------------------------------------------------------------------------------------


def test_tm202_removes_the_with_and_keeps_its_comment() -> None:
    before = """\
import torch


def train(model, optimizer, loader):
    model.train()
    for x, y in loader:
        optimizer.zero_grad()
        with torch.no_grad():  # cheap logging
            out = model(x)
            loss = (out - y).pow(2).mean()
            loss.backward()
            optimizer.step()
            print(loss.item())
"""
    fix, after = _fix(before, "TM202", "Remove `with torch.no_grad():`")
    assert fix.applicability == "safe"
    assert (
        after
        == """\
import torch


def train(model, optimizer, loader):
    model.train()
    for x, y in loader:
        optimizer.zero_grad()
        # cheap logging
        out = model(x)
        loss = (out - y).pow(2).mean()
        loss.backward()
        optimizer.step()
        print(loss.item())
"""
    )


def test_tm202_moves_the_student_out_and_leaves_the_teacher_under_no_grad() -> None:
    before = """\
import torch


def distill(student, teacher, optimizer, loader):
    teacher.eval()
    student.train()
    for x in loader:
        optimizer.zero_grad()
        with torch.no_grad():
            target = teacher(x)
            loss = (student(x) - target).pow(2).mean()
            loss.backward()
        optimizer.step()
"""
    fix, after = _fix(
        before, "TM202", "Move the loss computation and `backward()` out of `with torch.no_grad():`"
    )
    assert fix.applicability == "safe"
    assert (
        after
        == """\
import torch


def distill(student, teacher, optimizer, loader):
    teacher.eval()
    student.train()
    for x in loader:
        optimizer.zero_grad()
        with torch.no_grad():
            target = teacher(x)
        loss = (student(x) - target).pow(2).mean()
        loss.backward()
        optimizer.step()
"""
    )


def test_tm202_offers_no_fix_when_an_update_after_backward_needs_no_grad() -> None:
    code = """\
import torch


def sgd(w, x, y, lr):
    with torch.no_grad():
        loss = ((x @ w - y) ** 2).mean()
        loss.backward()
        w -= lr * w.grad
"""
    findings = check_source(code, settings=Settings(select=("TM202",))).findings
    assert [finding.span.start.line for finding in findings] == [7]
    assert findings[0].fixes == ()


# -- TM203 ------------------------------------------------------------------------------------


def test_tm203_inserts_zero_grad_before_the_forward() -> None:
    before = """\
def train(model, criterion, optimizer, loader):
    for inputs, labels in loader:
        outputs = model(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
"""
    fix, after = _fix(before, "TM203", "Insert `optimizer.zero_grad()` before the forward pass")
    assert fix.applicability == "safe"
    assert (
        after
        == """\
def train(model, criterion, optimizer, loader):
    for inputs, labels in loader:
        optimizer.zero_grad()
        outputs = model(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
"""
    )


def test_tm203_inserts_before_the_backward_when_the_forward_is_hidden_in_a_helper() -> None:
    before = """\
class Trainer:
    def fit(self, loader):
        for batch in loader:
            loss = self.compute_loss(batch)
            print(loss.item())
            loss.backward()
            self.optimizer.step()
"""
    _, after = _fix(before, "TM203", "Insert `self.optimizer.zero_grad()` before the backward pass")
    assert (
        after
        == """\
class Trainer:
    def fit(self, loader):
        for batch in loader:
            loss = self.compute_loss(batch)
            print(loss.item())
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
"""
    )


def test_tm203_clears_every_optimizer_that_steps() -> None:
    before = """\
def train(encoder, decoder, enc_optimizer, dec_optimizer, loader):
\tfor x in loader:
\t\tloss = (decoder(encoder(x)) - x).pow(2).mean()
\t\tloss.backward()
\t\tenc_optimizer.step()
\t\tdec_optimizer.step()
"""
    _, after = _fix(before, "TM203", "Insert `enc_optimizer.zero_grad()`, `dec_optimizer.zero_grad()`")
    assert (
        after
        == """\
def train(encoder, decoder, enc_optimizer, dec_optimizer, loader):
\tfor x in loader:
\t\tenc_optimizer.zero_grad()
\t\tdec_optimizer.zero_grad()
\t\tloss = (decoder(encoder(x)) - x).pow(2).mean()
\t\tloss.backward()
\t\tenc_optimizer.step()
\t\tdec_optimizer.step()
"""
    )


# -- TM302 ------------------------------------------------------------------------------------


def test_tm302_adds_the_call_through_a_from_import() -> None:
    before = """\
from torch import inference_mode


def embed(encoder, batch):
    with inference_mode:
        return encoder(batch)
"""
    fix, after = _fix(before, "TM302", "Call it: `inference_mode()`")
    assert fix.applicability == "safe"
    assert after == before.replace("with inference_mode:", "with inference_mode():")


def test_tm302_wraps_the_rest_of_the_block_after_a_bare_call() -> None:
    before = """\
import torch


def evaluate(model, loader):
\tmodel.eval()
\ttorch.no_grad()  # no graphs
\t# accuracy over the set
\thits = [(model(x).argmax(1) == y).float().mean().item() for x, y in loader]
\treturn sum(hits) / len(hits)


def later():
\treturn 1
"""
    fix, after = _fix(before, "TM302", "Wrap the statements that follow in `with torch.no_grad():`")
    assert fix.applicability == "unsafe"
    assert (
        after
        == """\
import torch


def evaluate(model, loader):
\tmodel.eval()
\twith torch.no_grad():  # no graphs
\t\t# accuracy over the set
\t\thits = [(model(x).argmax(1) == y).float().mean().item() for x, y in loader]
\t\treturn sum(hits) / len(hits)


def later():
\treturn 1
"""
    )
