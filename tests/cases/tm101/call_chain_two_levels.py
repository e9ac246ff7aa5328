def test(model, loader):
    model.eval()
    return sum(model(x).sum() for x in loader)


def log_progress(model, step, loader):
    if step % 100 == 0:
        print(step, test(model, loader))


def train(model, optimizer, loader, val_loader):
    model.train()
    for step, (x, y) in enumerate(loader):
        loss = (model(x) - y).pow(2).mean()  # expect: TM101
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        log_progress(model, step, val_loader)
