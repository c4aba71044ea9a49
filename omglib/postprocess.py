"""Sec. 6.2-6.3 and Eq. 1: from per-frame predictions to per-utterance estimates.

- `utterance_estimates`: per-frame -> per-sequence median (or mean) over its unmasked frames
  -> per-utterance mean of its sequences. Utterances without a single usable frame get the
  training mean (``fallback``) and are counted.
- `median_filter`: a running median of the per-frame predictions inside each sequence, window
  chosen per dimension (the paper found 81 for valence, 3 for arousal).
- `smooth_utterances`: a running mean over neighbouring utterances of the same video (in
  utterance order), which helps utterances with few frames.
- `choose`: picks each step's windows on validation from the profile's grids and keeps a
  step only where it raises validation CCC; `apply` then runs the choice unchanged on test.
- `decision_fusion`: Eq. 1, per-dimension average weighted by each network's validation CCC.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, replace
from typing import Protocol

import numpy as np
import pandas as pd
from scipy.ndimage import median_filter as _running_median

from omglib.metrics import ccc

DIMENSIONS = ("valence", "arousal")


@dataclass(frozen=True)
class PostProcessing:
    """Windows per dimension [valence, arousal]; 1 = step off."""

    median_window: tuple[int, int] = (1, 1)
    smoothing_window: tuple[int, int] = (1, 1)

    def to_dict(self) -> dict:
        return asdict(self)


def median_filter(frames: np.ndarray, mask: np.ndarray, windows: tuple[int, int]) -> np.ndarray:
    """Running median of (W, L, 2) predictions over each sequence's unmasked frames."""
    out = frames.copy()
    for d, window in enumerate(windows):
        if window <= 1:
            continue
        for w in range(len(frames)):
            keep = mask[w]
            if keep.sum() > 1:
                out[w, keep, d] = _running_median(frames[w, keep, d], size=window, mode="nearest")
    return out


def sequence_estimates(frames: np.ndarray, mask: np.ndarray, how: str = "median") -> np.ndarray:
    """(W, 2): each sequence's median or mean over its unmasked frames (NaN when none)."""
    if how not in ("median", "mean"):
        raise ValueError(f"aggregate must be 'median' or 'mean', not {how!r}")
    values = np.where(mask[..., None], frames, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-masked sequences are expected: they become NaN
        return (np.nanmedian if how == "median" else np.nanmean)(values, axis=1)


def utterance_estimates(frames: np.ndarray, mask: np.ndarray, group: np.ndarray, n_groups: int,
                        how: str = "median") -> np.ndarray:
    """(G, 2): the mean of each group's sequence estimates (NaN for a group with none)."""
    per_sequence = sequence_estimates(frames, mask, how)
    out = np.full((n_groups, 2), np.nan, np.float64)
    frame = pd.DataFrame(per_sequence, columns=list(DIMENSIONS)).assign(group=group).dropna()
    means = frame.groupby("group")[list(DIMENSIONS)].mean()
    out[means.index.to_numpy()] = means.to_numpy()
    return out


def smooth_utterances(estimates: np.ndarray, groups: pd.DataFrame, windows: tuple[int, int]) -> np.ndarray:
    """Centred running mean of (G, 2) estimates over neighbouring utterances of the same video
    (``groups`` rows are in utterance order within each video, as `omglib.data.sequences.cut` makes them)."""
    out = estimates.copy()
    for d, window in enumerate(windows):
        if window <= 1:
            continue
        series = pd.Series(estimates[:, d])
        out[:, d] = series.groupby(groups["video"].to_numpy()).transform(
            lambda s: s.rolling(window, center=True, min_periods=1).mean()).to_numpy()
    return out


class Windows(Protocol):
    """Where (W, L, 2) per-frame predictions sit: the positions that count (``mask``, (W, L)),
    each window's utterance (``group``, (W,)) and the utterances in order (``groups``, with a
    ``video`` column). `omglib.data.sequences.Sequences` is one; `omg predict` builds its own."""

    mask: np.ndarray
    group: np.ndarray
    groups: pd.DataFrame


def apply(frames: np.ndarray, windows: Windows, choice: PostProcessing, how: str,
          fallback: tuple[float, float]) -> tuple[np.ndarray, int]:
    """Per-utterance estimates (G, 2) after ``choice``, and how many utterances fell back to ``fallback``."""
    mask = windows.mask
    estimates = utterance_estimates(median_filter(frames, mask, choice.median_window), mask, windows.group,
                                    len(windows.groups), how)
    empty = np.isnan(estimates).any(1)
    estimates[empty] = fallback
    return smooth_utterances(estimates, windows.groups, choice.smoothing_window), int(empty.sum())


@dataclass(frozen=True)
class UtteranceEstimate:
    """How per-frame predictions become an utterance's (valence, arousal) in the pipeline: the
    per-sequence ``aggregate``, the post-processing ``choice`` made on validation and the
    training mean as ``fallback``. A model file records it, so `omg predict` answers as `omg run`."""

    aggregate: str = "median"
    choice: PostProcessing = PostProcessing()
    fallback: tuple[float, float] = (float("nan"), float("nan"))  # unknown: an utterance without a face gets none

    def __call__(self, frames: np.ndarray, windows: Windows) -> tuple[np.ndarray, int]:
        return apply(frames, windows, self.choice, self.aggregate, self.fallback)

    def to_dict(self) -> dict:
        return asdict(self)


def choose(frames: np.ndarray, windows: Windows, truth: np.ndarray, median_windows: tuple[int, ...],
           smoothing_windows: tuple[int, ...], estimate: UtteranceEstimate) -> tuple[PostProcessing, pd.DataFrame]:
    """Choose the median-filter window, then the smoothing window, per dimension, on validation,
    for ``estimate`` (its aggregate and fallback; its own choice is ignored).

    A step is kept for a dimension only if it raises that dimension's validation CCC above the
    previous stage's. Returns the choice and the sweep (stage, dimension, window, ccc).
    """
    rows = []

    def score(choice: PostProcessing) -> np.ndarray:
        estimates, _ = replace(estimate, choice=choice)(frames, windows)
        return np.array([ccc(truth[:, d], estimates[:, d]) for d in range(2)])

    choice = PostProcessing()
    base = score(choice)
    for stage, grid in (("median_window", median_windows), ("smoothing_window", smoothing_windows)):
        best = list(getattr(choice, stage))
        best_ccc = base.copy()
        for window in grid:
            both = (window, window)
            values = score(PostProcessing(**{**choice.to_dict(), stage: both}))
            for d in range(2):
                rows.append({"stage": stage, "dimension": DIMENSIONS[d], "window": window, "ccc": values[d]})
                if values[d] > best_ccc[d]:
                    best[d], best_ccc[d] = window, values[d]
        choice = PostProcessing(**{**choice.to_dict(), stage: tuple(best)})
        base = score(choice)
    return choice, pd.DataFrame(rows)


def decision_fusion(estimates: list[np.ndarray], weights: np.ndarray) -> np.ndarray:
    """Eq. 1: (G, 2) fused estimate, each dimension averaged over the M networks with weights
    (M, 2) = their validation CCCs. A negative CCC gets weight 0; a dimension on which no
    network has a positive CCC falls back to the plain average."""
    stacked = np.stack(estimates)  # (M, G, 2)
    w = np.clip(np.asarray(weights, np.float64), 0, None)
    w[:, w.sum(0) <= 0] = 1.0
    return (stacked * w[:, None, :]).sum(0) / w.sum(0)
