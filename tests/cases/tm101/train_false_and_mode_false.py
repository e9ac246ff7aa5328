def validate(model, loader):
    model.train(False)
    return [model(x) for x in loader]


def validate_keyword(model, loader):
    model.train(mode=False)
    return [model(x) for x in loader]


def train_a(model, opt, loader, val_loader):
    model.train()
    for i, (x, y) in enumerate(loader):
        loss = model(x).sum()  # expect: TM101
        loss.backward()
        opt.step()
        if i % 10 == 0:
            validate(model, val_loader)


def train_b(model, opt, loader, val_loader):
    model.train(True)
    for i, (x, y) in enumerate(loader):
        loss = model(x).sum()  # expect: TM101
        loss.backward()
        opt.step()
        validate_keyword(model, val_loader)
