from torch import nn


def freeze_bn(model):
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.eval()


def fit(model, optimizer, loader, epochs):
    freeze_bn(model)
    for epoch in range(epochs):
        model.train()  # expect: TM103
        for images, targets in loader:
            loss = model(images, targets)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
