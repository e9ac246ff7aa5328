import torch


class Trainer:
    def __init__(self, model, optimizer, loader, val_loader):
        self.model = model
        self.optimizer = optimizer
        self.loader = loader
        self.val_loader = val_loader

    def evaluate(self):
        self.model.eval()
        with torch.no_grad():
            return [self.model(x) for x, _ in self.val_loader]

    def fit(self, epochs):
        self.model.train()
        for epoch in range(epochs):
            for step, (x, y) in enumerate(self.loader):
                loss = (self.model(x) - y).pow(2).mean()  # expect: TM101
                self.optimizer.zero_grad()
                loss.backward()
                self.optimizer.step()
                if step % 100 == 0:
                    self.evaluate()


class PatientTrainer(Trainer):
    def evaluate(self):
        was_training = self.model.training
        result = super().evaluate()
        self.model.train(was_training)
        return result

    def fit(self, epochs):
        self.model.train()
        for epoch in range(epochs):
            for step, (x, y) in enumerate(self.loader):
                loss = (self.model(x) - y).pow(2).mean()
                self.optimizer.zero_grad()
                loss.backward()
                self.optimizer.step()
                if step % 100 == 0:
                    self.evaluate()
