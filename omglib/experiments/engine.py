"""Where `schedule.plan`'s jobs run: this machine's process pool, or a Dask cluster.

``Engine("local")`` is `schedule`'s own pool (one process per core, or one job at a time on a
GPU). ``Engine("dask")`` hands the same graph to Dask distributed: each job is one task whose
inputs are the futures of the jobs it needs, so the scheduler orders the graph, spreads it over
every worker of the cluster, and re-runs a task whose worker died (up to Dask's
``distributed.scheduler.allowed-failures``) on another worker, where it resumes from its last
epoch checkpoint. A task that fails for a reason of its own (bad data) fails the tasks that
need it with that reason and the others carry on; the run then reports which jobs failed and
why. The cluster is a running scheduler (``scheduler="tcp://HOST:PORT"``), a cluster spec
(``cluster="slurm.yaml"``, `ClusterSpec`: workers started through Slurm, PBS, SGE or LSF's
own queue by dask-jobqueue), or, with neither, a local cluster on this machine. ARCHITECTURE.md
says why Dask and not Ray.
"""

from __future__ import annotations

import hashlib
import logging
import sys
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Callable, Iterator, Literal

from omglib.errors import OmgError

log = logging.getLogger(__name__)

ENGINES = ("local", "dask")
QUEUES = ("slurm", "pbs", "sge", "lsf")


@dataclass(frozen=True)
class Engine:
    """Which engine runs the experiment graph, and on which cluster (`omg run --engine`)."""

    kind: Literal["local", "dask"] = "local"
    scheduler: str = ""  # a running Dask scheduler's address (tcp://HOST:PORT); "": start a cluster
    cluster: str = ""  # a cluster spec (YAML, `ClusterSpec`); "" and no scheduler: a local cluster
    device: str = "auto"  # the device each worker resolves for itself ("auto": its own GPU when it has one)

    def __post_init__(self) -> None:
        if self.kind not in ENGINES:
            raise OmgError(f"engine {self.kind!r}: one of {', '.join(ENGINES)}")
        if self.kind == "local" and (self.scheduler or self.cluster):
            raise OmgError("--scheduler and --cluster are the dask engine's: add --engine dask")
        if self.scheduler and self.cluster:
            raise OmgError("give a running scheduler (--scheduler) or a cluster spec to start (--cluster), not both")
        if self.cluster:
            ClusterSpec.read(self.cluster)  # a wrong spec is refused before any work

    @property
    def where(self) -> str:
        return self.scheduler or self.cluster or ("a local Dask cluster" if self.kind == "dask" else "this machine")


