"""A serving wrapper whose predict() returns the raw logits; nothing in the file calls it."""

import torch
from torch import nn


class Classifier(nn.Module):
    def __init__(self, features: int, classes: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(features, 64), nn.ReLU(), nn.Dropout(0.1), nn.Linear(64, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class Predictor:
    def __init__(self, checkpoint: str) -> None:
        self.model = Classifier(16, 3)
        self.model.load_state_dict(torch.load(checkpoint))
        self.model.eval()

    def predict(self, batch: torch.Tensor) -> torch.Tensor:
        """Class probabilities for one batch."""
        logits = self.model(batch)  # expect: TM201
        return logits.softmax(dim=-1)
