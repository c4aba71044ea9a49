"""The experiment graph on a real Dask cluster (local, two worker processes): the local engine's
numbers, a killed worker's run retried and resumed, two runs on one results folder doing each
job once, a user error reported with the jobs it stopped, and a Slurm spec's job script."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from omglib import experiments as X
from omglib.config import get_profile, override
from omglib.errors import OmgError
from omglib.experiments.engine import ClusterSpec, Engine
from omglib.experiments.results import run_folder

SCORED = ("test", "test_raw", "validation", "validation_raw")


def numbers(folder: Path) -> dict[str, dict]:
    """Every run's scores under a profile's results folder, by run (CNNs have no scores)."""
    out = {}
    for path in sorted(folder.glob("*/seed-*/metrics.json")):
        record = json.loads(path.read_text())
        out[str(path.parent.relative_to(folder))] = {k: record[k] for k in SCORED if k in record}
    return out


@pytest.fixture(scope="module")
def table3_local(smoke_frames, tmp_path_factory):
    """The smoke Table 3 (seed 0) through the local engine, two processes."""
    ctx = X.Context.create(get_profile("smoke"), smoke_frames, tmp_path_factory.mktemp("local"), "cpu", seeds=(0,),
                           progress=False, workers=2)
    X.run(ctx, [e.name for e in X.TABLES[3]])
    return ctx


def test_the_smoke_table_3_on_a_dask_cluster_has_the_local_engines_numbers(table3_local, tmp_path):
    ctx = replace(table3_local, results=tmp_path, engine=Engine("dask", device="cpu"))
    summaries = X.run(ctx, [e.name for e in X.TABLES[3]])
    assert set(summaries) == {e.name for e in X.TABLES[3]}
    ours, local = numbers(ctx.folder), numbers(table3_local.folder)
    assert len(ours) == len(X.TABLES[3]) and ours == local  # bit for bit: the same jobs, one thread each


def test_a_killed_workers_run_is_retried_and_resumes_to_the_uninterrupted_numbers(smoke_frames, tmp_path):
    from distributed import Client, LocalCluster

    profile = override(get_profile("smoke"), ["train.epochs=150", "train.patience=150"])  # long enough to kill
    name = f"{X.BEST_1RNN} (from scratch)"  # one training stage: OMG
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        engine = Engine("dask", cluster.scheduler_address, device="cpu")
        plain = X.Context.create(profile, smoke_frames, tmp_path / "plain", "cpu", seeds=(0,), progress=False,
                                 engine=engine)
        X.run(plain, [name])  # uninterrupted, on the same cluster
        ctx = replace(plain, results=tmp_path / "killed")
        folder = run_folder(ctx, X.get(name), 0)
        done: dict = {}
        runner = threading.Thread(target=lambda: done.setdefault("summaries", X.run(ctx, [name])))
        runner.start()
        deadline = time.time() + 120
        written = lambda: [c for c in folder.checkpoints() if not c.name.startswith(".")]  # not one still being written
        while not written() and time.time() < deadline:
            time.sleep(0.02)
        (worker,) = [w for w, keys in client.processing().items() if any(k.startswith(name) for k in keys)]
        os.kill(client.run(os.getpid, workers=[worker])[worker], signal.SIGKILL)  # mid-training, after an epoch
        runner.join(180)
    assert not runner.is_alive() and name in done["summaries"]
    resumed, uninterrupted = X.load(ctx, name), X.load(plain, name)
    assert resumed.training.resumed_after > 0 and uninterrupted.training.resumed_after == 0
    assert resumed.training.epochs_run == uninterrupted.training.epochs_run
    assert numbers(ctx.folder) == numbers(plain.folder)


def test_two_runs_on_one_results_folder_train_their_shared_cnn_once(smoke_frames, tmp_path):
    common = ["--profile", "smoke", "--frames", str(smoke_frames), "--results", str(tmp_path / "results"), "--device", "cpu",
              "--seeds", "0", "--workers", "1", "--quiet", "--set", "train.pretrain_epochs=80",
              "--set", "train.patience=80"]  # a CNN long enough that both start on it before it is done
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    runs = [subprocess.Popen([sys.executable, "-m", "omglib.cli", "run", name, *common], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=env)
            for name in (X.BEST_1RNN, X.BEST_3RNN)]  # the same engine: they reach the CNN at the same moment
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], [err[-2000:] for _, err in outputs]
    waited = [err for _, err in outputs if "done meanwhile by another run" in err]
    assert len(waited) == 1 and "CNN vgg16 on affwild2 (seed 0)" in waited[0]  # one trained it, the other found it


def test_a_failing_job_fails_the_jobs_that_need_it_with_its_reason_and_the_others_finish(table3_local, tmp_path):
    frames = tmp_path / "frames"  # a copy of the data without Aff-Wild
    frames.mkdir()
    for dataset in ("omg", "affwild2"):
        (frames / dataset).symlink_to(table3_local.frames / dataset)
    ctx = replace(table3_local, frames=frames, results=tmp_path / "results", engine=Engine("dask", device="cpu"))
    wrong = f"{X.BEST_3RNN} (Aff-Wild)"  # its CNN pre-trains on Aff-Wild, which is not there
    with pytest.raises(OmgError) as failure:
        X.run(ctx, [X.BEST_1RNN, wrong, f"{X.DECISION_FUSION} [{X.BEST_1RNN}; {wrong}]"])
    report = str(failure.value)
    assert "3 of 5 jobs failed" in report and "CNN vgg16 on affwild (seed 0): OmgError" in report
    stopped = report.split("not run, a job they need failed: ")[1]
    assert "Pre-process Aff-Wild first" in report and f"{wrong} (seed 0)" in stopped and X.DECISION_FUSION in stopped
    assert X.status(ctx, X.get(X.BEST_1RNN), 0) == "current"  # the others carried on


def test_a_slurm_spec_starts_workers_with_its_gpus_cpus_and_memory(tmp_path):
    spec = tmp_path / "slurm.yaml"
    spec.write_text("queue: slurm\njobs: 2\ncores: 8\nmemory: 64GB\ngpus: 1\npartition: gpu\n"
                    "prologue: ['source ~/omglib/.venv/bin/activate']\n")
    cluster = ClusterSpec.read(spec)
    assert (cluster.queue, cluster.jobs, cluster.gpus) == ("slurm", 2, 1)
    script = _job_script(cluster)
    for line in ("#SBATCH --gres=gpu:1", "#SBATCH -p gpu", "#SBATCH --cpus-per-task=8", "--nthreads 1 ",
                 "--nworkers 8 ", "--resources GPU=1", "source ~/omglib/.venv/bin/activate"):
        assert line in script  # one single-thread process per core, each may take a GPU training
    for queue, gpu_line in (("lsf", '#BSUB -gpu "num=1"'), ("pbs", "#PBS -l ngpus=1"), ("sge", "#$ -l gpu=1")):
        site = "" if queue == "lsf" else f"directives: ['{gpu_line.split(' ', 1)[1]}']\n"
        (tmp_path / f"{queue}.yaml").write_text(f"queue: {queue}\ncores: 4\ngpus: 1\naccount: lab\n{site}")
        assert gpu_line in _job_script(ClusterSpec.read(tmp_path / f"{queue}.yaml"))
    for text, message in (("queue: slurm\ngpu: 1\n", "bad.yaml: gpu: a cluster spec has the keys queue, jobs"),
                          ("queue: slurm\nwalltime: 24:00:00\n", "walltime takes a string"),
                          ("queue: slurm\nprologue: source x\n", "prologue takes a list of lines"),
                          ("queue: pbs\ngpus: 1\n", "add your site's GPU request to directives")):
        (tmp_path / "bad.yaml").write_text(text)
        with pytest.raises(OmgError, match=re.escape(message)):
            ClusterSpec.read(tmp_path / "bad.yaml")
    with pytest.raises(OmgError, match="--scheduler and --cluster are the dask engine's"):
        Engine("local", cluster=str(spec))


def _job_script(spec: ClusterSpec) -> str:
    """The batch script the spec's cluster submits per worker (nothing is submitted: no jobs)."""
    cluster = replace(spec, jobs=0).start()
    try:
        return cluster.job_script()
    finally:
        cluster.close()


