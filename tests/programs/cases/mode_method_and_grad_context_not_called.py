"""model.eval without the call, and no_grad without the call."""

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
model.load_state_dict(Net().state_dict())
model.eval  # expect: TM301
torch.no_grad()  # expect: TM302
print(model(torch.randn(2, 8)))  # expect: TM102, TM201
