import torch


def validate(net, batches):
    with torch.no_grad():
        return sum(float(net(x).sum()) for x in batches)  # expect: TM102


def train(net, optimizer, batches, val_batches):
    net.train()
    for step, x in enumerate(batches):
        if step % 10 == 0:
            print(validate(net, val_batches))
        optimizer.zero_grad()
        net(x).sum().backward()
        optimizer.step()
