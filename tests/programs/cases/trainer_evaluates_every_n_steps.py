"""A trainer class validates every few steps inside its epoch loop and never switches back."""

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


class Trainer:
    def __init__(self, model, loader, val_loader, eval_every=2):
        self.model = model
        self.loader = loader
        self.val_loader = val_loader
        self.eval_every = eval_every
        self.optimizer = torch.optim.SGD(model.parameters(), lr=0.1)

    def evaluate(self):
        self.model.eval()
        with torch.no_grad():
            return sum(float(F.cross_entropy(self.model(x), y)) for x, y in self.val_loader)

    def train(self, epochs):
        self.model.train()
        step = 0
        for epoch in range(epochs):
            for x, y in self.loader:
                loss = F.cross_entropy(self.model(x), y)  # expect: TM101
                self.optimizer.zero_grad()
                loss.backward()
                self.optimizer.step()
                step += 1
                if step % self.eval_every == 0:
                    print(self.evaluate())


loader = [(torch.randn(4, 8), torch.randint(0, 3, (4,))) for _ in range(3)]
Trainer(Net(), loader, loader[:1]).train(epochs=2)
