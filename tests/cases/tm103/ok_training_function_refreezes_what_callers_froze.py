def train_epochs(model, optimizer, loader, epochs):
    for epoch in range(epochs):
        model.train()
        model.backbone.eval()
        for x, y in loader:
            optimizer.zero_grad()
            (model(x) - y).pow(2).mean().backward()
            optimizer.step()


def fine_tune(model, optimizer, loader):
    model.backbone.eval()
    train_epochs(model, optimizer, loader, 3)
