"""Framework methods that the framework's loop calls with autograd already set.

torchtnt's evaluation loop runs ``eval_step`` under ``no_grad``; skorch's ``infer`` is the
forward pass of ``train_step`` (grad on, on purpose) and of ``evaluation_step`` (grad
off). Shapes from the registry corpus; no override here has to turn grad off itself.
"""

import torch
from skorch import NeuralNetClassifier
from torch import nn
from torchtnt.framework.unit import EvalUnit


class DummyEvalUnit(EvalUnit[tuple]):
    def __init__(self, input_dim):
        super().__init__()
        self.module = nn.Linear(input_dim, 2)

    def eval_step(self, state, data):
        inputs, targets = data
        outputs = self.module(inputs)
        return torch.nn.functional.cross_entropy(outputs, targets), outputs


class MyNet(NeuralNetClassifier):
    def initialize_module(self):
        super().initialize_module()
        self.seq_ = nn.Sequential(nn.Linear(2, 2))
        return self

    def infer(self, x, **fit_params):
        x = self.module_(x, **fit_params)
        return x + self.seq_(x)
