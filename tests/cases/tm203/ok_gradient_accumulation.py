"""Gradient accumulation: backward every batch, step and clear every N batches."""

import torch


def train(model, optimizer, loader, accumulation_steps=8):
    model.train()
    optimizer.zero_grad()
    for i, (inputs, labels) in enumerate(loader):
        loss = torch.nn.functional.cross_entropy(model(inputs), labels) / accumulation_steps
        loss.backward()
        if (i + 1) % accumulation_steps == 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            optimizer.zero_grad()
