"""Self-attention written with from-imports and multi-line calls."""

import math

from torch import nn
from torch.nn.functional import dropout, softmax


class SelfAttention(nn.Module):
    def __init__(self, dim, heads=8, attention_dropout=0.1, output_dropout=0.1):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.attention_dropout = attention_dropout
        self.output_dropout = output_dropout

    def forward(self, x):
        batch, length, dim = x.shape
        q, k, v = self.qkv(x).view(batch, length, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
        weights = dropout(  # expect: TM303
            softmax(scores, dim=-1),
            p=self.attention_dropout,  # attention weights
        )
        context = (weights @ v).transpose(1, 2).reshape(batch, length, dim)
        return dropout(self.out(context), self.output_dropout)  # expect: TM303
