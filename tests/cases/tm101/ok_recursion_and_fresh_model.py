import torch
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(3, 3), nn.Dropout())

    def forward(self, x):
        return self.body(x)


def countdown(model, n):
    if n > 0:
        countdown(model, n - 1)


def main():
    model = Net()
    optimizer = torch.optim.Adam(model.parameters())
    for x in [torch.randn(2, 3)]:
        countdown(model, 3)
        out = model(x)
        out.sum().backward()
        optimizer.step()
    scorer = Net().eval()
    print(scorer(torch.randn(1, 3)))
