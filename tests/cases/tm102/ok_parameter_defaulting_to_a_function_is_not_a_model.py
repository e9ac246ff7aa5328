# fastai's text learner: ``decoder`` is named like a model part but defaults to a function
# that turns tokens into strings. Calling it after the forward pass is no forward pass.
import torch


def decode_spec_tokens(tokens):
    return [token.upper() for token in tokens]


def predict(model, text, decoder=decode_spec_tokens, post=lambda words: words):
    model.eval()
    with torch.no_grad():
        tokens = model(text)
    return " ".join(post(decoder(tokens)))
