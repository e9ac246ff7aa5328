"""DDP on two ranks, correct: train() at the start of every epoch, eval() for its evaluation."""

import torch
import torch.distributed as dist
import torch.nn.functional as F
from ddp_common import batch, setup, show

rank, model, optimizer = setup()
for epoch in range(2):
    model.train()
    for step in range(2):
        data, target = batch()
        loss = F.cross_entropy(model(data), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        show(rank, f"train {epoch}.{step}", loss)
    model.eval()
    with torch.no_grad():
        data, target = batch()
        show(rank, f"val {epoch}", F.cross_entropy(model(data), target))
dist.destroy_process_group()
