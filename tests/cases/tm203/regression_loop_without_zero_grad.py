"""A small regression script: zero_grad() was never written."""

import torch
from torch import nn

model = nn.Sequential(nn.Linear(3, 16), nn.Tanh(), nn.Linear(16, 1))
criterion = nn.MSELoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
xs, ys = torch.randn(256, 3), torch.randn(256, 1)

for epoch in range(200):
    for start in range(0, len(xs), 32):
        x, y = xs[start : start + 32], ys[start : start + 32]
        prediction = model(x)
        loss = criterion(prediction, y)
        loss.backward()
        optimizer.step()  # expect: TM203
    if epoch % 20 == 0:
        print(epoch, loss.item())
