import json
import subprocess
from dataclasses import replace
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
from omglib.errors import OmgError
from omglib.metrics import ccc
from omglib.models import build
from omglib.models import load as load_model
from omglib.postprocess import utterance_estimates
from omglib.train import FitSettings, fit, predict

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
    result = fit(model, train, lambda m: tuple(_utterance_ccc(m, train)), FitSettings(lr=1e-3, epochs=8, patience=8, batch_size=4),
                 checkpoint=tmp_path / "c.pt", seed=0, device=CPU, progress=False)
    loss = result.history["loss"].to_numpy()
    assert loss[-3:].mean() < loss[:2].mean() - 0.05
    # the history's training CCC is what the loss maximises: loss = 1 - mean of the two
    fitted = result.history[["train_ccc_valence", "train_ccc_arousal"]].mean(axis=1)
    assert (fitted.iloc[-3:].mean() > fitted.iloc[:2].mean())
    # The mean predictor (a constant) has CCC 0 against any labels.
    assert np.mean(_utterance_ccc(model, train)) > 0.1


def test_a_uni_task_network_is_selected_on_its_own_dimension(smoke_frames, tmp_path):
    train = _omg(smoke_frames, "train")
    model = build("VGG-Face", "smoke")
    score = lambda m: (0.5, float("nan"))  # an arousal the network was never trained for scores NaN
    result = fit(model, train, score, FitSettings(1e-3, 2, 2, 4, loss_weights=(1.0, 0.0)), checkpoint=tmp_path / "v.pt",
                 seed=0, device=CPU, progress=False)
    assert result.history["val_score"].tolist() == [0.5, 0.5] and result.best_score == 0.5
    with pytest.raises(OmgError, match=r"loss_weights=0,0: the weights of valence and arousal are at least 0"):
        fit(model, train, score, FitSettings(1e-3, 1, 1, 4, loss_weights=(0.0, 0.0)), checkpoint=tmp_path / "z.pt",
            seed=0, device=CPU, progress=False)


def test_resumed_training_equals_an_uninterrupted_run(smoke_frames, tmp_path):
    train, val = _omg(smoke_frames, "train"), _omg(smoke_frames, "validation")

    def run(epochs, checkpoint):
        torch.manual_seed(1)
        model = build("CNN-1RNN-2nd-pool_last-pool_fc", "smoke")
        fit(model, train, lambda m: tuple(_utterance_ccc(m, val)), FitSettings(1e-3, epochs, 10, 4), checkpoint=checkpoint,
            seed=3, device=CPU, progress=False)
        return model

    whole = run(3, tmp_path / "whole.pt")
    run(2, tmp_path / "killed.pt")  # as if killed after epoch 2
    resumed = run(3, tmp_path / "killed.pt")
    assert torch.load(tmp_path / "killed.pt", weights_only=False)["epoch"] == 2
    for key, value in whole.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[key], value, rtol=0, atol=0)


def test_an_experiment_writes_every_seed_and_a_summary(smoke_run):
    ctx, summary = smoke_run
    assert list(ctx.seeds) == summary.seeds == [0, 1]
    for seed in ctx.seeds:
        folder = X.folder(ctx, X.BEST_3RNN, seed).path
        for name in ("metrics.json", "predictions.csv", "history.csv", "model.pt", "utterances_test.csv",
                     "frames_validation.npz", "pretrain_history.csv"):
            assert (folder / name).is_file(), name
        result = X.load(ctx, X.BEST_3RNN, seed)
        assert result.seed == seed and result.provenance.git_commit and result.postprocessing is not None
        # read back as the records written: the profile, the training facts, the recipe
        assert result.config == ctx.profile and result.recipe == X.get(X.BEST_3RNN) and result.probe is None
        assert isinstance(result.training, X.Training) and result.training.epochs_run >= result.training.best_epoch
        assert pd.read_csv(folder / "predictions.csv").columns.tolist() == list(SUBMISSION_COLUMNS)
        lo, hi = result.test.ci_valence
        assert lo - 1e-9 <= result.test.ccc_valence <= hi + 1e-9
        # the model file holds the whole network (trunk included), rebuilt from the file alone
        model = load_model(folder / "model.pt")
        assert model.name == X.BEST_3RNN and model.meta["experiment"] == X.BEST_3RNN and model.meta["seed"] == seed
        assert model.meta["scores"]["test_ccc_valence"] == result.test.ccc_valence
        assert (folder / "MODEL_CARD.md").is_file()
        build(X.BEST_3RNN, "smoke", weights=folder / "model.pt")  # and loadable by the registry
    stored = json.loads((ctx.folder / X.get(X.BEST_3RNN).slug / "summary.json").read_text())
    for key in ("ccc_valence", "ccc_arousal", "ccc_mean", "seeds", "sd_valence", "sd_arousal", "ci_valence", "ci_arousal",
                "n_test_videos", "n_test_utterances"):
        assert key in stored, key
    per_seed = [X.load(ctx, X.BEST_3RNN, s).test.ccc_valence for s in ctx.seeds]
    assert summary.ccc_valence == pytest.approx(np.mean(per_seed))
    assert summary.sd_valence == pytest.approx(np.std(per_seed, ddof=1))
    # the seeds differ (initialisation, shuffling, dropout), the data do not
    assert per_seed[0] != per_seed[1]
    assert X.utterances(ctx, X.BEST_3RNN, 0)[["video", "utterance"]].equals(X.utterances(ctx, X.BEST_3RNN, 1)[["video", "utterance"]])


