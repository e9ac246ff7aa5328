import torch


def train_one_epoch(model, optimizer, loader):
    """Trains in whatever mode the caller left the model in."""
    for x, y in loader:
        loss = (model(x) - y).pow(2).mean()  # expect: TM101
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def evaluate(model, loader):
    model.eval()
    with torch.no_grad():
        return [model(x) for x, _ in loader]


def fit(model, optimizer, loader, val_loader, epochs):
    model.train()
    for epoch in range(epochs):
        train_one_epoch(model, optimizer, loader)
        evaluate(model, val_loader)


def step(net, optimizer, batch):
    out = net(batch)  # expect: TM101
    out.sum().backward()
    optimizer.step()


def run_epoch(net, optimizer, loader):
    for batch in loader:
        step(net, optimizer, batch)


def main(net, optimizer, loader, val_loader):
    for epoch in range(3):
        run_epoch(net, optimizer, loader)
        evaluate(net, val_loader)
