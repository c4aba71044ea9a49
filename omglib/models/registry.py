"""Every network of the paper under the paper's name.

`names()` lists them; `build(name, profile)` makes one. Multi-RNN names carry their taps
as the paper writes them ("CNN-3RNN-2nd-pool_last-pool_fc"), and any tap combination
parses, not only the registered ones. The paper does not say which two layers its 2-tap
variants (CNN-2RNN, CNN-2RNN-1FC, CNN2-to-1RNN) read: we take the last pool and the fc
layer. Pass taps explicitly ("CNN-2RNN-5th-conv_fc") to choose others.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import torch
from torch import nn

from omglib.config import ModelConfig, Profile, get_profile
from omglib.errors import OmgError
from omglib.models.backbones import vgg_features, vgg_tap_node
from omglib.models.networks import CNNRNN, FrameCNN, ModelFusion, MultiRNN

FRAME_CNNS = {"VGG-Face": "vgg16", "ResNet-50": "resnet50", "DenseNet-121": "densenet121"}
CNN_RNNS = {"AffWildNet": "resnet50", "DenseNet-RNN": "densenet121"}
FUSIONS = {"Model-level Fusion + RNN": "rnn", "Model-level Fusion + FC": "fc"}

# family: (number of taps, one shared RNN, FC before the output, default taps); longest prefixes first
MULTI_RNN = {
    "CNN-3RNN-1FC": (3, False, True, ("2nd-pool", "last-pool", "fc")),
    "CNN-2RNN-1FC": (2, False, True, ("last-pool", "fc")),
    "CNN2-to-1RNN": (2, True, False, ("last-pool", "fc")),
    "CNN-3RNN": (3, False, False, ("2nd-pool", "last-pool", "fc")),
    "CNN-1RNN": (3, True, False, ("2nd-pool", "last-pool", "fc")),
    "CNN-2RNN": (2, False, False, ("last-pool", "fc")),
}

# Table 5: the layer choices compared for CNN-3RNN (paper's order).
TABLE5_TAPS = (
    ("8th-conv", "last-pool", "fc"),
    ("5th-conv", "last-pool", "fc"),
    ("2nd-pool", "last-pool", "fc"),
    ("3rd-conv", "7th-conv", "fc"),
    ("last-conv", "last-pool", "fc"),
    ("6th-conv", "7th-conv", "8th-conv"),
    ("7th-conv", "8th-conv", "9th-conv"),
    ("3rd-conv", "4th-conv", "5th-conv"),
)
_ALIASES = {"5th-pool": "last-pool", "13th-conv": "last-conv"}


def names() -> list[str]:
    """The registry, in the paper's order: CNNs, CNN-RNNs, multi-RNNs (Table 5 taps), variants, fusion."""
    multi = [f"{family}-{'_'.join(taps)}" for family in ("CNN-3RNN", "CNN-1RNN") for taps in TABLE5_TAPS]
    variants = ["CNN-2RNN", "CNN-2RNN-1FC", "CNN2-to-1RNN", "CNN-3RNN-1FC"]
    return [*FRAME_CNNS, *CNN_RNNS, *multi, *variants, *FUSIONS]


def parse_multi_rnn(name: str) -> tuple[str, tuple[str, ...]] | None:
    """("CNN-3RNN", taps) for a multi-RNN name, None for other names."""
    for family, (count, _, _, default) in MULTI_RNN.items():
        if name == family:
            return family, default
        if name.startswith(family + "-"):
            taps = tuple(_ALIASES.get(t, t) for t in name[len(family) + 1 :].split("_"))
            if len(taps) != count or len(set(taps)) != count:
                raise OmgError(f"{name!r}: {family} takes {count} different taps joined by '_', e.g. {family}-{'_'.join(default)}")
            for tap in taps:
                if tap != "fc":
                    vgg_tap_node(tap)  # raises on an unknown tap
            return family, taps
    return None


def _config(profile: str | Profile | ModelConfig, overrides: dict) -> ModelConfig:
    if isinstance(profile, ModelConfig):
        config = profile
    else:
        config = (get_profile(profile) if isinstance(profile, str) else profile).model
    try:
        return replace(config, **overrides)
    except TypeError as error:
        raise OmgError(f"unknown model setting: {error}") from None


