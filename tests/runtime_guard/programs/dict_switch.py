"""The mode is switched through a dict of callables, and "evaluate" maps to train by mistake."""

import torch
import torch.nn.functional as F
from common import Net, batches, show

torch.manual_seed(0)
model = Net()
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
switch_to = {"fit": model.train, "evaluate": model.train}


def run(phase, loader):
    switch_to[phase]()  # switch: TM102
    total = 0.0
    for data, target in loader:
        if phase == "fit":
            loss = F.cross_entropy(model(data), target)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        else:
            with torch.no_grad():
                loss = F.cross_entropy(model(data), target)  # observed: TM102
        total += loss.item()
    return total


for epoch in range(2):
    show("fit", run("fit", batches(4, seed=epoch)))
    show("evaluate", run("evaluate", batches(4, seed=10)))
