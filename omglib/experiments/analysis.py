"""Tables 3-6 and the claims table, from the stored summaries and predictions.

A table row is an experiment's mean over seeds with the spread across seeds and a 95%
video-cluster interval. A claim compares two experiments on the same test videos: the
difference of their mean CCC ((V + A) / 2, each the mean over seeds), a paired video-cluster
bootstrap interval and p-value, and a verdict computed from the interval. The claims shown
together are also judged together (Holm's step-down correction of their p-values), and each
says the smallest difference its test size would detect and how many test videos the paper's
own difference would need.
"""

from __future__ import annotations

from pathlib import Path
from statistics import NormalDist

import numpy as np
import pandas as pd

from omglib.experiments.catalogue import CLAIMS, LINEAR_PROBE, PRETRAIN_NAMES, TABLES, Claim, Experiment
from omglib import paper
from omglib.experiments.results import Context, load_summary, seed_predictions, seed_runs, run_folder
from omglib.metrics import DIMENSIONS, ccc, paired_bootstrap

VERDICTS = ("holds", "does not hold", "cannot tell at this size")
ALPHA, POWER = 0.05, 0.8
_DETECT_Z = NormalDist().inv_cdf(1 - ALPHA / 2) + NormalDist().inv_cdf(POWER)  # two-sided test at ALPHA, POWER


def table(ctx: Context, number: int, post_processed: bool = True, extra: tuple[Experiment, ...] = ()) -> pd.DataFrame:
    """Table ``number`` (3-6), with the ``extra`` rows a reader asked for after the paper's: one
    row per experiment with CCC V/A/mean (mean over seeds),
    their standard deviations across seeds, 95% video-cluster intervals, the raw (not
    post-processed) means and, for frame CNNs whose pre-training was shared, the spread over
    CNN pre-training seeds. NaN where an experiment has not run."""
    return rows(ctx, [*TABLES[number], *(e for e in extra if e not in TABLES[number])], post_processed)


def rows(ctx: Context, chosen: list[Experiment], post_processed: bool = True) -> pd.DataFrame:
    """`table`'s rows for the experiments ``chosen`` (a chapter's own comparison)."""
    out = []
    for exp in chosen:
        s = load_summary(ctx, exp.name)
        row = {"experiment": exp.name, "model": exp.model, "pretrain": PRETRAIN_NAMES[exp.pretrain],
               "landmarks": exp.landmarks, "seeds": len(s.seeds) if s else 0}
        for key in ("ccc_valence", "ccc_arousal", "ccc_mean"):
            raw = getattr(s, f"raw_{key}") if s else np.nan
            row[key] = (getattr(s, key) if post_processed else raw) if s else np.nan
            row[f"{key}_raw"] = raw
        for key in ("sd_valence", "sd_arousal", "sd_mean", "ci_valence", "ci_arousal", "ci_mean", "wall_seconds"):
            row[key] = getattr(s, key) if s else np.nan
        cnn = s.cnn_seeds if s else None
        row["sd_mean_cnn_seeds"] = cnn["sd_mean"] if cnn else np.nan
        row["ccc_mean_cnn_seeds"] = cnn["ccc_mean"] if cnn else np.nan
        out.append(row)
    return pd.DataFrame(out)


def _predictions(ctx: Context, name: str, raw: bool = False) -> tuple[pd.DataFrame, np.ndarray]:
    exp = ctx.experiment(name)
    return seed_predictions([run_folder(ctx, exp, seed, cnn_seed) for seed, cnn_seed in seed_runs(ctx, exp)], raw)


def compare(ctx: Context, claim: Claim) -> dict:
    """The paired video-cluster bootstrap of one claim on the scored split (test, or validation
    where the test split has no labels), of the mean CCC or of the claim's one dimension."""
    truth, better = _predictions(ctx, claim.better)
    _, than = _predictions(ctx, claim.than, raw=claim.post_processing)
    va = truth[list(DIMENSIONS)].to_numpy(np.float64)
    judged = [DIMENSIONS.index(claim.dimension)] if claim.dimension else list(range(len(DIMENSIONS)))
    test = paired_bootstrap(va[:, judged], better[..., judged], than[..., judged], ctx.profile.train.bootstrap,
                            ctx.cnn_seed, clusters=truth["video"].to_numpy())
    per_seed = lambda pred: np.array([[ccc(va[:, k], p[:, k]) for k in range(va.shape[1])] for p in pred]).mean(0)
    d = per_seed(better) - per_seed(than)  # each dimension's difference of the seeds' mean CCC (``difference`` is their mean)
    return {**test, "difference V": float(d[0]), "difference A": float(d[1]), "verdict": verdict(test["low"], test["high"]),
            "videos": int(truth["video"].nunique())}


