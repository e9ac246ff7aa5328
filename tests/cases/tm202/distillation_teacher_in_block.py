"""Knowledge distillation: the teacher belongs under no_grad, the student's step does not."""

import torch
import torch.nn.functional as F


def distill(student, teacher, loader, temperature=2.0):
    optimizer = torch.optim.SGD(student.parameters(), lr=0.01, momentum=0.9)
    teacher.eval()
    student.train()
    for x, y in loader:
        optimizer.zero_grad()
        with torch.no_grad():
            teacher_logits = teacher(x)
            student_logits = student(x)
            soft = F.kl_div(
                F.log_softmax(student_logits / temperature, dim=1),
                F.softmax(teacher_logits / temperature, dim=1),
                reduction="batchmean",
            )
            loss = soft + F.cross_entropy(student_logits, y)
            loss.backward()  # expect: TM202
        optimizer.step()