def build(name: str, profile: str | Profile | ModelConfig = "paper", weights: str | Path | None = None,
          **overrides) -> nn.Module:
    """The network called ``name`` at the profile's size; ``overrides`` change ModelConfig fields
    (e.g. ``landmarks=False`` for Table 6). ``weights``: a state_dict file (see `load_weights`)."""
    config = _config(profile, overrides)
    if name in FRAME_CNNS:
        model = FrameCNN(FRAME_CNNS[name], config)
    elif name in CNN_RNNS:
        model = CNNRNN(CNN_RNNS[name], config)
    elif name in FUSIONS:
        model = ModelFusion(FUSIONS[name], config)
    elif (parsed := parse_multi_rnn(name)) is not None:
        family, taps = parsed
        _, shared, fc_before_output, _ = MULTI_RNN[family]
        model = MultiRNN(taps, shared, fc_before_output, config)
    else:
        raise OmgError(f"unknown model {name!r}: `omg models` lists them (e.g. {', '.join(names()[:3])}, ...)")
    model.name = name
    model.config = config
    if weights is not None:
        load_weights(model, weights)
    return model


def _backbones(model: nn.Module) -> list[tuple[nn.Module, str, set[str]]]:
    """(module, key prefix in a torchvision checkpoint, every key of the whole backbone) for every
    backbone inside ``model``: a VGG trunk builds no layer deeper than its deepest tap, and a
    checkpoint's deeper layers are skipped, not refused."""
    found = []
    for module in model.modules():
        if hasattr(module, "vgg"):
            with torch.device("meta"):
                whole = set(vgg_features(module.config.width_divisor).state_dict())
            found.append((module.vgg.features, "features.", whole))
        if hasattr(module, "pooled"):
            found.append((module.pooled.extractor, "", set(module.pooled.extractor.state_dict())))
    return found


def read_weights_file(path: str | Path, hint: str = "") -> object:
    """What a torch weights file holds (tensors and plain containers only); ``hint`` follows
    the error when the file is missing."""
    path = Path(path)
    if not path.is_file():
        raise OmgError(f"{path}: weights file not found{hint}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - any unreadable file is the same user mistake
        raise OmgError(f"{path}: not a torch state_dict ({error.__class__.__name__})") from None


def load_weights(model: nn.Module, path: str | Path) -> None:
    """Load a whole-model state_dict (an omglib checkpoint of this network), or backbone weights:
    a torchvision VGG-16 / ResNet-50 / DenseNet-121 state_dict or a converted VGG-Face one with
    the same keys (the classifier is ignored). Missing or unexpected keys are an error that lists them."""
    path = Path(path)
    state = read_weights_file(path)
    if isinstance(state, dict):  # omglib.models.save's file, an `omg weights import` file, or a bare state_dict
        state = state.get("state_dict", state.get("model", state))
    whole = model.state_dict()
    if set(state) == set(whole):
        _load(model, state, path)
        return
    for backbone, prefix, whole in _backbones(model):
        wanted = set(backbone.state_dict())
        part = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix) and k[len(prefix):] in wanted}
        missing = sorted(wanted - set(part))
        unexpected = sorted(k for k in state if not k.startswith(("classifier.", "fc.")) and
                            not (k.startswith(prefix) and k[len(prefix):] in whole))
        if missing or unexpected:
            raise OmgError(f"{path}: does not fit {model.name}'s backbone: missing {len(missing)} keys {missing[:6]}, "
                           f"unexpected {len(unexpected)} keys {unexpected[:6]} (expected a torchvision backbone "
                           "state_dict, a VGG-Face state_dict with torchvision's key names, or an omglib checkpoint of this model)")
        _load(backbone, part, path)


def _load(module: nn.Module, state: dict, path: Path) -> None:
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as error:
        first = str(error).splitlines()[1].strip() if "\n" in str(error) else str(error)
        raise OmgError(f"{path}: shapes do not match this network ({first}); was it saved at another profile?") from None


def describe(profile: str | Profile | ModelConfig = "paper", frames: int = 2) -> list[dict]:
    """Parameters and forward GFLOPs per frame of every registered network.

    Built and run on the meta device (shapes only, no memory, no arithmetic); torch's
    FlopCounterMode counts every convolution, matrix product and GRU step (2 FLOPs per
    multiply-add).
    """
    from torch.utils.flop_counter import FlopCounterMode

    config = _config(profile, {})
    rows = []
    with torch.device("meta"):
        faces = torch.zeros(1, frames, 3, config.input_size, config.input_size)
        landmarks = torch.zeros(1, frames, 136)
        for name in names():
            model = build(name, config).eval()
            with FlopCounterMode(display=False) as counter:
                model(faces, landmarks)
            rows.append({"name": name, "parameters": sum(p.numel() for p in model.parameters()),
                         "gflops_per_frame": counter.get_total_flops() / frames / 1e9})
    return rows
