"""An EMA copy made with deepcopy keeps the train mode of the model it copies; its weights
follow the model's (loaded each step) and it is evaluated without eval()."""

import copy

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


model = Net()
ema = copy.deepcopy(model)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
loader = [(torch.randn(4, 8), torch.randint(0, 3, (4,))) for _ in range(3)]
model.train()
for x, y in loader:
    loss = F.cross_entropy(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    averaged = {key: 0.9 * value + 0.1 * model.state_dict()[key] for key, value in ema.state_dict().items()}
    ema.load_state_dict(averaged)
with torch.no_grad():
    print(ema(loader[0][0]).argmax(1))  # expect: TM102
