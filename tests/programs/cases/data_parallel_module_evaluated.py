"""Evaluating through DataParallel's .module switches the model the loop trains."""

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


def evaluate(model, loader):
    model.eval()
    with torch.no_grad():
        return sum(float(F.cross_entropy(model(x), y)) for x, y in loader)


net = Net()
parallel = nn.DataParallel(net)
optimizer = torch.optim.SGD(parallel.parameters(), lr=0.1)
loader = [(torch.randn(4, 8), torch.randint(0, 3, (4,))) for _ in range(4)]
parallel.train()
for step, (x, y) in enumerate(loader):
    loss = F.cross_entropy(parallel(x), y)  # expect: TM101
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step == 1:
        evaluate(parallel.module, loader[:1])
