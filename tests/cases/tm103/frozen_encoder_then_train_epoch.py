def train_epoch(model, optimizer, loader):
    for x, y in loader:
        optimizer.zero_grad()
        (model(x) - y).pow(2).mean().backward()
        optimizer.step()


def main(model, optimizer, loader, epochs):
    model.encoder.eval()
    for epoch in range(epochs):
        model.train()  # expect: TM103
        train_epoch(model, optimizer, loader)
