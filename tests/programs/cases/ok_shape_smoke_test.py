"""A shape check of a fresh network: nothing is evaluated, no mode is wrong."""

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


def test():
    net = Net()
    print(net(torch.randn(2, 8)).shape)


if __name__ == "__main__":
    test()
