"""torchrun with 2 CPU processes (gloo): the same step as one process, and `omg run` writing one result."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from omglib import experiments as X
from omglib.config import get_profile
from omglib.models import build

REPO = Path(__file__).resolve().parents[1]
NAME = "CNN-1RNN-2nd-pool_last-pool_fc"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _torchrun(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
               "--master_port", str(_port()), *args]
    done = subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=env, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def test_two_processes_take_the_step_of_one_at_the_same_effective_batch(smoke_frames, tmp_path):
    """The CCC loss is a statistic of the whole batch: the processes gather their predictions,
    so 2 processes x 2 windows move the weights as 1 process x 4 windows does."""
    step = str(REPO / "tests" / "ddp_step.py")
    single = subprocess.run([sys.executable, step, str(smoke_frames), str(tmp_path / "single.pt"), "2"],
                            capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert single.returncode == 0, single.stderr[-3000:]
    _torchrun(step, str(smoke_frames), str(tmp_path / "ddp.pt"), "2")
    one, two = torch.load(tmp_path / "single.pt"), torch.load(tmp_path / "ddp.pt")
    torch.manual_seed(0)
    start = build("CNN-3RNN-2nd-pool_last-pool_fc", get_profile("smoke", ["model.fc_dropout=0", "model.gru_dropout=0"]))
    moved = max((one[k] - v).abs().max().item() for k, v in start.state_dict().items())
    difference = max((one[k] - two[k]).abs().max().item() for k in one)
    assert moved > 1e-4  # the step did something (Adam's first step is about lr = 1e-3)
    assert difference < 1e-5


def test_torchrun_omg_run_writes_one_result(smoke_frames, tmp_path):
    results = tmp_path / "results"
    done = _torchrun("-m", "omglib.cli", "run", NAME, "--profile", "smoke", "--frames", str(smoke_frames),
                     "--results", str(results), "--seeds", "0", "--quiet", "--set", "train.epochs=4",
                     "--set", "train.patience=4")
    assert done.stdout.count("experiments x seeds") == 1  # rank 0 alone reports
    ctx = X.Context.create(get_profile("smoke", ["train.epochs=4", "train.patience=4"]), smoke_frames, results, "cpu",
                           seeds=(0,), progress=False)
    folder = X.folder(ctx, NAME, 0).path
    metrics = X.SeedResult.read(folder)
    assert metrics.training.processes == 2 and metrics.training.effective_batch_size == 2 * metrics.training.batch_size
    assert np.isfinite([metrics.test.ccc_valence, metrics.test.ccc_arousal]).all()
    assert X.status(ctx, X.get(NAME), 0) == "current"  # one process reads it as its own result
    history = pd.read_csv(folder / "history.csv")
    assert np.isfinite(history["loss"]).all() and history["loss"].iloc[-1] < history["loss"].iloc[0]
    # one result directory, complete, with no checkpoint or temporary file left by any process
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["metrics.json", "predictions.csv", "history.csv", "model.pt", "MODEL_CARD.md", "postprocessing_sweep.csv",
         "utterances_validation.csv", "utterances_test.csv", "frames_validation.npz", "frames_test.npz",
         "pretrain_history.csv"])
    assert not [p for p in results.rglob("*") if ".tmp" in p.name or "checkpoint" in p.name]
    cnn = X.CNNResult.read(next((results / ctx.profile.label() / "cnn").glob("*/seed-0")))
    assert cnn.processes == 2 and cnn.start.start == "random"


def test_torchrun_refuses_data_that_is_not_pre_processed(smoke_data, tmp_path):
    """N processes must not pre-process side by side: `omg run` under torchrun asks for it first."""
    from omglib import book
    from omglib.errors import OmgError

    with pytest.raises(OmgError, match=r"not pre-processed.*omg preprocess --data-root"):
        book.context(book.Settings("smoke", smoke_data[0], tmp_path / "frames", tmp_path / "results", "cpu"), prepare=False)
    assert not (tmp_path / "frames").exists()


def test_a_partial_launch_environment_is_refused(monkeypatch):
    from omglib import distributed
    from omglib.errors import OmgError

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.delenv("MASTER_ADDR", raising=False)
    with pytest.raises(OmgError, match="torchrun"):
        distributed.start("cpu")
