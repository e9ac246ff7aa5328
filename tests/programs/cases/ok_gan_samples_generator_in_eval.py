"""GAN: the discriminator's step samples the generator in eval mode under no_grad; the
generator's own step runs in train mode. No step trains a model in eval mode."""

import torch
import torch.nn.functional as F
from torch import nn

generator = nn.Sequential(nn.Linear(4, 16), nn.Dropout(0.3), nn.Linear(16, 8))
discriminator = nn.Sequential(nn.Linear(8, 16), nn.Dropout(0.3), nn.Linear(16, 1))
opt_g = torch.optim.Adam(generator.parameters(), lr=1e-3)
opt_d = torch.optim.Adam(discriminator.parameters(), lr=1e-3)
real_batches = [torch.randn(4, 8) for _ in range(3)]

for real in real_batches:
    generator.eval()
    with torch.no_grad():
        fake = generator(torch.randn(4, 4))
    discriminator.train()
    d_loss = F.softplus(-discriminator(real)).mean() + F.softplus(discriminator(fake)).mean()
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()

    generator.train()
    discriminator.eval()
    g_loss = F.softplus(-discriminator(generator(torch.randn(4, 4)))).mean()
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()
