"""Correct and deliberate: frozen batch-norm statistics, a norm_eval train() override, MC dropout,
a mean teacher in train mode, adversarial examples made in eval mode, update_bn after SWA."""

import copy

import torch
import torch.nn.functional as F
from common import Net, batches, show
from torch import nn
from torch.optim.swa_utils import AveragedModel, update_bn

torch.manual_seed(0)

# 1. Batch-norm statistics frozen after train(): a part switched on its own.
model = Net()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(2):
    model.train()
    for module in model.modules():
        if isinstance(module, nn.BatchNorm1d):
            module.eval()
    for data, target in batches(3, seed=epoch):
        loss = F.cross_entropy(model(data), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    show("frozen-bn", loss)


# 2. An override of train() that keeps the norms in eval (mmdetection's norm_eval).
class NormEvalNet(Net):
    def train(self, mode=True):
        super().train(mode)
        if mode:
            self.bn.eval()
        return self


model = NormEvalNet()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for data, target in batches(3, seed=2):
    model.train()
    loss = F.cross_entropy(model(data), target)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
show("norm-eval", loss)

# 3. Monte Carlo dropout: eval mode, dropout switched back on by itself, predictions under no_grad.
model.eval()
model.dropout.train()
with torch.no_grad():
    samples = torch.stack([model(batches(1, seed=3)[0][0]) for _ in range(5)])
show("mc-dropout", samples.std(0).mean())

# 4. Mean teacher: the teacher stays in train mode (noise is the point); two views per step.
student, teacher = Net(), Net()
teacher.load_state_dict(student.state_dict())
teacher.requires_grad_(False)
optimizer = torch.optim.SGD(student.parameters(), lr=0.1)
for data, target in batches(4, seed=4):
    with torch.no_grad():
        view_a = teacher(data + 0.1 * torch.randn_like(data)).softmax(1)
        view_b = teacher(data - 0.1 * torch.randn_like(data)).softmax(1)
    logits = student(data)
    loss = F.cross_entropy(logits, target) + F.mse_loss(logits.softmax(1), (view_a + view_b) / 2)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    with torch.no_grad():
        for slow, fast in zip(teacher.parameters(), student.parameters(), strict=True):
            slow.mul_(0.99).add_(fast, alpha=0.01)
show("mean-teacher", loss)

# 5. Adversarial training: attacks made in eval mode (autograd.grad, and backward + zero_grad).
model = Net()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for index, (data, target) in enumerate(batches(4, seed=5)):
    model.eval()
    delta = torch.zeros_like(data, requires_grad=True)
    attack_loss = F.cross_entropy(model(data + delta), target)
    if index % 2:
        (gradient,) = torch.autograd.grad(attack_loss, delta)
    else:
        attack_loss.backward()
        gradient = delta.grad
    adversarial = data + 0.1 * gradient.sign()
    model.train()
    optimizer.zero_grad()
    loss = F.cross_entropy(model(adversarial), target)
    loss.backward()
    optimizer.step()
show("adversarial", loss)

# 6. SWA: update_bn runs the averaged model in train mode under no_grad, on purpose.
swa = AveragedModel(model)
swa.update_parameters(model)
update_bn([data for data, _ in batches(3, seed=6)], swa)
swa.eval()
with torch.no_grad():
    show("swa", swa(batches(1, seed=7)[0][0]).sum())

# 7. A frozen backbone: only the head trains, the backbone stays in eval.
backbone = copy.deepcopy(Net(classes=16))
head = nn.Sequential(nn.Linear(16, 3))
classifier = nn.Sequential(backbone, head)
backbone.requires_grad_(False)
optimizer = torch.optim.SGD(head.parameters(), lr=0.1)
for data, target in batches(3, seed=8):
    classifier.train()
    backbone.eval()
    loss = F.cross_entropy(classifier(data), target)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
show("frozen-backbone", loss)
