"""Distillation: the loaded teacher is never put in eval mode; its dropout is on while it
produces the targets."""

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


teacher = Net()
teacher.load_state_dict(Net().state_dict())
student = Net()
optimizer = torch.optim.SGD(student.parameters(), lr=0.1)
for x in [torch.randn(4, 8) for _ in range(3)]:
    student.train()
    with torch.no_grad():
        target = F.softmax(teacher(x), dim=1)  # expect: TM102
    loss = F.kl_div(F.log_softmax(student(x), dim=1), target, reduction="batchmean")
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
