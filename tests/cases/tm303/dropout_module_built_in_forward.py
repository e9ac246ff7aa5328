"""Dropout modules created inside forward: new modules are in train mode whatever the model's mode."""

import torch
from torch import nn


class Classifier(nn.Module):
    def __init__(self, features, classes, p=0.2):
        super().__init__()
        self.hidden = nn.Linear(features, 256)
        self.out = nn.Linear(256, classes)
        self.p = p

    def forward(self, x):
        x = torch.relu(self.hidden(x))
        x = nn.Dropout(self.p)(x)  # expect: TM303
        return self.out(x)


class ResidualBlock(nn.Module):
    def __init__(self, width, p):
        super().__init__()
        self.linear = nn.Linear(width, width)
        self.p = p

    def forward(self, x):
        drop = nn.Dropout(p=self.p)  # expect: TM303
        return x + drop(self.linear(x))
