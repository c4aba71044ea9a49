"""Sec. 6: training with the CCC loss (Eq. 3), model selection on validation CCC, resume.

`fit` trains one network on sequence datasets with Adam, evaluates the validation score
after every epoch, keeps the best weights, and stops after ``patience`` epochs without a
better score. After every epoch it writes a checkpoint (atomically) holding the model, the
optimiser, the best weights and the history; ``resume=True`` continues from it. Each
epoch's shuffling and dropout draw from a generator seeded by (seed, epoch), so a resumed
run gives the same weights as an uninterrupted one.

``precision`` "auto" runs the forward pass under bf16 autocast with channels_last weights on
CUDA (the loss stays float32, see `omglib.losses`) and in float32 on CPU; "bf16" asks for
autocast on any device (CPU autocast exists: the paper's GPU path, run on a CPU by the
tests), "fp32" for none.

Under torchrun (`omglib.distributed`) the model is wrapped in DistributedDataParallel: each
process takes its shard of every epoch's shuffled order, the CCC loss is taken on the batch
gathered from all processes (so the effective batch is ``batch_size`` x processes), the
validation score is rank 0's, and only rank 0 writes the checkpoint.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader, Sampler

from omglib import distributed
from omglib.data.sequences import SequenceDataset
from omglib.io import atomic_path
from omglib.losses import ccc_loss, ccc_torch

log = logging.getLogger(__name__)


def resolve_device(device: str = "auto") -> torch.device:
    """"auto" -> cuda when available, else cpu."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _to(batch, device: torch.device):
    if isinstance(batch, dict):
        return {k: v.to(device, non_blocking=True) for k, v in batch.items()}
    return batch.to(device, non_blocking=True)


def _frames_in(inputs) -> int:
    first = next(iter(inputs.values())) if isinstance(inputs, dict) else inputs
    return first.shape[0] * first.shape[1]


def predict(model: nn.Module, dataset: SequenceDataset, device: torch.device, batch_size: int = 8,
            progress: bool = False, desc: str = "predict", precision: str = "auto") -> np.ndarray:
    """Per-frame [valence, arousal] of every window: (W, L, 2) float32."""
    from tqdm import tqdm

    model.eval()
    out = []
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False)
    with torch.no_grad(), autocast(device, precision):
        for inputs, landmarks, _, _ in tqdm(loader, desc=desc, unit="batch", disable=not progress, leave=False):
            out.append(model(_to(inputs, device), landmarks.to(device)).float().cpu().numpy())
    return np.concatenate(out)


def bf16(device: torch.device, precision: str = "auto") -> bool:
    """Whether ``precision`` means bf16 autocast (and channels_last weights) on ``device``."""
    if precision not in ("auto", "bf16", "fp32"):
        raise ValueError(f"precision {precision!r}: 'auto', 'bf16' or 'fp32'")
    return precision == "bf16" or precision == "auto" and device.type == "cuda"


def autocast(device: torch.device, precision: str = "auto"):
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16(device, precision))


@dataclass(frozen=True)
class FitSettings:
    """How one network is trained: the optimiser's step size, the epochs, when to stop, the
    batch and the multi-task weights of Eq. 3 (from `omglib.config.TrainConfig`)."""

    lr: float
    epochs: int
    patience: int  # epochs without a better validation score before stopping
    batch_size: int  # per process; the effective batch is this x processes (torchrun)
    loss_weights: tuple[float, float] = (0.5, 0.5)
    precision: str = "auto"  # "auto" (bf16 on CUDA, fp32 on CPU), "bf16" or "fp32"


