"""Which modules count as mode-sensitive, checked on real torch layers and custom classes."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from torchmode.runtime.sensitivity import is_mode_sensitive, sensitive_parts


class ReadsTrainingInForward(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.dropout(x, 0.1, training=self.training)


class ReadsTrainingInHelper(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._noisy(x)

    def _noisy(self, x: torch.Tensor) -> torch.Tensor:
        return x + torch.randn_like(x) if self.training else x


class IgnoresMode(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.dropout(x, 0.1)  # TM303: always drops, whatever the mode


def test_torch_layers_by_their_settings() -> None:
    sensitive = [
        nn.Dropout(0.1),
        nn.Dropout2d(0.5),
        nn.AlphaDropout(0.2),
        nn.BatchNorm1d(3),
        nn.BatchNorm2d(3),
        nn.SyncBatchNorm(3),
        nn.InstanceNorm1d(3, track_running_stats=True),
        nn.RReLU(),
        nn.LSTM(3, 3, num_layers=2, dropout=0.1),
        nn.MultiheadAttention(4, 2, dropout=0.1),
    ]
    blind = [
        nn.Dropout(0.0),
        nn.BatchNorm1d(3, track_running_stats=False),
        nn.InstanceNorm1d(3),
        nn.RReLU(0.2, 0.2),
        nn.LSTM(3, 3, num_layers=1),
        nn.GRU(3, 3, num_layers=2, dropout=0.0),
        nn.MultiheadAttention(4, 2),
        nn.Linear(3, 3),
        nn.LayerNorm(3),
        nn.GroupNorm(1, 3),
        nn.Sequential(nn.Linear(3, 3)),
        nn.TransformerEncoderLayer(4, 2, dropout=0.0),
    ]
    assert [type(layer).__name__ for layer in sensitive if not is_mode_sensitive(layer)] == []
    assert [type(layer).__name__ for layer in blind if is_mode_sensitive(layer)] == []


def test_custom_classes_by_reading_their_code() -> None:
    assert is_mode_sensitive(ReadsTrainingInForward())
    assert is_mode_sensitive(ReadsTrainingInHelper())
    assert not is_mode_sensitive(IgnoresMode())


def test_the_reading_agrees_with_what_the_modules_compute() -> None:
    # Sensitive means the two modes compute differently, blind means they do not.
    torch.manual_seed(0)
    x = torch.randn(4, 3, 5)
    for module, differs in (
        (ReadsTrainingInHelper(), True),
        (nn.InstanceNorm1d(3, track_running_stats=True), True),
        (nn.InstanceNorm1d(3), False),
        (nn.BatchNorm1d(3, track_running_stats=False), False),
    ):
        train_output = module.train()(x)
        eval_output = module.eval()(x)
        assert (not torch.equal(train_output, eval_output)) is differs, module
        assert is_mode_sensitive(module) is differs, module


def test_parts_are_named_inside_the_model() -> None:
    model = nn.Sequential(nn.Linear(3, 3), nn.Sequential(nn.BatchNorm1d(3), nn.Dropout(0.3)), IgnoresMode())
    assert [(name, type(part).__name__) for name, part in sensitive_parts(model)] == [
        ("1.0", "BatchNorm1d"),
        ("1.1", "Dropout"),
    ]
