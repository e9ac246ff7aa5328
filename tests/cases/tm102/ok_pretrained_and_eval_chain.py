import torch
from torch import nn
from transformers import AutoModel

encoder = AutoModel.from_pretrained("distilbert-base-uncased")
head = nn.Linear(768, 2).eval()
test_batches = [{"input_ids": torch.ones(1, 4, dtype=torch.long)}]

with torch.inference_mode():
    for batch in test_batches:
        hidden = encoder(**batch).last_hidden_state
        print(head(hidden[:, 0]))
