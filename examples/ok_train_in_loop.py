"""The article's fix: `model.train()` as the first statement of the batch loop. torchmode stays silent.

`test()` still switches the model to eval inside the loop, but the next
iteration switches it back before its forward pass, so every batch trains in
train mode. Setting the mode as close as possible to the step that needs it
is what the article recommends.
"""

import torch
import torch.nn.functional as F
from torch import nn


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(20, 32)
        self.norm = nn.BatchNorm1d(32)
        self.dropout = nn.Dropout(0.5)
        self.fc2 = nn.Linear(32, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.dropout(F.relu(self.norm(self.fc1(x)))))


def test(model, loader):
    model.eval()
    correct = 0
    with torch.no_grad():
        for data, target in loader:
            correct += int((model(data).argmax(dim=1) == target).sum())
    return correct


def train(model, optimizer, train_loader, validation_loader, log_interval=2):
    for batch_idx, (data, target) in enumerate(train_loader):
        model.train()
        output = model(data)
        loss = F.cross_entropy(output, target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if batch_idx % log_interval == 0:
            print(f"batch {batch_idx} loss {loss.item():.4f} correct {test(model, validation_loader)}")


def make_loader(batches: int, seed: int):
    generator = torch.Generator().manual_seed(seed)
    return [
        (torch.randn(8, 20, generator=generator), torch.randint(0, 4, (8,), generator=generator))
        for _ in range(batches)
    ]


if __name__ == "__main__":
    torch.manual_seed(0)
    net = Net()
    sgd = torch.optim.SGD(net.parameters(), lr=0.1)
    for _epoch in range(2):
        train(net, sgd, make_loader(5, seed=1), make_loader(2, seed=2))
