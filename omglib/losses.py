"""The training objective of the paper (Eq. 3): L = 1 - (CCC_a + CCC_v) / 2, in torch."""

from __future__ import annotations

import torch

from omglib.errors import OmgError

EPS = 1e-8


def ccc_torch(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None, dim: int = -1) -> torch.Tensor:
    """Differentiable CCC along ``dim`` (population moments, as in `omglib.metrics.ccc`).

    Computed in float32 even under bf16 autocast: the moments of a few hundred values lose
    too much in bf16. ``mask`` (same shape, 1 = keep) leaves out unannotated frames. A small
    epsilon keeps the value finite when predictions and targets are both constant.
    """
    pred = pred.float()
    target = target.float()
    if mask is None:
        mask = torch.ones_like(target)
    mask = mask.float()
    n = mask.sum(dim=dim, keepdim=True).clamp_min(1.0)
    mean_p = (pred * mask).sum(dim=dim, keepdim=True) / n
    mean_t = (target * mask).sum(dim=dim, keepdim=True) / n
    dp = (pred - mean_p) * mask
    dt = (target - mean_t) * mask
    cov = (dp * dt).sum(dim=dim) / n.squeeze(dim)
    var_p = (dp * dp).sum(dim=dim) / n.squeeze(dim)
    var_t = (dt * dt).sum(dim=dim) / n.squeeze(dim)
    denom = var_p + var_t + (mean_p - mean_t).squeeze(dim) ** 2
    return 2.0 * cov / (denom + EPS)


def check_weights(weights: tuple[float, float]) -> None:
    """Eq. 3's weights are at least 0 and not both 0 (a loss that trains nothing is refused)."""
    if min(weights) < 0 or sum(weights) <= 0:
        raise OmgError(f"train.loss_weights={weights[0]:g},{weights[1]:g}: the weights of valence and arousal are at "
                       "least 0 and not both 0 (e.g. 1,0 trains for valence alone)")


def ccc_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None,
             weights: tuple[float, float] = (0.5, 0.5)) -> torch.Tensor:
    """Eq. 3 for a batch: ``pred``/``target`` (..., 2) with [valence, arousal] last.

    CCC is taken over every leading element together (the batch's frames or utterances),
    per dimension. ``weights`` = (0.5, 0.5) is the paper's multi-task loss; (1, 0) or
    (0, 1) gives the uni-task variants. ``mask`` (...,) or (..., 2) drops frames.
    """
    if pred.shape != target.shape or pred.shape[-1] != 2:
        raise ValueError(f"pred {tuple(pred.shape)} and target {tuple(target.shape)} must both be (..., 2)")
    p = pred.reshape(-1, 2).transpose(0, 1)
    t = target.reshape(-1, 2).transpose(0, 1)
    m = None
    if mask is not None:
        m = mask if mask.shape == pred.shape else mask.unsqueeze(-1).expand_as(pred)
        m = m.reshape(-1, 2).transpose(0, 1)
    per_dim = ccc_torch(p, t, m, dim=-1)
    w = torch.tensor(weights, dtype=per_dim.dtype, device=per_dim.device)
    return 1.0 - (w * per_dim).sum() / w.sum()
