"""Does a random-start VGG trunk see its input? The spread between images (the standard
deviation across a batch, averaged over features) after each of VGG-16's five max-pools, at
initialisation, under PyTorch's default layer init and under torchvision's VGG init (He et
al.'s fan-out normal, zero biases) that `omglib.models.backbones.vgg_features` applies. The
CPU profiles start their CNNs from random weights: a trunk whose last pool hardly differs
between images passes on almost nothing for the FC, the taps or the GRUs above it to learn
from, and its gradients are as small.

    python benchmarks/trunk_init.py [--width-divisor 8] [--size 48] [--record benchmarks/records/trunk_init.json]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from torch import nn


def spreads(features: nn.Sequential, faces: torch.Tensor) -> list[float]:
    """The between-image spread after each max-pool."""
    out, x = [], faces
    with torch.no_grad():
        for layer in features:
            x = layer(x)
            if isinstance(layer, nn.MaxPool2d):
                out.append(x.flatten(1).std(0).mean().item())
    return out


def main() -> None:
    from omglib.models.backbones import vgg_features

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width-divisor", type=int, default=8, help="the quick profile's (ModelConfig.width_divisor)")
    parser.add_argument("--size", type=int, default=48, help="input side, pixels (ModelConfig.input_size)")
    parser.add_argument("--images", type=int, default=32)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--record", type=Path, help="also write the table as a benchmark record (JSON) here")
    args = parser.parse_args()

    rows = []
    for init in ("PyTorch default", "torchvision's VGG (omglib)"):
        measured = []
        for seed in range(args.seeds):
            torch.manual_seed(seed)
            features = vgg_features(args.width_divisor)
            if init == "PyTorch default":
                for layer in features:
                    if isinstance(layer, nn.Conv2d):
                        layer.reset_parameters()  # what `vgg.make_layers` alone leaves
            faces = torch.rand(args.images, 3, args.size, args.size) * 2 - 1
            measured.append(spreads(features, faces))
        mean = torch.tensor(measured).mean(0).tolist()
        print(f"{init:28s} " + "  ".join(f"pool {k + 1} {v:.1e}" for k, v in enumerate(mean))
              + f"  last/first {mean[-1] / mean[0]:.1e}", flush=True)
        rows.append([init, *(f"{v:.1e}" for v in mean), f"{mean[-1] / mean[0]:.1e}"])
    if args.record:
        from omglib.snippets import write_record

        write_record(args.record, ["convolutions initialised by", *(f"pool {k}" for k in range(1, 6)), "last / first"], rows,
                     f"python benchmarks/trunk_init.py --width-divisor {args.width_divisor} --size {args.size}",
                     f"VGG-16 convolutions / {args.width_divisor} at {args.size}x{args.size}, {args.images} uniform-noise "
                     f"images in [-1, 1], mean over {args.seeds} initialisation seeds; spread: the standard deviation "
                     "across images of each feature, averaged over features")


if __name__ == "__main__":
    main()
