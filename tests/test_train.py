import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import pearsonr

from omglib import experiments as X
from omglib.config import get_profile
from omglib.data.omg import SUBMISSION_COLUMNS, write_omg_csv
from omglib.data.sequences import SequenceDataset, cut
from omglib.data.store import FrameStore
from omglib.metrics import ccc
from omglib.models import build
from omglib.postprocess import utterance_estimates
from omglib.train import fit, predict

CPU = torch.device("cpu")


def _omg(frames, split):
    return SequenceDataset(cut(FrameStore.open(frames / "omg" / split), 16))


def _utterance_ccc(model, data):
    seqs = data.sequences
    est = utterance_estimates(predict(model, data, CPU), seqs.mask, seqs.group, len(seqs.groups))
    truth = seqs.groups[["valence", "arousal"]].to_numpy()
    return [ccc(truth[:, d], est[:, d]) for d in range(2)]


def test_tiny_training_lowers_the_loss_and_beats_the_mean_predictor(smoke_frames, tmp_path):
    train = _omg(smoke_frames, "train")
    torch.manual_seed(0)
    model = build("VGG-Face", "smoke")
    result = fit(model, train, lambda m: tuple(_utterance_ccc(m, train)), lr=1e-3, epochs=8, patience=8, batch_size=4,
                 checkpoint=tmp_path / "c.pt", seed=0, device=CPU, progress=False)
    loss = result.history["loss"].to_numpy()
    assert loss[-3:].mean() < loss[:2].mean() - 0.05
    # The mean predictor (a constant) has CCC 0 against any labels.
    assert np.mean(_utterance_ccc(model, train)) > 0.1


def test_resumed_training_equals_an_uninterrupted_run(smoke_frames, tmp_path):
    train, val = _omg(smoke_frames, "train"), _omg(smoke_frames, "validation")

    def run(epochs, checkpoint):
        torch.manual_seed(1)
        model = build("CNN-1RNN-2nd-pool_last-pool_fc", "smoke")
        fit(model, train, lambda m: tuple(_utterance_ccc(m, val)), 1e-3, epochs, 10, 4, checkpoint, 3, CPU, progress=False)
        return model

    whole = run(3, tmp_path / "whole.pt")
    run(2, tmp_path / "killed.pt")  # as if killed after epoch 2
    resumed = run(3, tmp_path / "killed.pt")
    assert torch.load(tmp_path / "killed.pt", weights_only=False)["epoch"] == 2
    for key, value in whole.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[key], value, rtol=0, atol=0)


@pytest.fixture(scope="module")
def smoke_run(smoke_frames, tmp_path_factory):
    ctx = X.Context.create(get_profile("smoke"), smoke_frames, tmp_path_factory.mktemp("results"), device="cpu",
                           progress=False)
    return ctx, X.run(ctx, X.BEST_3RNN)


def test_an_experiment_writes_its_results(smoke_run):
    ctx, metrics = smoke_run
    folder = ctx.folder / X.get(X.BEST_3RNN).slug
    for name in ("metrics.json", "predictions.csv", "history.csv", "model.pt", "utterances_test.csv",
                 "frames_validation.npz", "pretrain_history.csv"):
        assert (folder / name).is_file(), name
    for key in ("ccc_valence", "ccc_arousal", "ci_valence", "quadrant_mse", "postprocessing", "git_commit", "seed",
                "hardware", "wall_seconds", "config"):
        assert key in metrics
    assert set(metrics["raw"]) >= {"ccc_valence", "ccc_arousal"}
    assert pd.read_csv(folder / "predictions.csv").columns.tolist() == list(SUBMISSION_COLUMNS)
    lo, hi = metrics["ci_valence"]
    assert lo <= metrics["ccc_valence"] <= hi
    # the model file holds the whole network (trunk included), loadable by the registry
    build(X.BEST_3RNN, "smoke", weights=folder / "model.pt")


def test_a_current_result_is_reused_and_a_changed_one_is_stale(smoke_run):
    ctx, metrics = smoke_run
    exp = X.get(X.BEST_3RNN)
    stamp = (ctx.folder / exp.slug / "metrics.json").stat().st_mtime_ns
    assert X.status(ctx, exp)[0] == "current"
    assert X.run(ctx, exp.name) == metrics
    assert (ctx.folder / exp.slug / "metrics.json").stat().st_mtime_ns == stamp
    other_seed = X.Context.create(ctx.profile, ctx.frames, ctx.results, "cpu", seed=ctx.seed + 1, progress=False)
    assert X.status(other_seed, exp)[0] == "stale"
    assert X.status(ctx, X.get(X.BEST_1RNN))[0] == "missing"


