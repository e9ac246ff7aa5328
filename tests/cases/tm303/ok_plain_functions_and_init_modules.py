"""Dropout outside module methods, modules built once in __init__, and forwarded keyword arguments."""

import torch
import torch.nn as nn
import torch.nn.functional as F


def token_dropout(embeddings, p=0.1):
    # A plain function: the caller decides when it runs; there is no self.training here.
    return F.dropout(embeddings, p)


def functional_mlp(params, x, train):
    x = F.relu(x @ params["w1"])
    x = F.dropout(x, 0.5, train)
    return x @ params["w2"]


class Encoder(nn.Module):
    def __init__(self, features, p=0.1, **dropout_kwargs):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(features, 128), nn.ReLU(), nn.Dropout(p))
        self.drop = nn.Dropout2d(p)
        self.dropout_kwargs = dropout_kwargs

    def forward(self, x, **kwargs):
        x = self.body(x)
        x = F.dropout(x, **self.dropout_kwargs)
        return F.dropout(x, *kwargs.get("dropout_args", (0.0, self.training)))

    @staticmethod
    def noise(x):
        return F.dropout(x, 0.05)


with torch.no_grad():
    print(token_dropout(torch.ones(4)))
