"""`with T.set_grad_enabled:` without the mode, through an alias of torch."""

import torch as T


def run_phase(model, loader, optimizer, training):
    model.train(training)
    with T.set_grad_enabled:  # expect: TM302
        for x, y in loader:
            loss = T.nn.functional.mse_loss(model(x), y)
            if training:
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
