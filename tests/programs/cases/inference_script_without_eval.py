"""An inference script: weights loaded, autograd off, but the model never put in eval mode."""

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


checkpoint = Net().state_dict()
model = Net()
model.load_state_dict(checkpoint)
with torch.no_grad():
    predictions = model(torch.randn(4, 8)).argmax(1)  # expect: TM102
print(predictions)
