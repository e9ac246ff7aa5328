"""``predict_proba`` of a scikit-learn-style estimator is an evaluation the class runs itself.

Only Lightning's own ``predict_step`` (and ``predict_*_end``) hooks run under the
framework's ``no_grad``. From pytorch-tabnet's ``TabModel`` (registry corpus), which
computes every prediction with autograd on and detaches afterwards.
"""

import numpy as np
import torch
from sklearn.base import BaseEstimator
from torch.utils.data import DataLoader


class TabModel(BaseEstimator):
    def predict_proba(self, X):
        self.network.eval()
        results = []
        for data in DataLoader(X, batch_size=self.batch_size, shuffle=False):
            output, M_loss = self.network(data.float())  # expect: TM201
            predictions = torch.nn.Softmax(dim=1)(output).cpu().detach().numpy()
            results.append(predictions)
        return np.vstack(results)
