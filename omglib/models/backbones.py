"""The paper's three CNNs from torchvision's own definitions, with named feature taps.

VGG-FACE has the VGG-16 topology (13 convolutions, 5 max-pools). ResNet-50 and DenseNet-121
are torchvision's. No copy of a backbone is written here: features are read out of the
torchvision modules with `torchvision.models.feature_extraction.create_feature_extractor`.

VGG taps use the paper's words: the k-th convolution is counted over the whole network
(conv1 = conv1_1, conv4 = conv2_2, conv13 = conv5_3 = "last conv"), a convolution tap is
taken after its ReLU, and the k-th pool is the k-th max-pool ("2nd pool" follows conv4,
"last pool" is the 5th).
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models import densenet, resnet, vgg
from torchvision.models.feature_extraction import create_feature_extractor

from omglib.errors import OmgError

_VGG_CONV_INDEX = [i for i, layer in enumerate(vgg.make_layers(vgg.cfgs["D"])) if isinstance(layer, nn.Conv2d)]
_VGG_POOL_INDEX = [i for i, layer in enumerate(vgg.make_layers(vgg.cfgs["D"])) if isinstance(layer, nn.MaxPool2d)]
ORDINALS = {"1st": 1, "2nd": 2, "3rd": 3, **{f"{k}th": k for k in range(4, 14)}}


def vgg_tap_node(tap: str) -> str:
    """Node of `vgg.features` for a paper tap name: "8th-conv", "last-conv", "2nd-pool", "last-pool"."""
    try:
        ordinal, kind = tap.split("-")
        if kind == "conv":
            k = 13 if ordinal == "last" else ORDINALS[ordinal]
            return str(_VGG_CONV_INDEX[k - 1] + 1)  # the ReLU after the convolution
        if kind == "pool":
            k = 5 if ordinal == "last" else ORDINALS[ordinal]
            return str(_VGG_POOL_INDEX[k - 1])
    except (ValueError, KeyError, IndexError):
        pass
    raise OmgError(f"unknown VGG tap {tap!r}: use e.g. 3rd-conv .. 13th-conv, last-conv, 1st-pool .. 5th-pool, last-pool, fc")


def vgg_features(width_divisor: int = 1) -> nn.Sequential:
    """VGG-16's convolution and pooling part (the VGG-FACE topology), channels / ``width_divisor``,
    initialised as torchvision's `VGG` initialises it (He et al.'s fan-out normal, zero biases).
    `vgg.make_layers` alone leaves PyTorch's default layer init, under which 13 plain
    convolutions shrink the differences between images about 10^5-fold by the last pool: a
    trunk trained from random weights (the CPU profiles) then hardly sees its input."""
    cfg = [c if c == "M" else max(1, c // width_divisor) for c in vgg.cfgs["D"]]
    features = vgg.make_layers(cfg)
    for layer in features:
        if isinstance(layer, nn.Conv2d):
            nn.init.kaiming_normal_(layer.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(layer.bias)
    return features


class _NarrowResNet(resnet.ResNet):
    """torchvision's ResNet with every stage's width divided by ``divisor`` (the stem stays
    64 channels; the first block's projection adapts it). ``divisor=1`` is ResNet-50 itself."""

    def __init__(self, divisor: int):
        self.divisor = divisor
        super().__init__(resnet.Bottleneck, [3, 4, 6, 3])

    def _make_layer(self, block, planes, blocks, stride=1, dilate=False):
        return super()._make_layer(block, max(1, planes // self.divisor), blocks, stride, dilate)


def pooled_backbone(name: str, width_divisor: int = 1) -> tuple[nn.Module, int]:
    """ResNet-50 or DenseNet-121 up to the global average pool: (module -> (N, C), C)."""
    if name == "resnet50":
        net = _NarrowResNet(width_divisor)
        node, channels = "flatten", max(1, 512 // width_divisor) * resnet.Bottleneck.expansion
    elif name == "densenet121":
        net = densenet.DenseNet(growth_rate=max(1, 32 // width_divisor), block_config=(6, 12, 24, 16),
                                num_init_features=max(2, 64 // width_divisor))
        node, channels = "flatten", net.classifier.in_features
    else:
        raise OmgError(f"unknown backbone {name!r}: resnet50 or densenet121")
    return _Single(create_feature_extractor(net, {node: "pooled"})), channels


class _Single(nn.Module):
    """Unwraps the feature extractor's one-entry dict."""

    def __init__(self, extractor: nn.Module):
        super().__init__()
        self.extractor = extractor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.extractor(x)["pooled"]


class VGGTaps(nn.Module):
    """VGG-16 features returning the named taps (dict of tensors); "fc" stands for the last
    pool, which the FC above reads. Layers deeper than the deepest tap are not built."""

    def __init__(self, taps: tuple[str, ...], width_divisor: int = 1):
        super().__init__()
        nodes = {vgg_tap_node("last-pool" if t == "fc" else t): "last-pool" if t == "fc" else t for t in taps}
        self.features = create_feature_extractor(vgg_features(width_divisor), nodes)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.features(x)
