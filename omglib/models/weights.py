"""The paper's starting weights: VGG-Face and ImageNet ResNet-50 / DenseNet-121 files converted
to omglib's keys and input convention, and a record of which start a network used.

omglib feeds RGB faces in [-1, 1]. The published files expect other inputs:

- ``vgg_face_dag.pth`` (the PyTorch conversion of VGG-Face): RGB in 0-255 minus the mean
  `VGG_FACE_MEAN`, keys ``conv1_1.weight`` ... ``fc8.bias``;
- torchvision's ImageNet ResNet-50 / DenseNet-121 files: RGB in [0, 1], minus mean, over std.

Their input is affine in ours, x'[c] = a[c] x + b[c], so the first convolution absorbs it: its
weights are scaled by a[c] per input channel and the constant sum W[o, c, k] b[c] goes into its
bias (VGG) or, as the ResNet/DenseNet stem convolution has no bias, into the running mean of the
batch norm right after it. Only the zero padding of that first convolution differs: the
original pads with its mean colour, the converted network with omglib's 0, mid-grey. So the
converted network equals the original on every output not reached by that padding (tested
in tests/test_weights.py); fine-tuning, as the paper does, absorbs the border.

VGG-Face's fc6-fc8 are dropped: fc6 reads the 7 x 7 x 512 last pool of a 224 x 224 face,
omglib's FC reads the 3 x 3 x 512 pool of a 96 x 96 face and the landmarks (as in the paper,
which trains its FC layers from scratch).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import torch
from torchvision.models import densenet, resnet

from omglib import __version__
from omglib.errors import OmgError
from omglib.io import atomic_path
from omglib.models.backbones import _VGG_CONV_INDEX, vgg_features
from omglib.models.registry import CNN_RNNS, FRAME_CNNS, FUSIONS, parse_multi_rnn, read_weights_file

VGG_FACE_MEAN = (129.186279296875, 104.76238250732422, 93.59396362304688)  # vgg_face_dag's meta, RGB, 0-255
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)  # torchvision's, RGB, [0, 1]
VGG_FACE_CONVS = [f"conv{block}_{i}" for block, n in ((1, 2), (2, 2), (3, 3), (4, 3), (5, 3)) for i in range(1, n + 1)]
VGG_FACE_DROPPED = [f"fc{k}.{p}" for k in (6, 7, 8) for p in ("weight", "bias")]
# kind: (backbone, paper's start, usual file name)
KINDS = {"vgg-face": ("vgg16", "VGG-Face", "vgg_face_dag.pth"),
         "resnet50": ("resnet50", "ImageNet ResNet-50", "resnet50-0676ba61.pth"),
         "densenet121": ("densenet121", "ImageNet DenseNet-121", "densenet121-a639ec97.pth")}
PAPER_START = {backbone: kind for kind, (backbone, _, _) in KINDS.items()}
# stem convolution and the batch norm after it, for the networks whose stem has no bias
_STEMS = {"resnet50": ("conv1", "bn1"), "densenet121": ("features.conv0", "features.norm0")}
_DENSENET_LEGACY = re.compile(r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$")
START_KEY = "omglib_start"  # the metadata entry of a converted file, beside "model"


def _fold(weight: torch.Tensor, scale: torch.Tensor, shift: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A convolution on x' = scale * x + shift (per input channel) as one on x:
    (weights scaled per input channel, the constant to add to each output channel)."""
    w = weight.double()
    return (w * scale.double()[None, :, None, None]).to(weight.dtype), \
        (w.sum((2, 3)) @ shift.double()).to(weight.dtype)


def _checked(state: dict, expected: dict, path: Path, kind: str) -> None:
    missing = sorted(set(expected) - set(state))
    wrong = sorted(k for k in set(expected) & set(state) if tuple(state[k].shape) != tuple(expected[k].shape))
    if missing or wrong:
        raise OmgError(f"{path}: not {KINDS[kind][1]}: missing {len(missing)} keys {missing[:4]}, wrong shapes "
                       f"{wrong[:4]} (expected the published file, e.g. {KINDS[kind][2]})")


def convert_vgg_face(state: dict, path: Path = Path("vgg_face_dag.pth")) -> dict[str, torch.Tensor]:
    """vgg_face_dag keys (conv1_1 ... conv5_3) -> torchvision VGG-16 ``features.N`` keys, with the
    0-255-minus-mean input folded into the first convolution so that it takes [-1, 1]."""
    with torch.device("meta"):  # shapes only
        reference = vgg_features().state_dict()
    expected = {f"{c}.{p}": reference[f"{n}.{p}"] for c, n in zip(VGG_FACE_CONVS, _VGG_CONV_INDEX)
                for p in ("weight", "bias")}
    _checked(state, expected, path, "vgg-face")
    unexpected = sorted(set(state) - set(expected) - set(VGG_FACE_DROPPED))
    if unexpected:
        raise OmgError(f"{path}: unexpected keys {unexpected[:4]} for vgg_face_dag (conv1_1 ... conv5_3, fc6-fc8)")
    out = {f"{n}.{p}": state[f"{c}.{p}"].float().clone() for c, n in zip(VGG_FACE_CONVS, _VGG_CONV_INDEX)
           for p in ("weight", "bias")}
    scale = torch.full((3,), 127.5)  # x255 = 127.5 x + 127.5, minus the mean
    out["0.weight"], constant = _fold(out["0.weight"], scale, 127.5 - torch.tensor(VGG_FACE_MEAN))
    out["0.bias"] = out["0.bias"] + constant
    return {f"features.{k}": v for k, v in out.items()}


