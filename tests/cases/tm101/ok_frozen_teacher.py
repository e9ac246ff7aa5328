import torch
import torch.nn.functional as F


def distill(student, teacher, optimizer, loader, temperature=2.0):
    teacher.eval()
    student.train()
    for x, _ in loader:
        soft_targets = F.softmax(teacher(x).detach() / temperature, dim=1)
        loss = F.kl_div(F.log_softmax(student(x) / temperature, dim=1), soft_targets, reduction="batchmean")
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def dqn_update(policy_net, target_net, optimizer, batches, gamma=0.99):
    target_net.eval()
    for states, actions, rewards, next_states in batches:
        q = policy_net(states).gather(1, actions)
        target = rewards + gamma * target_net(next_states).max(1).values.detach()
        loss = F.smooth_l1_loss(q.squeeze(1), target)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(policy_net.parameters(), 1.0)
        optimizer.step()
