"""Export a trained classifier for serving: the bare `model.eval` leaves dropout in the trace."""

import argparse

import torch
import torchvision


def export(checkpoint_path, output_path):
    model = torchvision.models.resnet18(num_classes=10)
    model.load_state_dict(torch.load(checkpoint_path, map_location="cpu"))
    model.eval  # expect: TM301
    example = torch.randn(1, 3, 224, 224)
    traced = torch.jit.trace(model, example)
    traced.save(output_path)


def export_ddp(ddp_model, output_path):
    ddp_model.module.eval  # expect: TM301
    torch.save(ddp_model.module.state_dict(), output_path)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("checkpoint")
    parser.add_argument("output")
    args = parser.parse_args()
    export(args.checkpoint, args.output)
