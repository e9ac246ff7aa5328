"""A batch-inference script at module level; torch is imported as T."""

import torch as T
import torchvision

model = torchvision.models.resnet18()
model.load_state_dict(T.load("resnet18.pt"))
model.eval()

test_loader = T.utils.data.DataLoader(T.load("images.pt"), batch_size=64)
predictions = []
for images in test_loader:
    logits = model(images)  # expect: TM201
    predictions.append(logits.argmax(dim=1))

T.save(T.cat(predictions), "predictions.pt")
