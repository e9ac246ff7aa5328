"""A generator context manager of the file turns autograd off around the evaluation.

poutyne's ``Model`` (registry corpus) runs ``predict_generator`` and ``predict_on_batch``
inside ``with self._set_training_mode(False):``, whose body is
``with torch.set_grad_enabled(training): yield``.
"""

import contextlib

import torch


class Model:
    def __init__(self, network):
        self.network = network

    @contextlib.contextmanager
    def _set_training_mode(self, training):
        old_training = self.network.training
        self.network.train(training)
        with torch.set_grad_enabled(training):
            yield
        self.network.train(old_training)

    def predict_on_batch(self, x):
        with self._set_training_mode(False):
            y_pred = self.network(*x)
            return y_pred.cpu().numpy()

    def predict_generator(self, generator):
        predictions = []
        with self._set_training_mode(False):
            for x in generator:
                predictions.append(self.network(x).cpu().numpy())
        return predictions


@contextlib.contextmanager
def no_grad_eval(model):
    model.eval()
    with torch.no_grad():
        yield


def predict(model, batches):
    with no_grad_eval(model):
        return [model(x) for x in batches]
