"""The FGSM tutorial's test(): it needs input gradients, so autograd must stay on."""

import torch
import torch.nn.functional as F


def fgsm_attack(image, epsilon, data_grad):
    perturbed = image + epsilon * data_grad.sign()
    return torch.clamp(perturbed, 0, 1)


def test(model, device, test_loader, epsilon):
    model.eval()
    correct = 0
    for data, target in test_loader:
        data, target = data.to(device), target.to(device)
        data.requires_grad = True
        output = model(data)
        init_pred = output.max(1, keepdim=True)[1]
        if init_pred.item() != target.item():
            continue
        loss = F.nll_loss(output, target)
        model.zero_grad()
        loss.backward()
        perturbed = fgsm_attack(data, epsilon, data.grad.data)
        final_pred = model(perturbed).max(1, keepdim=True)[1]
        correct += int(final_pred.item() == target.item())
    return correct / len(test_loader)


def main(test_loader):
    model = torch.load("lenet_mnist_model.pth", weights_only=False)
    for eps in [0, 0.05, 0.1]:
        print(eps, test(model, "cpu", test_loader, eps))
