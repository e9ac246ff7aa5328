"""An evaluation function passed as a value: the trainer calls it under no_grad, in eval mode."""

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


def accuracy(model, loader):
    return sum(int((model(x).argmax(1) == y).sum()) for x, y in loader)


def fit(model, optimizer, loader, metric_fn, epochs=2):
    for epoch in range(epochs):
        model.train()
        for x, y in loader:
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            print(metric_fn(model, loader))


model = Net()
loader = [(torch.randn(4, 8), torch.randint(0, 3, (4,))) for _ in range(3)]
fit(model, torch.optim.SGD(model.parameters(), lr=0.1), loader, metric_fn=accuracy)
