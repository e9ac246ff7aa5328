"""WGAN-GP: the critic's scores on the interpolates are computed under no_grad by mistake."""

import torch


def gradient_penalty(critic, real, fake):
    alpha = torch.rand(real.size(0), 1)
    interpolates = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    with torch.no_grad():
        scores = critic(interpolates)
    (gradients,) = torch.autograd.grad(  # expect: TM202
        outputs=scores,
        inputs=interpolates,
        grad_outputs=torch.ones_like(scores),
        create_graph=True,
    )
    return ((gradients.norm(2, dim=1) - 1) ** 2).mean()


def critic_step(critic, generator, optimizer, real, noise):
    critic.train()
    optimizer.zero_grad()
    fake = generator(noise).detach()
    loss = critic(fake).mean() - critic(real).mean() + 10 * gradient_penalty(critic, real, fake)
    loss.backward()
    optimizer.step()
