"""LoRA fine-tuning: transformers' from_pretrained returns the model in eval mode; peft's
wrapper and accelerate's prepare keep it (and its mode); nothing calls train() before the
training loop, so every step trains with dropout off."""

import torch
from accelerate import Accelerator
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM

accelerator = Accelerator()
model = AutoModelForCausalLM.from_pretrained("gpt2")
model = get_peft_model(model, LoraConfig(r=8))
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
model, optimizer = accelerator.prepare(model, optimizer)

for batch in train_loader:
    loss = model(**batch).loss  # expect: TM101
    accelerator.backward(loss)
    optimizer.step()
    optimizer.zero_grad()
