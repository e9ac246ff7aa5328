"""Two optimizers, one of them never cleared: the generator's gradients pile up."""

import torch
import torch.nn.functional as F
from torch import nn

generator = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 8))
discriminator = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1))
opt_g = torch.optim.Adam(generator.parameters(), lr=1e-3)
opt_d = torch.optim.Adam(discriminator.parameters(), lr=1e-3)

for real in [torch.randn(4, 8) for _ in range(3)]:
    fake = generator(torch.randn(4, 4))
    d_loss = F.softplus(-discriminator(real)).mean() + F.softplus(discriminator(fake.detach())).mean()
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()

    g_loss = F.softplus(-discriminator(fake)).mean()
    g_loss.backward()
    opt_g.step()  # expect: TM203
