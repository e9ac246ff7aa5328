"""Module classes two levels down from an aliased `nn.Module`, and a Lightning model."""

import lightning.pytorch as pl
import torch
import torch.nn as tnn
import torch.nn.functional as nnf


class Backbone(tnn.Module):
    def __init__(self, width, p):
        super().__init__()
        self.linear = tnn.Linear(width, width)
        self.p = p


class RegularizedBackbone(Backbone):
    def forward(self, x):
        hidden = torch.tanh(self.linear(x))
        return torch.nn.functional.dropout(hidden, self.p)  # expect: TM303


class LitRegressor(pl.LightningModule):
    def __init__(self, width):
        super().__init__()
        self.body = RegularizedBackbone(width, 0.1)
        self.head = tnn.Linear(width, 1)

    def forward(self, x):
        return self.head(nnf.dropout(self.body(x), 0.1, inplace=False))  # expect: TM303

    def training_step(self, batch, batch_idx):
        x, y = batch
        return nnf.mse_loss(self(x), y)

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=1e-3)
