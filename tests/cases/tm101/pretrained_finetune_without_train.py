import torch
from transformers import AutoModelForSequenceClassification

model = AutoModelForSequenceClassification.from_pretrained("bert-base-uncased", num_labels=2)
optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)


def fine_tune(batches):
    for batch in batches:
        outputs = model(**batch)  # expect: TM101
        outputs.loss.backward()
        optimizer.step()
        optimizer.zero_grad()