def holm(p_values) -> np.ndarray:
    """Holm's step-down adjusted p-values of claims judged together (family-wise error ALPHA)."""
    p = np.asarray(p_values, np.float64)
    order = np.argsort(p)
    adjusted = np.maximum.accumulate(np.minimum(1.0, (len(p) - np.arange(len(p))) * p[order]))
    out = np.empty_like(p)
    out[order] = adjusted
    return out


def detectable(se: float) -> float:
    """The smallest true difference a test of this size finds with POWER (two-sided, ALPHA),
    from the bootstrap standard error of the difference."""
    return _DETECT_Z * se


def videos_needed(videos: int, se: float, difference: float) -> float:
    """Test videos at which ``difference`` would be detectable (the standard error shrinks as
    one over the square root of the videos); NaN for no difference."""
    if not np.isfinite(difference) or difference == 0:
        return np.nan
    return float(np.ceil(videos * (detectable(se) / abs(difference)) ** 2))


def verdict(low: float, high: float) -> str:
    """"holds" when the whole interval of the difference lies above 0, "does not hold" when
    it lies below, else "cannot tell at this size"."""
    return VERDICTS[0] if low > 0 else VERDICTS[1] if high < 0 else VERDICTS[2]


def paper_difference(claim: Claim) -> tuple[float, float, float]:
    """The paper's (V, A, mean) difference for ``claim`` on the real OMG test set (NaN for a
    row the paper does not report)."""
    if claim.better not in paper.CCC or claim.than not in (paper.CCC_RAW if claim.post_processing else paper.CCC):
        return (np.nan,) * 3
    better = np.array(paper.CCC[claim.better])
    than = np.array((paper.CCC_RAW if claim.post_processing else paper.CCC)[claim.than])
    d = better - than
    return float(d[0]), float(d[1]), float(d.mean())


def claims(ctx: Context, source: str | None = None, keyword: str = "", extra: tuple[Claim, ...] = ()) -> pd.DataFrame:
    """One row per claim of the paper (those of table ``source``, e.g. "Table 5", whose wording
    holds ``keyword``, when given), then the ``extra`` claims a reader's rows make: the paper's
    difference (V, A, mean; NaN where it has none), this book's (V, A, and their mean with its
    95% video-cluster interval and p-value; means over seeds), the verdict of each alone and
    of all of them together (``verdict_holm``, from Holm-adjusted p-values), the smallest
    difference this test size detects and the test videos the paper's difference would need."""
    rows = []
    for claim in [c for c in CLAIMS if (not source or c.source == source) and keyword in c.claim] + list(extra):
        printed = paper_difference(claim)
        test = compare(ctx, claim)
        rows.append({"claim": claim.claim, "comparison": f"{claim.better} vs {claim.than}" +
                     (" without post-processing" if claim.post_processing else ""), "better": claim.better,
                     "than": claim.than, "post_processing": claim.post_processing, "source": claim.source,
                     "paper difference V": printed[0], "paper difference A": printed[1], "paper difference": printed[2],
                     "difference V": test["difference V"], "difference A": test["difference A"],
                     "difference": test["difference"], "low": test["low"], "high": test["high"],
                     "p_value": test["p_value"], "verdict": test["verdict"], "diagnostic": claim.diagnostic,
                     "detectable": detectable(test["se"]),
                     "videos for the paper's": videos_needed(test["videos"], test["se"], printed[2])})
    out = pd.DataFrame(rows)
    if len(out):
        out["p_holm"] = holm(out["p_value"])
        out["verdict_holm"] = [VERDICTS[0 if d > 0 else 1] if p < ALPHA else VERDICTS[2]
                               for d, p in zip(out["difference"], out["p_holm"])]
    return out


