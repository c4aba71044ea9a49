"""The linear floor: ridge regression on a FrameStore's own inputs. Not a network of the paper.

A network that scores below a linear model of its own inputs has not learned what they hold,
so every table that compares networks carries this row as its floor. Each frame is described
by what the networks read, its aligned face (downsampled to 32x32) and its 68 landmarks, plus
the temporal summary a linear model needs to see change: a 1 s running mean and the absolute
frame-to-frame difference of both, within the frame's utterance. One ridge regression per
dimension is fitted to the training frames' labels; the penalty is the one whose validation
*utterance* CCC is best (the test split is never looked at). Its per-frame predictions then
go through the same aggregation and post-processing as every network's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
from scipy.ndimage import uniform_filter1d

from omglib.data.sequences import Sequences, landmark_input

SIDE = 32  # faces are downsampled to SIDE x SIDE pixels
PENALTIES = tuple(10.0 ** k for k in range(0, 7))  # times the number of training frames' square root


@dataclass(frozen=True)
class ProbeFit:
    """What was chosen: the penalty, the validation utterance CCC of each penalty tried, the
    sizes (a floor run's `SeedResult.probe`)."""

    penalty: float
    penalties: tuple[float, ...]  # tried, in order
    validation_ccc: tuple[tuple[float, float], ...]  # (valence, arousal) of each penalty tried
    features: int
    training_frames: int

    @property
    def score(self) -> tuple[float, float]:
        """The validation utterance CCC (valence, arousal) at the chosen penalty."""
        return self.validation_ccc[self.penalties.index(self.penalty)]


def frame_features(seqs: Sequences) -> np.ndarray:
    """(W, L, F) float32 features of every position of ``seqs``: face pixels in [0, 1], network-input
    landmarks, their 1 s running mean and their absolute frame difference within each group."""
    store = seqs.store
    used = np.unique(seqs.rows)
    faces = np.stack([cv2.resize(np.asarray(store.faces[r]), (SIDE, SIDE), interpolation=cv2.INTER_AREA) for r in used])
    base = np.zeros((len(store), SIDE * SIDE * 3 + 136), np.float32)
    base[used, : SIDE * SIDE * 3] = faces.reshape(len(used), -1) / 255.0
    base[used, SIDE * SIDE * 3:] = landmark_input(np.asarray(store.landmarks[used]), store.faces.shape[1])
    return summarised(base, seqs)


def summarised(base: np.ndarray, seqs: Sequences) -> np.ndarray:
    """(W, L, 3F): ``base`` (one row of F features per store row) at every position of ``seqs``,
    with its 1 s running mean and absolute frame difference within each group (the temporal
    summary a linear model needs to see change)."""
    times = seqs.store.index["time"].to_numpy(np.float64)
    out = np.zeros((*seqs.rows.shape, base.shape[1] * 3), np.float32)
    for g, n in enumerate(seqs.groups["frames"].to_numpy()):
        windows = np.flatnonzero(seqs.group == g)
        rows = seqs.rows[windows].ravel()[:n]  # the group's frames in time order (nearest valid face fed)
        step = np.median(np.diff(times[seqs.frames[windows].ravel()[:n]])) if n > 1 else 0.0
        second = max(1, round(1.0 / step)) if step > 0 else 1  # frames in 1 s
        x = base[rows]
        summary = np.hstack([x, uniform_filter1d(x, second, axis=0, mode="nearest"),
                             np.abs(np.diff(x, axis=0, prepend=x[:1]))])
        padded = np.concatenate([summary, np.repeat(summary[-1:], windows.size * seqs.rows.shape[1] - n, 0)])
        out[windows] = padded.reshape(len(windows), seqs.rows.shape[1], -1)
    return out


class _Ridge:
    """Ridge regression on standardised features, solved once per penalty through one
    eigendecomposition (so trying a penalty costs a matrix product): of the features' Gram
    matrix, or of the frames' kernel matrix when there are fewer frames than features."""

    def __init__(self, x: np.ndarray, y: np.ndarray):
        self.mean, self.scale = x.mean(0), x.std(0) + 1e-6
        self.y_mean = y.mean(0)
        z = (x - self.mean) / self.scale
        target = (y - self.y_mean).astype(np.float64)
        self.n, self.dual = len(x), len(x) < x.shape[1]
        self.values, self.vectors = np.linalg.eigh((z @ z.T if self.dual else z.T @ z).astype(np.float64))
        self.projected = self.vectors.T @ (target if self.dual else z.T.astype(np.float64) @ target)
        self.z = z if self.dual else None

    def weights(self, penalty: float) -> np.ndarray:
        solved = self.vectors @ (self.projected / (self.values + penalty * np.sqrt(self.n))[:, None])
        return (self.z.T.astype(np.float64) @ solved if self.dual else solved).astype(np.float32)

    def predict(self, x: np.ndarray, weights: np.ndarray) -> np.ndarray:
        return np.clip(((x - self.mean) / self.scale) @ weights + self.y_mean, -1.0, 1.0)  # the label range, as tanh bounds a network


def fit_predict(splits: dict[str, Sequences], score: Callable[[np.ndarray], tuple[float, float]],
                penalties: tuple[float, ...] = PENALTIES,
                features: Callable[[str, Sequences], np.ndarray] = lambda split, seqs: frame_features(seqs),
                ) -> tuple[dict[str, np.ndarray], ProbeFit]:
    """Fit on ``splits["train"]``'s labelled frames, choose the penalty by ``score`` (the mean
    of the validation utterance CCCs that per-frame predictions (W, L, 2) of
    ``splits["validation"]`` give), and return per-frame predictions for every split.
    ``features(split, seqs)`` describes each position (W, L, F): by default the floor's pixels
    and landmarks; a diagnostic passes a trunk's cached features instead."""
    features = {name: features(name, seqs) for name, seqs in splits.items()}
    train = splits["train"]
    x = features["train"][train.mask]
    ridge = _Ridge(x, train.labels[train.mask])
    flat = {name: f.reshape(-1, f.shape[-1]) for name, f in features.items()}
    shape = lambda name: (*splits[name].rows.shape, 2)
    tried = {}
    for penalty in penalties:
        w = ridge.weights(penalty)
        tried[penalty] = tuple(float(c) for c in score(ridge.predict(flat["validation"], w).reshape(shape("validation"))))
    best = max(tried, key=lambda p: np.nanmean(tried[p]))
    w = ridge.weights(best)
    frames = {name: ridge.predict(flat[name], w).reshape(shape(name)) for name in splits}
    return frames, ProbeFit(best, tuple(tried), tuple(tried.values()), x.shape[1], len(x))
