"""Two wrong switches in two branches: two causes, two findings, each with its own fix."""

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


def evaluate(model, loader, mode):
    if mode == "fast":
        model.eval()
        with torch.no_grad():
            return sum(float(F.cross_entropy(model(x), y)) for x, y in loader[:1])
    model.eval()
    with torch.no_grad():
        return sum(float(F.cross_entropy(model(x), y)) for x, y in loader)


def train(model, optimizer, loader):
    model.train()
    for step, (x, y) in enumerate(loader):
        loss = F.cross_entropy(model(x), y)  # expect: TM101
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        evaluate(model, loader, "fast" if step % 2 else "full")


model = Net()
loader = [(torch.randn(4, 8), torch.randint(0, 3, (4,))) for _ in range(4)]
train(model, torch.optim.SGD(model.parameters(), lr=0.1), loader)
