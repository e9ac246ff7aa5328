"""Weight dropout over several layers: each layer's weights dropped only `if self.training`.

The guard is tested once per loop iteration: on the second pass the mode is still the
one the first test found, so the dropout line runs in train mode only.
"""

import torch.nn.functional as F
from torch import nn


class WeightDrop(nn.Module):
    def __init__(self, module, layer_names, weight_p):
        super().__init__()
        self.module = module
        self.layer_names = layer_names
        self.weight_p = weight_p

    def _set_weights(self):
        for layer in self.layer_names:
            raw_weight = getattr(self, f"{layer}_raw")
            if self.training: weight = F.dropout(raw_weight, p=self.weight_p)
            else: weight = raw_weight.clone()
            setattr(self.module, layer, weight)

    def forward(self, *args):
        self._set_weights()
        return self.module(*args)