def test_a_current_result_is_reused_and_a_changed_one_is_stale(smoke_run, monkeypatch):
    ctx, summary = smoke_run
    exp = X.get(X.BEST_3RNN)
    stamp = (X.folder(ctx, exp.name, 0).path / "metrics.json").stat().st_mtime_ns
    assert X.status(ctx, exp, 0) == "current"
    assert X.run(ctx, [exp.name])[exp.name] == summary
    assert (X.folder(ctx, exp.name, 0).path / "metrics.json").stat().st_mtime_ns == stamp
    changed = X.Context.create(replace(ctx.profile, train=replace(ctx.profile.train, epochs=2)), ctx.frames, ctx.results,
                               "cpu", progress=False)
    assert changed.folder != ctx.folder and X.status(changed, exp, 0) == "missing"  # another setting: its own folder
    assert X.status(ctx, exp, 7) == "missing"
    assert X.status(ctx, X.get(X.BEST_1RNN), 0) == "missing"
    monkeypatch.setattr("omglib.experiments.pipeline.code_version", lambda: "changed code")
    assert X.status(ctx, exp, 0) == "stale"
def _official_ccc(x, y):
    """The challenge script's formula: scipy Pearson and population standard deviations."""
    rho = pearsonr(x, y)[0]
    return 2 * rho * np.std(x) * np.std(y) / (np.var(x) + np.var(y) + (np.mean(x) - np.mean(y)) ** 2)


def test_official_format_predictions_score_like_omglib(smoke_run, tmp_path):
    ctx, _ = smoke_run
    folder = X.folder(ctx, X.BEST_3RNN, 0).path
    metrics = {f"ccc_{d}": getattr(X.load(ctx, X.BEST_3RNN, 0).test, f"ccc_{d}") for d in ("valence", "arousal")}
    table = pd.read_csv(folder / "utterances_test.csv", dtype={"video": str})
    truth = table[["video", "utterance", "valence_true", "arousal_true"]].rename(columns=lambda c: c.replace("_true", ""))
    write_omg_csv(truth.assign(link="x", start=0.0, end=1.0, emotion=0), tmp_path / "truth.csv")
    gold, pred = pd.read_csv(tmp_path / "truth.csv", dtype={"video": str}), pd.read_csv(folder / "predictions.csv", dtype={"video": str})  # arousal in [0, 1] on disk
    merged = gold.merge(pred, on=["video", "utterance"], suffixes=("_gold", "_pred"))
    for d in ("valence", "arousal"):
        assert _official_ccc(merged[f"{d}_gold"], merged[f"{d}_pred"]) == pytest.approx(metrics[f"ccc_{d}"], abs=1e-9)
    command = [sys.executable, "-m", "omglib.cli", "evaluate", "--predictions", str(folder / "predictions.csv"),
               "--truth", str(tmp_path / "truth.csv"), "--bootstrap", "50"]
    out = subprocess.run(command, capture_output=True, text=True)
    assert out.returncode == 0 and f"CCC {metrics['ccc_valence']:.4f}" in out.stdout
    scored = json.loads(subprocess.run([*command, "--json"], capture_output=True, text=True, check=True).stdout)
    assert scored["ccc_valence"] == pytest.approx(metrics["ccc_valence"], abs=1e-9)
    assert scored["n_videos"] == truth["video"].nunique() and scored["n_utterances"] == len(truth)
    assert scored["ci_arousal"][0] - 1e-9 <= scored["ccc_arousal"] <= scored["ci_arousal"][1] + 1e-9


