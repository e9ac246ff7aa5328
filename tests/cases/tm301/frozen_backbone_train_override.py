"""Fine-tuning a head on a frozen backbone: the override meant to keep the backbone in eval mode."""

from torch import nn


class FrozenBackboneClassifier(nn.Module):
    def __init__(self, backbone, features, classes):
        super().__init__()
        self.backbone = backbone
        for parameter in self.backbone.parameters():
            parameter.requires_grad_(False)
        self.head = nn.Linear(features, classes)

    def train(self, mode=True):
        super().train(mode)
        # Batch-norm statistics of the backbone must not drift while the head trains.
        self.backbone.eval  # expect: TM301
        return self

    def forward(self, images):
        return self.head(self.backbone(images))
