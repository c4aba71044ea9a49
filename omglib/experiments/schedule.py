"""Runs experiments over seeds, in parallel processes, in the order their inputs need.

The work is a graph of jobs:
- a CNN job pre-trains one CNN frame by frame (backbone, pre-training data, seed) and, under
  the frozen strategy, caches the features every planned experiment reads from it;
- a run job trains and evaluates one experiment for one seed, after its CNN job and (fusions)
  after its members' runs of the same seed.

The local engine gives jobs whose inputs are ready to ``ctx.workers`` processes, each with one
thread (small heads on cached features do not use more; two processes on two cores do twice
the work); the dask engine gives the whole graph to a Dask cluster (`omglib.experiments.engine`).
A job re-uses its stored result when it is current, so an interrupted schedule resumes, and
holds a lock on the results folder while it runs, so that two runs sharing the folder do it
once. At the end every experiment's seeds are summarised (`omglib.experiments.results.Summary`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from queue import Queue

from omglib import distributed
from omglib.errors import OmgError
from omglib.experiments import engine
from omglib.experiments.catalogue import Experiment, get, slug, with_members
from omglib.experiments.pipeline import cache, cnn_run, cnn_settings, features_needed, pretrained_cnn, run_seed, status
from omglib.experiments.results import (Context, SeedResult, Summary, cnn_seed_runs, run_folder, runs_of,
                                        seed_runs, summarise)
from omglib.parallel import process_pool

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    """One unit of work: ``kind`` "cnn" (``name`` = backbone) or "run" (``name`` = experiment)."""

    kind: str
    name: str
    pretrain: str | None
    seed: int
    cnn_seed: int
    landmarks: bool = True  # a CNN job: with the landmarks as an input, or without (Table 6)
    settings: tuple[str, ...] = ()  # a CNN job: the experiments' settings that reach their CNN (`cnn_settings`)

    @property
    def label(self) -> str:
        if self.kind == "cnn":
            return (f"CNN {self.name}{'' if self.landmarks else ' without landmarks'} on {self.pretrain or 'omg'} "
                    f"(seed {self.cnn_seed}{''.join(', ' + s for s in self.settings)})")
        cnn = f", CNN seed {self.cnn_seed}" if self.cnn_seed != self.seed else ""
        return f"{self.name} (seed {self.seed}{cnn})"


def plan(ctx: Context, chosen: list[Experiment]) -> dict[Job, set[Job]]:
    """Every job the experiments ``chosen`` (and their members) need -> the jobs it waits for,
    each listed after those (members come first, and a CNN job before its first user)."""
    graph: dict[Job, set[Job]] = {}
    for exp in with_members(chosen):
        for seed, cnn_seed in runs_of(ctx, exp):
            job = Job("run", exp.name, exp.pretrain, seed, cnn_seed)
            needs = {Job("run", m, get(m).pretrain, seed, cnn_seed) for m in exp.members}
            if exp.trained:
                cnn = Job("cnn", exp.backbone, exp.pretrain, cnn_seed, cnn_seed, exp.landmarks,
                          cnn_settings(exp.overrides))
                graph.setdefault(cnn, set())
                needs.add(cnn)
            graph[job] = needs
    return graph


def _cnn_users(ctx: Context, graph: dict[Job, set[Job]], cnn: Job) -> list[Experiment]:
    return [get(j.name) for j in graph if j.kind == "run" and cnn in graph[j]]


def work(ctx: Context, job: Job, users: list[Experiment], threads: int | None) -> str:
    """Do one job (in a worker process, or in this one): "trained", "current" (it was done
    already), or "elsewhere" (another run on the same results folder did it while this one
    waited for the job's lock)."""
    if threads:
        import torch
        from threadpoolctl import threadpool_limits

        torch.set_num_threads(threads)
        threadpool_limits(threads)  # numpy's BLAS too (the floor's ridge): the same numbers on every engine
    job_ctx = ctx.with_settings(job.settings) if job.kind == "cnn" else ctx

    def done() -> bool:
        if job.kind == "run":
            return not ctx.force and status(ctx, get(job.name), job.seed, job.cnn_seed) == "current"
        return cnn_run(job_ctx, job.name, job.pretrain, job.cnn_seed, job.landmarks).current()

    before = job.kind == "cnn" and done()  # a run job is planned only when it is not current
    with _lock(ctx, job):
        after = done()
        if job.kind == "run":
            run_seed(ctx, job.name, job.seed, job.cnn_seed)
        else:
            ctx = job_ctx
            cnn = pretrained_cnn(ctx, job.name, job.pretrain, job.cnn_seed, job.landmarks)
            distributed.barrier()  # under torchrun: rank 0 has written the CNN the others read next
            if any(ctx.running(e)[1].profile.train.strategy == "frozen" for e in users):
                # cache once, before the heads that read it run side by side
                state = cnn.state()
                names = features_needed([e.model for e in users], ctx.profile)
                cache(ctx, cnn, "omg", ["train", "validation", "test"], names, state)
                if job.pretrain and any(not e.is_frame_cnn and not e.members for e in users):
                    cache(ctx, cnn, job.pretrain, ["train", "validation"], names, state)
    distributed.barrier()  # every process starts the next job after rank 0 wrote this one's results
    return "current" if before else "elsewhere" if after else "trained"


@contextmanager
def _lock(ctx: Context, job: Job) -> Iterator[None]:
    """Held while ``job`` runs, so that runs sharing a results folder (two `omg run` at once, on
    one machine or on a cluster's shared disk) do each job once: the second waits, then finds
    it done. Not under torchrun: its ranks decide together, and one waiting alone would leave
    the others in a collective."""
    if distributed.active():
        yield
        return
    from filelock import FileLock

    path = ctx.folder / "locks" / f"{slug(job.label, (repr(job),))}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(path):
        yield


def run(ctx: Context, names: list[str]) -> dict[str, Summary]:
    """Train (or re-use) every seed of the experiments ``names`` and their members; returns
    each experiment's summary over its seeds, by the name this profile runs it under
    (`Context.experiment`) and by the name asked."""
    from tqdm import tqdm

    chosen = with_members([ctx.experiment(n) for n in names])
    graph = plan(ctx, chosen)
    if not ctx.force:  # current runs are only read; their CNNs need not be touched
        current = {j for j in graph if j.kind == "run" and status(ctx, get(j.name), j.seed, j.cnn_seed) == "current"}
        needed = {n for j in graph if j.kind == "run" and j not in current for n in graph[j] if n.kind == "cnn"}
        graph = {j: needs - current for j, needs in graph.items()
                 if j not in current and (j.kind == "run" or j in needed)}
    users = {job: _cnn_users(ctx, graph, job) for job in graph if job.kind == "cnn"}
    distributed.barrier()  # under torchrun: every process planned from the same files before rank 0 writes any
    done: set[Job] = set()
    elsewhere: list[Job] = []  # done meanwhile by another run on this results folder
    where = f"{ctx.workers} processes" if ctx.engine.kind == "local" else ctx.engine.where
    bar = tqdm(total=len(graph), desc=f"experiments ({where})", unit="job", disable=not ctx.progress)

    def finish(job: Job, outcome: str | None, state: str = "") -> None:
        """``outcome``: `work`'s; None: failed (the dask engine reports it)."""
        done.add(job)
        if outcome == "elsewhere":
            elsewhere.append(job)
        bar.update()
        bar.set_postfix_str(state or job.label)

    try:
        if graph and ctx.engine.kind == "dask":
            engine.run(replace(ctx, progress=False), graph, users, work, finish)
        elif ctx.workers <= 1 or len(graph) <= 1:
            while len(done) < len(graph):
                job = next(j for j in graph if j not in done and graph[j] <= done)
                finish(job, work(ctx, job, users.get(job, []), None))
        else:
            _run_parallel(replace(ctx, progress=False), graph, users, finish, done)
    finally:
        bar.close()
    if elsewhere:
        log.warning("%d of %d jobs were done meanwhile by another run on %s: %s", len(elsewhere), len(graph),
                    ctx.folder, "; ".join(j.label for j in elsewhere))
    summaries = {exp.name: summary(ctx, exp) for exp in chosen}
    return summaries | {n: summaries[ctx.experiment(n).name] for n in names}  # by the asked spelling too


def _run_parallel(ctx: Context, graph: dict[Job, set[Job]], users: dict, finish, done: set[Job]) -> None:
    """Submit each job once its inputs are done, ``ctx.workers`` at a time; on an error or an
    interrupt the workers are terminated at once (a running training resumes next time)."""
    finished: Queue = Queue()
    submitted: set[Job] = set()
    with process_pool(ctx.workers) as pool:
        while len(done) < len(graph):
            for job in [j for j in graph if j not in submitted and graph[j] <= done]:
                submitted.add(job)
                pool.apply_async(work, (ctx, job, users.get(job, []), 1),
                                 callback=lambda outcome, j=job: finished.put((j, outcome, None)),
                                 error_callback=lambda e, j=job: finished.put((j, None, e)))
            if len(submitted) == len(done):
                raise OmgError(f"cannot schedule {[j.label for j in graph if j not in done]}: their inputs never run")
            job, outcome, error = finished.get()
            if error is not None:
                raise error
            finish(job, outcome)


def summary(ctx: Context, exp: Experiment) -> Summary:
    """Summarise the stored runs of ``exp`` (all of its seeds must have run)."""
    def read(runs: list[tuple[int, int]]) -> tuple[list[Path], list[SeedResult]]:
        folders = [run_folder(ctx, exp, seed, cnn_seed) for seed, cnn_seed in runs]
        results = [SeedResult.read(f) for f in folders]
        for f, r in zip(folders, results):
            if r is None:
                raise OmgError(f"{f}: no result; run the experiment first (`omg run '{exp.name}'`)")
        return folders, results

    folders, results = read(seed_runs(ctx, exp))
    own = read(cnn_seed_runs(ctx, exp))[1]
    return summarise(ctx, exp, results, folders, own or None)