@dataclass(frozen=True)
class ClusterSpec:
    """A batch cluster whose queue starts the Dask workers (dask-jobqueue). Each batch job has
    its cores, memory and GPUs and runs ``processes`` jobs at once, each in a worker process of
    its own with one thread (a job's random state is its process's, so the numbers are the
    local engine's). On GPUs, each process may take one training that needs a GPU: set
    ``processes`` to the trainings the job's GPUs hold. Written as YAML::

        queue: slurm          # slurm | pbs | sge | lsf
        jobs: 4               # batch jobs
        cores: 8              # per batch job
        processes: 4          # jobs a batch job runs at once (default: cores)
        memory: 64GB
        gpus: 1               # per batch job
        walltime: "24:00:00"  # a string (unquoted, YAML reads 24:00:00 as a number of seconds)
        partition: gpu        # the queue / partition to submit to
        account: myproject    # Slurm and PBS: the account; SGE and LSF: the project
        prologue: ["source ~/omglib/.venv/bin/activate"]   # shell lines before the workers start
        directives: ["--constraint=a100"]                  # further directives (PBS, SGE: the site's GPU request)
        python: ~/omglib/.venv/bin/python                  # the workers' Python (default: this one)
    """

    queue: Literal["slurm", "pbs", "sge", "lsf"]
    jobs: int = 1
    cores: int = 1
    processes: int = 0  # 0: one per core
    memory: str = "16GB"
    gpus: int = 0
    walltime: str = "24:00:00"
    partition: str = ""
    account: str = ""
    prologue: tuple[str, ...] = ()
    directives: tuple[str, ...] = ()
    python: str = ""

    @classmethod
    def read(cls, path: str | Path) -> ClusterSpec:
        import yaml

        path = Path(path)
        if not path.is_file():
            raise OmgError(f"{path}: no such cluster spec; write one as in `omglib.experiments.engine.ClusterSpec` "
                           "(README: 'On a cluster')")
        given = yaml.safe_load(path.read_text()) or {}
        valid = {f.name: f for f in fields(cls)}
        if not isinstance(given, dict) or set(given) - set(valid):
            unknown = ", ".join(sorted(set(given) - set(valid))) if isinstance(given, dict) else "not a mapping"
            raise OmgError(f"{path}: {unknown}: a cluster spec has the keys {', '.join(valid)}")
        if given.get("queue") not in QUEUES:
            raise OmgError(f"{path}: queue {given.get('queue')!r}: one of {', '.join(QUEUES)}")
        for key, number in (("jobs", 1), ("cores", 1), ("processes", 0), ("gpus", 0)):
            if not isinstance(given.get(key, number), int) or given.get(key, number) < number:
                raise OmgError(f"{path}: {key} takes a whole number of at least {number}")
        for key in ("memory", "walltime", "partition", "account", "python"):
            if not isinstance(given.get(key, ""), str):
                raise OmgError(f"{path}: {key} takes a string (quote it: walltime: \"24:00:00\")")
        for key in ("prologue", "directives"):
            if not isinstance(given.get(key, []), list):
                raise OmgError(f"{path}: {key} takes a list of lines, e.g. {key}: [\"...\"]")
        spec = cls(**given | {k: tuple(map(str, given.get(k, []))) for k in ("prologue", "directives")})
        if spec.gpus and spec.queue in ("pbs", "sge") and not spec.directives:
            raise OmgError(f"{path}: gpus on {spec.queue}: add your site's GPU request to directives "
                           "(e.g. PBS: [\"-l ngpus=1\"], SGE: [\"-l gpu=1\"])")
        return spec

    def start(self):
        """The dask-jobqueue cluster of this spec (its scheduler runs here), scaled to ``jobs``."""
        import dask_jobqueue

        kind = {"slurm": dask_jobqueue.SLURMCluster, "pbs": dask_jobqueue.PBSCluster,
                "sge": dask_jobqueue.SGECluster, "lsf": dask_jobqueue.LSFCluster}[self.queue]
        directives = list(self.directives)
        if self.gpus:
            directives[:0] = {"slurm": [f"--gres=gpu:{self.gpus}"], "lsf": [f'-gpu "num={self.gpus}"']}.get(self.queue, [])
        processes = self.processes or self.cores
        owner = {"account" if self.queue in ("slurm", "pbs") else "project": self.account} if self.account else {}
        cpus = {"slurm": {"job_cpu": self.cores}, "lsf": {"ncpus": self.cores},  # the batch job's request
                "pbs": {"resource_spec": f"select=1:ncpus={self.cores}:mem={self.memory}"}}.get(self.queue, {})
        cluster = kind(cores=processes, processes=processes, memory=self.memory, **cpus,
                       walltime=self.walltime, queue=self.partition or None, job_extra_directives=directives,
                       job_script_prologue=list(self.prologue),
                       worker_extra_args=["--resources", "GPU=1"] if self.gpus else [],
                       **owner, **({"python": self.python} if self.python else {}))
        cluster.scale(jobs=self.jobs)
        return cluster


@contextmanager
def client(engine: Engine, spec: ClusterSpec | None, workers: int) -> Iterator:
    """A Dask client of ``engine``'s cluster (``spec``: its cluster spec, read); a local one has
    ``workers`` processes of one thread."""
    from distributed import Client, LocalCluster

    if engine.scheduler:
        with Client(engine.scheduler) as connected:
            yield connected
        return
    cluster = spec.start() if spec else \
        LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0")
    with cluster, Client(cluster) as connected:
        yield connected


