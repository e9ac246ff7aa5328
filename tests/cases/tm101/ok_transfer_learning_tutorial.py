import torch


def train_model(model, criterion, optimizer, scheduler, dataloaders, num_epochs=25):
    for epoch in range(num_epochs):
        for phase in ["train", "val"]:
            if phase == "train":
                model.train()
            else:
                model.eval()
            running_loss = 0.0
            for inputs, labels in dataloaders[phase]:
                optimizer.zero_grad()
                with torch.set_grad_enabled(phase == "train"):
                    outputs = model(inputs)
                    _, preds = torch.max(outputs, 1)
                    loss = criterion(outputs, labels)
                    if phase == "train":
                        loss.backward()
                        optimizer.step()
                running_loss += loss.item() * inputs.size(0)
            if phase == "train":
                scheduler.step()
    return model


def run_epoch(model, loader, optimizer, is_train):
    model.train(is_train)
    for x, y in loader:
        out = model(x)
        loss = (out - y).abs().mean()
        if is_train:
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()


def fit(model, loaders, optimizer):
    for epoch in range(3):
        run_epoch(model, loaders["train"], optimizer, True)
        run_epoch(model, loaders["val"], optimizer, False)
