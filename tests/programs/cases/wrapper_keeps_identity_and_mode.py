"""A helper that wraps the model and returns it (an adapter) keeps its identity and mode: the
eval() before the wrapping is still in force when training starts."""

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


def add_adapter(model):
    model.adapter_enabled = True
    return model


model = Net()
model.load_state_dict(Net().state_dict())
model.eval()
with torch.no_grad():
    baseline = model(torch.randn(2, 8))
model = add_adapter(model)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for x, y in [(torch.randn(4, 8), torch.randint(0, 3, (4,))) for _ in range(3)]:
    loss = F.cross_entropy(model(x), y)  # expect: TM101
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