def convert_imagenet(state: dict, backbone: str, path: Path = Path("imagenet.pth")) -> dict[str, torch.Tensor]:
    """torchvision's ImageNet ResNet-50 / DenseNet-121 state_dict without its classifier, with the
    [0, 1] mean/std normalisation folded into the stem so that it takes [-1, 1]."""
    state = {(m.group(1) + m.group(2) if (m := _DENSENET_LEGACY.match(k)) else k): v for k, v in state.items()}
    with torch.device("meta"):  # shapes only
        reference = (resnet.resnet50() if backbone == "resnet50" else densenet.densenet121()).state_dict()
    classifier = "fc." if backbone == "resnet50" else "classifier."
    expected = {k: v for k, v in reference.items() if not k.startswith(classifier)}
    # files saved before torch 0.4.1 (torchvision's published ones) have no batch-norm counters
    state.update({k: torch.tensor(0) for k in expected if k.endswith(".num_batches_tracked") and k not in state})
    _checked(state, expected, path, PAPER_START[backbone])
    out = {k: state[k].float().clone() if state[k].is_floating_point() else state[k].clone() for k in expected}
    conv, norm = _STEMS[backbone]
    std, mean = torch.tensor(IMAGENET_STD), torch.tensor(IMAGENET_MEAN)
    out[f"{conv}.weight"], constant = _fold(out[f"{conv}.weight"], 0.5 / std, (0.5 - mean) / std)  # x01 = (x + 1) / 2
    out[f"{norm}.running_mean"] = out[f"{norm}.running_mean"] - constant
    return out


def file_digest(path: str | Path) -> str:
    """sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def import_weights(kind: str, source: str | Path, out: str | Path) -> dict:
    """Convert a published file (``kind``: vgg-face, resnet50, densenet121) into a weights file that
    `omglib.models.build(..., weights=out)` loads; returns the metadata stored in it."""
    if kind not in KINDS:
        raise OmgError(f"unknown weights {kind!r}: {', '.join(KINDS)}")
    source, out = Path(source), Path(out)
    state = read_weights_file(source, f" (the published {KINDS[kind][1]} file, e.g. {KINDS[kind][2]})")
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise OmgError(f"{source}: not a plain state_dict (name -> tensor), as {KINDS[kind][2]} is")
    backbone, name, _ = KINDS[kind]
    converted = convert_vgg_face(state, source) if kind == "vgg-face" else convert_imagenet(state, backbone, source)
    meta = {"start": kind, "paper_start": name, "source": source.name, "source_sha256": file_digest(source),
            "backbone": backbone, "input": "RGB in [-1, 1], the original normalisation folded into the first convolution",
            "dropped": VGG_FACE_DROPPED if kind == "vgg-face" else [k for k in state if k not in converted],
            "omglib": __version__}
    with atomic_path(out) as tmp:
        torch.save({"model": converted, START_KEY: meta}, tmp)
    return meta


def backbone_of(model_name: str) -> str:
    """The CNN a registered network is built on: vgg16, resnet50 or densenet121."""
    if model_name in FRAME_CNNS or model_name in CNN_RNNS:
        return {**FRAME_CNNS, **CNN_RNNS}[model_name]
    if model_name in FUSIONS or parse_multi_rnn(model_name) is not None:
        return "vgg16"
    raise OmgError(f"unknown model {model_name!r}: `omg models` lists them")


def import_command(model_name: str) -> str:
    """The command that makes the paper's starting weights for ``model_name``."""
    kind = PAPER_START[backbone_of(model_name)]
    return f"omg weights import {kind} {KINDS[kind][2]} --out weights/{kind}.pt"


@dataclass(frozen=True)
class StartingWeights:
    """What a CNN starts from, recorded in its metrics.json, its model card and its fingerprint."""

    start: str  # "vgg-face", "resnet50", "densenet121", "file" (a weights file of unknown origin) or "random"
    paper_start: str  # what the paper starts it from
    file: str | None = None
    sha256: str | None = None  # of the file
    source_sha256: str | None = None  # of the published file it was converted from

    def identity(self) -> tuple[str, str | None]:
        """What decides the weights (not where the file lies): a fingerprint's part."""
        return self.start, self.sha256


def starting_weights(model_name: str, weights: str | Path | None = None, allow_random: bool = False,
                     allow_hint: str = "allow random weights explicitly") -> StartingWeights:
    """What ``model_name`` starts from: ``weights`` (a file `omg weights import` wrote) or random.

    The paper fine-tunes VGG-Face for every VGG network: without ``weights`` such a network is
    refused unless ``allow_random``; the error names the import command (and ``allow_hint``).
    """
    backbone = backbone_of(model_name)
    paper = KINDS[PAPER_START[backbone]][1]
    if weights is None:
        if backbone == "vgg16" and not allow_random:
            raise OmgError(f"{model_name} starts from VGG-Face in the paper and no weights were given: convert the "
                           f"published file with `{import_command(model_name)}` and pass weights/vgg-face.pt, "
                           f"or {allow_hint} (not the paper's start)")
        return StartingWeights("random", paper)
    path = Path(weights)
    stored = read_weights_file(path, f" (make it with `{import_command(model_name)}`)")
    meta = stored.get(START_KEY, {}) if isinstance(stored, dict) else {}
    return StartingWeights(meta.get("start", "file"), paper, str(path.resolve()), file_digest(path),
                           meta.get("source_sha256"))

