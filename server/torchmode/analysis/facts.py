"""The facts the analysis leaves for the rules and the hovers: small records, no machinery.

``FileAnalysis`` holds one file's observations: every forward call with the mode and grad
state there, every training step, mode switch and call of a same-file function, and the
state before each statement. Rules and hovers import this module only; how the facts are
computed lives in ``dataflow`` (the fixpoint) and the modules it drives.
"""

from __future__ import annotations

import ast
import weakref
from dataclasses import dataclass, field

from torchmode.analysis.cfg import Loop
from torchmode.analysis.lattice import ENTRY_MODE, UNKNOWN_MODE, Conditions, GradValue, ModeValue, State
from torchmode.analysis.names import ImportMap, prefixes, root_of
from torchmode.syntax.document import Document

MODULE_FUNCTION = "<module>"
FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef
SUBMODULES = "<submodules>"  # the path component for "some of its sub-modules"
TRAINING_SNAPSHOT = "<training>"  # below a variable that saved ``model.training``
RETURNED = "<return>"  # the model a function returns (while its fixpoint runs)
ENTERED_IN_TRAIN = "<entered-in-train>"  # condition key suffix: the path was in train mode at entry


@dataclass(eq=False, init=False)
class Function:
    """A function body (or the module body) and what the analysis needs to know of it.

    ``parent`` (the function or module a def is nested in) is held weakly: the parent holds
    its children (``nested``), and a strong link back made every version's function table a
    reference cycle, which only a full garbage collection frees (rare in the language
    server: ``gc_tuning``), with the old version's syntax tree hanging off it. The file's
    table and its ``FileAnalysis.functions`` hold every function of the file, parents too.
    """

    name: str  # dotted: "train", "Trainer.fit", "<module>"
    node: FunctionNode | None
    body: list[ast.stmt]
    parameters: list[str]  # positional order, then keyword-only
    positional_count: int
    locals: frozenset[str]
    class_name: str | None
    nested: dict[str, Function]
    rebound: frozenset[str]  # parameters/globals given a new object in the body

    def __init__(
        self,
        name: str,
        node: FunctionNode | None,
        body: list[ast.stmt],
        parameters: list[str],
        positional_count: int,
        locals: frozenset[str],
        class_name: str | None,
        parent: Function | None,
        nested: dict[str, Function] | None = None,
        rebound: frozenset[str] = frozenset(),
    ) -> None:
        self.name = name
        self.node = node
        self.body = body
        self.parameters = parameters
        self.positional_count = positional_count
        self.locals = locals
        self.class_name = class_name
        self._parent = weakref.ref(parent) if parent is not None else None
        self.nested = nested if nested is not None else {}
        self.rebound = rebound

    @property
    def parent(self) -> Function | None:
        if self._parent is None:
            return None
        parent = self._parent()
        assert parent is not None, "a nested Function outlived the table that holds its parent"
        return parent

    @property
    def is_module(self) -> bool:
        return self.node is None


@dataclass(frozen=True)
class ForwardCall:
    """A forward pass of a model, with the mode and grad state there.

    A call of a function that runs the forward of a model it is given (``compute_loss(model,
    batch)``) is a forward pass of the caller's model too: ``via`` names the functions the
    call goes through (outermost first) and ``inner`` the forward call itself, in the last
    of them; ``other_file`` says that function is in another file.
    """

    function: Function
    call: ast.Call
    statement: ast.stmt | None
    path: str
    value: ModeValue
    grad: GradValue
    assumptions: Conditions
    loops: tuple[Loop, ...]
    via: tuple[Function, ...] = ()
    inner: ast.Call | None = None
    other_file: bool = False
    # The path of the object itself through this function's aliases (``m = model``) and
    # wrappers (``ddp.module``): what an optimizer's parameters are compared with.
    identity: str = ""
    # False for a forward run for its side effects (hooks, calibration): ``model(x)`` alone.
    output_used: bool = True

    @property
    def indirect(self) -> bool:
        return bool(self.via)


