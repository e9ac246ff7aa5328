import torch.nn.functional as F


def test(model, test_loader):
    model.eval()
    for data, target in test_loader:
        model(data)


def train(model, optimizer, train_loader, validation_loader):
    for batch_idx, (data, target) in enumerate(train_loader):
        model.train()
        output = model(data)
        loss = F.nll_loss(output, target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if batch_idx % 50 == 0:
            test(model, validation_loader)
