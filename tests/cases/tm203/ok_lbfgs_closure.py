"""L-BFGS: the closure clears, recomputes and back-propagates; the loop only steps."""

import torch


def fit(model, xs, ys, iterations=20):
    optimizer = torch.optim.LBFGS(model.parameters(), lr=0.5)
    for _ in range(iterations):

        def closure():
            optimizer.zero_grad()
            loss = torch.nn.functional.mse_loss(model(xs), ys)
            loss.backward()
            return loss

        optimizer.step(closure)
    return model
