"""A GAN loop that never clears either network's gradients."""

import torch
import torch.nn.functional as F


def train_gan(netG, netD, loader, latent_dim=64):
    optimizerD = torch.optim.Adam(netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
    optimizerG = torch.optim.Adam(netG.parameters(), lr=2e-4, betas=(0.5, 0.999))
    for real in loader:
        noise = torch.randn(real.size(0), latent_dim)
        fake = netG(noise)
        real_scores = netD(real)
        fake_scores = netD(fake.detach())
        lossD = F.binary_cross_entropy_with_logits(
            real_scores, torch.ones_like(real_scores)
        ) + F.binary_cross_entropy_with_logits(fake_scores, torch.zeros_like(fake_scores))
        lossD.backward()
        optimizerD.step()  # expect: TM203
        scores = netD(fake)
        lossG = F.binary_cross_entropy_with_logits(scores, torch.ones_like(scores))
        lossG.backward()
        optimizerG.step()
