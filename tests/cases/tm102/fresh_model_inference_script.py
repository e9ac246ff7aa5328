import torch
from torch import nn


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(16, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.3), nn.Linear(32, 2))

    def forward(self, x):
        return self.layers(x)


model = Classifier()
model.load_state_dict(torch.load("classifier.pt"))
test_loader = [torch.randn(4, 16) for _ in range(3)]
predictions = []
with torch.no_grad():
    for batch in test_loader:
        predictions.append(model(batch).argmax(1))  # expect: TM102
