"""Knowledge distillation: the teacher was meant to be frozen in eval mode."""

import torch.nn.functional as F


def distill(student, teacher, optimizer, loader, temperature=4.0, epochs=10):
    teacher.eval  # expect: TM301
    for _ in range(epochs):
        student.train()
        for images, labels in loader:
            soft_targets = F.softmax(teacher(images).detach() / temperature, dim=1)
            logits = student(images)
            loss = F.kl_div(
                F.log_softmax(logits / temperature, dim=1), soft_targets, reduction="batchmean"
            ) + F.cross_entropy(logits, labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
