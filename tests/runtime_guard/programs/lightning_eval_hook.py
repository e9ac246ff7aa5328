"""A LightningModule whose epoch-start hook switches it to eval: every training step of the
epoch then runs with dropout off and batch norm frozen. Lightning's loops only restore the modes
they captured around validation, so the mistake survives them and the guard must see it."""

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from common import Net, batches, show
from torch.utils.data import DataLoader


class Classifier(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.net = Net()

    def forward(self, data: torch.Tensor) -> torch.Tensor:
        return self.net(data)

    def on_train_epoch_start(self) -> None:
        # Meant to freeze the batch-norm statistics of a pretrained backbone; freezes everything.
        self.eval()  # switch: TM101

    def training_step(self, batch, batch_index):
        data, target = batch
        loss = F.cross_entropy(self(data), target)  # observed: TM101
        show(f"train {batch_index} (training={self.training})", loss)
        return loss

    def validation_step(self, batch, batch_index):
        data, target = batch
        loss = F.cross_entropy(self(data), target)
        show(f"val {batch_index}", loss)
        return loss

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


torch.manual_seed(0)
model = Classifier()
pl.Trainer(
    accelerator="cpu",
    devices=1,
    max_epochs=1,
    limit_train_batches=4,
    limit_val_batches=2,
    val_check_interval=2,
    logger=False,
    enable_checkpointing=False,
    enable_progress_bar=False,
    enable_model_summary=False,
).fit(
    model,
    DataLoader(batches(4, seed=1), batch_size=None),
    DataLoader(batches(2, seed=2), batch_size=None),
)
