"""Input gradients (saliency) of a trained model in eval mode: a backward with no optimizer
step is not training, and the evaluation needs autograd on."""

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


def saliency(model, x, target):
    model.eval()
    x = x.clone().requires_grad_(True)
    score = model(x)[torch.arange(len(target)), target].sum()
    score.backward()
    return x.grad.abs()


model = Net()
model.load_state_dict(Net().state_dict())
maps = saliency(model, torch.randn(4, 8), torch.randint(0, 3, (4,)))
