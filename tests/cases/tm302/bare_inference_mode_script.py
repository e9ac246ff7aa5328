"""A module-level inference script that calls `torch.inference_mode()` as a statement."""

import torch
from torch import nn

net = nn.Sequential(nn.Linear(10, 10), nn.ReLU(), nn.Linear(10, 2))
net.load_state_dict(torch.load("net.pt"))
net.eval()

torch.inference_mode()  # expect: TM302
batch = torch.randn(8, 10)
scores = net(batch)
print(scores.softmax(-1))


def main():
    torch.enable_grad()  # expect: TM302
    loss = net(torch.randn(4, 10)).sum()
    loss.backward()