@dataclass(frozen=True)
class Summary:
    """What calling a function does: exit values in terms of the caller's (``entry``) values.

    ``forwards`` are the forward passes the function runs of models reachable from its
    parameters and globals (in terms of those paths); ``returned`` is the mode of the model
    it returns, when it returns one.
    """

    effects: tuple[tuple[str, ModeValue], ...] = ()
    grad: GradValue | None = None  # None: the function leaves the grad mode as it found it
    forwards: tuple[ForwardCall, ...] = ()
    returned: ModeValue | None = None
    # (".backbone", eval): parts of the returned model in a mode of their own.
    returned_parts: tuple[tuple[str, ModeValue], ...] = ()
    # Models (parameters' and globals' paths) whose parameters it freezes on every path.
    frozen: tuple[str, ...] = ()


@dataclass(frozen=True)
class TrainingStep:
    """``loss.backward()``, ``optimizer.step()`` and their framework spellings.

    ``optimizer``: the path of the optimizer a ``step`` calls (``opt.step()``,
    ``scaler.step(opt)``), when it is written as one.
    """

    function: Function
    call: ast.Call
    kind: str
    assumptions: Conditions
    loops: tuple[Loop, ...]
    grad: GradValue
    optimizer: str | None = None


@dataclass(frozen=True)
class ModeSwitch:
    """A direct ``X.train(...)`` / ``X.eval()`` call."""

    function: Function
    call: ast.Call
    statement: ast.stmt | None
    path: str
    value: ModeValue
    loops: tuple[Loop, ...]


@dataclass(frozen=True)
class CallSite:
    """A call of a same-file function, with the caller's modes just before it."""

    function: Function  # the caller
    call: ast.Call
    statement: ast.stmt | None
    callee: Function
    bindings: tuple[tuple[str, str], ...]  # callee parameter -> caller access path
    modes: tuple[tuple[str, ModeValue], ...]
    loops: tuple[Loop, ...]

    def argument_value(self, callee_path: str) -> ModeValue | None:
        """The caller's value for a callee parameter path (``m.backbone`` -> ``model.backbone``)."""
        root, dot, rest = callee_path.partition(".")
        argument = dict(self.bindings).get(root)
        if argument is None:
            if root in self.callee.parameters or root in self.callee.locals:
                return None
            # A global of the callee is the caller's global too, unless the caller shadows it.
            if not self.function.is_module and root in self.function.locals:
                return None
            argument = root
        return ModeLookup(self.function).value(dict(self.modes), argument + dot + rest)


@dataclass
class FileAnalysis:
    document: Document
    functions: list[Function]
    forward_calls: list[ForwardCall] = field(default_factory=list)
    steps: list[TrainingStep] = field(default_factory=list)
    switches: list[ModeSwitch] = field(default_factory=list)
    call_sites: list[CallSite] = field(default_factory=list)
    model_paths: frozenset[str] = frozenset()
    trained_paths: frozenset[str] = frozenset()
    imports: ImportMap | None = None  # local name -> imported name, for rules that match APIs
    module_classes: frozenset[str] = frozenset()  # classes of this file deriving from nn.Module
    constructors: dict[str, tuple[ast.Call, ...]] = field(default_factory=dict)  # path -> its Net(...) calls
    loaded_paths: frozenset[str] = frozenset()  # given trained weights (load_state_dict...)
    optimizers: dict[str, frozenset[str]] = field(default_factory=dict)  # optimizer -> models it updates
    # The state just before each statement (and each if/while test, for iterable, with item),
    # keyed by ``id()`` of its ast node: the grad and modes any rule or hover can ask about.
    states_before: dict[int, State] = field(default_factory=dict)
    module_exit: State | None = None  # after the last module-level statement

    def state_before(self, node: ast.AST) -> State | None:
        return self.states_before.get(id(node))


class ModeLookup:
    """The value of a path that a state does not hold: inherited, ``entry`` or ``unknown``."""

    def __init__(self, function: Function) -> None:
        self.function = function

    def __call__(self, state: State, path: str) -> ModeValue:
        modes = state.mode_map
        return self.value(modes, path)

    def value(self, modes: dict[str, ModeValue], path: str) -> ModeValue:
        for prefix in prefixes(path):
            value = modes.get(prefix)
            if value is not None:
                return value
        root = root_of(path)
        function = self.function
        if function.is_module:
            return UNKNOWN_MODE
        if root in function.parameters or root not in function.locals:
            return ENTRY_MODE
        return UNKNOWN_MODE


def mode_in(state: State, path: str, function: Function) -> ModeValue:
    """The value of ``path`` in ``state`` inside ``function`` (inherited, entry or unknown if unset)."""
    return ModeLookup(function).value(state.mode_map, path)
