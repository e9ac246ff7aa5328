"""TM303 functional-dropout-ignores-mode."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass

from torchmode.analysis.facts import Function, mode_in
from torchmode.analysis.grad_facts import GradFacts
from torchmode.analysis.names import ImportMap, access_path
from torchmode.findings import Finding, Fix, Severity
from torchmode.fixes import parses_after
from torchmode.fixes.calls import add_keyword_edits
from torchmode.rules.base import Invalid, Rule, RuleContext, Valid
from torchmode.syntax.positions import TextEdit

_FUNCTIONAL = "torch.nn.functional"

# The functional dropouts and the default of their ``training`` parameter (torch 2.13:
# ``(input, p=0.5, training=..., inplace=False)`` for all six, checked in
# tests/runtime/test_tm301_tm303_runtime.py). The alpha variants default to False:
# without ``training=`` they never drop anything, in train mode included.
_DROPOUT_FUNCTIONS: dict[str, bool] = {
    "dropout": True,
    "dropout1d": True,
    "dropout2d": True,
    "dropout3d": True,
    "alpha_dropout": False,
    "feature_alpha_dropout": False,
}
# ``training`` is the third parameter of every one of them: a third positional argument sets it.
_TRAINING_POSITION = 2

# Dropout modules and the functional form that computes the same thing in their forward.
_DROPOUT_MODULES: dict[str, str] = {
    "Dropout": "dropout",
    "Dropout1d": "dropout1d",
    "Dropout2d": "dropout2d",
    "Dropout3d": "dropout3d",
    "AlphaDropout": "alpha_dropout",
    "FeatureAlphaDropout": "feature_alpha_dropout",
}
_MODULE_PREFIXES = ("torch.nn.", "torch.nn.modules.dropout.")


def _is_static(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Static and class methods have no instance, so no ``self.training`` to pass."""
    for decorator in node.decorator_list:
        path = access_path(decorator)
        if path is not None and path.rsplit(".", 1)[-1] in ("staticmethod", "classmethod"):
            return True
    return False


@dataclass(frozen=True)
class _CallIn:
    """A call inside a method, and whether it sits in a nested def or lambda."""

    call: ast.Call
    nested: bool


def _calls_in(body: list[ast.stmt], self_name: str) -> Iterator[_CallIn]:
    """Calls in a method body, nested defs and lambdas included (they see ``self``).

    Nested classes are left out: their methods are checked as methods of their own
    class. A nested function that takes a parameter named like ``self`` shadows it.
    """
    stack: list[tuple[ast.AST, bool]] = [(statement, False) for statement in reversed(body)]
    while stack:
        node, nested = stack.pop()
        if isinstance(node, ast.ClassDef):
            continue
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            arguments = node.args
            names = {arg.arg for arg in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]}
            if self_name in names:
                continue
            if not isinstance(node, ast.Lambda):
                stack.extend((decorator, nested) for decorator in reversed(node.decorator_list))
                stack.extend((statement, True) for statement in reversed(node.body))
            else:
                stack.append((node.body, True))
            continue
        if isinstance(node, ast.Call):
            yield _CallIn(node, nested)
        stack.extend((child, nested) for child in reversed(list(ast.iter_child_nodes(node))))


def _functional_name(call: ast.Call, imports: ImportMap) -> str | None:
    """``dropout2d`` for ``F.dropout2d(..)``, ``dropout2d(..)``, ``torch.nn.functional.dropout2d(..)``."""
    qualified = imports.qualified_name(call.func)
    if qualified is None:
        return None
    module, _, name = qualified.rpartition(".")
    return name if module == _FUNCTIONAL and name in _DROPOUT_FUNCTIONS else None


def _module_name(call: ast.Call, imports: ImportMap) -> str | None:
    """``Dropout`` for ``nn.Dropout(0.1)`` and the other spellings of the dropout modules."""
    qualified = imports.qualified_name(call.func)
    if qualified is None:
        return None
    for prefix in _MODULE_PREFIXES:
        if qualified.startswith(prefix) and qualified[len(prefix) :] in _DROPOUT_MODULES:
            return qualified[len(prefix) :]
    return None


def _passes_training(call: ast.Call) -> bool:
    """True when the call sets ``training`` itself, or may do so through ``*args``/``**kwargs``."""
    if any(isinstance(argument, ast.Starred) for argument in call.args):
        return True
    if len(call.args) > _TRAINING_POSITION:
        return True
    return any(keyword.arg in (None, "training") for keyword in call.keywords)


