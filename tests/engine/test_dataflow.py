"""The mode/grad fixpoint: joins at loop heads, summaries, branch correlation, grad scopes."""

from __future__ import annotations

import textwrap

from torchmode.analysis.facts import FileAnalysis, ForwardCall
from torchmode.analysis.lattice import modes_of
from torchmode.analysis.project import analyze
from torchmode.syntax import Document


def run(code: str) -> FileAnalysis:
    analysis = analyze(Document(textwrap.dedent(code)))
    assert analysis is not None
    return analysis


def forward_on(analysis: FileAnalysis, line: int) -> ForwardCall:
    matches = [call for call in analysis.forward_calls if call.call.lineno == line]
    assert len(matches) == 1, [call.call.lineno for call in analysis.forward_calls]
    return matches[0]


def test_loop_head_joins_entry_with_back_edge() -> None:
    analysis = run(
        """
        def f(model, xs):
            model.train()
            for x in xs:
                model(x)
                model.eval()
        """
    )
    assert modes_of(forward_on(analysis, 5).value) == {"train", "eval"}


def test_provenance_names_the_call_and_the_switch_inside_it() -> None:
    analysis = run(
        """
        def check(m):
            m.eval()

        def f(model, xs):
            model.train()
            for x in xs:
                model(x)
                check(model)
        """
    )
    (eval_fact,) = [fact for fact in forward_on(analysis, 8).value if fact.mode == "eval"]
    assert [site.text for site in eval_fact.origin] == ["check(model)", "m.eval()"]
    assert [site.span.start.line for site in eval_fact.origin] == [9, 3]


def test_summaries_compose_through_call_levels() -> None:
    analysis = run(
        """
        def a(m):
            m.eval()
        def b(m):
            a(m)
        def c(m):
            b(m)
        def f(model, x):
            model.train()
            c(model)
            model(x)
        """
    )
    value = forward_on(analysis, 11).value
    assert modes_of(value) == {"eval"}
    assert [site.text for site in next(iter(value)).origin] == ["c(model)", "b(m)", "a(m)", "m.eval()"]


def test_a_function_that_restores_train_has_a_train_summary() -> None:
    analysis = run(
        """
        def evaluate(m):
            m.eval()
            m.train()
        def f(model, x):
            model.eval()
            evaluate(model)
            model(x)
        """
    )
    assert modes_of(forward_on(analysis, 8).value) == {"train"}


def test_conditional_switch_in_callee_gives_either() -> None:
    analysis = run(
        """
        def maybe(m, flag):
            if flag:
                m.eval()
        def f(model, x, flag):
            model.train()
            maybe(model, flag)
            model(x)
        """
    )
    assert modes_of(forward_on(analysis, 8).value) == {"train", "eval"}


def test_recursion_terminates_and_has_no_invented_effect() -> None:
    analysis = run(
        """
        def ping(m, n):
            if n:
                pong(m, n - 1)
        def pong(m, n):
            ping(m, n)
        def f(model, x):
            model.train()
            ping(model, 3)
            model(x)
        """
    )
    assert modes_of(forward_on(analysis, 10).value) == {"train"}


def test_parent_train_reaches_submodules() -> None:
    analysis = run(
        """
        def f(model, x):
            model.backbone.eval()
            model.backbone(x)
            model.train()
            model.backbone(x)
        """
    )
    assert modes_of(forward_on(analysis, 4).value) == {"eval"}
    assert modes_of(forward_on(analysis, 6).value) == {"train"}


def test_train_with_unknown_flag_is_correlated_with_the_same_test() -> None:
    analysis = run(
        """
        def f(model, x, is_train):
            model.train(is_train)
            if is_train:
                model(x)
            else:
                model(x)
            if not is_train:
                model(x)
        """
    )
    assert modes_of(forward_on(analysis, 5).value) == {"train"}
    assert modes_of(forward_on(analysis, 7).value) == {"eval"}
    assert modes_of(forward_on(analysis, 9).value) == {"eval"}


def test_reassigning_a_tested_name_forgets_the_correlation() -> None:
    analysis = run(
        """
        def f(model, x, is_train):
            model.train(is_train)
            is_train = not is_train
            if is_train:
                model(x)
        """
    )
    assert modes_of(forward_on(analysis, 6).value) == {"train", "eval"}


def test_fresh_model_is_in_train_mode_and_eval_chain_is_not() -> None:
    analysis = run(
        """
        import torch
        from torch import nn

        class Net(nn.Module):
            pass

        model = Net().to("cpu")
        scorer = Net().eval()
        model(1)
        scorer(1)
        """
    )
    fresh = forward_on(analysis, 10).value
    assert modes_of(fresh) == {"train"} and all(fact.fresh for fact in fresh)
    assert modes_of(forward_on(analysis, 11).value) == {"eval"}


def test_reassigning_a_model_name_replaces_its_mode() -> None:
    analysis = run(
        """
        from torch import nn
        def f(x):
            model = nn.Linear(2, 2)
            model.eval()
            model = nn.Linear(2, 2)
            model(x)
        """
    )
    assert modes_of(forward_on(analysis, 7).value) == {"train"}


