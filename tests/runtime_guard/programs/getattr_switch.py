"""The mode comes from a table through getattr: "finetune" was mapped to eval by mistake."""

import torch
import torch.nn.functional as F
from common import Net, batches, show

torch.manual_seed(0)
model = Net()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
MODE_OF_PHASE = {"train": "train", "val": "eval", "finetune": "eval"}

for phase in ("train", "val", "finetune"):
    getattr(model, MODE_OF_PHASE[phase])()  # switch: TM101
    for data, target in batches(3, seed=1):
        if phase == "val":
            with torch.no_grad():
                show("val", F.cross_entropy(model(data), target))
            continue
        loss = F.cross_entropy(model(data), target)  # observed: TM101
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        show(phase, loss)
