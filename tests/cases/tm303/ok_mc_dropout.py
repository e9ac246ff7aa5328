"""Monte Carlo dropout: dropout kept on at test time on purpose, to estimate uncertainty."""

import torch
import torch.nn as nn
import torch.nn.functional as F


class MCDropoutRegressor(nn.Module):
    def __init__(self, features, p=0.1):
        super().__init__()
        self.hidden = nn.Linear(features, 64)
        self.out = nn.Linear(64, 1)
        self.p = p

    def forward(self, x):
        # Always on, also after model.eval(): every forward pass is one posterior sample.
        x = F.dropout(F.relu(self.hidden(x)), self.p, training=True)
        return self.out(x)


def predict_with_uncertainty(model, x, samples=50):
    model.eval()
    with torch.no_grad():
        outputs = torch.stack([model(x) for _ in range(samples)])
    return outputs.mean(dim=0), outputs.std(dim=0)