def _is_pure(expr: ast.expr) -> bool:
    """Evaluating it has no side effects, so moving it after the input changes nothing."""
    if isinstance(expr, ast.Constant):
        return True
    if isinstance(expr, ast.UnaryOp) and isinstance(expr.operand, ast.Constant):
        return True
    return access_path(expr) is not None


# -- the rule -------------------------------------------------------------------------------------

_MLP = """\
import torch.nn as nn
import torch.nn.functional as F


class MLP(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        self.fc1 = nn.Linear(784, 256)
        self.fc2 = nn.Linear(256, 10)
        self.p = p

    def forward(self, x):
        x = F.relu(self.fc1(x))
        x = F.dropout(x, self.p)
        return self.fc2(x)
"""

_ATTENTION = """\
from torch import nn
from torch.nn.functional import dropout, softmax


class Attention(nn.Module):
    def __init__(self, dim, p=0.1):
        super().__init__()
        self.qkv = nn.Linear(dim, 3 * dim)
        self.p = p

    def forward(self, x):
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        weights = softmax(q @ k.transpose(-2, -1), dim=-1)
        weights = dropout(
            weights,
            p=self.p,
        )
        return weights @ v
"""


class FunctionalDropoutIgnoresMode(Rule):
    """Functional dropout inside an ``nn.Module`` that does not follow the module's mode.

    ``F.dropout`` and friends do not know about ``model.eval()``: they take the mode
    as their ``training`` argument, which defaults to True (so dropout stays on in
    evaluation) or, for ``alpha_dropout`` and ``feature_alpha_dropout``, to False
    (so they never drop anything). Reported in methods of ``nn.Module`` subclasses
    (Lightning and transformers models included) when the call sets ``training``
    neither by keyword, nor as the third positional argument, nor possibly through
    ``*args``/``**kwargs``. Also reported: a dropout module built inside a method
    and called there (``nn.Dropout(p)(x)``): a new module is in train mode whatever
    the model's mode. Plain functions have no ``self.training`` and are left alone.
    """

    code = "TM303"
    name = "functional-dropout-ignores-mode"
    default_severity = Severity.WARNING

    VALID = (
        # The mode is passed on: dropout off after model.eval().
        Valid(_MLP.replace("F.dropout(x, self.p)", "F.dropout(x, self.p, training=self.training)")),
        # Positionally: the third argument is `training`.
        Valid(_MLP.replace("F.dropout(x, self.p)", "F.dropout(x, self.p, self.training)")),
        # Monte Carlo dropout: always on, on purpose.
        Valid(_MLP.replace("F.dropout(x, self.p)", "F.dropout(x, self.p, training=True)")),
        # The module is built once in __init__ and follows the model's mode.
        Valid(
            _MLP.replace("self.p = p", "self.drop = nn.Dropout(p)").replace(
                "F.dropout(x, self.p)", "self.drop(x)"
            )
        ),
        # A plain function: there is no self.training to pass.
        Valid("import torch.nn.functional as F\n\n\ndef augment(x):\n    return F.dropout(x, 0.1)\n"),
    )
    INVALID = (
        Invalid(
            _MLP,
            line=14,
            fixed=_MLP.replace("F.dropout(x, self.p)", "F.dropout(x, self.p, training=self.training)"),
        ),
        Invalid(
            _ATTENTION,
            line=14,
            fixed=_ATTENTION.replace("p=self.p,\n", "p=self.p,\n            training=self.training,\n"),
        ),
        Invalid(
            _MLP.replace("F.dropout(x, self.p)", "nn.Dropout(self.p)(x)"),
            line=14,
            fixed=_MLP.replace("F.dropout(x, self.p)", "F.dropout(x, self.p, training=self.training)"),
        ),
    )

    @classmethod
    def may_apply(cls, text: str) -> bool:
        # "dropout", "Dropout", "alpha_dropout", "AlphaDropout"...
        return "ropout" in text

    def check(self, context: RuleContext) -> Iterator[Finding]:
        analysis = context.analysis
        imports = analysis.imports
        tree = context.document.tree
        if imports is None or tree is None:
            return
        classes = analysis.module_classes
        if not classes:
            return
        facts = GradFacts(analysis)
        for method in analysis.functions:
            node = method.node
            if node is None or method.class_name not in classes or _is_static(node):
                continue
            if not method.positional_count:
                continue
            self_name = method.parameters[0]

            def train_only(call: ast.Call, method: Function = method, self_name: str = self_name) -> bool:
                """Past ``if not self.training: return x``: the call runs in train mode only."""
                statement = facts.statement_of(method, call)
                state = analysis.state_before(statement) if statement is not None else None
                value = mode_in(state, self_name, method) if state is not None else frozenset()
                return bool(value) and all(fact.mode == "train" for fact in value)

            built_locals = self._dropout_modules_bound_to_names(node.body, imports)
            reported: set[int] = set()  # a module bound to a name is reported once, not per call
            for found in _calls_in(node.body, self_name):
                call = found.call
                function_name = _functional_name(call, imports)
                if function_name is not None:
                    if not _passes_training(call) and not train_only(call):
                        yield self._functional_finding(context, call, function_name, self_name)
                    continue
                if node.name == "__init__":
                    continue  # built once with the model: registered or not, not a per-call module
                if isinstance(call.func, ast.Call):
                    module_name = _module_name(call.func, imports)
                    if module_name is not None:
                        yield self._module_finding(
                            context, method, call.func, module_name, self_name, None if found.nested else call
                        )
                elif isinstance(call.func, ast.Name) and call.func.id in built_locals:
                    constructor, module_name = built_locals[call.func.id]
                    if id(constructor) not in reported:
                        reported.add(id(constructor))
                        yield self._module_finding(context, method, constructor, module_name, self_name, None)

    @staticmethod
    def _dropout_modules_bound_to_names(
        body: list[ast.stmt], imports: ImportMap
    ) -> dict[str, tuple[ast.Call, str]]:
        """``drop = nn.Dropout(p)`` in the method: the local name, the constructor call, the class."""
        bound: dict[str, tuple[ast.Call, str]] = {}
        for node in ast.walk(ast.Module(body=body, type_ignores=[])):
            if (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and isinstance(node.value, ast.Call)
            ):
                module_name = _module_name(node.value, imports)
                if module_name is not None:
                    bound[node.targets[0].id] = (node.value, module_name)
        return bound

    # -- findings -------------------------------------------------------------------------------

    def _functional_finding(
        self, context: RuleContext, call: ast.Call, function_name: str, self_name: str
    ) -> Finding:
        document = context.document
        function_text = " ".join(document.source_of(call.func).split())
        default_on = _DROPOUT_FUNCTIONS[function_name]
        message = context.text(
            "TM303.message.default_on" if default_on else "TM303.message.default_off",
            function=function_text,
            instance=self_name,
        )
        keyword = f"training={self_name}.training"
        fixes: list[Fix] = []
        edits = add_keyword_edits(document, call, keyword)
        if edits is not None and parses_after(document, list(edits)):
            # With a default of False, the fix turns dropout on in training: the model
            # then trains differently, so the user applies it on purpose (unsafe).
            fixes.append(
                Fix(
                    context.text("TM303.fix.add_training", keyword=keyword),
                    edits,
                    applicability="safe" if default_on else "unsafe",
                )
            )
        return self.report(
            document.span_of(call),
            message,
            fixes=tuple(fixes),
        )

    def _module_finding(
        self,
        context: RuleContext,
        method: Function,
        constructor: ast.Call,
        module_name: str,
        self_name: str,
        call: ast.Call | None,
    ) -> Finding:
        """A dropout module built in a method; ``call`` is ``nn.Dropout(p)(x)`` when a fix may apply."""
        document = context.document
        constructor_text = " ".join(document.source_of(constructor).split())
        method_name = method.node.name if method.node is not None else method.name
        message = context.text(
            "TM303.message.module_built",
            constructor=constructor_text,
            method=method_name,
            function=_DROPOUT_MODULES[module_name],
            instance=self_name,
        )
        fixes: list[Fix] = []
        if call is not None:
            replacement = self._functional_replacement(
                context, method, call, constructor, module_name, self_name
            )
            if replacement is not None:
                edit = TextEdit(document.span_of(call), replacement)
                if parses_after(document, [edit]):
                    fixes.append(
                        Fix(
                            context.text("TM303.fix.functional", replacement=" ".join(replacement.split())),
                            (edit,),
                        )
                    )
        return self.report(
            document.span_of(constructor),
            message,
            fixes=tuple(fixes),
        )

    def _functional_replacement(
        self,
        context: RuleContext,
        method: Function,
        call: ast.Call,
        constructor: ast.Call,
        module_name: str,
        self_name: str,
    ) -> str | None:
        """``F.dropout(x, p, training=self.training)`` for ``nn.Dropout(p)(x)``, or None if not exact.

        The module's forward is ``F.<same>(input, self.p, self.training, self.inplace)`` and
        the defaults agree (p=0.5, inplace=False), so the result is the same computation,
        now following the model's mode. Refused unless every name it uses means what it
        should: a module-level import of ``torch.nn.functional`` (or of ``torch.nn`` or
        ``torch``) that the method does not shadow.
        """
        if len(call.args) != 1 or call.keywords or isinstance(call.args[0], (ast.Starred, ast.GeneratorExp)):
            return None
        if len(constructor.args) > 2 or any(
            isinstance(argument, ast.Starred) for argument in constructor.args
        ):
            return None
        given: dict[str, ast.expr] = dict(zip(("p", "inplace"), constructor.args, strict=False))
        for keyword in constructor.keywords:
            if keyword.arg not in ("p", "inplace") or keyword.arg in given:
                return None
            given[keyword.arg] = keyword.value
        # The constructor's arguments used to run before the input; keep that order irrelevant.
        if not all(_is_pure(value) for value in given.values()):
            return None
        tree = context.document.tree
        if tree is None:
            return None
        functional = _functional_module_expression(tree)
        if functional is None or functional.split(".", 1)[0] in method.locals:
            return None
        if self_name in _reassigned_names(method):
            return None
        document = context.document
        pieces = [document.source_of(call.args[0])]
        if "p" in given:
            pieces.append(document.source_of(given["p"]))
        pieces.append(f"training={self_name}.training")
        if "inplace" in given:
            pieces.append(f"inplace={document.source_of(given['inplace'])}")
        return f"{functional}.{_DROPOUT_MODULES[module_name]}({', '.join(pieces)})"


