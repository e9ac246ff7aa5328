"""Manual SGD: backward with grad on, the update under no_grad; validation scoped by `with`."""

import torch


def fit(w, b, xs, ys, val_x, val_y, lr=0.1, steps=100):
    for step in range(steps):
        loss = ((xs @ w + b - ys) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            w -= lr * w.grad
            b -= lr * b.grad
            w.grad.zero_()
            b.grad.zero_()
        if step % 10 == 0:
            with torch.no_grad():
                val_loss = ((val_x @ w + b - val_y) ** 2).mean()
            print(step, val_loss.item())
    return w, b
