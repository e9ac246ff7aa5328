"""The correct frozen-backbone override, and an `eval` alias written as a method."""

from torch import nn


class FrozenBackbone(nn.Module):
    def __init__(self, backbone, head):
        super().__init__()
        self.backbone = backbone
        self.head = head

    def train(self, mode=True):
        super().train(mode)
        self.backbone.eval()
        return self

    def inference(self):
        return self.train(False)

    def forward(self, x):
        return self.head(self.backbone(x))
