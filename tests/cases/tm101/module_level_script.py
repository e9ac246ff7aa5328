import torch
from torch import nn

model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.2), nn.Linear(8, 1))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
data = [(torch.randn(2, 4), torch.randn(2, 1)) for _ in range(8)]


def check():
    model.eval()
    with torch.no_grad():
        return sum(float(model(x).sum()) for x, _ in data)


for epoch in range(3):
    for x, y in data:
        loss = (model(x) - y).pow(2).mean()  # expect: TM101
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    print(check())