def _task(work: Callable, ctx, job, users: list, inputs: list) -> bool:
    """``work`` (`schedule.work`) for one job on a Dask worker, after ``inputs`` (the results of
    the jobs it needs) are done, on the worker's own device, one thread."""
    from omglib.distributed import resolve_device

    return work(replace(ctx, device=resolve_device(ctx.engine.device)), job, users, 1)


def _have_gpus(engine: Engine, spec: ClusterSpec | None, dask) -> bool:
    """Whether the workers declare GPUs: a spec's say so before its batch jobs start; a running
    scheduler's first worker is asked."""
    if spec:
        return spec.gpus > 0
    if engine.scheduler:
        dask.wait_for_workers(1)
    return any("GPU" in w.get("resources", {}) for w in dask.scheduler_info()["workers"].values())


def _resources(ctx, job, gpus: bool) -> dict[str, float]:
    """What a job asks of a worker when the workers declare GPUs: a CNN or an end-to-end
    training one GPU, so it runs only where there is one; a head on cached features, a fusion
    or the floor nothing, so it runs on any worker, beside them."""
    if not gpus:
        return {}
    if job.kind == "cnn":
        return {"GPU": 1}
    exp, own = ctx.running(job.name)
    return {"GPU": 1} if exp.trained and own.profile.train.strategy == "end-to-end" else {}


def run(ctx, graph: dict, users: dict, work: Callable, finish: Callable) -> None:
    """``work(ctx, job, users, threads)`` for every job of ``graph`` (job -> the jobs it needs, the
    `schedule.plan` of a `Context` ``ctx``) on ``ctx.engine``'s cluster; ``finish(job, trained,
    state)`` as each ends (``state``: how many run, wait and failed). Raises one `OmgError`
    naming every job that failed, and why, once the rest have finished."""
    from distributed import as_completed

    ctx = replace(ctx, frames=ctx.frames.resolve(), results=ctx.results.resolve())  # workers start elsewhere
    spec = ClusterSpec.read(ctx.engine.cluster) if ctx.engine.cluster else None
    with client(ctx.engine, spec, ctx.workers) as dask:
        if dask.dashboard_link:
            sys.stderr.write(f"Dask dashboard: {dask.dashboard_link}\n")
        gpus = _have_gpus(ctx.engine, spec, dask)
        futures, jobs = {}, {}
        for job in graph:  # `plan` lists each job after the jobs it needs
            key = f"{job.label} {hashlib.sha1(repr((job, str(ctx.folder))).encode()).hexdigest()[:12]}"  # one task per job
            inputs = [futures[n] for n in graph[job]]
            futures[job] = dask.submit(_task, work, ctx, job, users.get(job, []), inputs, key=key, pure=False,
                                       resources=_resources(ctx, job, gpus) or None)
            jobs[key] = job
        failed: dict = {}
        for ended, future in enumerate(as_completed(list(futures.values())), 1):
            job = jobs[future.key]
            if future.status == "error":
                failed[job] = future.exception()
            elif future.status != "finished":  # cancelled, or lost with every worker that held it
                failed[job] = RuntimeError(f"the scheduler {future.status} it (workers lost too often?)")
            running = sum(map(len, dask.processing().values()))
            finish(job, None if job in failed else future.result(),
                   f"{running} running, {len(graph) - ended - running} queued, {len(failed)} failed")
    if failed:
        raise OmgError(_report(graph, failed))


def _report(graph: dict, failed: dict) -> str:
    """Which jobs failed and why: each that failed itself, then those not run because a job
    they need failed."""
    own = [j for j in failed if not graph[j] & set(failed)]
    lines = [f"{len(failed)} of {len(graph)} jobs failed (the others finished; their results are stored):"]
    lines += [f"  {j.label}: {type(failed[j]).__name__}: {failed[j]}" for j in own]
    after = [j.label for j in failed if j not in own]
    if after:
        lines.append(f"  not run, a job they need failed: {'; '.join(after)}")
    return "\n".join(lines)
