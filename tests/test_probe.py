"""The linear floor (omglib.probe): the ridge solved either way, features per utterance, a run scored like a network."""

import numpy as np
import pytest

from omglib import experiments as X
from omglib.config import get_profile
from omglib.data.sequences import cut
from omglib.data.store import FrameStore
from omglib.experiments.results import seed_runs
from omglib.probe import SIDE, _Ridge, frame_features


def test_the_ridge_is_the_same_solved_through_frames_or_features():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 25)).astype(np.float32), rng.normal(size=(40, 2)).astype(np.float32)
    for n in (40, 10):  # more frames than features (the Gram form), fewer (the kernel form)
        ridge = _Ridge(x[:n], y[:n])
        z = (x[:n] - ridge.mean) / ridge.scale
        assert ridge.dual == (n < 25)
        for penalty in (0.1, 10.0):
            direct = np.linalg.solve(z.T @ z + penalty * np.sqrt(n) * np.eye(25), z.T @ (y[:n] - y[:n].mean(0)))
            assert np.allclose(ridge.weights(penalty), direct, atol=1e-4)
    assert np.all(np.abs(ridge.predict(x * 100, ridge.weights(1e-3))) <= 1)  # bounded to the label range


def test_features_summarise_time_within_each_utterance(smoke_frames):
    seqs = cut(FrameStore.open(smoke_frames / "omg" / "validation"), 16)
    f = frame_features(seqs)
    base = SIDE * SIDE * 3 + 136
    assert f.shape == (*seqs.rows.shape, 3 * base)
    first = np.flatnonzero(seqs.group == 0)[0]
    # the first frame of an utterance has no difference to a frame before it
    assert np.all(f[first, 0, 2 * base:] == 0) and f[first, 1, 2 * base:].any()
    assert 0 <= f[..., : SIDE * SIDE * 3].min() and f[..., : SIDE * SIDE * 3].max() <= 1


@pytest.fixture(scope="module")
def probe_run(smoke_frames, tmp_path_factory):
    ctx = X.Context.create(get_profile("smoke"), smoke_frames, tmp_path_factory.mktemp("results"), "cpu",
                           progress=False, workers=1)
    return ctx, X.run(ctx, [X.LINEAR_PROBE])[X.LINEAR_PROBE]


def test_the_floor_is_chosen_on_validation_and_scored_like_a_network(probe_run):
    ctx, summary = probe_run
    assert seed_runs(ctx, X.get(X.LINEAR_PROBE)) == [(ctx.seeds[0], ctx.cnn_seed)]  # closed form: no seeds
    result = X.load(ctx, X.LINEAR_PROBE)
    fit = result.probe
    assert len(fit.penalties) > 1 and result.training is None
    assert fit.penalty == max(fit.penalties, key=lambda p: np.nanmean(fit.validation_ccc[fit.penalties.index(p)]))
    assert result.postprocessing is not None and np.isfinite(result.test.ccc_valence)
    assert summary.seeds == [ctx.seeds[0]] and not (X.folder(ctx, X.LINEAR_PROBE).path / "model.pt").exists()
    assert X.table(ctx, 3).iloc[0]["experiment"] == X.LINEAR_PROBE
    assert X.status(ctx, X.get(X.LINEAR_PROBE), ctx.seeds[0]) == "current"


def test_the_floors_penalties_are_its_own_validation_scores_the_chosen_one_marked(probe_run, tmp_path):
    ctx, _ = probe_run
    fit = X.load(ctx, X.LINEAR_PROBE).probe
    table = X.floor_penalties(ctx)
    assert len(table) == len(fit.penalties) and table["chosen"].sum() == 1
    assert table.index[table["chosen"]].tolist() == [f"{fit.penalty:g}"]
    assert table[["validation CCC V", "validation CCC A"]].to_numpy().tolist() == [list(c) for c in fit.validation_ccc]
    empty = X.Context.create(ctx.profile, ctx.frames, tmp_path, "cpu", progress=False, workers=1)
    assert X.floor_penalties(empty).empty  # before the floor has run


def test_the_trunk_diagnosis_probes_each_trunk_against_the_landmarks_alone(probe_run):
    ctx, _ = probe_run
    for landmarks in (True, False):
        X.pretrained_cnn(ctx, "vgg16", "affwild2", ctx.cnn_seed, landmarks)
    diagnosis = X.trunk_diagnosis(ctx)
    assert list(diagnosis.index) == ["VGG-Face trunk, pre-trained with landmarks at its FC",
                                     "VGG-Face trunk, pre-trained without landmarks", "the 68 landmarks alone",
                                     "the linear floor: face pixels and landmarks"]
    assert np.isfinite(diagnosis.to_numpy()).all() and (np.abs(diagnosis.to_numpy()) <= 1).all()
    floor = X.load(ctx, X.LINEAR_PROBE)
    assert diagnosis.iloc[-1].tolist() == [floor.validation.ccc_valence, floor.validation.ccc_arousal]
    # the two trunks' probes read different features: their cached taps differ
    assert diagnosis.iloc[0].tolist() != diagnosis.iloc[1].tolist()


def test_a_cnn_adapted_to_omg_records_both_stages(smoke_frames, tmp_path):
    ctx = X.Context.create(get_profile("smoke", ["train.adapt_epochs=1", "train.pretrain_epochs=1"]), smoke_frames,
                           tmp_path, "cpu", progress=False, workers=1)
    run = X.pretrained_cnn(ctx, "vgg16", "affwild2", ctx.cnn_seed)
    history = X.cnn_history(ctx, "vgg16", "affwild2")
    assert history["data"].tolist() == ["affwild2", "omg"] and history["epoch"].tolist() == [1, 2]
    metrics = X.CNNResult.read(run.folder)
    assert metrics.best_epoch == 1 and metrics.adapted_best_epoch == 1 and metrics.adapted_val_frame_ccc_mean is not None
    assert not run.folder.checkpoints()  # both stages' checkpoints discarded once the model is saved
    # the CNN without adaptation is another run: the setting is part of its fingerprint
    plain = X.Context.create(get_profile("smoke", ["train.pretrain_epochs=1"]), smoke_frames, tmp_path, "cpu",
                             progress=False, workers=1)
    assert X.cnn_run(plain, "vgg16", "affwild2", plain.cnn_seed).fingerprint != run.fingerprint


def test_the_tap_diagnosis_probes_each_tap_set_and_says_which_see_the_landmarks(probe_run):
    ctx, _ = probe_run
    X.pretrained_cnn(ctx, "vgg16", "affwild2", ctx.cnn_seed)
    X.run_seed(ctx, X.BEST_3RNN, ctx.seeds[0])
    taps = X.tap_diagnosis(ctx)
    assert len(taps) == len([e for e in X.TABLES[5] if not e.is_probe])
    assert taps.loc["2nd-pool_last-pool_fc", "reads the landmarks"]
    assert not taps.loc["3rd-conv_4th-conv_5th-conv", "reads the landmarks"]  # no fc tap: the landmarks join at the FC
    probes = taps[["probe of its taps V", "probe of its taps A"]].to_numpy()
    assert np.isfinite(probes).all() and (np.abs(probes) <= 1).all()
    assert np.isfinite(taps.loc["2nd-pool_last-pool_fc", "network V"])  # the run above
    assert np.isnan(taps.loc["3rd-conv_4th-conv_5th-conv", "network V"])  # never run here
