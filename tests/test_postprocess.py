from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from omglib.postprocess import (PostProcessing, UtteranceEstimate, apply, choose, decision_fusion, median_filter,
                                sequence_estimates, smooth_utterances, utterance_estimates)


def test_sequence_median_and_mean_ignore_masked_frames():
    frames = np.array([[[1, 0], [2, 0], [9, 0], [100, 0]]], float)
    mask = np.array([[True, True, True, False]])
    assert sequence_estimates(frames, mask, "median")[0, 0] == 2
    assert sequence_estimates(frames, mask, "mean")[0, 0] == 4
    assert np.isnan(sequence_estimates(frames, np.zeros_like(mask), "median")).all()


def test_utterance_is_the_mean_of_its_sequences():
    frames = np.array([[[1.0, 1.0]] * 2, [[3.0, -1.0]] * 2, [[5.0, 0.0]] * 2])
    mask = np.ones((3, 2), bool)
    out = utterance_estimates(frames, mask, np.array([0, 0, 2]), 3)
    assert out[0].tolist() == [2.0, 0.0] and np.isnan(out[1]).all() and out[2].tolist() == [5.0, 0.0]


def test_median_filter_by_hand_per_dimension():
    frames = np.zeros((1, 5, 2))
    frames[0, :, 0] = [0, 10, 0, 0, 0]
    frames[0, :, 1] = [0, 10, 0, 0, 0]
    mask = np.ones((1, 5), bool)
    out = median_filter(frames, mask, (3, 1))
    assert out[0, :, 0].tolist() == [0, 0, 0, 0, 0]  # the spike is removed
    assert out[0, :, 1].tolist() == [0, 10, 0, 0, 0]  # window 1: untouched


def test_smoothing_stays_inside_a_video():
    groups = pd.DataFrame({"video": ["a", "a", "a", "b"]})
    est = np.array([[0.0, 0], [3.0, 0], [6.0, 0], [100.0, 0]])
    out = smooth_utterances(est, groups, (3, 1))
    assert out[:, 0].tolist() == [1.5, 3.0, 4.5, 100.0]


def test_apply_fills_empty_utterances_with_the_fallback():
    frames = np.zeros((2, 2, 2))
    mask = np.array([[True, True], [False, False]])
    windows = SimpleNamespace(mask=mask, group=np.array([0, 1]), groups=pd.DataFrame({"video": ["a", "b"]}))
    est, empty = apply(frames, windows, PostProcessing(), "median", (0.2, 0.3))
    assert empty == 1 and est[1].tolist() == [0.2, 0.3]


def test_choose_keeps_a_step_only_when_it_helps_on_validation():
    rng = np.random.default_rng(0)
    truth = rng.uniform(-1, 1, (40, 2))
    frames = np.repeat(truth[:, None, :], 9, axis=1)
    frames[:, 4, 0] += 5.0  # valence: one outlier frame per sequence, which a median filter removes
    mask = np.ones((40, 9), bool)
    groups = pd.DataFrame({"video": [f"v{i}" for i in range(40)]})
    windows = SimpleNamespace(mask=mask, group=np.arange(40), groups=groups)
    choice, sweep = choose(frames, windows, truth, (1, 3, 9), (1, 3), UtteranceEstimate("mean", fallback=(0.0, 0.0)))
    assert choice.median_window[0] > 1  # valence gains from the filter
    assert choice.median_window[1] == 1  # arousal is already perfect: nothing kept
    assert set(sweep["stage"]) == {"median_window", "smoothing_window"}


def test_decision_fusion_is_eq1():
    a, b = np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]])
    fused = decision_fusion([a, b], np.array([[0.3, 0.1], [0.1, 0.3]]))
    np.testing.assert_allclose(fused, [[0.75, 0.75]])
    # a network with a negative validation CCC gets no weight; all non-positive -> plain mean
    np.testing.assert_allclose(decision_fusion([a, b], np.array([[0.5, -0.1], [-0.2, -0.3]])), [[1.0, 0.5]])


@pytest.mark.parametrize("how", ["max", ""])
def test_unknown_aggregation_is_refused(how):
    with pytest.raises(ValueError, match="median"):
        sequence_estimates(np.zeros((1, 2, 2)), np.ones((1, 2), bool), how)
