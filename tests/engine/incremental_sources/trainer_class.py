"""A trainer built the way big real ones are: one class whose ``__init__`` calls its other
methods, methods calling each other (and back), properties with setters, a decorated
method, a nested class, and a module the trainer trains. Input of test_incremental.py."""

import logging

import torch
import torch.nn.functional as F
from torch import nn

logger = logging.getLogger(__name__)


class Net(nn.Module):
    def __init__(self, hidden=32):
        super().__init__()
        self.fc1 = nn.Linear(16, hidden)
        self.drop = nn.Dropout(0.2)
        self.fc2 = nn.Linear(hidden, 4)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        return self.fc2(self.drop(x))


class Trainer:
    """Trains ``Net`` with a validation pass every epoch."""

    class Callbacks:
        def __init__(self):
            self.seen = []

        def on_epoch_end(self, epoch):
            self.seen.append(epoch)

    def __init__(self, loader, val_loader, epochs=3):
        self.loader = loader
        self.val_loader = val_loader
        self.epochs = epochs
        self.model = Net()
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=0.01)
        self.callbacks = self.Callbacks()
        self._step = 0
        self.setup()

    def setup(self):
        self.reset_state()
        self.log("ready")

    def reset_state(self):
        self._step = 0
        self.best = None

    @property
    def step(self):
        return self._step

    @step.setter
    def step(self, value):
        self._step = value

    def log(self, message):
        logger.info("%s (step %s)", message, self.step)

    def compute_loss(self, batch):
        inputs, targets = batch
        outputs = self.model(inputs)
        loss = F.cross_entropy(outputs, targets)
        return loss

    def training_step(self, batch):
        loss = self.compute_loss(batch)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        self.step = self.step + 1
        return loss.item()

    def evaluate(self):
        self.model.eval()
        total = 0.0
        for inputs, targets in self.val_loader:
            outputs = self.model(inputs)
            total += F.cross_entropy(outputs, targets).item()
        self.log("evaluated")
        return total / max(len(self.val_loader), 1)

    def fit(self):
        self.model.train()
        for epoch in range(self.epochs):
            for batch in self.loader:
                self.training_step(batch)
            score = self.evaluate()
            if self.best is None or score < self.best:
                self.best = score
            self.callbacks.on_epoch_end(epoch)
        return self.best

    @torch.no_grad()
    def predict(self, inputs):
        self.model.eval()
        return self.model(inputs).argmax(dim=-1)

    def predict_with_grad(self, inputs):
        self.model.eval()
        scores = self.model(inputs)
        return scores.softmax(dim=-1)

    @staticmethod
    def batches(data, size):
        return [data[start : start + size] for start in range(0, len(data), size)]

    def restart(self):
        self.setup()
        return self.fit()


def main():
    data = [(torch.randn(8, 16), torch.randint(0, 4, (8,))) for _ in range(4)]
    trainer = Trainer(data, data)
    trainer.fit()
    print(trainer.predict(torch.randn(2, 16)))


if __name__ == "__main__":
    main()
