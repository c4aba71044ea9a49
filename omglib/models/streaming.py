"""Any network of the registry with its GRU state as an explicit input and output.

`StreamingNetwork(model)(faces, landmarks, state) -> (valence-arousal, new state)`. ``state``
is (B, `state_size`) float: every GRU layer's hidden state inside the network, flattened and
concatenated. Zeros are a fresh start, so one call on a window with zero state is exactly the
paper's windowed inference, and calling it frame by frame while feeding the returned state
back is the causal, streaming form (`omg predict --mode stream`). The same signature is what
`omg export` writes, so ONNX and TorchScript files carry the state explicitly too.

Networks without a GRU (the frame CNNs) get a state of width 1 that passes through unchanged,
so every exported file has the same three inputs and two outputs.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


class _StatefulGRU(nn.Module):
    """Stands in for an `nn.GRU`: starts from ``h0`` (set by `StreamingNetwork`) and keeps ``hn``."""

    def __init__(self, gru: nn.GRU):
        super().__init__()
        if gru.bidirectional or not gru.batch_first:
            raise ValueError("streaming needs causal, batch-first GRUs")
        self.gru = gru
        self.h0: torch.Tensor | None = None
        self.hn: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out, self.hn = self.gru(x, self.h0)
        return out, self.hn


def _wrap_grus(module: nn.Module) -> list[_StatefulGRU]:
    wrapped = []
    for name, child in module.named_children():
        if isinstance(child, nn.GRU):
            shim = _StatefulGRU(child)
            setattr(module, name, shim)
            wrapped.append(shim)
        else:
            wrapped += _wrap_grus(child)
    return wrapped


class StreamingNetwork(nn.Module):
    """(faces (B, T, 3, S, S), landmarks (B, T, 136), state (B, state_size)) -> ((B, T, 2), state)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = copy.deepcopy(model).eval()
        self.grus = _wrap_grus(self.model)
        self.widths = [g.gru.num_layers * g.gru.hidden_size for g in self.grus]
        self.state_size = max(1, sum(self.widths))

    def initial_state(self, batch: int = 1) -> torch.Tensor:
        return torch.zeros(batch, self.state_size)

    def forward(self, faces: torch.Tensor, landmarks: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        batch = faces.shape[0]
        offset = 0
        for gru, width in zip(self.grus, self.widths):
            layers = gru.gru.num_layers
            gru.h0 = state[:, offset : offset + width].reshape(batch, layers, width // layers).transpose(0, 1).contiguous()
            offset += width
        out = self.model(faces, landmarks)
        if not self.grus:
            return out, state
        return out, torch.cat([g.hn.transpose(0, 1).reshape(batch, -1) for g in self.grus], 1)
