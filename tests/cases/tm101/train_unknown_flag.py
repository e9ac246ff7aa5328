def set_mode(model, flag):
    model.train(flag)


def train(model, optimizer, loader, debug):
    model.train()
    for x, y in loader:
        loss = model(x).sum()  # expect: TM101
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        model.train(debug)
