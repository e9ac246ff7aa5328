"""The classic bug: model.train() once before the loop, test() inside it leaves the model in eval."""

import torch
import torch.nn.functional as F
from common import Net, batches, show


def test(model, loader):
    model.eval()  # switch: TM101
    correct = 0
    with torch.no_grad():
        for data, target in loader:
            correct += int((model(data).argmax(1) == target).sum())
    return correct


def train(model, optimizer, loader, val_loader):
    model.train()
    for index, (data, target) in enumerate(loader):
        output = model(data)  # observed: TM101
        loss = F.cross_entropy(output, target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if index % 3 == 2:
            show("loss", loss)
            show("correct", test(model, val_loader))


torch.manual_seed(0)
net = Net()
sgd = torch.optim.SGD(net.parameters(), lr=0.1)
for epoch in range(2):
    train(net, sgd, batches(6, seed=epoch), batches(2, seed=9))
