"""Correct: distillation from a frozen teacher in eval mode, with and without no_grad."""

import torch
import torch.nn.functional as F
from common import Net, batches, show

torch.manual_seed(0)
teacher = Net().eval()
teacher.requires_grad_(False)
student = Net()
optimizer = torch.optim.SGD(student.parameters(), lr=0.1)
student.train()
for index, (data, target) in enumerate(batches(6, seed=1)):
    if index % 2:
        with torch.no_grad():
            soft = teacher(data).softmax(1)
    else:
        soft = teacher(data).softmax(1)  # grad mode on, but nothing in the teacher requires grad
    logits = student(data)
    loss = F.cross_entropy(logits, target) + F.kl_div(logits.log_softmax(1), soft, reduction="batchmean")
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    show("loss", loss)
