"""DDP on two ranks: the evaluation at the end of an epoch leaves the model in eval mode, and
the next epoch trains in it (the train() call sits before the loop, not inside it)."""

import torch
import torch.distributed as dist
import torch.nn.functional as F
from ddp_common import batch, setup, show

rank, model, optimizer = setup()
model.train()
for epoch in range(2):
    for step in range(2):
        data, target = batch()
        loss = F.cross_entropy(model(data), target)  # observed: TM101
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        show(rank, f"train {epoch}.{step}", loss)
    model.eval()  # switch: TM101
    with torch.no_grad():
        data, target = batch()
        show(rank, f"val {epoch}", F.cross_entropy(model(data), target))
dist.destroy_process_group()
