"""The same trainer, with fit() switching to train mode first."""

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


class Trainer:
    def __init__(self, model, val_batch):
        self.model = model
        self.model.eval()
        with torch.no_grad():
            self.baseline = F.cross_entropy(self.model(val_batch[0]), val_batch[1])
        self.optimizer = torch.optim.SGD(model.parameters(), lr=0.1)

    def fit(self, loader):
        self.model.train()
        for x, y in loader:
            loss = F.cross_entropy(self.model(x), y)
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()


loader = [(torch.randn(4, 8), torch.randint(0, 3, (4,))) for _ in range(3)]
model = Net()
model.load_state_dict(Net().state_dict())
Trainer(model, loader[0]).fit(loader)
