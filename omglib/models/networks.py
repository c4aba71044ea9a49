"""The networks of Sec. 5. Every one maps (faces (B, T, 3, H, W) in [-1, 1], landmarks
(B, T, 68, 2) in crop pixels) to per-frame valence-arousal (B, T, 2) in [-1, 1].

- `FrameCNN` (Fig. 4): VGG-Face / ResNet-50 / DenseNet-121. Landmarks are joined to the last
  pool (VGG) or to the average-pooled features, then FC 4096 / 1500, dropout, output.
- `CNNRNN` (Table 2): AffWildNet (ResNet-50) and DenseNet-RNN. Average pool (+ landmarks),
  FC 1500, dropout, 2-layer GRU-128 with dropout between the layers, output.
- `MultiRNN` (Figs. 5-7): VGG conv/pool, FC 4096 (landmarks joined at the last pool). Features
  tapped at several layers go through one 2-layer GRU each (CNN-3RNN, CNN-2RNN) or together
  through one (CNN-1RNN, CNN2-to-1RNN); the "-1FC" variants add an FC before the output.
- `ModelFusion` (Sec. 5.4.1): the RNN outputs of a CNN-1RNN and a CNN-3RNN, concatenated,
  go through a GRU-128 or an FC-128, then the output layer; trained end to end.

Landmarks enter scaled to [-1, 1] by the crop side, with invalid frames' NaN set to 0.
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


def _frames(faces: torch.Tensor, landmarks: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, T, 3, H, W), (B, T, 68, 2) -> (B*T, 3, size, size), (B*T, 136) in [-1, 1]."""
    b, t, c, h, w = faces.shape
    x = faces.reshape(b * t, c, h, w)
    if (h, w) != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    lm = torch.nan_to_num(landmarks.reshape(b * t, LANDMARK_FEATURES) / h * 2 - 1, nan=0.0)
    return x, lm.to(x.dtype)


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


class FrameCNN(nn.Module):
    """Fig. 4: a CNN that predicts each frame on its own."""

    def __init__(self, backbone: str, config: ModelConfig):
        super().__init__()
        self.config = config
        if backbone == "vgg16":
            self.vgg = VGGTaps(("last-pool",), config.width_divisor)
            features, units = _tap_sizes(self.vgg, config)[1], config.vgg_fc
        else:
            self.pooled, features = pooled_backbone(backbone, config.width_divisor)
            units = config.cnn_fc
        self.fc = _fc(features + LANDMARK_FEATURES * config.landmarks, units, config.fc_dropout)
        self.output = Output(units)

    def forward(self, faces: torch.Tensor, landmarks: torch.Tensor) -> torch.Tensor:
        b, t = faces.shape[:2]
        x, lm = _frames(faces, landmarks, self.config.input_size)
        pooled = self.vgg(x)["last-pool"].flatten(1) if hasattr(self, "vgg") else self.pooled(x)
        joined = torch.cat([pooled, lm], 1) if self.config.landmarks else pooled
        return self.output(self.fc(joined)).reshape(b, t, 2)


class CNNRNN(nn.Module):
    """Table 2: AffWildNet (ResNet-50) and DenseNet-RNN (DenseNet-121)."""

    def __init__(self, backbone: str, config: ModelConfig):
        super().__init__()
        self.config = config
        self.pooled, features = pooled_backbone(backbone, config.width_divisor)
        self.fc = _fc(features + LANDMARK_FEATURES * config.landmarks, config.cnn_fc, config.fc_dropout)
        self.rnn = GRU2(config.cnn_fc, config.gru_hidden, config.gru_dropout)
        self.output = Output(config.gru_hidden)

    def forward(self, faces: torch.Tensor, landmarks: torch.Tensor) -> torch.Tensor:
        b, t = faces.shape[:2]
        x, lm = _frames(faces, landmarks, self.config.input_size)
        pooled = self.pooled(x)
        joined = torch.cat([pooled, lm], 1) if self.config.landmarks else pooled
        return self.output(self.rnn(self.fc(joined).reshape(b, t, -1)))


def _pool_tap(value: torch.Tensor, config: ModelConfig) -> torch.Tensor:
    """A conv/pool tap as its GRU reads it: average-pooled to tap_pool x tap_pool when the
    profile asks for it (the CPU profiles), else as it is (the paper)."""
    if config.tap_pool:
        value = F.adaptive_avg_pool2d(value, min(config.tap_pool, value.shape[-1]))
    return value.flatten(1)


def _tap_sizes(vgg: VGGTaps, config: ModelConfig) -> tuple[dict[str, int], int]:
    """(features each tap gives its GRU, features of the whole last pool that the FC reads), for
    the configured input: one forward pass of one image on the parameters' device (the "meta"
    device when a model is built only to be described)."""
    probe = torch.zeros(1, 3, config.input_size, config.input_size, device=next(vgg.parameters()).device)
    with torch.no_grad():
        outputs = vgg(probe)
    last_pool = outputs["last-pool"].flatten(1).shape[1] if "last-pool" in outputs else 0
    return {name: _pool_tap(value, config).shape[1] for name, value in outputs.items()}, last_pool


class MultiRNN(nn.Module):
    """CNN-3RNN / CNN-1RNN and their 2-tap and -1FC variants (Sec. 5.3)."""

    def __init__(self, taps: tuple[str, ...], shared_rnn: bool, fc_before_output: bool, config: ModelConfig,
                 output: bool = True):
        super().__init__()
        self.config = config
        self.taps = taps
        self.vgg = VGGTaps(taps, config.width_divisor)
        sizes, last_pool = _tap_sizes(self.vgg, config)
        # The FC (where the landmarks join) exists only when a tap reads it: Table 5's
        # all-convolution rows never see the landmarks.
        self.fc = None
        if "fc" in taps:
            self.fc = _fc(last_pool + LANDMARK_FEATURES * config.landmarks, config.vgg_fc, config.fc_dropout)
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

    def _tap(self, name: str, outputs: dict[str, torch.Tensor], fc: torch.Tensor | None) -> torch.Tensor:
        return fc if name == "fc" else _pool_tap(outputs[name], self.config)

    def rnn_outputs(self, faces: torch.Tensor, landmarks: torch.Tensor) -> torch.Tensor:
        """The RNNs' outputs, concatenated: (B, T, rnns x hidden). Model-level fusion reads these."""
        b, t = faces.shape[:2]
        x, lm = _frames(faces, landmarks, self.config.input_size)
        outputs = self.vgg(x)
        fc = None
        if self.fc is not None:
            pooled = outputs["last-pool"].flatten(1)
            fc = self.fc(torch.cat([pooled, lm], 1) if self.config.landmarks else pooled)
        features = [self._tap(name, outputs, fc).reshape(b, t, -1) for name in self.taps]
        if len(self.rnns) == 1:
            return self.rnns[0](torch.cat(features, -1))
        return torch.cat([rnn(f) for rnn, f in zip(self.rnns, features)], -1)

    def forward(self, faces: torch.Tensor, landmarks: torch.Tensor) -> torch.Tensor:
        h = self.rnn_outputs(faces, landmarks)
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

    def forward(self, faces: torch.Tensor, landmarks: torch.Tensor) -> torch.Tensor:
        joined = torch.cat([self.one_rnn.rnn_outputs(faces, landmarks), self.three_rnn.rnn_outputs(faces, landmarks)], -1)
        fused = self.fusion(joined)[0] if self.head == "rnn" else self.fusion(joined)
        return self.output(fused)