def trunk_diagnosis(ctx: Context) -> pd.DataFrame:
    """What the frozen VGG-Face trunks hold, by the linear probe of `pipeline.trunk_probe` on
    OMG validation utterances: the shared CNN pre-trained on Aff-Wild2 with the landmarks joined
    to its FC (Tables 3-5), the same without them (Table 6), the landmarks alone, and the
    floor (pixels + landmarks). A trunk that holds less than the landmarks alone left the FC
    to the landmarks; a network above it cannot recover what the trunk never learned."""
    from omglib.experiments.pipeline import cnn_run, trunk_probe
    from omglib.experiments.results import load

    rows = []
    for label, landmarks in (("VGG-Face trunk, pre-trained with landmarks at its FC", True),
                             ("VGG-Face trunk, pre-trained without landmarks", False)):
        run = cnn_run(ctx, "vgg16", "affwild2", ctx.cnn_seed, landmarks)
        if run.weights.is_file():
            rows.append((label, *trunk_probe(ctx, run)[0]))
    rows.append(("the 68 landmarks alone", *trunk_probe(ctx, None)[0]))
    floor = load(ctx, LINEAR_PROBE, ctx.seeds[0])
    if floor is not None:
        rows.append(("the linear floor: face pixels and landmarks", floor.validation.ccc_valence, floor.validation.ccc_arousal))
    return pd.DataFrame(rows, columns=["linear probe of", "validation CCC V", "validation CCC A"]).set_index("linear probe of")


def floor_penalties(ctx: Context) -> pd.DataFrame:
    """The linear floor's validation utterance CCC at each ridge penalty it tried (`ProbeFit`),
    the chosen one marked. A dimension that only a small penalty keeps lives in directions of
    the inputs that vary little (beside large ones, such as who the person is), which a
    strongly regularised fit does not reach, and neither does gradient descent stopped early,
    which fits the directions that vary most first. Empty before the floor has run."""
    from omglib.experiments.results import load

    columns = ["penalty (x the training frames' square root)", "validation CCC V", "validation CCC A", "chosen"]
    floor = load(ctx, LINEAR_PROBE, ctx.seeds[0])
    if floor is None:
        return pd.DataFrame(columns=columns).set_index(columns[0])
    fit = floor.probe
    return pd.DataFrame([(f"{p:g}", v, a, p == fit.penalty) for p, (v, a) in zip(fit.penalties, fit.validation_ccc)],
                        columns=columns).set_index(columns[0])


def tap_diagnosis(ctx: Context, extra: tuple[Experiment, ...] = ()) -> pd.DataFrame:
    """Table 5's tap sets (and the VGG multi-RNNs of ``extra``), each with the linear probe of
    its taps of its own frozen VGG-Face trunk (`pipeline.trunk_probe`, pixels only), whether the
    network reads the landmarks (they join at the FC, so only tap sets with ``fc`` do, and only
    with the landmarks) and the network's own validation CCC (first seed): a tap set whose
    features hold nothing linear and that never sees the landmarks has nothing to learn from.
    Rows whose CNN has not been trained are left out."""
    from omglib.experiments.pipeline import cnn_run, features_needed, trunk_probe
    from omglib.experiments.results import load
    from omglib.models.registry import parse_multi_rnn

    networks = [e for e in TABLES[5] if not e.is_probe]
    networks += [e for e in extra if e not in networks and not e.members and parse_multi_rnn(e.model)]
    by_cnn: dict[Path, tuple] = {}  # the networks that share one CNN are probed in one pass
    for exp in networks:
        own_ctx = ctx.running(exp)[1]
        run = cnn_run(own_ctx, "vgg16", exp.pretrain, ctx.cnn_seed, exp.landmarks)
        if run.weights.is_file():
            by_cnn.setdefault(run.folder.path, (own_ctx, run, []))[2].append(exp)
    rows = []
    for own_ctx, run, chosen in by_cnn.values():
        tap_sets = [features_needed([e.model], own_ctx.profile) for e in chosen]
        for exp, taps, (probe_v, probe_a) in zip(chosen, tap_sets, trunk_probe(own_ctx, run, *tap_sets)):
            own = load(ctx, exp.name, ctx.seeds[0])
            rows.append({"tap set": exp.name.removeprefix("CNN-3RNN-"),
                         "reads the landmarks": exp.landmarks and "fc-input" in taps,
                         "probe of its taps V": probe_v, "probe of its taps A": probe_a,
                         "network V": own.validation.ccc_valence if own else np.nan,
                         "network A": own.validation.ccc_arousal if own else np.nan})
    return pd.DataFrame(rows, columns=["tap set", "reads the landmarks", "probe of its taps V", "probe of its taps A",
                                       "network V", "network A"]).set_index("tap set")
