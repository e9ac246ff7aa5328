"""A small framework with callbacks: the validation-start hook switches to eval, nothing switches back."""

import torch
import torch.nn.functional as F
from common import Net, batches, show


class Callback:
    def on_validation_start(self, model):
        pass

    def on_validation_end(self, model):
        pass


class EvalDuringValidation(Callback):
    def on_validation_start(self, model):
        model.eval()  # switch: TM101

    # on_validation_end forgets model.train()


class Trainer:
    def __init__(self, callbacks):
        self.callbacks = callbacks

    def fire(self, event, model):
        for callback in self.callbacks:
            getattr(callback, event)(model)

    def fit(self, model, optimizer, train_batches, val_batches, epochs):
        model.train()
        for epoch in range(epochs):
            for data, target in train_batches:
                loss = self.training_step(model, data, target)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            self.fire("on_validation_start", model)
            with torch.no_grad():
                show(f"val {epoch}", sum(F.cross_entropy(model(x), y) for x, y in val_batches))
            self.fire("on_validation_end", model)

    def training_step(self, model, data, target):
        return F.cross_entropy(model(data), target)  # observed: TM101


torch.manual_seed(0)
net = Net()
Trainer([EvalDuringValidation()]).fit(
    net, torch.optim.SGD(net.parameters(), lr=0.1), batches(3, seed=1), batches(2, seed=2), epochs=3
)
