import numpy as np
import pandas as pd
import pytest
from scipy.stats import pearsonr

from omglib import metrics
from omglib.metrics import ccc


def official_ccc(y_true, y_pred):
    """The challenge script's formula: scipy Pearson rho and population standard deviations."""
    rho, _ = pearsonr(y_pred, y_true)
    sp, st = np.std(y_pred), np.std(y_true)
    return 2 * rho * st * sp / (sp**2 + st**2 + (np.mean(y_pred) - np.mean(y_true)) ** 2)


@pytest.mark.parametrize("seed", range(5))
def test_ccc_and_pcc_agree_with_float64_references(seed):
    rng = np.random.default_rng(seed)
    t = rng.normal(size=500)
    p = 0.6 * t + rng.normal(0.3, 0.8, size=500)
    assert metrics.ccc(t, p) == pytest.approx(official_ccc(t, p), abs=1e-9)
    assert metrics.pcc(t, p) == pytest.approx(pearsonr(t, p)[0], abs=1e-9)
    assert metrics.mse(t, p) == pytest.approx(np.mean((t - p) ** 2), abs=1e-12)
    assert metrics.rmse(t, p) == pytest.approx(np.sqrt(np.mean((t - p) ** 2)), abs=1e-12)
    assert metrics.ccc(t.astype(np.float32), p.astype(np.float32)) == pytest.approx(official_ccc(t, p), abs=1e-6)


def test_ccc_edge_cases():
    x = np.linspace(-1, 1, 50)
    assert metrics.ccc(x, x) == pytest.approx(1.0)
    assert metrics.ccc(x, -x) == pytest.approx(-1.0)
    assert metrics.ccc(x, x + 0.5) < 1.0  # CCC, unlike PCC, punishes a shift
    assert metrics.pcc(x, x + 0.5) == pytest.approx(1.0)
    assert metrics.ccc(x, np.full(50, 0.2)) == pytest.approx(0.0, abs=1e-15)
    assert metrics.ccc(np.full(5, 0.3), np.full(5, 0.3)) == 1.0
    assert metrics.ccc(np.full(5, 0.3), np.full(5, 0.1)) == 0.0
    assert metrics.pcc(x, np.zeros(50)) == 0.0
    with pytest.raises(ValueError):
        metrics.ccc([1, 2], [1, 2, 3])


def test_quadrant_mse_by_hand():
    true = np.array([[0.5, -0.5], [0.5, 0.5], [-0.5, -0.5], [-0.5, 0.5], [0.0, 0.0]])
    pred = true + np.array([[0.1, 0.2], [0.0, 0.0], [0.3, 0.0], [0.0, 0.4], [0.2, 0.2]])
    table = metrics.quadrant_mse(true, pred)
    assert table.loc["V>=0,A<0"].tolist() == pytest.approx([1, 0.01, 0.04])
    assert table.loc["V>=0,A>=0"].tolist() == pytest.approx([2, 0.02, 0.02])  # (0,0) belongs here
    assert table.loc["V<0,A<0"].tolist() == pytest.approx([1, 0.09, 0.0])
    assert table.loc["all", "n"] == 5
    omg_scale = metrics.quadrant_mse(true, pred, arousal_scale="omg")
    assert omg_scale.loc["V<0,A>=0", "mse_arousal"] == pytest.approx(0.16 / 4)


def test_both_official_evaluations():
    rng = np.random.default_rng(1)
    truth = pd.DataFrame({"video": np.repeat(["a", "b", "c", "d"], [5, 6, 7, 1]),
                          "utterance": [f"utterance_{i}.mp4" for i in range(19)]})
    truth["valence"], truth["arousal"] = rng.uniform(-1, 1, 19), rng.uniform(-1, 1, 19)
    pred = truth.sample(frac=1.0, random_state=0).copy()  # order must not matter
    pred["valence"] = pred["valence"] * 0.5 + rng.normal(0, 0.2, 19)
    pred["arousal"] = pred["arousal"] * 0.5 + 0.1
    merged = truth.merge(pred, on=["video", "utterance"], suffixes=("", "_p"))
    overall = metrics.omg_ccc(truth, pred)
    assert overall["valence"] == pytest.approx(official_ccc(merged["valence"], merged["valence_p"]), abs=1e-9)
    per_video = metrics.omg_ccc_per_video(truth, pred)
    expected = np.mean([official_ccc(g["arousal"], g["arousal_p"]) for _, g in merged.groupby("video") if len(g) > 1])
    assert per_video["arousal"] == pytest.approx(expected, abs=1e-9)
    assert per_video["videos_scored_valence"] == per_video["videos_scored_arousal"] == 3  # one-utterance video: no CCC
    pred.loc[pred["video"] == "a", "arousal"] = 0.2  # constant predictions in one video, for arousal only
    partly = metrics.omg_ccc_per_video(truth, pred)
    assert partly["videos_scored_valence"] == 3 and partly["videos_scored_arousal"] == 2
    with pytest.raises(ValueError, match="no prediction"):
        metrics.omg_ccc(truth, pred.iloc[1:])