def _official_ccc(x, y):
    """The challenge script's formula: scipy Pearson and population standard deviations."""
    rho = pearsonr(x, y)[0]
    return 2 * rho * np.std(x) * np.std(y) / (np.var(x) + np.var(y) + (np.mean(x) - np.mean(y)) ** 2)


def test_official_format_predictions_score_like_omglib(smoke_run, tmp_path):
    ctx, metrics = smoke_run
    folder = ctx.folder / X.get(X.BEST_3RNN).slug
    table = pd.read_csv(folder / "utterances_test.csv", dtype={"video": str})
    truth = table[["video", "utterance", "valence_true", "arousal_true"]].rename(columns=lambda c: c.replace("_true", ""))
    write_omg_csv(truth.assign(link="x", start=0.0, end=1.0, emotion=0), tmp_path / "truth.csv")
    gold, pred = pd.read_csv(tmp_path / "truth.csv", dtype={"video": str}), pd.read_csv(folder / "predictions.csv", dtype={"video": str})  # arousal in [0, 1] on disk
    merged = gold.merge(pred, on=["video", "utterance"], suffixes=("_gold", "_pred"))
    for d in ("valence", "arousal"):
        assert _official_ccc(merged[f"{d}_gold"], merged[f"{d}_pred"]) == pytest.approx(metrics[f"ccc_{d}"], abs=1e-9)
    out = subprocess.run([sys.executable, "-m", "omglib.cli", "evaluate", "--predictions", str(folder / "predictions.csv"),
                          "--truth", str(tmp_path / "truth.csv"), "--bootstrap", "50"], capture_output=True, text=True)
    assert out.returncode == 0 and f"CCC {metrics['ccc_valence']:.4f}" in out.stdout


def test_decision_fusion_weights_members_by_validation_ccc(smoke_run):
    ctx, _ = smoke_run
    fused = X.run(ctx, X.DECISION_FUSION)
    weights = np.clip(np.array(fused["fusion_weights"]["final"]), 0, None)
    tables = [pd.read_csv(ctx.folder / X.get(m).slug / "utterances_test.csv", dtype={"video": str})
              for m in X.get(X.DECISION_FUSION).members]
    ours = pd.read_csv(ctx.folder / X.get(X.DECISION_FUSION).slug / "utterances_test.csv", dtype={"video": str})
    for d, dim in enumerate(("valence", "arousal")):
        w = weights[:, d] if weights[:, d].sum() > 0 else np.ones(2)
        expected = sum(w[i] * tables[i][dim] for i in range(2)) / w.sum()
        np.testing.assert_allclose(ours[dim], expected, atol=1e-5)
    assert json.loads((ctx.folder / X.get(X.DECISION_FUSION).slug / "metrics.json").read_text())["experiment"] == X.DECISION_FUSION


def test_every_table_row_is_an_experiment_with_members_first():
    assert [len(X.TABLES[t]) for t in (3, 4, 5, 6)] == [10, 9, 8, 6]
    order = [e.name for e in X.table_order([3, 4, 5, 6])]
    assert len(order) == len(set(order)) == 26  # 33 rows, 7 shared between tables
    for e in X.table_order([3, 4, 5, 6]):
        assert all(order.index(m) < order.index(e.name) for m in e.members)
    assert X.get("cnn-3rnn-2nd-pool-last-pool-fc-aff-wild").pretrain == "affwild"


@pytest.mark.parametrize("argv, message", [
    (["run", "No Such Net", "--frames", "nowhere", "--data-root", "nowhere"], "unknown experiment"),
    (["run", X.BEST_3RNN, "--data-root", "no/such/folder"], "no such folder"),
    (["evaluate", "--predictions", "no.csv", "--truth", "no.csv"], "no.csv"),
])
def test_cli_mistakes_exit_2_with_one_line(argv, message):
    out = subprocess.run([sys.executable, "-m", "omglib.cli", *argv], capture_output=True, text=True)
    assert out.returncode == 2 and message in out.stderr and "Traceback" not in out.stderr
