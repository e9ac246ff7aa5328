"""GAN: the generator step puts the discriminator in eval mode and the discriminator step of
the next iteration trains it that way."""

import torch
import torch.nn.functional as F
from torch import nn

generator = nn.Sequential(nn.Linear(4, 16), nn.Dropout(0.3), nn.Linear(16, 8))
discriminator = nn.Sequential(nn.Linear(8, 16), nn.Dropout(0.3), nn.Linear(16, 1))
opt_g = torch.optim.Adam(generator.parameters(), lr=1e-3)
opt_d = torch.optim.Adam(discriminator.parameters(), lr=1e-3)
generator.train()
discriminator.train()
for real in [torch.randn(4, 8) for _ in range(3)]:
    fake = generator(torch.randn(4, 4))
    d_loss = F.softplus(-discriminator(real)).mean() + F.softplus(discriminator(fake.detach())).mean()  # expect: TM101
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()

    discriminator.eval()
    g_loss = F.softplus(-discriminator(fake)).mean()
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()
