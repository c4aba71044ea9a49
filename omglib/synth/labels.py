"""Surrogate labels: smooth valence-arousal trajectories, utterances and simulated annotators.

Fitted to the official OMG CSVs (train + validation + test, 5288 utterances, measured once
and written here as numbers, never read at run time): utterance durations follow the
empirical quantiles below (mean 7.0 s); per-video offsets carry most of the label variance
(between-video SD 0.30 valence / 0.33 arousal, correlation 0.45) and slow within-video
drift the rest (SD 0.22 / 0.28, correlation 0.20). Valence mean 0.15, arousal mean -0.08
(OMG 0.46). An utterance's gold label is the mean of 5 annotators who each see the
utterance's true mean with a personal bias and noise, so the best achievable CCC is below 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import uniform_filter1d

from omglib.data.omg import EMOTIONS

# Quantiles of utterance duration (s) in the official OMG CSVs, at DURATION_LEVELS; finer at
# the top, where a few very long utterances sit (interpolating 95 % -> 100 % would inflate the mean).
DURATION_LEVELS = np.concatenate([np.linspace(0, 0.95, 20), [0.975, 0.99, 0.995, 0.999, 1.0]])
DURATION_QUANTILES = np.array([0.53, 1.5, 1.93, 2.38, 2.86, 3.34, 4.05, 4.77, 5.5, 6.38, 7.53, 8.71, 9.9,
                               10.21, 10.34, 10.44, 10.5, 10.53, 10.58, 10.64, 10.73, 10.93, 12.34, 27.37, 94.79])
MAX_DURATION = 30.0  # the longest real utterances (up to 95 s) are rare; capped to keep renders bounded
GAP_SECONDS = (0.05, 0.8)  # pause between consecutive utterances (real median 0.18 s)

OMG_MEAN = np.array([0.15, -0.08])
BETWEEN_SD = np.array([0.30, 0.33])
BETWEEN_CORR = 0.45
WITHIN_SD = np.array([0.22, 0.28])
WITHIN_CORR = 0.20
DRIFT_SECONDS = 6.0  # time constant of the within-video drift

ANNOTATOR_BIAS_SD = 0.10
ANNOTATOR_NOISE_SD = 0.18

# Prototypes of the seven OMG emotions in (valence, arousal), omglib scale, for EmotionMaxVote.
EMOTION_PROTOTYPES = np.array([
    [-0.55, 0.55],  # anger
    [-0.55, 0.10],  # disgust
    [-0.45, 0.75],  # fear
    [0.55, 0.25],   # happy
    [0.15, -0.35],  # neutral
    [-0.45, -0.45],  # sad
    [0.25, 0.80],   # surprise
])


def _cov(sd: np.ndarray, corr: float) -> np.ndarray:
    return np.array([[sd[0] ** 2, corr * sd[0] * sd[1]], [corr * sd[0] * sd[1], sd[1] ** 2]])


def draw_durations(rng: np.random.Generator, n: int, scale: float = 1.0) -> np.ndarray:
    """Utterance durations (s) from the real empirical distribution, times ``scale``."""
    q = rng.uniform(0, 1, n)
    d = np.interp(q, DURATION_LEVELS, DURATION_QUANTILES)
    return np.minimum(d, MAX_DURATION) * scale


def va_trajectory(rng: np.random.Generator, n_frames: int, fps: float, mean: np.ndarray | None = None,
                  offset: np.ndarray | None = None) -> np.ndarray:
    """(n_frames, 2) latent valence-arousal: video offset + smooth Ornstein-Uhlenbeck drift, in [-1, 1]."""
    if offset is None:
        offset = rng.multivariate_normal(OMG_MEAN if mean is None else mean, _cov(BETWEEN_SD, BETWEEN_CORR))
    decay = np.exp(-1.0 / (DRIFT_SECONDS * fps))
    chol = np.linalg.cholesky(_cov(WITHIN_SD, WITHIN_CORR))
    shocks = rng.normal(size=(n_frames, 2)) @ chol.T * np.sqrt(1 - decay**2)
    drift = np.empty((n_frames, 2))
    drift[0] = rng.normal(size=2) @ chol.T
    for t in range(1, n_frames):
        drift[t] = decay * drift[t - 1] + shocks[t]
    return np.tanh(np.arctanh(np.clip(offset, -0.95, 0.95)) + drift).astype(np.float32)


@dataclass(frozen=True)
class Utterance:
    name: str  # utterance_<k>.mp4
    start: float  # seconds on the video's timeline
    end: float
    first_frame: int  # index into the video's latent trajectory
    n_frames: int


def segment(rng: np.random.Generator, n_utterances: int, fps: float, duration_scale: float,
            timings: list[tuple[float, float]] | None = None) -> list[Utterance]:
    """Utterances on one video's timeline: drawn durations and gaps, or given (start, end) timings."""
    if timings is None:
        start = float(rng.uniform(0, 20))
        timings = []
        for d in draw_durations(rng, n_utterances, duration_scale):
            timings.append((start, start + float(d)))
            start += float(d) + float(rng.uniform(*GAP_SECONDS))
    origin = timings[0][0]
    out = []
    for k, (s, e) in enumerate(timings, start=1):
        first = int(round((s - origin) * fps))
        n = max(2, int(round((e - s) * fps)))
        out.append(Utterance(f"utterance_{k}.mp4", round(s, 6), round(s + n / fps, 6), first, n))
    return out


def annotate(rng: np.random.Generator, utterance_means: np.ndarray, annotators: int) -> tuple[np.ndarray, np.ndarray]:
    """Gold labels (mean of ``annotators`` raters, clipped to range) and EmotionMaxVote.

    Each rater has a bias for the whole video and noise per utterance; each votes the emotion
    whose prototype is nearest to what they rated (ties: lowest index).
    """
    bias = rng.normal(0, ANNOTATOR_BIAS_SD, size=(annotators, 1, 2))
    ratings = np.clip(utterance_means[None] + bias + rng.normal(0, ANNOTATOR_NOISE_SD, size=(annotators, *utterance_means.shape)), -1, 1)
    gold = ratings.mean(0)
    votes = np.argmin(((ratings[..., None, :] - EMOTION_PROTOTYPES) ** 2).sum(-1), axis=-1)  # (raters, utterances)
    counts = np.stack([(votes == k).sum(0) for k in range(len(EMOTIONS))], axis=-1)
    return gold.astype(np.float64), counts.argmax(-1)


def frame_annotation(rng: np.random.Generator, latent: np.ndarray, fps: float, annotators: int = 4) -> np.ndarray:
    """Per-frame Aff-Wild2-style labels: the mean of raters who each lag and smooth the latent signal."""
    out = np.zeros_like(latent, dtype=np.float64)
    for _ in range(annotators):
        lag = min(int(rng.integers(0, max(1, int(0.5 * fps)))), len(latent))  # a clip shorter than the lag: all lag
        shifted = np.concatenate([np.repeat(latent[:1], lag, 0), latent[: len(latent) - lag]])
        smooth = uniform_filter1d(shifted, size=max(1, int(0.3 * fps)), axis=0, mode="nearest")
        out += smooth + rng.normal(0, ANNOTATOR_BIAS_SD / 2, size=(1, 2))
    return np.clip(out / annotators, -1, 1).astype(np.float32)
