"""The networks of Sec. 5. Every one maps (inputs, landmarks (B, T, 136) in [-1, 1]) to
per-frame valence-arousal (B, T, 2) in [-1, 1]; ``inputs`` are faces (B, T, 3, H, W) in
[-1, 1], or (B, T) frame numbers when the CNN is frozen and its features are cached
(`omglib.features`).

Each network is a `trunk` (the CNN's convolution/pooling part, frozen or trained) and a head
(the FC layers, GRUs and output above it), so that a frozen trunk can be computed once:

- `FrameCNN` (Fig. 4): VGG-Face / ResNet-50 / DenseNet-121. Landmarks are joined to the last
  pool (VGG) or to the average-pooled features, then FC 4096 / 1500, dropout, output.
- `CNNRNN` (Table 2): AffWildNet (ResNet-50) and DenseNet-RNN. Average pool (+ landmarks),
  FC 1500, dropout, 2-layer GRU-128 with dropout between the layers, output.
- `MultiRNN` (Figs. 5-7): VGG conv/pool, FC 4096 (landmarks joined at the last pool). Features
  tapped at several layers go through one 2-layer GRU each (CNN-3RNN, CNN-2RNN) or together
  through one (CNN-1RNN, CNN2-to-1RNN); the "-1FC" variants add an FC before the output.
- `ModelFusion` (Sec. 5.4.1): the RNN outputs of a CNN-1RNN and a CNN-3RNN, concatenated,
  go through a GRU-128 or an FC-128, then the output layer; trained end to end.

Faces whose side differs from `ModelConfig.input_size` are resized first. Outputs pass
through tanh, so they stay in the label range.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from omglib.config import ModelConfig
from omglib.models.backbones import VGGTaps, pooled_backbone

LANDMARK_FEATURES = 68 * 2
FC_INPUT = "fc-input"  # the whole last pool, as the FC above VGG reads it
POOLED = "pooled"  # ResNet/DenseNet's average-pooled features


def _pool_tap(value: torch.Tensor, config: ModelConfig) -> torch.Tensor:
    """A conv/pool tap as its GRU reads it: average-pooled to tap_pool x tap_pool when the
    profile asks for it (the CPU profiles), else as it is (the paper)."""
    if config.tap_pool:
        value = F.adaptive_avg_pool2d(value, min(config.tap_pool, int(value.shape[-1])))  # int: a constant when traced for export
    return value.flatten(1)


class Trunk(nn.Module):
    """The CNN part: faces (B, T, 3, H, W) -> {feature name: (B, T, F)}.

    VGG gives each tapped layer (pooled as its GRU reads it) and, when an FC reads it, the
    whole last pool under `FC_INPUT`; ResNet/DenseNet give their average pool under `POOLED`.
    """

    def __init__(self, backbone: str, taps: tuple[str, ...], config: ModelConfig):
        super().__init__()
        self.backbone, self.taps, self.config = backbone, taps, config
        if backbone == "vgg16":
            self.vgg = VGGTaps(taps, config.width_divisor)
        else:
            self.pooled, _ = pooled_backbone(backbone, config.width_divisor)
        self.names = tuple(FC_INPUT if t == "fc" else t for t in taps) if backbone == "vgg16" else (POOLED,)

    def forward(self, faces: torch.Tensor) -> dict[str, torch.Tensor]:
        b, t, c, h, w = faces.shape
        x = faces.reshape(b * t, c, h, w)
        size = self.config.input_size
        if (h, w) != (size, size):
            x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
        if self.backbone != "vgg16":
            return {POOLED: self.pooled(x).reshape(b, t, -1)}
        outputs = self.vgg(x)
        features = {tap: _pool_tap(outputs[tap], self.config) for tap in self.taps if tap != "fc"}
        if "fc" in self.taps:
            features[FC_INPUT] = outputs["last-pool"].flatten(1)
        return {name: value.reshape(b, t, -1) for name, value in features.items()}

    def sizes(self) -> dict[str, int]:
        """Features per frame of each output, for the configured input: one forward pass of one
        image in eval mode (batch norm statistics untouched) on the parameters' device (the
        "meta" device when a model is only described)."""
        size = self.config.input_size
        probe = torch.zeros(1, 1, 3, size, size, device=next(self.parameters()).device)
        training = self.training
        self.eval()
        try:
            with torch.no_grad():
                return {name: value.shape[-1] for name, value in self(probe).items()}
        finally:
            self.train(training)


class GRU2(nn.Module):
    """Fig. 6: a 2-layer GRU, dropout after the first layer."""

    def __init__(self, in_features: int, hidden: int, dropout: float):
        super().__init__()
        self.gru = nn.GRU(in_features, hidden, num_layers=2, batch_first=True, dropout=dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.gru(x)[0]


class Output(nn.Module):
    """The 2-unit valence-arousal layer, bounded to [-1, 1]."""

    def __init__(self, in_features: int):
        super().__init__()
        self.linear = nn.Linear(in_features, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.linear(x))


def _fc(in_features: int, units: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.Linear(in_features, units), nn.ReLU(inplace=True), nn.Dropout(dropout))


class LandmarkJoin(nn.Module):
    """Sec. 5.1: the landmarks join the CNN features where the FC reads them (Table 6 turns it off).

    Aligned landmarks sit within a few pixels of the template: in crop coordinates their
    expression signal is a variation of about 0.01 around offsets near +-0.5, too small for
    an FC trained from random weights to pick up beside the CNN features (on the quick
    surrogate the frame CNN's arousal stayed at CCC 0 on validation). So each coordinate is
    standardised with the mean and spread of the training frames (``mean``, ``spread``
    buffers: 3 standard deviations map to 1, like the faces' [-1, 1]); `standardise_landmarks`
    sets them from the data the network first trains on, and they are saved with the weights.

    ``landmark_dropout`` (a CPU-profile regulariser, not the paper's): while training, each
    frame's landmarks are replaced by the training mean with that probability, so that the
    FC cannot lean on them alone and the trunk learns what the pixels hold.
    """

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.enabled, self.dropout = config.landmarks, config.landmark_dropout
        self.register_buffer("mean", torch.zeros(LANDMARK_FEATURES))
        self.register_buffer("spread", torch.ones(LANDMARK_FEATURES))

    def forward(self, features: torch.Tensor, landmarks: torch.Tensor) -> torch.Tensor:
        if not self.enabled:
            return features
        scaled = (landmarks.to(features.dtype) - self.mean.to(features.dtype)) / self.spread.to(features.dtype)
        if self.training and self.dropout > 0:
            kept = torch.rand(scaled.shape[:-1] + (1,), device=scaled.device) >= self.dropout
            scaled = scaled * kept.to(scaled.dtype)
        return torch.cat([features, scaled], -1)


def standardise_landmarks(model: nn.Module, landmarks: torch.Tensor) -> None:
    """Set every `LandmarkJoin` of ``model`` from (N, 136) training landmarks (network input scale)."""
    mean, spread = landmarks.mean(0), (3 * landmarks.std(0)).clamp_min(1e-3)
    for module in model.modules():
        if isinstance(module, LandmarkJoin):
            module.mean.copy_(mean)
            module.spread.copy_(spread)


class FrameCNN(nn.Module):
    """Fig. 4: a CNN that predicts each frame on its own."""

    def __init__(self, backbone: str, config: ModelConfig):
        super().__init__()
        self.config = config
        self.trunk = Trunk(backbone, ("fc",), config)
        units = config.vgg_fc if backbone == "vgg16" else config.cnn_fc
        (features,) = self.trunk.sizes().values()
        self.join = LandmarkJoin(config)
        self.fc = _fc(features + LANDMARK_FEATURES * config.landmarks, units, config.fc_dropout)
        self.output = Output(units)

    def forward(self, inputs: torch.Tensor, landmarks: torch.Tensor) -> torch.Tensor:
        (features,) = self.trunk(inputs).values()
        return self.output(self.fc(self.join(features, landmarks)))


class CNNRNN(nn.Module):
    """Table 2: AffWildNet (ResNet-50) and DenseNet-RNN (DenseNet-121)."""

    def __init__(self, backbone: str, config: ModelConfig):
        super().__init__()
        self.config = config
        self.trunk = Trunk(backbone, (), config)
        self.join = LandmarkJoin(config)
        self.fc = _fc(self.trunk.sizes()[POOLED] + LANDMARK_FEATURES * config.landmarks, config.cnn_fc, config.fc_dropout)
        self.rnn = GRU2(config.cnn_fc, config.gru_hidden, config.gru_dropout)
        self.output = Output(config.gru_hidden)

    def forward(self, inputs: torch.Tensor, landmarks: torch.Tensor) -> torch.Tensor:
        pooled = self.trunk(inputs)[POOLED]
        return self.output(self.rnn(self.fc(self.join(pooled, landmarks))))


class MultiRNN(nn.Module):
    """CNN-3RNN / CNN-1RNN and their 2-tap and -1FC variants (Sec. 5.3)."""

    def __init__(self, taps: tuple[str, ...], shared_rnn: bool, fc_before_output: bool, config: ModelConfig,
                 output: bool = True):
        super().__init__()
        self.config = config
        self.taps = taps
        self.trunk = Trunk("vgg16", taps, config)
        sizes = self.trunk.sizes()
        # The FC (where the landmarks join) exists only when a tap reads it: Table 5's
        # all-convolution rows never see the landmarks.
        self.fc = self.join = None
        if "fc" in taps:
            self.join = LandmarkJoin(config)
            self.fc = _fc(sizes[FC_INPUT] + LANDMARK_FEATURES * config.landmarks, config.vgg_fc, config.fc_dropout)
            sizes["fc"] = config.vgg_fc
        widths = [sizes[t] for t in taps]
        if shared_rnn:
            self.rnns = nn.ModuleList([GRU2(sum(widths), config.gru_hidden, config.gru_dropout)])
        else:
            self.rnns = nn.ModuleList([GRU2(w, config.gru_hidden, config.gru_dropout) for w in widths])
        self.rnn_features = len(self.rnns) * config.gru_hidden
        self.fc_before_output = _fc(self.rnn_features, config.fusion_hidden, 0.0) if fc_before_output else None
        # Inside model-level fusion only `rnn_outputs` is used, so no output layer is built.
        self.output = Output(config.fusion_hidden if fc_before_output else self.rnn_features) if output else None

    def rnn_outputs(self, inputs: torch.Tensor, landmarks: torch.Tensor) -> torch.Tensor:
        """The RNNs' outputs, concatenated: (B, T, rnns x hidden). Model-level fusion reads these."""
        features = self.trunk(inputs)
        if self.fc is not None:
            features["fc"] = self.fc(self.join(features[FC_INPUT], landmarks))
        tapped = [features[name] for name in self.taps]
        if len(self.rnns) == 1:
            return self.rnns[0](torch.cat(tapped, -1))
        return torch.cat([rnn(f) for rnn, f in zip(self.rnns, tapped)], -1)

    def forward(self, inputs: torch.Tensor, landmarks: torch.Tensor) -> torch.Tensor:
        h = self.rnn_outputs(inputs, landmarks)
        return self.output(self.fc_before_output(h) if self.fc_before_output is not None else h)


class ModelFusion(nn.Module):
    """Sec. 5.4.1: Model-level Fusion + RNN (``head="rnn"``) or + FC (``head="fc"``)."""

    TAPS = ("2nd-pool", "last-pool", "fc")

    def __init__(self, head: str, config: ModelConfig):
        super().__init__()
        self.one_rnn = MultiRNN(self.TAPS, shared_rnn=True, fc_before_output=False, config=config, output=False)
        self.three_rnn = MultiRNN(self.TAPS, shared_rnn=False, fc_before_output=False, config=config, output=False)
        width = self.one_rnn.rnn_features + self.three_rnn.rnn_features
        self.head = head
        if head == "rnn":
            self.fusion = nn.GRU(width, config.fusion_hidden, batch_first=True)
        else:
            self.fusion = _fc(width, config.fusion_hidden, 0.0)
        self.output = Output(config.fusion_hidden)

    def forward(self, inputs: torch.Tensor, landmarks: torch.Tensor) -> torch.Tensor:
        joined = torch.cat([self.one_rnn.rnn_outputs(inputs, landmarks), self.three_rnn.rnn_outputs(inputs, landmarks)], -1)
        fused = self.fusion(joined)[0] if self.head == "rnn" else self.fusion(joined)
        return self.output(fused)


def trunks(model: nn.Module) -> list[Trunk]:
    """Every CNN trunk inside ``model`` (two in model-level fusion)."""
    return [m for m in model.modules() if isinstance(m, Trunk)]
