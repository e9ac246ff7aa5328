"""The loss of an evaluation is computed from outputs made under no_grad: no graph anywhere."""

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


def validate(model, loader):
    model.eval()
    with torch.no_grad():
        outputs = [(model(x), y) for x, y in loader]
    losses = [F.cross_entropy(out, y) for out, y in outputs]
    return sum(float(loss) for loss in losses)


model = Net()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
loader = [(torch.randn(4, 8), torch.randint(0, 3, (4,))) for _ in range(3)]
for epoch in range(2):
    model.train()
    for x, y in loader:
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    print(validate(model, loader))
