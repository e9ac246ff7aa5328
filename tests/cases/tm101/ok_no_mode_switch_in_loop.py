def train(model, optimizer, loader):
    model.train()
    for epoch in range(5):
        for x, y in loader:
            loss = (model(x) - y).pow(2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        print("epoch", epoch, float(loss))
