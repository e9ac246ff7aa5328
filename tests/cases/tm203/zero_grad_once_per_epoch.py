"""zero_grad() sits in the epoch loop, outside the batch loop: it clears once per epoch."""

import torch.nn.functional as F


def train(model, optimizer, loader, epochs):
    model.train()
    for epoch in range(epochs):
        optimizer.zero_grad()
        for batch_idx, (data, target) in enumerate(loader):
            output = model(data)
            loss = F.nll_loss(output, target)
            loss.backward()
            optimizer.step()  # expect: TM203
            if batch_idx % 100 == 0:
                print(f"epoch {epoch} batch {batch_idx}: {loss.item():.4f}")