def test_grad_is_off_inside_no_grad_and_restored_after() -> None:
    analysis = run(
        """
        import torch
        def f(model, xs):
            model.eval()
            for x in xs:
                with torch.no_grad():
                    model(x)
                    if x:
                        break
                model(x)
            model(xs)
        """
    )
    grads = {line: {fact.grad for fact in forward_on(analysis, line).grad} for line in (7, 10, 11)}
    assert grads == {7: {"off"}, 10: {"entry"}, 11: {"entry"}}


def test_decorated_function_runs_with_grad_off() -> None:
    analysis = run(
        """
        import torch as T
        @T.no_grad()
        def a(model, x):
            model(x)
        @T.inference_mode
        def b(model, x):
            model(x)
        def c(model, x):
            model.eval()
            model(x)
        """
    )
    assert {fact.grad for fact in forward_on(analysis, 5).grad} == {"off"}
    assert {fact.grad for fact in forward_on(analysis, 8).grad} == {"off"}
    assert {fact.grad for fact in forward_on(analysis, 11).grad} == {"entry"}


def test_bare_set_grad_enabled_leaks_out_of_calls_and_into_the_next_iteration() -> None:
    analysis = run(
        """
        import torch
        def validate(model, x):
            torch.set_grad_enabled(False)
            return model(x)
        def f(model, xs):
            model.train()
            torch.set_grad_enabled(True)
            for x in xs:
                model(x)
                validate(model, x)
        """
    )
    grad = forward_on(analysis, 10).grad
    assert {fact.grad for fact in grad} == {"on", "off"}
    assert any(not fact.scoped for fact in grad if fact.grad == "off")


def test_with_set_grad_enabled_follows_its_flag() -> None:
    analysis = run(
        """
        import torch
        def f(model, x, phase):
            model.train()
            with torch.set_grad_enabled(phase == "train"):
                if phase == "train":
                    model(x)
        """
    )
    assert {fact.grad for fact in forward_on(analysis, 7).grad} == {"on"}


def test_unparsable_text_gives_no_analysis() -> None:
    assert analyze(Document("def f(:\n")) is None


def test_deep_call_chains_keep_provenance_short_and_ends_intact() -> None:
    depth = 40
    code = "def f0(m):\n    m.eval()\n" + "".join(f"def f{i}(m):\n    f{i - 1}(m)\n" for i in range(1, depth))
    code += f"def g(model, x):\n    model.train()\n    f{depth - 1}(model)\n    model(x)\n"
    analysis = analyze(Document(code))
    assert analysis is not None
    (fact,) = forward_on(analysis, code.count("\n")).value
    assert fact.mode == "eval"
    assert len(fact.origin) <= 6
    assert fact.origin[0].text == f"f{depth - 1}(model)" and fact.origin[-1].text == "m.eval()"


def test_a_constant_flag_argument_decides_the_callees_branch() -> None:
    analysis = run(
        """
        def set_mode(m, training):
            m.train(training)

        def set_mode_default(m, training=False):
            if training:
                m.train()
            else:
                m.eval()

        def f(model, x, flag):
            set_mode(model, False)
            model(x)
            set_mode(model, training=True)
            model(x)
            set_mode_default(model)
            model(x)
            set_mode(model, flag)
            model(x)
        """
    )
    assert modes_of(forward_on(analysis, 13).value) == {"eval"}
    assert modes_of(forward_on(analysis, 15).value) == {"train"}
    assert modes_of(forward_on(analysis, 17).value) == {"eval"}
    assert modes_of(forward_on(analysis, 19).value) == {"train", "eval"}


def test_restoring_a_saved_training_flag_restores_the_mode() -> None:
    analysis = run(
        """
        import contextlib

        @contextlib.contextmanager
        def evaluating(m):
            was_training = m.training
            m.eval()
            yield
            m.train(was_training)

        def check(m, x):
            was_training = m.training
            m.eval()
            m(x)
            m.train(was_training)

        def f(model, x):
            model.train()
            check(model, x)
            model(x)
            with evaluating(model):
                pass
            model(x)
        """
    )
    assert modes_of(forward_on(analysis, 14).value) == {"eval"}
    assert modes_of(forward_on(analysis, 20).value) == {"train"}
    assert modes_of(forward_on(analysis, 23).value) == {"train"}


def test_methods_through_instances_inheritance_and_super() -> None:
    analysis = run(
        """
        class Base:
            def evaluate(self):
                self.model.eval()

        class Trainer(Base):
            def __init__(self, model):
                self.model = model

            def validate(self):
                super().evaluate()

            def step(self, x):
                self.model(x)

        def main(trainer_model, x):
            trainer = Trainer(trainer_model)
            trainer.model.train()
            trainer.evaluate()
            trainer.model(x)
            trainer.model.train()
            trainer.validate()
            trainer.model(x)
        """
    )
    assert modes_of(forward_on(analysis, 20).value) == {"eval"}
    assert modes_of(forward_on(analysis, 23).value) == {"eval"}
