def test(model, loader):
    model.eval()
    return [model(x) for x in loader]


def train(model, optimizer, loader, val_loader):
    model.train()
    for i, (x, y) in enumerate(loader):
        out = model(x)  # noqa: TM101
        out.sum().backward()
        optimizer.step()
        test(model, val_loader)


def train_again(model, optimizer, loader, val_loader):
    model.train()
    for i, (x, y) in enumerate(loader):
        out = model(x)  # torchmode: ignore[TM101]
        out.sum().backward()
        optimizer.step()
        test(model, val_loader)
