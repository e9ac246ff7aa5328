"""The Hugging Face accelerate loop: backward through the accelerator, clear after the step."""

import torch
from accelerate import Accelerator


def train(model, dataloader, epochs=3):
    accelerator = Accelerator()
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-5)
    lr_scheduler = torch.optim.lr_scheduler.LinearLR(optimizer)
    model, optimizer, dataloader = accelerator.prepare(model, optimizer, dataloader)
    model.train()
    for epoch in range(epochs):
        for batch in dataloader:
            outputs = model(**batch)
            accelerator.backward(outputs.loss)
            optimizer.step()
            lr_scheduler.step()
            optimizer.zero_grad()
