"""Overrides of framework methods that the framework's loop calls in the mode it set.

Shapes from the registry corpus: torchtnt runs ``eval_step`` after ``module.eval()`` and
under ``no_grad``; transformers' ``Trainer.evaluation_loop`` calls ``model.eval()`` before
``prediction_step``; skorch's ``infer`` is the forward pass of both ``train_step`` and
``evaluation_step``, each of which sets the mode first. None of these methods has to set
a mode itself, and none is called in this file.
"""

from typing import Tuple

import torch
from skorch import NeuralNetClassifier
from torch import nn
from torchtnt.framework.unit import EvalUnit, TrainUnit
from transformers import Trainer

Batch = Tuple[torch.Tensor, torch.Tensor]


class FitUnit(TrainUnit[Batch], EvalUnit[Batch]):
    def __init__(self, input_dim):
        super().__init__()
        self.module = nn.Sequential(nn.Linear(input_dim, 8), nn.Dropout(0.2), nn.Linear(8, 2))
        self.optimizer = torch.optim.SGD(self.module.parameters(), lr=0.01)

    def train_step(self, state, data):
        inputs, targets = data
        loss = nn.functional.cross_entropy(self.module(inputs), targets)
        loss.backward()
        self.optimizer.step()
        self.optimizer.zero_grad()
        return loss

    def eval_step(self, state, data):
        inputs, targets = data
        outputs = self.module(inputs)
        return nn.functional.cross_entropy(outputs, targets), outputs


class MyTrainer(Trainer):
    pass


class LabelSmoothingTrainer(MyTrainer):
    def prediction_step(self, model, inputs, prediction_loss_only, ignore_keys=None):
        with torch.no_grad():
            outputs = model(**inputs)
        return outputs.loss.detach(), outputs.logits, inputs.get("labels")


class TwoHeadNet(NeuralNetClassifier):
    def initialize_module(self):
        super().initialize_module()
        self.head_ = nn.Sequential(nn.Dropout(0.5), nn.Linear(2, 2))
        return self

    def infer(self, x, **fit_params):
        x = self.module_(x, **fit_params)
        return x + self.head_(x)
