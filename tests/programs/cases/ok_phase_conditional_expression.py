"""The mode chosen by a conditional expression, and the step taken under the same test."""

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


def run_epoch(model, optimizer, loaders):
    for phase in ["train", "val"]:
        model.train() if phase == "train" else model.eval()
        for x, y in loaders[phase]:
            with torch.set_grad_enabled(phase == "train"):
                loss = F.cross_entropy(model(x), y)
                if phase == "train":
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()


loaders = {
    "train": [(torch.randn(4, 8), torch.randint(0, 3, (4,))) for _ in range(3)],
    "val": [(torch.randn(4, 8), torch.randint(0, 3, (4,)))],
}
model = Net()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(2):
    run_epoch(model, optimizer, loaders)
