"""Every grad context entered properly, including set_grad_enabled with a flag and a plain call."""

import torch


def run(model, loader, optimizer, phase):
    is_train = phase == "train"
    model.train(is_train)
    with torch.set_grad_enabled(is_train):
        for x, y in loader:
            loss = (model(x) - y).pow(2).mean()
            if is_train:
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()


def features(backbone, images):
    backbone.eval()
    with torch.inference_mode():
        return backbone(images)


def mixed(model, x):
    with torch.no_grad():
        frozen = model(x)
        with torch.enable_grad():
            tuned = model(x).sum()
    return frozen, tuned


def script_mode():
    torch.set_grad_enabled(False)
    try:
        print(torch.is_grad_enabled())
    finally:
        torch.set_grad_enabled(True)
