"""The transfer of one control-flow node: how a statement changes the modes and the grad mode.

``NodeTransfer`` evaluates a node's expressions in evaluation order and applies what each
call does: ``m.train()``/``m.eval()`` switch a model (and its sub-modules), a grad context
or a bare ``set_grad_enabled`` changes the grad mode, a call of a known function applies
its summary, and a call of a model is a forward pass (recorded when observing).
"""

from __future__ import annotations

import ast
from dataclasses import replace
from typing import Protocol

from torchmode.analysis import api_names
from torchmode.analysis.calls import FileAnalyzer, ResolvedCall
from torchmode.analysis.cfg import Loop
from torchmode.analysis.facts import (
    ENTERED_IN_TRAIN,
    RETURNED,
    SUBMODULES,
    TRAINING_SNAPSHOT,
    CallSite,
    FileAnalysis,
    ForwardCall,
    Function,
    ModeLookup,
    ModeSwitch,
    Summary,
    TrainingStep,
)
from torchmode.analysis.flags import constant_flags, decided_otherwise, entered_mode_known
from torchmode.analysis.freezing import freezes_parameter, requires_grad_off
from torchmode.analysis.functions import returned_name
from torchmode.analysis.identity import strip_wrappers, submodule_alias
from torchmode.analysis.lattice import (
    UNKNOWN_MODE,
    Condition,
    Conditions,
    GradFact,
    GradValue,
    ModeFact,
    ModeValue,
    Site,
    State,
    condition_of,
    join_states,
    make_state,
)
from torchmode.analysis.names import ImportMap, access_path, is_under, root_of, stored_names
from torchmode.syntax.document import Document


class TransferContext(FileAnalyzer, Protocol):
    """What a node's transfer asks of its file's analyzer (``dataflow.ModuleAnalyzer``)."""

    @property
    def document(self) -> Document: ...

    @property
    def imports(self) -> ImportMap: ...

    @property
    def model_paths(self) -> frozenset[str]: ...

    def events_of(self, expr: ast.expr) -> tuple[ast.Call | ast.NamedExpr | ast.IfExp, ...]: ...

    def summary_of(self, function: Function) -> Summary: ...

    def site(self, node: ast.AST, function: Function, statement: ast.stmt | None) -> Site: ...

    def grad_context(
        self, expr: ast.expr, function: Function, decorator_form: bool = False
    ) -> GradValue | None: ...

    def grad_from_flag(self, flag: ast.expr, site: Site, scoped: bool) -> GradValue: ...

    def is_module_constructor(self, call: ast.Call, function: Function) -> bool: ...

    def aliases(self, function: Function) -> dict[str, str]: ...

    def resolve_call(self, function: Function, call: ast.Call) -> ResolvedCall | None: ...

    def resolve_calls(
        self, function: Function, call: ast.Call, loop_items: dict[str, str] | None = None
    ) -> list[ResolvedCall]: ...

    def condition(self, test: ast.expr, truth: bool) -> Condition: ...

    def is_pretrained_eval(self, call: ast.Call) -> bool: ...

    def copied(self, value: ast.expr) -> str | None: ...

    def freezing_constructor(self, call: ast.Call) -> tuple[Function, FileAnalyzer] | None: ...

    def identity_arguments(self, call: ast.Call) -> list[ast.expr] | None: ...

    def defines_method(self, path: str, name: str) -> bool: ...

    @property
    def optimizers(self) -> dict[str, frozenset[str]]: ...

    @property
    def wrappers(self) -> dict[str, str]: ...


