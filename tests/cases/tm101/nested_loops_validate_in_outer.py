def evaluate(net, loader):
    net.eval()
    total = 0.0
    for x, y in loader:
        total += float((net(x) - y).abs().sum())
    return total


def main(net, optimizer, train_loader, val_loader):
    net.train()
    for epoch in range(10):
        for x, y in train_loader:
            out = net(x)  # expect: TM101
            loss = (out - y).pow(2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        print(epoch, evaluate(net, val_loader))