def test_decision_fusion_weights_members_by_validation_ccc(smoke_run):
    ctx, _ = smoke_run
    X.run(ctx, [X.DECISION_FUSION])
    fused = X.load(ctx, X.DECISION_FUSION, 1)
    weights = np.clip(np.array(fused.fusion_weights.final), 0, None)
    tables = [X.utterances(ctx, m, 1) for m in X.get(X.DECISION_FUSION).members]
    ours = X.utterances(ctx, X.DECISION_FUSION, 1)
    for d, dim in enumerate(("valence", "arousal")):
        w = weights[:, d] if weights[:, d].sum() > 0 else np.ones(2)
        expected = sum(w[i] * tables[i][dim] for i in range(2)) / w.sum()
        np.testing.assert_allclose(ours[dim], expected, atol=1e-5)
    assert fused.experiment == X.DECISION_FUSION and fused.seed == 1


def test_every_table_row_is_an_experiment_with_members_first():
    assert [len(X.TABLES[t]) for t in (3, 4, 5, 6)] == [11, 10, 9, 7]  # each with the linear floor first
    assert all(X.TABLES[t][0].name == X.LINEAR_PROBE for t in X.TABLES)
    order = [e.name for e in X.table_order([3, 4, 5, 6])]
    assert len(order) == len(set(order)) == 27  # 37 rows, 10 shared between tables
    for e in X.table_order([3, 4, 5, 6]):
        assert all(order.index(m) < order.index(e.name) for m in e.members)
    assert X.get("cnn-3rnn-2nd-pool-last-pool-fc-aff-wild").pretrain == "affwild"


@pytest.mark.parametrize("argv, message", [
    (["run", "No Such Net", "--frames", "nowhere", "--data-root", "nowhere"], "unknown network 'No Such Net'"),
    (["run", X.BEST_3RNN, "--data-root", "no/such/folder"], "no such folder"),
    (["evaluate", "--predictions", "no.csv", "--truth", "no.csv"], "no.csv"),
])
def test_cli_mistakes_exit_2_with_one_line(argv, message):
    out = subprocess.run([sys.executable, "-m", "omglib.cli", *argv], capture_output=True, text=True)
    assert out.returncode == 2 and message in out.stderr and "Traceback" not in out.stderr


def test_the_schedule_runs_every_seed_after_its_inputs(tmp_path):
    from omglib.experiments.results import seed_runs
    from omglib.experiments.schedule import plan

    profile = get_profile("quick")
    ctx = X.Context.create(profile, tmp_path, tmp_path, "cpu", progress=False, workers=2)
    graph = plan(ctx, [X.get(X.FUSION_RNN), X.get("VGG-Face")])
    runs = {(j.name, j.seed, j.cnn_seed) for j in graph if j.kind == "run"}
    for seed in profile.seeds:  # the fusion and both members, every seed, sharing the seed-0 CNN
        for name in (X.FUSION_RNN, X.BEST_1RNN, X.BEST_3RNN, "VGG-Face"):
            assert (name, seed, profile.seed) in runs
    # the frame CNN also runs with its pre-training seeded by each seed (the spread sharing hides)
    assert {(s, c) for n, s, c in runs if n == "VGG-Face"} == {(s, profile.seed) for s in profile.seeds} | {(s, s) for s in profile.seeds}
    for job, needs in graph.items():
        if job.kind == "run" and job.name == X.FUSION_RNN:
            assert {n.name for n in needs if n.kind == "run"} == {X.BEST_1RNN, X.BEST_3RNN}
            assert all(n.seed == job.seed for n in needs if n.kind == "run")
    cnn_jobs = {(j.name, j.pretrain, j.cnn_seed) for j in graph if j.kind == "cnn"}
    assert cnn_jobs == {("vgg16", "affwild2", s) for s in profile.seeds}
    order = list(graph)  # each job after the jobs it needs (the dask engine submits in this order)
    assert all(order.index(n) < order.index(j) for j in graph for n in graph[j])
    unshared = replace(ctx, profile=replace(profile, train=replace(profile.train, share_cnn=False)))
    assert seed_runs(unshared, X.get(X.BEST_3RNN)) == [(s, s) for s in profile.seeds]


