"""A callback kept in a list switches the trainer's model to eval at the end of each epoch."""

import torch
import torch.nn.functional as F
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(8, 16)
        self.drop = nn.Dropout(0.5)
        self.fc2 = nn.Linear(16, 3)

    def forward(self, x):
        return self.fc2(self.drop(F.relu(self.fc1(x))))


class EvalCallback:
    def __init__(self, loader):
        self.loader = loader

    def on_epoch_end(self, trainer):
        trainer.model.eval()
        with torch.no_grad():
            for x, y in self.loader:
                trainer.model(x)


class Trainer:
    def __init__(self, model, optimizer, callbacks):
        self.model = model
        self.optimizer = optimizer
        self.callbacks = callbacks

    def fit(self, loader, epochs):
        self.model.train()
        for epoch in range(epochs):
            for x, y in loader:
                loss = F.cross_entropy(self.model(x), y)  # expect: TM101
                self.optimizer.zero_grad()
                loss.backward()
                self.optimizer.step()
            for callback in self.callbacks:
                callback.on_epoch_end(self)


loader = [(torch.randn(4, 8), torch.randint(0, 3, (4,))) for _ in range(3)]
model = Net()
trainer = Trainer(model, torch.optim.SGD(model.parameters(), lr=0.1), [EvalCallback(loader[:1])])
trainer.fit(loader, epochs=3)
