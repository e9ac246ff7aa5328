import torch


def predict(model, batches):
    with torch.no_grad():
        return [model(x) for x in batches]


def main(model, batches):
    model.eval()
    return predict(model, batches)


def report(model, batches):
    model.eval()
    print(predict(model, batches))
