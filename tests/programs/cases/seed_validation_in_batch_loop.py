"""The article's bug: validation inside the batch loop leaves the model in eval mode."""

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


def test(model, loader):
    model.eval()
    correct = 0
    with torch.no_grad():
        for x, y in loader:
            correct += int((model(x).argmax(1) == y).sum())
    return correct


def train(model, optimizer, loader, val_loader):
    model.train()
    for batch, (x, y) in enumerate(loader):
        loss = F.cross_entropy(model(x), y)  # expect: TM101
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if batch % 2 == 0:
            test(model, val_loader)


loader = [(torch.randn(4, 8), torch.randint(0, 3, (4,))) for _ in range(6)]
model = Net()
train(model, torch.optim.SGD(model.parameters(), lr=0.1), loader, loader[:2])
