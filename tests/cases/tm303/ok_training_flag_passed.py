"""Functional dropout that follows the module's mode: by keyword, positionally, or combined."""

import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self, p=0.5, use_dropout=True):
        super().__init__()
        self.fc1 = nn.Linear(784, 256)
        self.fc2 = nn.Linear(256, 10)
        self.p = p
        self.use_dropout = use_dropout

    def forward(self, x):
        x = F.relu(self.fc1(x))
        x = F.dropout(x, training=self.training)
        x = F.dropout(x, self.p, self.training)
        x = F.dropout(x, self.p, self.training and self.use_dropout, False)
        x = F.alpha_dropout(x, p=self.p, training=self.training)
        return self.fc2(x)
