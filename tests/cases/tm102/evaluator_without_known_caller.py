import torch


@torch.no_grad()
def run_inference(model, batches):
    outputs = []
    for batch in batches:
        outputs.append(model(batch))  # expect: TM102
    return outputs
