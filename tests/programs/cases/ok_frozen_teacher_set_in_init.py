"""Distillation: the teacher is put in eval mode in __init__ and only used under no_grad."""

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


class Distiller:
    def __init__(self, student, teacher):
        self.student = student
        self.teacher = teacher
        self.teacher.eval()
        self.optimizer = torch.optim.SGD(student.parameters(), lr=0.1)

    def step(self, x):
        self.student.train()
        with torch.no_grad():
            target = F.softmax(self.teacher(x), dim=1)
        loss = F.kl_div(F.log_softmax(self.student(x), dim=1), target, reduction="batchmean")
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()


teacher = Net()
teacher.load_state_dict(Net().state_dict())
distiller = Distiller(Net(), teacher)
for x in [torch.randn(4, 8) for _ in range(3)]:
    distiller.step(x)
