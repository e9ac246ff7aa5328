import torch.nn.functional as F


def test(model, test_loader):
    model.eval()
    for data, target in test_loader:
        model(data)


def train(model, optimizer, epoch, train_loader, validation_loader):
    model.train()
    for batch_idx, (data, target) in enumerate(train_loader):
        output = model(data)  # expect: TM101
        loss = F.nll_loss(output, target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if batch_idx % 50 == 0:
            val_loss = test(model, validation_loader)
