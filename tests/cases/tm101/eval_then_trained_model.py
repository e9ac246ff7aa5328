def fine_tune(model, optimizer, loader):
    model.eval()
    for x, y in loader:
        loss = (model(x) - y).abs().mean()  # expect: TM101
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def build(model, lr):
    import torch

    return torch.optim.SGD(model.parameters(), lr=lr)
