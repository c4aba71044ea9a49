import numpy as np
import pytest

from omglib.metrics import ccc
from omglib.synth import labels


def test_durations_follow_the_real_distribution():
    d = labels.draw_durations(np.random.default_rng(0), 20000)
    assert np.median(d) == pytest.approx(7.53, abs=0.2)
    assert d.mean() == pytest.approx(6.95, abs=0.1)  # real mean with durations capped at 30 s: 6.95
    assert d.max() <= labels.MAX_DURATION


def test_trajectories_split_variance_between_and_within_videos():
    rng = np.random.default_rng(1)
    tracks = np.stack([labels.va_trajectory(rng, 500, 10.0) for _ in range(400)])  # 50 s videos
    video_means = tracks.mean(1)
    within = (tracks - video_means[:, None]).reshape(-1, 2).std(0)
    between = video_means.std(0)
    assert video_means.mean(0) == pytest.approx(labels.OMG_MEAN, abs=0.05)
    assert between == pytest.approx(labels.BETWEEN_SD, abs=0.07)
    assert (within > 0.1).all() and (within < between * 1.2).all()
    steps = np.abs(np.diff(tracks, axis=1)).mean()
    assert steps < 0.05  # smooth: small change from frame to frame
    assert np.corrcoef(video_means.T)[0, 1] > 0.2


def test_annotators_make_the_ceiling_below_one():
    rng = np.random.default_rng(2)
    means = rng.uniform(-0.8, 0.8, (300, 2))
    gold, emotion = labels.annotate(rng, means, annotators=5)
    ceiling = [ccc(means[:, d], gold[:, d]) for d in range(2)]
    assert all(0.85 < c < 0.99 for c in ceiling)
    assert set(np.unique(emotion)) <= set(range(7)) and len(np.unique(emotion)) >= 4
    happy = gold[emotion == 3]
    assert happy[:, 0].mean() > 0.2  # votes follow the ratings


def test_segment_respects_given_timings():
    utterances = labels.segment(np.random.default_rng(0), 2, 25.0, 1.0, [(5.0, 7.0), (8.0, 9.0)])
    assert [(u.first_frame, u.n_frames) for u in utterances] == [(0, 50), (75, 25)]
