"""A self-normalising network whose alpha dropout never drops: its `training` defaults to False."""

import torch.nn as nn
import torch.nn.functional as F


class SelfNormalizingNet(nn.Module):
    def __init__(self, features, classes, p=0.05):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(features, 512), nn.Linear(512, 512)])
        self.out = nn.Linear(512, classes)
        self.p = p

    def forward(self, x):
        for layer in self.layers:
            x = F.selu(layer(x))
            x = F.alpha_dropout(x, self.p)  # expect: TM303
        return self.out(x)