class _ShuffledShard(Sampler):
    """One shuffled order of the ``n`` training sequences per epoch (``generator``), and this
    process's shard of it under torchrun (`omglib.distributed.shard`). The order is drawn when
    the loader starts, as a shuffling DataLoader draws it: the same orders as before sharding."""

    def __init__(self, n: int, generator: torch.Generator):
        self.n, self.generator = n, generator

    def __iter__(self):
        return iter(distributed.shard(torch.randperm(self.n, generator=self.generator).tolist()))

    def __len__(self) -> int:
        return -(-self.n // distributed.world())


@dataclass
class FitResult:
    history: pd.DataFrame  # epoch, loss, train_ccc_*, val_ccc_valence, val_ccc_arousal, val_score, seconds
    best_epoch: int
    best_score: float
    frames_per_second: float  # training frames per second (forward + backward), last run


def _batch_ccc(pred: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor) -> np.ndarray:
    """[valence, arousal] CCC of one training batch (what Eq. 3 maximises), for the history."""
    with torch.no_grad():
        m = mask.unsqueeze(-1).expand_as(labels).reshape(-1, 2).T
        return ccc_torch(pred.detach().reshape(-1, 2).T, labels.reshape(-1, 2).T, m).cpu().numpy()


def fit(model: nn.Module, train: SequenceDataset, score: Callable[[nn.Module], tuple[float, float]],
        settings: FitSettings, *, checkpoint: str | Path, seed: int, device: torch.device, resume: bool = True,
        progress: bool = True, desc: str = "train") -> FitResult:
    """Train ``model`` in place and leave it holding its best weights.

    ``score(model)`` returns the validation CCC (valence, arousal); their mean selects the model.
    The history also keeps the training CCC (mean over the epoch's batches), so that
    over-fitting shows as a gap between the two.
    """
    from tqdm import tqdm

    checkpoint = Path(checkpoint)
    model.to(device)
    if bf16(device, settings.precision):
        model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=settings.lr)
    history: list[dict] = []
    best_state, best_score, best_epoch, start = None, -np.inf, -1, 0
    state = torch.load(checkpoint, map_location=device, weights_only=False) if resume and checkpoint.is_file() else None
    if state is not None and state.get("processes", 1) != distributed.world():
        log.warning("%s: written by %d processes, not %d (another effective batch): training from the start",
                    checkpoint, state.get("processes", 1), distributed.world())
        state = None
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        history, best_state, best_score, best_epoch = state["history"], state["best"], state["best_score"], state["best_epoch"]
        start = state["epoch"] + 1
        log.info("%s: resuming after epoch %d", checkpoint, state["epoch"])
    speed = 0.0
    epochs, batch_size = settings.epochs, settings.batch_size
    network = model
    if distributed.active():
        from torch.nn.parallel import DistributedDataParallel

        network = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    progress = progress and distributed.is_main()
    for epoch in range(start, epochs):
        if epoch - best_epoch > settings.patience and best_epoch >= 0:
            break
        generator = torch.Generator().manual_seed(seed * 100_003 + epoch)
        torch.manual_seed(seed * 100_003 + epoch + 7_919 * distributed.rank())  # dropout, flips: each process its own
        order = _ShuffledShard(len(train), generator)
        loader = DataLoader(train, batch_size=batch_size, sampler=order, generator=generator,
                            drop_last=len(order) > batch_size)
        network.train()
        losses, train_ccc, frames, tic = [], [], 0, time.perf_counter()
        with tqdm(loader, desc=f"{desc} epoch {epoch + 1}/{epochs}", unit="batch", disable=not progress, leave=False) as bar:
            for inputs, landmarks, labels, mask in bar:
                if not distributed.any_rank(bool(mask.any())):
                    continue
                with autocast(device, settings.precision):
                    pred = network(_to(inputs, device), landmarks.to(device))
                pred = distributed.gather(pred, differentiable=True)
                labels, mask = distributed.gather(labels.to(device)), distributed.gather(mask.to(device))
                loss = ccc_loss(pred, labels, mask, settings.loss_weights)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                losses.append(loss.item())
                train_ccc.append(_batch_ccc(pred, labels, mask))
                frames += _frames_in(inputs) * distributed.world()
                bar.set_postfix(loss=f"{np.mean(losses):.3f}")
        seconds = time.perf_counter() - tic
        speed = frames / max(seconds, 1e-9)
        valence, arousal = distributed.broadcast(list(score(model)) if distributed.is_main() else [0.0, 0.0])
        fitted = np.mean(train_ccc, 0) if train_ccc else (np.nan, np.nan)
        row = {"epoch": epoch + 1, "loss": float(np.mean(losses)) if losses else float("nan"),
               "train_ccc_valence": float(fitted[0]), "train_ccc_arousal": float(fitted[1]),
               "val_ccc_valence": valence, "val_ccc_arousal": arousal, "val_score": (valence + arousal) / 2,
               "seconds": seconds, "frames_per_second": speed}
        history.append(row)
        log.info("%s epoch %d: loss %.4f, validation CCC V %.3f A %.3f", desc, epoch + 1, row["loss"], valence, arousal)
        if row["val_score"] > best_score:
            best_score, best_epoch = row["val_score"], epoch
            best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        if distributed.is_main():
            with atomic_path(checkpoint) as tmp:
                torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch,
                            "processes": distributed.world(),
                            "history": history, "best": best_state, "best_score": best_score, "best_epoch": best_epoch},
                           tmp)
    if best_state is not None:
        model.load_state_dict(best_state)
    return FitResult(pd.DataFrame(history), best_epoch + 1, float(best_score), speed)
