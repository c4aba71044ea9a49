"""Evaluation metrics in float64: CCC (Eq. 2), PCC, MSE, RMSE, VA-quadrant MSE (Table 7),
and the two official OMG-Emotion evaluations.

The challenge's script computed CCC as ``2 * rho * std_pred * std_true / (var_pred +
var_true + (mean_pred - mean_true)^2)`` with scipy's Pearson rho and population standard
deviations; `ccc` is that same number written as ``2 cov / (...)`` (population moments).
Its first release averaged per-video CCCs (`omg_ccc_per_video`); the final one computes one
CCC over all utterances of the split (`omg_ccc`). Both are reported, named as such.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

DIMENSIONS = ("valence", "arousal")


def _pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(y_true, dtype=np.float64).ravel()
    p = np.asarray(y_pred, dtype=np.float64).ravel()
    if t.shape != p.shape:
        raise ValueError(f"y_true has {t.size} values, y_pred {p.size}")
    if t.size == 0:
        raise ValueError("no values to score")
    _labelled(t)
    return t, p


def _labelled(t: np.ndarray) -> None:
    """Labels must be numbers: NaN truth (an unlabelled split) is refused, never scored."""
    if np.isnan(t).any():
        raise ValueError(f"{int(np.isnan(t).sum())} labels are NaN: an unlabelled split cannot be scored")


def ccc(y_true, y_pred) -> float:
    """Concordance correlation coefficient (Eq. 2) with population moments.

    Always finite: a constant prediction against varying labels scores 0; two equal
    constants score 1 (perfect agreement), two different constants 0.
    """
    t, p = _pair(y_true, y_pred)
    return float(_ccc_rows(t[None], p[None])[0])


def pcc(y_true, y_pred) -> float:
    """Pearson correlation; 0 when either side is constant (instead of NaN)."""
    t, p = _pair(y_true, y_pred)
    st, sp = t.std(), p.std()
    if st == 0.0 or sp == 0.0:
        return 0.0
    return float(np.mean((t - t.mean()) * (p - p.mean())) / (st * sp))


def mse(y_true, y_pred) -> float:
    t, p = _pair(y_true, y_pred)
    return float(np.mean((t - p) ** 2))


def rmse(y_true, y_pred) -> float:
    return float(np.sqrt(mse(y_true, y_pred)))


QUADRANTS = {
    "V>=0,A<0": (True, False),
    "V>=0,A>=0": (True, True),
    "V<0,A<0": (False, False),
    "V<0,A>=0": (False, True),
}


def quadrant_mse(true_va, pred_va, arousal_scale: str = "internal") -> pd.DataFrame:
    """MSE of valence and arousal in the four regions of the VA space (Table 7) and overall.

    Regions are set by the *true* labels (omglib scale: arousal 0 is OMG's 0.5). With
    ``arousal_scale="omg"`` the arousal MSE is on OMG's [0, 1] scale, as the paper prints it
    (internal MSE / 4). Rows: region; columns: n, mse_valence, mse_arousal.
    """
    if arousal_scale not in ("internal", "omg"):
        raise ValueError("arousal_scale must be 'internal' or 'omg'")
    t = np.asarray(true_va, dtype=np.float64).reshape(-1, 2)
    p = np.asarray(pred_va, dtype=np.float64).reshape(-1, 2)
    if t.shape != p.shape:
        raise ValueError(f"true has {len(t)} rows, pred {len(p)}")
    arousal_factor = 0.25 if arousal_scale == "omg" else 1.0
    rows = {}
    masks = {name: ((t[:, 0] >= 0) == v_pos) & ((t[:, 1] >= 0) == a_pos) for name, (v_pos, a_pos) in QUADRANTS.items()}
    masks["all"] = np.ones(len(t), dtype=bool)
    for name, m in masks.items():
        err = (t[m] - p[m]) ** 2
        rows[name] = {
            "n": int(m.sum()),
            "mse_valence": float(err[:, 0].mean()) if m.any() else np.nan,
            "mse_arousal": float(err[:, 1].mean()) * arousal_factor if m.any() else np.nan,
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def omg_ccc(truth: pd.DataFrame, predictions: pd.DataFrame) -> dict[str, float]:
    """Final official OMG evaluation: one CCC per dimension over all utterances.

    Both frames have video, utterance, valence, arousal (omglib scale; CCC is invariant to
    the shared affine arousal mapping only up to scale, so both must be on the same scale).
    Every labelled utterance needs a prediction.
    """
    merged = _join(truth, predictions)
    return {d: ccc(merged[f"{d}_true"], merged[f"{d}_pred"]) for d in DIMENSIONS}


def omg_ccc_per_video(truth: pd.DataFrame, predictions: pd.DataFrame) -> dict[str, float]:
    """Early official OMG evaluation: the mean over videos of each video's utterance-level CCC.

    The early script got NaN for a video with a single utterance or constant values (scipy's
    Pearson is undefined there) and its mean became NaN. Here such videos are left out;
    ``videos_scored_<dimension>`` says how many entered each mean.
    """
    merged = _join(truth, predictions)
    result: dict[str, float] = {}
    for d in DIMENSIONS:
        per_video = []
        for _, group in merged.groupby("video", sort=False):
            t, p = group[f"{d}_true"].to_numpy(), group[f"{d}_pred"].to_numpy()
            if len(t) >= 2 and t.std() > 0 and p.std() > 0:
                per_video.append(ccc(t, p))
        result[d] = float(np.mean(per_video)) if per_video else float("nan")
        result[f"videos_scored_{d}"] = len(per_video)
    return result


def _join(truth: pd.DataFrame, predictions: pd.DataFrame) -> pd.DataFrame:
    keys = ["video", "utterance"]
    if predictions.duplicated(keys).any():
        raise ValueError("predictions hold a (video, utterance) more than once")
    merged = truth[keys + list(DIMENSIONS)].merge(
        predictions[keys + list(DIMENSIONS)], on=keys, how="left", suffixes=("_true", "_pred"), validate="one_to_one"
    )
    missing = merged["valence_pred"].isna() | merged["arousal_pred"].isna()
    if missing.any():
        first = merged.loc[missing, keys].iloc[0]
        raise ValueError(f"{int(missing.sum())} utterances have no prediction, e.g. {first['video']}/{first['utterance']}")
    return merged


def _ccc_rows(t: np.ndarray, p: np.ndarray) -> np.ndarray:
    """CCC of each row of (R, N) arrays, population moments; 1 where both rows are the same constant."""
    mt, mp = t.mean(1, keepdims=True), p.mean(1, keepdims=True)
    cov = ((t - mt) * (p - mp)).mean(1)
    denom = t.var(1) + p.var(1) + (mt - mp)[:, 0] ** 2
    return np.where(denom > 0, 2 * cov / np.where(denom > 0, denom, 1), 1.0)


def resample_weights(n: int, reps: int = 1000, seed: int = 0, clusters=None) -> np.ndarray:
    """(reps, n) bootstrap weights: how often each value is drawn in each resample.

    With ``clusters`` (one label per value, e.g. the video of each utterance) whole clusters
    are drawn with replacement and every value of a cluster gets its cluster's count: the
    cluster (video) bootstrap, which respects that utterances of one video share a speaker and
    a mood. Without, values are drawn one by one (the utterance bootstrap).
    """
    rng = np.random.default_rng(seed)
    if clusters is None:
        return rng.multinomial(n, np.full(n, 1 / n), size=reps).astype(np.float64)
    _, member = np.unique(np.asarray(clusters), return_inverse=True)
    k = member.max() + 1
    counts = rng.multinomial(k, np.full(k, 1 / k), size=reps).astype(np.float64)
    return counts[:, member]


def _weighted_ccc(t: np.ndarray, p: np.ndarray, w: np.ndarray) -> np.ndarray:
    """CCC of (N, K) truth against (S, N, K) predictions under each row of (R, N) weights:
    (R, S, K), population moments of the weighted sample."""
    total = w.sum(1)[:, None, None]
    wt = np.einsum("rn,nk->rk", w, t)[:, None] / total
    mp = np.einsum("rn,snk->rsk", w, p) / total
    vt = np.einsum("rn,nk->rk", w, t**2)[:, None] / total - wt**2
    vp = np.einsum("rn,snk->rsk", w, p**2) / total - mp**2
    cov = np.einsum("rn,snk->rsk", w, p * t) / total - mp * wt
    denom = vt + vp + (wt - mp) ** 2
    return np.where(denom > 0, 2 * cov / np.where(denom > 0, denom, 1), 1.0)


def _stacked(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    """Truth as (N, K) and predictions as (S, N, K): one row per seed, K dimensions (a 1-D
    truth is one dimension, a 1-D or (N, K) prediction one seed)."""
    t = np.asarray(y_true, dtype=np.float64)
    t = t[:, None] if t.ndim == 1 else t
    p = np.asarray(y_pred, dtype=np.float64)
    if p.ndim == 1 or (p.ndim == 2 and t.shape[1] == 1 and p.shape[-1] != 1):
        p = p.reshape(-1, t.shape[0], 1) if p.ndim == 2 else p[None, :, None]
    elif p.ndim == 2:
        p = p[None]
    if p.shape[1:] != t.shape:
        raise ValueError(f"y_true has shape {t.shape}, y_pred {p.shape[1:]} per seed")
    if t.shape[0] == 0:
        raise ValueError("no values to score")
    _labelled(t)
    return t, p


def resampled_ccc(y_true, y_pred, reps: int = 1000, seed: int = 0, clusters=None) -> np.ndarray:
    """(reps, K) bootstrap replicates of the CCC per dimension, each the mean over seeds.

    ``y_true`` (N,) or (N, K); ``y_pred`` (N,), (N, K), (S, N) for one dimension or (S, N, K):
    rows are training seeds. Each resample draws videos (``clusters``: the video of each
    value) or values, and scores it with the pooled CCC (the final official evaluation).
    """
    t, p = _stacked(y_true, y_pred)
    return _weighted_ccc(t, p, resample_weights(len(t), reps, seed, clusters)).mean(1)


def interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """The central ``level`` percentile interval of bootstrap replicates."""
    return float(np.quantile(values, (1 - level) / 2)), float(np.quantile(values, (1 + level) / 2))


def bootstrap_ccc(y_true, y_pred, reps: int = 1000, seed: int = 0, level: float = 0.95,
                  clusters=None) -> tuple[float, float]:
    """Percentile bootstrap interval of one dimension's CCC (the mean over seeds when ``y_pred``
    has a row per seed); ``clusters`` (the video of each utterance) resamples videos."""
    return interval(resampled_ccc(y_true, y_pred, reps, seed, clusters)[:, 0], level)


def paired_bootstrap(y_true, pred_a, pred_b, reps: int = 1000, seed: int = 0, clusters=None) -> dict[str, float]:
    """Is A's CCC different from B's on the same utterances? Both are scored on the same
    resamples (videos when ``clusters`` is given, else utterances). With (N, K) truth the
    compared number is the mean CCC over the K dimensions ((V + A) / 2); rows of (S, N, ...)
    predictions are seeds, averaged. Returns the difference, its 95% interval, its standard
    error over the resamples, and a two-sided p-value (the share of resamples whose difference
    falls on the other side of 0, doubled)."""
    t, a = _stacked(y_true, pred_a)
    _, b = _stacked(y_true, pred_b)
    w = resample_weights(len(t), reps, seed, clusters)
    diffs = (_weighted_ccc(t, a, w).mean(1) - _weighted_ccc(t, b, w).mean(1)).mean(1)
    observed = float((_weighted_ccc(t, a, np.ones((1, len(t)))) - _weighted_ccc(t, b, np.ones((1, len(t))))).mean())
    other_side = np.mean(diffs <= 0) if observed > 0 else np.mean(diffs >= 0)
    low, high = interval(diffs)
    return {"difference": observed, "low": low, "high": high, "se": float(diffs.std(ddof=1)),
            "p_value": float(min(1.0, 2 * other_side))}
