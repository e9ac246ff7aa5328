"""Mixed-precision training with GradScaler; the step goes through the scaler."""

import torch
from torch import nn


class Trainer:
    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4)
        self.scaler = torch.amp.GradScaler("cuda")

    def train_epoch(self, loader) -> None:
        self.model.train()
        for images, labels in loader:
            with torch.autocast("cuda", dtype=torch.float16):
                logits = self.model(images)
                loss = nn.functional.cross_entropy(logits, labels)
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)  # expect: TM203
            self.scaler.update()
