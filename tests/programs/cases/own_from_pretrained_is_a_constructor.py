"""A project class with its own from_pretrained (builds the model, copies weights, never calls
eval()): the model it returns is in train mode, as the run shows."""

import torch
import torch.nn.functional as F
from torch import nn


class GPT(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(8, width), nn.Dropout(0.1), nn.Linear(width, 3))

    def forward(self, x):
        return self.body(x)

    @classmethod
    def from_pretrained(cls, width):
        model = cls(width)
        model.load_state_dict(cls(width).state_dict())
        return model


model = GPT.from_pretrained(16)
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
for x, y in [(torch.randn(4, 8), torch.randint(0, 3, (4,))) for _ in range(3)]:
    loss = F.cross_entropy(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
with torch.no_grad():
    print(model(torch.randn(2, 8)).argmax(1))  # expect: TM102
