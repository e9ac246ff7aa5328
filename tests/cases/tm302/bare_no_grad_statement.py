"""`torch.no_grad()` alone on a line: it does nothing, the evaluation still builds graphs."""

import torch


def evaluate(model, loader, device="cpu"):
    model.eval()
    torch.no_grad()  # expect: TM302
    correct = 0
    total = 0
    # Count the hits over the whole set.
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        outputs = model(images)
        correct += (outputs.argmax(1) == labels).sum().item()
        total += labels.size(0)
    return correct / total