def _videos_with_a_mood(rng, videos: int, per_video: int = 5):
    """Utterances whose label and error share a per-video part (a speaker's mood and bias),
    as on the real OMG test set where most variance lies between videos."""
    video = np.repeat(np.arange(videos), per_video)
    truth = rng.normal(0, 0.8, videos)[video] + rng.normal(0, 0.3, video.size)
    pred = 0.7 * truth + rng.normal(0, 0.5, videos)[video] + rng.normal(0, 0.2, video.size)
    return truth, pred, video


def test_video_cluster_interval_is_wider_and_covers_about_95_percent():
    from omglib.metrics import bootstrap_ccc

    rng = np.random.default_rng(0)
    big_t, big_p, _ = _videos_with_a_mood(rng, 40_000)
    population = ccc(big_t, big_p)  # the CCC of the data-generating process (pooled over many videos)
    hits = {"video": 0, "utterance": 0}
    widths = {"video": [], "utterance": []}
    trials = 200
    for trial in range(trials):
        t, p, video = _videos_with_a_mood(rng, 40)
        for kind, clusters in (("video", video), ("utterance", None)):
            lo, hi = bootstrap_ccc(t, p, reps=400, seed=trial, clusters=clusters)
            hits[kind] += lo <= population <= hi
            widths[kind].append(hi - lo)
    assert np.mean(widths["video"]) > 1.5 * np.mean(widths["utterance"])
    assert 0.88 <= hits["video"] / trials <= 0.99  # near the nominal 95%
    assert hits["utterance"] / trials < 0.8  # resampling utterances as if independent under-covers


def test_paired_bootstrap_over_seeds_and_dimensions():
    from omglib.metrics import paired_bootstrap, resampled_ccc

    rng = np.random.default_rng(1)
    t, p, video = _videos_with_a_mood(rng, 30)
    truth = np.stack([t, -t], 1)
    good = np.stack([np.stack([p, -p], 1) + rng.normal(0, 0.05, (t.size, 2)) for _ in range(3)])  # 3 seeds
    worse = good + rng.normal(0, 0.8, good.shape)
    test = paired_bootstrap(truth, good, worse, reps=500, clusters=video)
    expected = np.mean([[ccc(truth[:, d], s[:, d]) for d in range(2)] for s in good]) - \
        np.mean([[ccc(truth[:, d], s[:, d]) for d in range(2)] for s in worse])
    assert test["difference"] == pytest.approx(expected)
    assert test["low"] > 0 and test["p_value"] < 0.05
    same = paired_bootstrap(truth, good, good, reps=200, clusters=video)
    assert same["difference"] == 0 and same["low"] == same["high"] == 0
    replicates = resampled_ccc(truth, good, reps=50, clusters=video)
    assert replicates.shape == (50, 2)


def test_an_unlabelled_split_is_never_scored():
    from omglib.experiments.results import Scores
    from omglib.metrics import paired_bootstrap, resampled_ccc

    nan = np.full(4, np.nan)
    for score in (lambda: ccc(nan, np.zeros(4)), lambda: resampled_ccc(nan, np.zeros(4), reps=5),
                  lambda: paired_bootstrap(nan, np.zeros(4), np.ones(4), reps=5)):
        with pytest.raises(ValueError, match="unlabelled split cannot be scored"):
            score()  # NaN labels against a constant would otherwise "agree" perfectly (CCC 1)
    truth = pd.DataFrame({"video": ["a", "a", "b", "b"], "utterance": ["1", "2", "1", "2"], "valence": nan, "arousal": nan})
    scores = Scores.of(truth, np.zeros((4, 2)), reps=5)
    assert not scores.scored and np.isnan([scores.ccc_valence, scores.ccc_mean, *scores.ci_arousal]).all()
    assert (scores.n_videos, scores.n_utterances) == (2, 4)
    assert Scores.of(truth.assign(valence=[0.1, 0.2, 0.3, 0.4], arousal=0.0), np.zeros((4, 2)), reps=5).scored