def _reassigned_names(method: Function) -> set[str]:
    node = method.node
    if node is None:
        return set()
    return {
        target.id
        for statement in ast.walk(node)
        if isinstance(statement, (ast.Assign, ast.AugAssign, ast.AnnAssign))
        for target in ([*statement.targets] if isinstance(statement, ast.Assign) else [statement.target])
        if isinstance(target, ast.Name)
    }


def _functional_module_expression(tree: ast.Module) -> str | None:
    """How module-level code can name ``torch.nn.functional``: ``F``, ``nn.functional``...

    Only top-level imports count (an import inside a function is not visible in a
    method), and a name also bound at module level by anything else is not trusted.
    """
    functional: str | None = None
    torch_nn: str | None = None
    torch_root: str | None = None
    rebound: set[str] = set()
    for statement in tree.body:
        if isinstance(statement, ast.Import):
            for alias in statement.names:
                if alias.asname:
                    if alias.name == _FUNCTIONAL:
                        functional = functional or alias.asname
                    elif alias.name == "torch.nn":
                        torch_nn = torch_nn or alias.asname
                    elif alias.name == "torch":
                        torch_root = torch_root or alias.asname
                elif alias.name.split(".", 1)[0] == "torch":
                    torch_root = torch_root or "torch"  # ``import torch.nn`` binds ``torch``
                if alias.asname and alias.name not in (_FUNCTIONAL, "torch.nn", "torch"):
                    rebound.add(alias.asname)
        elif isinstance(statement, ast.ImportFrom) and statement.level == 0:
            for alias in statement.names:
                local = alias.asname or alias.name
                if statement.module == "torch.nn" and alias.name == "functional":
                    functional = functional or local
                elif statement.module == "torch" and alias.name == "nn":
                    torch_nn = torch_nn or local
                else:
                    rebound.add(local)
        else:
            rebound.update(_module_level_bindings(statement))
    candidates = [
        functional,
        f"{torch_nn}.functional" if torch_nn else None,
        f"{torch_root}.nn.functional" if torch_root else None,
    ]
    for candidate in candidates:
        if candidate is not None and candidate.split(".", 1)[0] not in rebound:
            return candidate
    return None


def _module_level_bindings(statement: ast.stmt) -> Iterator[str]:
    """Names a module-level statement binds; the bodies of defs and classes bind their own."""
    stack: list[ast.AST] = [statement]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            yield node.name
            continue
        if isinstance(node, ast.Lambda):
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            yield node.id
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            yield from ((alias.asname or alias.name).split(".", 1)[0] for alias in node.names)
        stack.extend(ast.iter_child_nodes(node))
