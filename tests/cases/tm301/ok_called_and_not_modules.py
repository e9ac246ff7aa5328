"""Mode methods called properly, and `.train`/`.eval` attributes of things that are not modules."""

import torch
import torchvision
from transformers import Trainer


def evaluate(model, loader):
    model.eval()
    with torch.no_grad():
        return sum(model(x).argmax(1).eq(y).sum().item() for x, y in loader)


def fine_tune(model, args, train_dataset):
    trainer = Trainer(model=model, args=args, train_dataset=train_dataset)
    trainer.train()
    trainer.evaluate


def datasets(root):
    mnist = torchvision.datasets.MNIST(root, train=True, download=True)
    mnist.train
    return mnist


torch.nn.Module.eval
