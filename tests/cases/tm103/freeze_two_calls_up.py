def run_epoch(net, optimizer, loader):
    net.train()  # expect: TM103
    for x, y in loader:
        optimizer.zero_grad()
        (net(x) - y).pow(2).mean().backward()
        optimizer.step()


def train_epochs(model, optimizer, loader, epochs):
    for epoch in range(epochs):
        run_epoch(model, optimizer, loader)


def fine_tune(model, optimizer, loader):
    for module in model.modules():
        if type(module).__name__.startswith("BatchNorm"):
            module.eval()
    train_epochs(model, optimizer, loader, 3)
