import torch
from torch import nn


def train_detector(detector, optimizer, loader, epochs):
    for name, module in detector.backbone.named_modules():
        if isinstance(module, (nn.BatchNorm2d, nn.SyncBatchNorm)):
            module.eval()
    for epoch in range(epochs):
        detector.train()  # expect: TM103
        for images, targets in loader:
            losses = detector(images, targets)
            total = sum(losses.values())
            optimizer.zero_grad()
            total.backward()
            optimizer.step()