def test_on_gpu_workers_a_cnn_or_an_end_to_end_training_takes_a_gpu_and_a_head_any_worker(tmp_path):
    from omglib.experiments.engine import _resources
    from omglib.experiments.schedule import plan

    ctx = X.Context.create(get_profile("smoke"), tmp_path, tmp_path, "cpu", seeds=(0,), progress=False)
    end_to_end = f"{X.BEST_3RNN} (strategy=end-to-end)"
    graph = plan(ctx, [X.get(n) for n in (X.BEST_3RNN, end_to_end, X.DECISION_FUSION)])
    asked = {(j.kind, j.name): _resources(ctx, j, gpus=True) for j in graph}
    assert asked[("cnn", "vgg16")] == {"GPU": 1} and asked[("run", end_to_end)] == {"GPU": 1}
    assert asked[("run", X.BEST_3RNN)] == asked[("run", X.DECISION_FUSION)] == {}  # any worker, beside them
    assert all(_resources(ctx, j, gpus=False) == {} for j in graph)  # undeclared: any worker, one at a time each


def test_a_data_error_survives_the_trip_back_from_a_worker(tmp_path):
    import pickle

    from omglib.errors import DataError

    error = DataError(tmp_path / "omg_TrainVideos.csv", "no 'arousal' column", 1, "use the official header")
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is DataError and str(back) == str(error) and back.line == 1
