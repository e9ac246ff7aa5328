"""Roles of code: which forward calls are part of a training step."""

from __future__ import annotations

from torchmode.analysis.dataflow import FileAnalysis, ForwardCall, TrainingStep


class TrainingRoles:
    """Answers "which training steps follow this forward call?" for one file's analysis.

    A forward call is part of a training step when a ``backward()`` or
    ``optimizer.step()`` follows it in the same loop body (or the same function
    body, outside loops) and autograd is not certainly off at the call: a
    forward pass under ``no_grad`` feeds no backward.
    """

    def __init__(self, analysis: FileAnalysis) -> None:
        self.analysis = analysis
        self._steps_by_region: dict[tuple[int, int], list[TrainingStep]] = {}
        for step in analysis.steps:
            self._steps_by_region.setdefault(self.region(step), []).append(step)

    @staticmethod
    def region(item: ForwardCall | TrainingStep) -> tuple[int, int]:
        return (id(item.function), item.loops[-1].head if item.loops else -1)

    def steps_after(self, forward: ForwardCall) -> list[TrainingStep]:
        if forward.grad and all(fact.grad == "off" for fact in forward.grad):
            return []
        position = (forward.call.lineno, forward.call.col_offset)
        return [
            step
            for step in self._steps_by_region.get(self.region(forward), [])
            if (step.call.lineno, step.call.col_offset) > position
        ]
