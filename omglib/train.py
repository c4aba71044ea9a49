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
from dataclasses import asdict, dataclass
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
from omglib.losses import ccc_loss, ccc_torch, check_weights

log = logging.getLogger(__name__)


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
    resumed_after: int = 0  # epochs a checkpoint held when this call began (a killed run resumed)


def _batch_ccc(pred: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor) -> np.ndarray:
    """[valence, arousal] CCC of one training batch (what Eq. 3 maximises), for the history."""
    with torch.no_grad():
        m = mask.unsqueeze(-1).expand_as(labels).reshape(-1, 2).T
        return ccc_torch(pred.detach().reshape(-1, 2).T, labels.reshape(-1, 2).T, m).cpu().numpy()


@dataclass
class Checkpoint:
    """What `fit` writes after every epoch to resume from: tensors, numbers and strings only, so it
    is read back with ``torch.load(weights_only=True)`` (nothing in the file can run code)."""

    model: dict
    optimizer: dict
    epoch: int  # the last epoch done (0-based)
    processes: int  # torchrun processes that wrote it (another count: another effective batch)
    history: list[dict]
    best: dict | None  # the best epoch's weights
    best_score: float
    best_epoch: int

    def save(self, path: Path) -> None:
        with atomic_path(path) as tmp:
            torch.save(asdict(self), tmp)

    @classmethod
    def resumable(cls, path: Path, device: torch.device) -> Checkpoint | None:
        """The checkpoint at ``path`` when this run can continue from it, else None."""
        if not path.is_file():
            return None
        found = cls(**torch.load(path, map_location=device, weights_only=True))
        if found.processes != distributed.world():
            log.warning("%s: written by %d processes, not %d (another effective batch): training from the start",
                        path, found.processes, distributed.world())
            return None
        return found


def _parallel(model: nn.Module, device: torch.device) -> nn.Module:
    """The module the epochs step: under torchrun, ``model`` wrapped in DistributedDataParallel."""
    if not distributed.active():
        return model
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)


def _epoch(network: nn.Module, train: SequenceDataset, optimizer: torch.optim.Optimizer, settings: FitSettings,
           seed: int, epoch: int, device: torch.device, bar: dict) -> dict:
    """One pass over the shuffled training sequences; returns the epoch's loss, training CCC,
    seconds and frames per second. Shuffling and dropout draw from (seed, epoch)."""
    from tqdm import tqdm

    generator = torch.Generator().manual_seed(seed * 100_003 + epoch)
    torch.manual_seed(seed * 100_003 + epoch + 7_919 * distributed.rank())  # dropout, flips: each process its own
    order = _ShuffledShard(len(train), generator)
    loader = DataLoader(train, batch_size=settings.batch_size, sampler=order, generator=generator,
                        drop_last=len(order) > settings.batch_size)
    network.train()
    losses, train_ccc, frames, tic = [], [], 0, time.perf_counter()
    with tqdm(loader, unit="batch", leave=False, **bar) as shown:
        for inputs, landmarks, labels, mask in shown:
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
            shown.set_postfix(loss=f"{np.mean(losses):.3f}")
    seconds = time.perf_counter() - tic
    fitted = np.mean(train_ccc, 0) if train_ccc else (np.nan, np.nan)
    return {"loss": float(np.mean(losses)) if losses else float("nan"), "train_ccc_valence": float(fitted[0]),
            "train_ccc_arousal": float(fitted[1]), "seconds": seconds, "frames_per_second": frames / max(seconds, 1e-9)}


def _stopped(epoch: int, best_epoch: int, patience: int) -> bool:
    """Early stopping: more than ``patience`` epochs since the best one."""
    return best_epoch >= 0 and epoch - best_epoch > patience


def fit(model: nn.Module, train: SequenceDataset, score: Callable[[nn.Module], tuple[float, float]],
        settings: FitSettings, *, checkpoint: str | Path, seed: int, device: torch.device, resume: bool = True,
        progress: bool = True, desc: str = "train") -> FitResult:
    """Train ``model`` in place and leave it holding its best weights.

    ``score(model)`` returns the validation CCC (valence, arousal); their mean, weighted as the
    loss weighs them (a valence-only network: valence), selects the model. The history also
    keeps the training CCC (mean over the epoch's batches), so that over-fitting shows as a gap
    between the two.
    """
    w = settings.loss_weights
    check_weights(w)
    checkpoint = Path(checkpoint)
    model.to(device)
    if bf16(device, settings.precision):
        model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=settings.lr)
    state = Checkpoint.resumable(checkpoint, device) if resume else None
    resumed_after = 0 if state is None else state.epoch + 1
    if state is None:
        state = Checkpoint({}, {}, -1, distributed.world(), [], None, -np.inf, -1)
    else:
        model.load_state_dict(state.model)
        optimizer.load_state_dict(state.optimizer)
        log.info("%s: resuming after epoch %d", checkpoint, state.epoch)
    network, speed = _parallel(model, device), 0.0
    for epoch in range(state.epoch + 1, settings.epochs):
        if _stopped(epoch, state.best_epoch, settings.patience):
            break
        bar = {"desc": f"{desc} epoch {epoch + 1}/{settings.epochs}", "disable": not (progress and distributed.is_main())}
        row = _epoch(network, train, optimizer, settings, seed, epoch, device, bar)
        speed = row["frames_per_second"]
        valence, arousal = map(float, distributed.broadcast(list(score(model)) if distributed.is_main() else [0.0, 0.0]))
        selected = sum(wk * c for wk, c in zip(w, (valence, arousal)) if wk) / sum(w)  # an untrained dimension: none
        row = {"epoch": epoch + 1, **{k: row[k] for k in ("loss", "train_ccc_valence", "train_ccc_arousal")},
               "val_ccc_valence": valence, "val_ccc_arousal": arousal, "val_score": selected,
               "seconds": row["seconds"], "frames_per_second": speed}
        state.history.append(row)
        log.info("%s epoch %d: loss %.4f, validation CCC V %.3f A %.3f", desc, epoch + 1, row["loss"], valence, arousal)
        if row["val_score"] > state.best_score:
            state.best_score, state.best_epoch = row["val_score"], epoch
            state.best = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        if distributed.is_main():
            state.model, state.optimizer, state.epoch = model.state_dict(), optimizer.state_dict(), epoch
            state.save(checkpoint)
    if state.best is not None:
        model.load_state_dict(state.best)
    return FitResult(pd.DataFrame(state.history), state.best_epoch + 1, float(state.best_score), speed, resumed_after)