def test_a_retrained_run_is_the_same_bit_for_bit(smoke_run):
    ctx, _ = smoke_run
    before = X.utterances(ctx, X.BEST_3RNN, 1)
    weights = load_model(X.folder(ctx, X.BEST_3RNN, 1).model).state_dict()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as in the schedule's worker processes that trained it first
    try:
        X.run_seed(replace(ctx, force=True, progress=False), X.BEST_3RNN, 1)  # trained again from the same seed
    finally:
        torch.set_num_threads(threads)
    pd.testing.assert_frame_equal(X.utterances(ctx, X.BEST_3RNN, 1), before, check_exact=True)
    again = load_model(X.folder(ctx, X.BEST_3RNN, 1).model).state_dict()
    for key, value in weights.items():
        torch.testing.assert_close(again[key], value, rtol=0, atol=0)


def test_without_test_labels_the_tables_report_validation(smoke_run, tmp_path):
    """The official test file without labels: runs keep their test predictions, and the tables,
    intervals and claims score validation instead, saying so (`Summary.split`)."""
    import shutil
    from dataclasses import replace as copy

    from omglib.experiments.results import Scores, SeedResult, summarise

    ctx, labelled = smoke_run
    unlabelled = copy(ctx, results=tmp_path / "results")
    exp = X.get(X.BEST_3RNN)
    folders, results = [], []
    for seed in ctx.seeds:
        folder = X.folder(unlabelled, exp.name, seed)
        shutil.copytree(X.folder(ctx, exp.name, seed), folder)
        table = pd.read_csv(folder.utterances("test"))
        table.assign(valence_true=np.nan, arousal_true=np.nan).to_csv(folder.utterances("test"), index=False)
        result = X.load(ctx, exp.name, seed)
        gone = Scores.unscored(table)
        result = copy(result, test=gone, test_raw=gone)
        result.write(folder)
        folders.append(folder)
        results.append(SeedResult.read(folder))
    summary = summarise(unlabelled, exp, results, folders)
    assert labelled.split == "test" and summary.split == "validation"
    assert summary.ccc_valence == pytest.approx(np.mean([r.validation.ccc_valence for r in results]))
    assert summary.n_test_utterances == len(pd.read_csv(folders[0].utterances("validation")))
    assert np.isfinite([*summary.ci_valence, *summary.ci_arousal]).all()
    assert pd.read_csv(folders[0].predictions)["valence"].notna().all()  # still predicted for submission


def test_networks_without_landmarks_start_from_a_cnn_trained_without_them(smoke_frames, tmp_path):
    from omglib.experiments.schedule import plan

    ctx = X.Context.create(get_profile("smoke"), smoke_frames, tmp_path, "cpu", seeds=(0,), progress=False, workers=1)
    without = X.get(f"{X.BEST_3RNN} (no landmarks)")
    cnns = {j.landmarks for j in plan(ctx, [without, X.get(X.BEST_3RNN)]) if j.kind == "cnn"}
    assert cnns == {True, False}  # two CNN pre-trainings, each shared by the rows that need it
    plain, bare = (X.cnn_run(ctx, "vgg16", "affwild2", 0, lm) for lm in (True, False))
    assert plain.folder != bare.folder and plain.fingerprint != bare.fingerprint
    X.run(ctx, [without.name])
    fc = {k: v for k, v in bare.state().items() if k.endswith("weight") and v.ndim == 2}
    with_lm = build("VGG-Face", get_profile("smoke")).state_dict()
    first = next(k for k in fc if k in with_lm)
    assert with_lm[first].shape[1] - fc[first].shape[1] == 136  # its FC never had landmark inputs
    assert not plain.weights.exists()  # the with-landmarks CNN was not needed


def test_post_processing_chosen_again_from_the_stored_frames_reproduces_the_run(smoke_run):
    from omglib.experiments.pipeline import postprocessing_on

    ctx, _ = smoke_run
    t, exp, stored = ctx.profile.train, X.get(X.BEST_3RNN), X.load(ctx, X.BEST_3RNN, 0)
    choice, scores = postprocessing_on(ctx, exp, 0, ctx.cnn_seed, t.median_windows, t.smoothing_windows)
    assert choice == stored.postprocessing and scores.ccc_valence == stored.test.ccc_valence
    assert scores.ccc_arousal == stored.test.ccc_arousal  # the profile's own grid: the run's own numbers
    off, raw = postprocessing_on(ctx, exp, 0, ctx.cnn_seed, (1,), (1,))  # a grid of "off" only: the raw estimates
    assert off.median_window == off.smoothing_window == (1, 1) and raw.ccc_valence == stored.test_raw.ccc_valence
