"""Correct: a GAN alternating discriminator and generator steps; samples drawn in eval mode, then back."""

import torch
import torch.nn.functional as F
from torch import nn

torch.manual_seed(0)
generator = nn.Sequential(nn.Linear(4, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 8))
discriminator = nn.Sequential(nn.Linear(8, 16), nn.LeakyReLU(0.2), nn.Dropout(0.3), nn.Linear(16, 1))
optimizer_g = torch.optim.Adam(generator.parameters(), lr=1e-3)
optimizer_d = torch.optim.Adam(discriminator.parameters(), lr=1e-3)
real_data = torch.randn(64, 8, generator=torch.Generator().manual_seed(3))
for step in range(6):
    real = real_data[step * 8 : step * 8 + 16]
    noise = torch.randn(16, 4)
    fake = generator(noise)
    d_loss = F.binary_cross_entropy_with_logits(
        discriminator(real), torch.ones(len(real), 1)
    ) + F.binary_cross_entropy_with_logits(discriminator(fake.detach()), torch.zeros(16, 1))
    optimizer_d.zero_grad()
    d_loss.backward()
    optimizer_d.step()
    g_loss = F.binary_cross_entropy_with_logits(discriminator(fake), torch.ones(16, 1))
    optimizer_g.zero_grad()
    g_loss.backward()
    optimizer_g.step()
    if step % 3 == 2:
        generator.eval()
        with torch.no_grad():
            print("sample", generator(torch.randn(4, 4)).sum().item())
        generator.train()
    print("losses", d_loss.item(), g_loss.item())