class NodeTransfer:
    """The transfer of one CFG node: evaluates its expressions in order and updates the state.

    ``record``: the file's analysis to record observations in (forward calls, steps,
    switches, call sites), or None while the fixpoint is still being computed.
    """

    def __init__(
        self,
        analyzer: TransferContext,
        function: Function,
        state: State,
        loops: tuple[Loop, ...],
        record: FileAnalysis | None,
    ) -> None:
        self.analyzer = analyzer
        self.document = analyzer.document
        self.function = function
        self.modes = state.mode_map
        self.grad = state.grad
        self.grad_stack = state.grad_stack
        self.assumptions = state.assumptions
        self.frozen = set(state.frozen)
        self.loops = loops
        self.record = record
        self.lookup = ModeLookup(function)
        self.aliases = analyzer.aliases(function)

    def finish(self) -> State:
        return make_state(self.modes, self.grad, self.grad_stack, self.assumptions, frozenset(self.frozen))

    def value(self, path: str) -> ModeValue:
        return self.lookup.value(self.modes, path)

    def set_path(self, path: str, value: ModeValue) -> None:
        """Set a model's mode; like ``nn.Module.train``, it reaches every sub-module."""
        for existing in [existing for existing in self.modes if is_under(existing, path)]:
            del self.modes[existing]
        self.modes[path] = value
        self.mirror(path)

    def mirror(self, path: str) -> None:
        """Copy what is known under ``path`` to the other names of the same object."""
        if not self.aliases:
            return
        for other, prefix in self._equivalents(path):
            for existing in [existing for existing in self.modes if is_under(existing, other)]:
                del self.modes[existing]
            for existing, value in list(self.modes.items()):
                if is_under(existing, prefix):
                    self.modes[other + existing[len(prefix) :]] = value

    def _equivalents(self, path: str) -> list[tuple[str, str]]:
        """(other name, the prefix of ``path`` it stands for) for each alias of ``path``."""
        found: list[tuple[str, str]] = []
        for alias, target in self.aliases.items():
            if is_under(path, alias):
                found.append((target + path[len(alias) :], path))
            elif is_under(path, target):
                found.append((alias + path[len(target) :], path))
        return found

    def is_model(self, path: str) -> bool:
        if path in self.analyzer.model_paths:
            return True
        target = self.aliases.get(path)
        return target is not None and target in self.analyzer.model_paths

    def canonical(self, path: str) -> str:
        """``ddp.module`` -> ``ddp`` when ``ddp`` wraps a module (DataParallel, DDP, compile):
        the wrapper forwards ``train()``/``eval()`` and calls to it, so both names are one
        model."""
        wrappers = self.analyzer.wrappers
        if ".module" not in path or not wrappers:
            return path
        parts = path.split(".")
        for index in range(len(parts) - 1, 0, -1):
            if parts[index] == "module" and ".".join(parts[:index]) in wrappers:
                return self.canonical(".".join(parts[:index] + parts[index + 1 :]))
        return path

    def identity(self, path: str) -> str:
        """The path of the object itself: through aliases and wrappers."""
        path = self.canonical(path)
        for alias, target in self.aliases.items():
            if is_under(path, alias):
                return target + path[len(alias) :]
        wrapped = self.analyzer.wrappers.get(path)
        return wrapped if wrapped is not None and wrapped != path else path

    def forget(self, names: set[str] | frozenset[str]) -> None:
        """An assignment to a name makes every condition that mentions it unknown."""
        if not names:
            return

        def keep(condition: Condition) -> bool:
            return not (condition.names & names)

        self.assumptions = frozenset(filter(keep, self.assumptions))
        for path, value in list(self.modes.items()):
            if any(not keep(condition) for fact in value for condition in fact.conditions):
                self.modes[path] = frozenset(
                    replace(fact, conditions=frozenset(filter(keep, fact.conditions))) for fact in value
                )
        if any(not keep(condition) for fact in self.grad for condition in fact.conditions):
            self.grad = frozenset(
                replace(fact, conditions=frozenset(filter(keep, fact.conditions))) for fact in self.grad
            )

    def _new_fact(
        self, mode: str, origin: tuple[Site, ...], conditions: Conditions = frozenset(), fresh: bool = False
    ) -> ModeFact:
        assert mode in ("train", "eval", "entry", "unknown")
        return ModeFact(mode, origin, conditions | self.assumptions, fresh)  # type: ignore[arg-type]

    # -- statements ---------------------------------------------------------------------------

    def statement(self, statement: ast.stmt) -> None:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for decorator in statement.decorator_list:
                self.evaluate(decorator, statement)
            self.forget({statement.name})
            return
        if isinstance(statement, ast.Assign):
            self.evaluate(statement.value, statement)
            for target in statement.targets:
                self.bind(target, statement.value, statement)
            self._snapshot_training(statement)
            return
        if isinstance(statement, ast.AnnAssign):
            if statement.value is not None:
                self.evaluate(statement.value, statement)
                self.bind(statement.target, statement.value, statement)
            return
        if isinstance(statement, ast.AugAssign):
            self.evaluate(statement.value, statement)
            self.forget(set(stored_names(statement.target)))
            return
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            self.forget({(alias.asname or alias.name).split(".")[0] for alias in statement.names})
            return
        if isinstance(statement, ast.Return) and statement.value is not None:
            self.evaluate(statement.value, statement)
            returned = self._value_of(statement.value, statement)
            for existing in [existing for existing in self.modes if is_under(existing, RETURNED)]:
                del self.modes[existing]
            if returned is not None:
                # What the function returns, for callers binding it (a factory's fresh model,
                # ``from_pretrained``'s mode); the exit state joins every return.
                self.modes[RETURNED] = returned
                source = access_path(statement.value)
                if source is not None:
                    # ``m = Net(); m.backbone.eval(); return m``: the parts' own modes too.
                    source = self.canonical(source)
                    for existing, value in list(self.modes.items()):
                        if is_under(existing, source) and existing != source:
                            self.modes[RETURNED + existing[len(source) :]] = value
                else:
                    for suffix, part in self._parts_built(statement.value, statement):
                        self.modes[RETURNED + suffix] = part
            return
        if (
            isinstance(statement, ast.Expr)
            and isinstance(statement.value, ast.Call)
            and self._bare_set_grad_enabled(statement.value, statement)
        ):
            return
        for child in ast.iter_child_nodes(statement):
            if isinstance(child, ast.expr):
                self.evaluate(child, statement)

    def bind(self, target: ast.expr, value: ast.expr | None, statement: ast.stmt) -> None:
        """Assignment: the target names a new object, or the same module under another name."""
        names = set(stored_names(target))
        self.forget(names)
        path = access_path(target)
        handed_back = self.analyzer.identity_arguments(value) if isinstance(value, ast.Call) else None
        if handed_back is not None and isinstance(target, (ast.Tuple, ast.List)):
            # ``model, optimizer = accelerator.prepare(model, optimizer)``: the same objects.
            for element, argument in zip(target.elts, handed_back, strict=False):
                element_path, argument_path = access_path(element), access_path(argument)
                if element_path is None or argument_path is None:
                    continue
                if element_path != argument_path:
                    self.set_path(element_path, self.value(self.canonical(argument_path)))
            return
        if path is None:
            for name in names:
                if name in self.modes or any(is_under(existing, name) for existing in self.modes):
                    self.set_path(name, UNKNOWN_MODE)
            return
        same = self.aliases.get(path)
        if same is not None:
            # ``m = model``: ``m`` is ``model``, sub-modules and all.
            for existing, known in list(self.modes.items()):
                if is_under(existing, same):
                    self.modes[path + existing[len(same) :]] = known
            if path not in self.modes:
                self.modes[path] = self.value(same)
            return
        new_value = self._value_of(value, statement) if value is not None else None
        if new_value is not None:
            self.set_path(path, new_value)
            if value is not None:
                for suffix, part in self._parts_built(value, statement):
                    self.modes[path + suffix] = part
                self.mirror(path)
        elif path in self.analyzer.model_paths or any(is_under(existing, path) for existing in self.modes):
            self.set_path(path, UNKNOWN_MODE)
        for alias, alias_target in self.aliases.items():
            if root_of(alias) == path and alias != path:
                # ``trainer = Trainer(model)``: ``trainer.model`` is ``model`` from here on.
                for existing in [existing for existing in self.modes if is_under(existing, alias)]:
                    del self.modes[existing]
                self.modes[alias] = self.value(alias_target)

    def _value_of(self, value: ast.expr, statement: ast.stmt) -> ModeValue | None:
        """The mode of the module an expression gives, when it gives one we know."""
        if isinstance(value, ast.Call) and value.args:
            qualified = self.analyzer.imports.qualified_name(value.func)
            if qualified in api_names.WRAPPER_CONSTRUCTORS:
                # ``model = DistributedDataParallel(model)``: the wrapper is in the module's mode.
                return self._value_of(value.args[0], statement)
        switches: list[ast.Call] = []
        expr = value
        while isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute):
            if expr.func.attr in ("train", "eval"):
                switches.append(expr)
            elif expr.func.attr not in api_names.SAME_MODULE_METHODS:
                break
            expr = expr.func.value
        if (
            switches
            and isinstance(expr, ast.Call)
            and self.analyzer.is_module_constructor(expr, self.function)
        ):
            # The outermost switch wins: ``Net().eval()`` is in eval mode.
            return self._switch_value(switches[0], statement)
        if isinstance(expr, ast.Call):
            return self._built_value(expr, statement)
        source = access_path(expr)
        if source is not None:
            source = self.canonical(source)
            if source in self.analyzer.model_paths or source in self.modes:
                # Any switch in the chain was applied to ``source`` while evaluating.
                return self.value(source)
        return None

    def _built_value(self, call: ast.Call, statement: ast.stmt | None) -> ModeValue | None:
        """The mode of the model a call returns: a construction's (train, or eval for
        transformers' and diffusers' ``from_pretrained``), what a function of the project
        returns (its summary), or the argument a function returns as it got it."""
        site = self.analyzer.site(call, self.function, statement)
        original = self.analyzer.copied(call)
        if original is not None:
            # ``copy.deepcopy(model)``: another module, in the mode the original is in.
            return self.value(self.canonical(original))
        if self.analyzer.is_pretrained_eval(call):
            # transformers' and diffusers' from_pretrained call model.eval() before returning.
            return frozenset({self._new_fact("eval", (site,), fresh=True)})
        resolved = self.analyzer.resolve_call(self.function, call)
        if resolved is not None:
            returned_parameter = returned_name(resolved.callee)
            if returned_parameter is not None and returned_parameter in resolved.callee.parameters:
                index = resolved.callee.parameters.index(returned_parameter)
                argument = (
                    resolved.positional[index]
                    if index < len(resolved.positional)
                    else resolved.keywords.get(returned_parameter)
                )
                if argument is not None:
                    # ``model = add_adapter(model)``: the same module, in the mode it has.
                    return self.value(self.canonical(argument))
            summary = self._summary_of(resolved.callee, resolved.owner)
            if summary.returned is not None and all(fact.mode != "entry" for fact in summary.returned):
                return frozenset(
                    replace(fact, origin=_chain(site, fact.origin), conditions=self.assumptions)
                    for fact in summary.returned
                )
        if self.analyzer.is_module_constructor(call, self.function):
            return frozenset({self._new_fact("train", (site,), fresh=True)})
        return None

    def _parts_built(self, value: ast.expr, statement: ast.stmt | None) -> list[tuple[str, ModeValue]]:
        """The parts a construction or a factory leaves in a mode of their own: for ``model
        = Net()`` whose ``__init__`` runs ``self.backbone.eval()``, (".backbone", eval), so
        that a later ``model.train()`` is seen to undo that freeze. Parts whose mode comes
        from outside (entry, unknown) follow the model and are left out."""
        expr = value
        while isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute):
            if expr.func.attr in ("train", "eval"):
                return []  # a switch of the whole model reaches every part
            if expr.func.attr not in api_names.SAME_MODULE_METHODS:
                break
            expr = expr.func.value
        if not isinstance(expr, ast.Call):
            return []
        parts: list[tuple[str, ModeValue]] = []
        constructor = (
            self.analyzer.freezing_constructor(expr)
            if self.analyzer.is_module_constructor(expr, self.function)
            else None
        )
        if constructor is not None:
            init, owner = constructor
            own = init.parameters[0]
            parts = [
                (path[len(own) :], part)
                for path, part in self._summary_of(init, owner).effects
                if is_under(path, own) and path != own
            ]
        else:
            resolved = self.analyzer.resolve_call(self.function, expr)
            if resolved is not None and returned_name(resolved.callee) is None:
                parts = list(self._summary_of(resolved.callee, resolved.owner).returned_parts)
        if not parts:
            return []
        site = self.analyzer.site(expr, self.function, statement)
        built = self._new_fact("train", (site,), fresh=True)
        found: list[tuple[str, ModeValue]] = []
        for suffix, part in sorted(parts, key=lambda item: item[0].count(".")):
            if not any(fact.mode == "eval" for fact in part) or any(fact.mode == "unknown" for fact in part):
                continue  # parts in the model's own mode follow it anyway
            found.append(
                (
                    suffix,
                    frozenset(
                        # "entry": the part as it was built, in train mode like any new module
                        # (``self.modules()`` loops freeze some parts and leave the others).
                        built
                        if fact.mode == "entry"
                        else replace(fact, origin=_chain(site, fact.origin), conditions=self.assumptions)
                        for fact in part
                    ),
                )
            )
        return found

    def _summary_of(self, callee: Function, owner: FileAnalyzer) -> Summary:
        if owner is not self.analyzer:
            with owner.project_lock():
                return owner.summary_of(callee)
        return self.analyzer.summary_of(callee)

    def _snapshot_training(self, statement: ast.Assign) -> None:
        """``was_training = model.training`` saves the mode, for a later ``model.train(was_training)``.

        The saved value lives under a pseudo-path below the variable, so rebinding the
        variable drops it like any sub-path.
        """
        value = statement.value
        if not (isinstance(value, ast.Attribute) and value.attr == "training"):
            return
        source = access_path(value.value)
        if source is None or source not in self.analyzer.model_paths:
            return
        for target in statement.targets:
            if isinstance(target, ast.Name):
                self.modes[f"{target.id}.{TRAINING_SNAPSHOT}"] = self.value(source)

    def _bare_set_grad_enabled(self, call: ast.Call, statement: ast.stmt) -> bool:
        qualified = self.analyzer.imports.qualified_name(call.func)
        if qualified is None or api_names.grad_context_kind(qualified) != "set_grad_enabled" or not call.args:
            return False
        for argument in call.args:
            self.evaluate(argument, statement)
        site = self.analyzer.site(call, self.function, statement)
        value = self.analyzer.grad_from_flag(call.args[0], site, scoped=False)
        self.grad = frozenset(replace(fact, conditions=fact.conditions | self.assumptions) for fact in value)
        return True

    def enter_with(self, item: ast.withitem) -> None:
        expr = item.context_expr
        context = self.analyzer.grad_context(expr, self.function)
        if context is not None and isinstance(expr, ast.Call):
            for argument in [*expr.args, *(keyword.value for keyword in expr.keywords)]:
                self.evaluate(argument, None)
        else:
            self.evaluate(expr, None)
        self.grad_stack = (*self.grad_stack, self.grad)
        if context is not None:
            self.grad = frozenset(
                replace(fact, conditions=fact.conditions | self.assumptions) for fact in context
            )
        if item.optional_vars is not None:
            self.forget(set(stored_names(item.optional_vars)))

    def leave_with(self) -> None:
        if self.grad_stack:
            self.grad = self.grad_stack[-1]
            self.grad_stack = self.grad_stack[:-1]

    # -- expressions --------------------------------------------------------------------------

    def evaluate(self, expr: ast.expr, statement: ast.stmt | None) -> None:
        """Apply the events of an expression in evaluation order (callee and arguments first)."""
        for event in self.analyzer.events_of(expr):
            if isinstance(event, ast.NamedExpr):
                self.forget({event.target.id})
            elif isinstance(event, ast.IfExp):
                self._conditional(event, statement)
            else:
                self.call(event, statement)

    def _conditional(self, expr: ast.IfExp, statement: ast.stmt | None) -> None:
        """``model.train() if phase == "train" else model.eval()``: each branch under its
        condition, as an ``if`` statement is, then both joined."""
        self.evaluate(expr.test, statement)
        start = (dict(self.modes), self.grad, self.assumptions, set(self.frozen))
        branches: list[State] = []
        for branch, truth in ((expr.body, True), (expr.orelse, False)):
            self.modes, self.grad, self.assumptions = dict(start[0]), start[1], start[2]
            self.frozen = set(start[3])
            self.assumptions = self.assumptions | {self.analyzer.condition(expr.test, truth)}
            self.evaluate(branch, statement)
            branches.append(self.finish())
        joined = join_states(branches, self.lookup)
        self.modes, self.grad, self.assumptions = joined.mode_map, joined.grad, start[2]
        self.frozen = set(joined.frozen)

    def call(self, call: ast.Call, statement: ast.stmt | None) -> None:
        func = call.func
        analyzer = self.analyzer
        if isinstance(func, ast.Attribute):
            receiver = strip_wrappers(func.value)
            receiver_path = access_path(receiver) if receiver is not None else None
            if receiver_path is not None:
                receiver_path = self.canonical(receiver_path)
            if func.attr in ("train", "eval") and receiver_path is not None and self.is_model(receiver_path):
                # ``for m in model.modules(): m.eval()`` switches some of model's sub-modules.
                receiver_path = submodule_alias(self.loops, receiver_path) or receiver_path
                value = self._switch_value(call, statement)
                if self._is_frozen(receiver_path):
                    value = frozenset(replace(fact, frozen=True) for fact in value)
                self.set_path(receiver_path, value)
                if self.record is not None:
                    self.record.switches.append(
                        ModeSwitch(self.function, call, statement, receiver_path, value, self.loops)
                    )
                return
            if func.attr == "requires_grad_" and receiver_path is not None:
                frozen = requires_grad_off(call)
                if frozen is not None and self.is_model(receiver_path):
                    self._set_frozen(receiver_path, frozen)
                    return
            if (
                func.attr == "apply"
                and receiver_path is not None
                and len(call.args) == 1
                and self.is_model(receiver_path)
                and self._apply_to_modules(call, statement, receiver_path)
            ):
                return
            step_kind = api_names.training_step_kind(call, analyzer.imports)
            optimizer = self._optimizer_of(call)
            if step_kind is None and optimizer in analyzer.optimizers and func.attr == "step":
                step_kind = "step"  # ``opt.step()`` of an optimizer built in this file, whatever its name
            if step_kind is not None:
                if self.record is not None:
                    self.record.steps.append(
                        TrainingStep(
                            self.function,
                            call,
                            step_kind,
                            self.assumptions,
                            self.loops,
                            self.grad,
                            optimizer if step_kind == "step" else None,
                        )
                    )
                return
            if (
                func.attr in _FORWARD_METHODS
                and receiver_path is not None
                and self.is_model(self.canonical(receiver_path))
                and not (func.attr == "generate" and self.analyzer.defines_method(receiver_path, "generate"))
            ):
                self._forward(call, statement, self.canonical(receiver_path))
                return
            if func.attr == "enter_context" and call.args:
                # ``stack.enter_context(torch.no_grad())``: in force until the ExitStack's
                # ``with`` block ends, which restores the grad mode it started with.
                context = analyzer.grad_context(call.args[0], self.function)
                if context is not None:
                    self.grad = frozenset(
                        replace(fact, conditions=fact.conditions | self.assumptions) for fact in context
                    )
                    return
        path = access_path(func)
        if path is not None and self.is_model(self.canonical(path)) and not self._own_call_method(path):
            self._forward(call, statement, self.canonical(path))
            return
        for resolved in analyzer.resolve_calls(self.function, call, self._loop_items()):
            self._apply_summary(
                call, statement, resolved.callee, resolved.positional, resolved.keywords, resolved.owner
            )

    def _is_frozen(self, path: str) -> bool:
        return any(is_under(path, frozen) for frozen in self.frozen)

    def _set_frozen(self, path: str, frozen: bool) -> None:
        """``model.requires_grad_(False)``: the model's parameters take no gradient from here
        on, whatever mode it is switched to; ``requires_grad_(True)`` undoes it."""
        if frozen:
            self.frozen.add(path)
        else:
            self.frozen = {other for other in self.frozen if not is_under(other, path)}
        for existing, value in list(self.modes.items()):
            if is_under(existing, path) and any(fact.frozen != frozen for fact in value):
                self.modes[existing] = frozenset(replace(fact, frozen=frozen) for fact in value)
        if frozen and path not in self.modes:
            self.modes[path] = frozenset(replace(fact, frozen=True) for fact in self.value(path))

    def freeze_parameters(self, loop: ast.For | ast.AsyncFor) -> None:
        """``for p in model.parameters(): p.requires_grad = False`` (``requires_grad_(False)``,
        ``named_parameters`` too) freezes the model, applied where the loop starts: the body
        runs for every parameter, so once the loop is over all of them are frozen. A freeze
        inside an ``if`` of the body is of some parameters only: nothing is said."""
        iterable = loop.iter
        if not (
            isinstance(iterable, ast.Call)
            and isinstance(iterable.func, ast.Attribute)
            and iterable.func.attr in ("parameters", "named_parameters")
        ):
            return
        variable = loop.target
        if iterable.func.attr == "named_parameters":
            if not (isinstance(variable, ast.Tuple) and len(variable.elts) == 2):
                return
            variable = variable.elts[1]
        owner = access_path(iterable.func.value)
        if not isinstance(variable, ast.Name) or owner is None:
            return
        owner = self.canonical(owner)
        if not self.is_model(owner):
            return
        for statement in loop.body:
            frozen = freezes_parameter(statement, variable.id)
            if frozen is not None:
                self._set_frozen(owner, frozen)

    def _apply_to_modules(self, call: ast.Call, statement: ast.stmt | None, receiver: str) -> bool:
        """``model.apply(set_bn_eval)``: ``nn.Module.apply`` calls the function on every
        sub-module (and the model), so the modes it sets are those of "some sub-modules",
        like a ``for m in model.modules():`` loop. False when the function is not known."""
        function_node = call.args[0]
        site = self.analyzer.site(call, self.function, statement)
        effect: set[ModeFact] = set()
        if isinstance(function_node, ast.Lambda):
            arguments = function_node.args.posonlyargs + function_node.args.args
            if not arguments:
                return False
            parameter = arguments[0].arg
            for node in ast.walk(function_node.body):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("train", "eval")
                    and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == parameter
                ):
                    mode = "eval" if node.func.attr == "eval" else "train"
                    if node.func.attr == "train" and node.args:
                        return False  # ``m.train(flag)``: which mode is not plain here
                    effect.add(self._new_fact(mode, (site,)))
            if not effect:
                return False
            effect.add(ModeFact("entry", ()))  # a conditional expression: only some of them
        else:
            resolved = self.analyzer.resolve_call(self.function, ast.Call(function_node, [], []))
            if resolved is None or not resolved.callee.parameters:
                return False
            parameter = resolved.callee.parameters[0]
            summary = self._summary_of(resolved.callee, resolved.owner)
            value = dict(summary.effects).get(parameter)
            if value is None:
                return False
            effect = {
                fact if fact.mode == "entry" else replace(fact, origin=_chain(site, fact.origin))
                for fact in value
            }
        path = f"{receiver}.{SUBMODULES}"
        before = self.value(path)
        new: set[ModeFact] = set()
        for fact in effect:
            if fact.mode == "entry":
                new |= before  # the modules the function leaves as they were
            elif fact.mode in ("train", "eval"):
                new.add(replace(fact, conditions=fact.conditions | self.assumptions))
            else:
                return False
        self.set_path(path, frozenset(new))
        return True

    def _loop_items(self) -> dict[str, str]:
        """``callback`` -> ``self.callbacks`` for each enclosing ``for callback in
        self.callbacks:``: what a loop variable is an element of."""
        items: dict[str, str] = {}
        for loop in self.loops:
            statement = loop.statement
            if isinstance(statement, (ast.For, ast.AsyncFor)) and isinstance(statement.target, ast.Name):
                container = access_path(statement.iter)
                if container is not None:
                    items[statement.target.id] = container
        return items

    def _own_call_method(self, path: str) -> bool:
        """An instance of a class of the project that defines its own ``__call__`` (a
        predictor, ultralytics' ``YOLO``): calling it runs that method, which sets up its own
        mode and grad, not the module's forward."""
        return self.analyzer.defines_method(path, "__call__")

    def _optimizer_of(self, call: ast.Call) -> str | None:
        """The optimizer a ``.step()`` steps: ``opt.step()``, ``scaler.step(opt)``."""
        func = call.func
        if not isinstance(func, ast.Attribute) or func.attr != "step":
            return None
        optimizers = self.analyzer.optimizers
        receiver = access_path(func.value)
        if receiver is not None and receiver in optimizers:
            return receiver
        argument = access_path(call.args[0]) if call.args else None
        if argument is not None and argument in optimizers:
            return argument
        return receiver if receiver is not None and not call.args else argument

    def _forward(self, call: ast.Call, statement: ast.stmt | None, path: str) -> None:
        if self.record is None:
            return
        grad = self.grad
        if isinstance(call.func, ast.Attribute) and call.func.attr == "generate":
            # ``generate()`` (transformers', and the usual hand-written one) runs under no_grad.
            site = self.analyzer.site(call, self.function, statement)
            grad = frozenset({GradFact("off", (site,))})
        self.record.forward_calls.append(
            ForwardCall(
                self.function,
                call,
                statement,
                path,
                self.value(path),
                grad,
                self.assumptions,
                self.loops,
                identity=self.identity(path),
                output_used=_output_used(call, statement),
            )
        )

    def _switch_value(self, call: ast.Call, statement: ast.stmt | None) -> ModeValue:
        assert isinstance(call.func, ast.Attribute)
        site = self.analyzer.site(call, self.function, statement)
        if call.func.attr == "eval":
            return frozenset({self._new_fact("eval", (site,))})
        flag: ast.expr | None = call.args[0] if call.args else None
        for keyword in call.keywords:
            if keyword.arg == "mode":
                flag = keyword.value
        if flag is None:
            return frozenset({self._new_fact("train", (site,))})
        if isinstance(flag, ast.Constant):
            return frozenset({self._new_fact("train" if flag.value else "eval", (site,))})
        if isinstance(flag, ast.Name) and f"{flag.id}.{TRAINING_SNAPSHOT}" in self.modes:
            # ``model.train(was_training)``: back to the mode saved in ``was_training``.
            return self.modes[f"{flag.id}.{TRAINING_SNAPSHOT}"]
        text = self.document.source_of(flag)
        return frozenset(
            {
                self._new_fact("train", (site,), frozenset({condition_of(flag, True, text)})),
                self._new_fact("eval", (site,), frozenset({condition_of(flag, False, text)})),
            }
        )

    def _indirect_forwards(
        self,
        call: ast.Call,
        statement: ast.stmt | None,
        callee: Function,
        summary: Summary,
        bindings: dict[str, str | None],
        other_file: bool,
        flags: dict[str, object],
    ) -> None:
        """The forward passes a called function runs of the models it is given: forward
        passes of the caller's models, at this call, in the caller's mode and grad mode
        wherever the callee leaves them as it found them."""
        assert self.record is not None
        site = self.analyzer.site(call, self.function, statement)
        for inner in summary.forwards:
            root, dot, rest = inner.path.partition(".")
            if root in callee.parameters:
                argument = bindings.get(root)
                if argument is None:
                    continue
                target = argument + dot + rest
            elif other_file or (not self.function.is_module and root in self.function.locals):
                continue
            else:
                target = inner.path
            before = self.value(target)
            value: set[ModeFact] = set()
            for fact in inner.value:
                if any(decided_otherwise(condition, flags) for condition in fact.conditions):
                    continue  # ``evaluate(model, loader)`` never takes ``if checkpoint is not None``
                if fact.mode == "entry":
                    value |= before
                else:
                    value.add(replace(fact, origin=_chain(site, fact.origin), conditions=self.assumptions))
            grad: set[GradFact] = set()
            for grad_fact in inner.grad:
                if grad_fact.grad == "entry":
                    grad |= self.grad
                else:
                    grad.add(
                        replace(grad_fact, origin=_chain(site, grad_fact.origin), conditions=self.assumptions)
                    )
            self.record.forward_calls.append(
                ForwardCall(
                    self.function,
                    call,
                    statement,
                    target,
                    frozenset(value),
                    frozenset(grad),
                    self.assumptions,
                    self.loops,
                    via=(callee, *inner.via),
                    inner=inner.inner or inner.call,
                    other_file=other_file,
                    output_used=inner.output_used,
                    identity=self.identity(target),
                )
            )

    def _apply_summary(
        self,
        call: ast.Call,
        statement: ast.stmt | None,
        callee: Function,
        positional: list[str | None],
        keywords: dict[str, str | None],
        owner: FileAnalyzer,
    ) -> None:
        other_file = owner is not self.analyzer
        summary = self._summary_of(callee, owner)
        bindings: dict[str, str | None] = {}
        for name, argument in zip(callee.parameters[: callee.positional_count], positional, strict=False):
            bindings[name] = self.canonical(argument) if argument is not None else None
        for name, argument in keywords.items():
            if name in callee.parameters:
                bindings[name] = self.canonical(argument) if argument is not None else None
        flags = constant_flags(callee, call, has_receiver=len(positional) > len(call.args))
        if summary.forwards and self.record is not None:
            self._indirect_forwards(call, statement, callee, summary, bindings, other_file, flags)
        if self.record is not None and not other_file:
            # Rules look into a same-file callee's own facts; another file's are in its analysis.
            bound = tuple((name, path) for name, path in bindings.items() if path is not None)
            self.record.call_sites.append(
                CallSite(
                    self.function,
                    call,
                    statement,
                    callee,
                    bound,
                    tuple(self.modes.items()),
                    self.loops,
                )
            )
        for frozen_path in summary.frozen:
            root, dot, rest = frozen_path.partition(".")
            if root in callee.parameters:
                argument = bindings.get(root)
                if argument is not None:
                    self._set_frozen(argument + dot + rest, True)
            elif not other_file and (self.function.is_module or root not in self.function.locals):
                self._set_frozen(frozen_path, True)
        if not summary.effects and summary.grad is None:
            return
        site = self.analyzer.site(call, self.function, statement)
        before = dict(self.modes)
        for effect_path, effect_value in sorted(summary.effects, key=lambda item: item[0].count(".")):
            root, dot, rest = effect_path.partition(".")
            if root in callee.parameters:
                argument = bindings.get(root)
                if argument is None:
                    continue
                target = argument + dot + rest
            else:
                # A global of the callee: the same object only if it is a global here too
                # (another file's globals are its own).
                if other_file or (not self.function.is_module and root in self.function.locals):
                    continue
                target = effect_path
            affected = [path for path in before if is_under(path, target) and path != target]
            for path in [target, *affected]:
                old = self.lookup.value(before, path)
                new: set[ModeFact] = set()
                for fact in effect_value:
                    if any(decided_otherwise(condition, flags) for condition in fact.conditions):
                        continue  # ``set_mode(model, False)`` never takes the ``train`` branch
                    if any(
                        known is not None and known != condition.truth
                        for condition in fact.conditions
                        if condition.key.endswith(f".{ENTERED_IN_TRAIN}")
                        for known in [entered_mode_known(condition, bindings, self.lookup, before)]
                    ):
                        continue  # ``if was_training: model.train()`` with a model the caller knows
                    if fact.mode == "entry":
                        new |= old
                    else:
                        new.add(replace(fact, origin=_chain(site, fact.origin), conditions=self.assumptions))
                self.modes[path] = frozenset(new)
            self.mirror(target)
        if summary.grad is not None:
            new_grad: set[GradFact] = set()
            for grad_fact in summary.grad:
                if grad_fact.grad == "entry":
                    new_grad |= self.grad
                else:
                    new_grad.add(
                        replace(grad_fact, origin=_chain(site, grad_fact.origin), conditions=self.assumptions)
                    )
            self.grad = frozenset(new_grad)


_FORWARD_METHODS = frozenset({"forward", "generate"})


def _output_used(call: ast.Call, statement: ast.stmt | None) -> bool:
    """Is what the forward computes used (not a call for its side effects, ``model(x)`` as a
    statement or ``_ = model(x)``: hooks, calibration, warm-up)?"""
    if isinstance(statement, ast.Expr) and statement.value is call:
        return False
    return not (
        isinstance(statement, ast.Assign)
        and statement.value is call
        and all(isinstance(target, ast.Name) and target.id == "_" for target in statement.targets)
    )


_MAX_CHAIN = 6


def _chain(site: Site, origin: tuple[Site, ...]) -> tuple[Site, ...]:
    """Prefix a call site to a provenance chain, eliding the middle of very deep chains.

    Messages name the call in this function and the statement that set the mode;
    the calls in between are context. Unbounded chains would make every fact as
    long as the call depth, and hashing them quadratic in it.
    """
    if len(origin) < _MAX_CHAIN:
        return (site, *origin)
    return (site, *origin[:2], *origin[-(_MAX_CHAIN - 3) :])
