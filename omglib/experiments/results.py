"""The results store: where each experiment's results live, and typed records of them.

    <results>/<profile>/<slug>/seed-<k>/      one training seed (with the shared CNN)
        metrics.json        a `SeedResult` (written last, with the fingerprint of its inputs)
        predictions.csv     official submission format (post-processed test)
        utterances_<split>.csv, frames_<split>.npz, history.csv, postprocessing_sweep.csv, model.pt
    <results>/<profile>/<slug>/seed-<k>-cnn-<k>/   frame CNNs only: the CNN pre-trained with seed k too
    <results>/<profile>/<slug>/summary.json   a `Summary` over the seeds
    <results>/<profile>/cnn/<cnn>-<data>/seed-<k>/   a CNN pre-trained frame by frame (shared)

`SeedResult` and `Summary` are the only readers and writers of metrics.json and summary.json,
so the CLI, the reporting and the notebooks read attributes, not nested string keys.
"""

from __future__ import annotations

import functools
import hashlib
import json
import platform
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from omglib.config import Profile, override
from omglib.data.omg import SUBMISSION_COLUMNS, write_omg_csv
from omglib.data.store import FrameStore
from omglib.distributed import resolve_device
from omglib.errors import OmgError
from omglib.experiments.catalogue import Experiment, as_run, get
from omglib.experiments.engine import Engine
from omglib.io import atomic_path, from_json, write_json
from omglib.metrics import (DIMENSIONS, ccc, interval, mse, omg_ccc, omg_ccc_per_video, pcc, quadrant_mse,
                            resampled_ccc)
from omglib.models.weights import StartingWeights
from omglib.postprocess import PostProcessing
from omglib.probe import ProbeFit
from omglib.provenance import code_digest

DATASET_HINTS = {"omg": "the OMG-Emotion videos", "affwild2": "Aff-Wild2", "affwild": "Aff-Wild"}


@dataclass
class Context:
    """Where and how experiments run: the profile, the FrameStores, the results root, the
    device and the training seeds. `with_settings` gives one experiment's context: the profile
    with the experiment's own settings (`Experiment.overrides`), its results still under the
    profile's folder."""

    profile: Profile
    frames: Path  # FrameStore root: omg/, affwild2/, affwild/ (as `omg preprocess` writes it)
    results: Path  # results root; this profile's results go to results/<profile>/
    device: torch.device
    seeds: tuple[int, ...]
    progress: bool = True
    force: bool = False
    workers: int = 1  # processes for independent trainings (`omglib.experiments.schedule`)
    engine: Engine = Engine()  # where the trainings run: this machine's processes or a Dask cluster
    base: Profile | None = None  # the profile naming the results folder, when ``profile`` has an experiment's settings
    settings: tuple[str, ...] = ()  # those settings ("train.seq_len=40")
    _once: dict = field(default_factory=dict, init=False, repr=False, compare=False)  # facts read once (`once`); a replace() starts afresh

    @classmethod
    def create(cls, profile: Profile, frames: str | Path, results: str | Path = "results", device: str = "auto",
               seeds: tuple[int, ...] | None = None, progress: bool = True, force: bool = False,
               workers: int | None = None, engine: Engine = Engine()) -> Context:
        chosen = resolve_device(device)
        if workers is None:  # one process per core on CPU; a GPU trains one network at a time
            import os

            workers = 1 if chosen.type == "cuda" else (os.cpu_count() or 1)
        return cls(profile, Path(frames), Path(results), chosen, tuple(seeds or profile.seeds), progress, force, workers,
                   replace(engine, device=device))  # a cluster's workers resolve the device asked for themselves

    @property
    def folder(self) -> Path:
        return self.results / (self.base or self.profile).label()  # an overridden profile's results never mix with its own

    def with_settings(self, settings: tuple[str, ...]) -> Context:
        """This context with ``settings`` on the profile (`omglib.config.override`), the results
        folder and the facts read once (keyed by all that names them) shared."""
        if settings == self.settings:
            return self
        base = self.base or self.profile
        ctx = replace(self, profile=override(base, settings) if settings else base, base=base if settings else None,
                      settings=settings)
        ctx._once = self._once
        return ctx

    def experiment(self, name: str | Experiment) -> Experiment:
        """The experiment ``name`` as this context's profile runs it (`catalogue.as_run`): the
        one name, folder and fingerprint of its runs, however a reader spelled it."""
        return as_run(get(name) if isinstance(name, str) else name, self.base or self.profile)

    def running(self, name: str | Experiment) -> tuple[Experiment, Context]:
        """`experiment` ``name`` and its own context: its settings on the profile (`with_settings`)."""
        exp = self.experiment(name)
        return exp, self.with_settings(exp.overrides)

    @property
    def cnn_seed(self) -> int:
        """The seed of the shared frame-by-frame CNN pre-training (the profile's data seed)."""
        return self.profile.seed

    def store(self, dataset: str, split: str) -> FrameStore:
        path = self.frames / dataset / split
        if not (path / "meta.json").is_file():
            raise OmgError(f"{path}: no FrameStore. Pre-process {DATASET_HINTS[dataset]} first (`omg preprocess "
                           f"--data-root DIR --out {self.frames}`), or run on the surrogate (`omg synth`), or choose a "
                           "recipe without it")
        return FrameStore.open(path)

    def once(self, key, make):
        """``make()``, computed once per context (store fingerprints, a weights file's digest)."""
        if key not in self._once:
            self._once[key] = make()
        return self._once[key]

    def label_ceiling(self, split: str) -> tuple[float, float] | None:
        """The CCC (V, A) a perfect model scores on ``split`` of the surrogate (its manifest's
        ``label_ceiling_ccc``, found beside the OMG folder the stores were made from); None for
        real data, which has no generator to say it."""
        def read() -> tuple[float, float] | None:
            root = self.store("omg", split).meta.data_root
            manifest = Path(root).parent / "manifest.json" if root else None
            if manifest is None or not manifest.is_file():
                return None
            ceiling = json.loads(manifest.read_text()).get("label_ceiling_ccc", {}).get(split)
            return (ceiling["valence"], ceiling["arousal"]) if ceiling else None

        return self.once(("label ceiling", self.frames, split), read)

    def store_print(self, dataset: str, split: str) -> dict:
        """The fingerprint of a FrameStore (what a result depends on), read once per context."""
        return self.once(("store", self.frames, dataset, split), lambda: self.store(dataset, split).meta.fingerprint())


# ---------------------------------------------------------------- layout and fingerprints

@dataclass(frozen=True)
class RunFolder:
    """Every file of one run, named once (the layout in this module's docstring): the writers,
    the readers, reporting and `omg predict` ask for ``folder.model``, not for "model.pt". A CNN
    pre-training run (`omglib.experiments.pipeline.CNNRun`) uses the same names."""

    path: Path

    def __fspath__(self) -> str:
        return str(self.path)

    def __str__(self) -> str:
        return str(self.path)

    metrics = property(lambda self: self.path / SeedResult.FILE)  # `SeedResult` (CNN runs: their facts), written last
    model = property(lambda self: self.path / "model.pt")  # `omglib.models.save`, with MODEL_CARD.md beside it
    history = property(lambda self: self.path / "history.csv")  # per epoch (a CNN: its stages one after the other)
    pretrain_history = property(lambda self: self.path / "pretrain_history.csv")  # a head's epochs on the pre-training data
    sweep = property(lambda self: self.path / "postprocessing_sweep.csv")  # `omglib.postprocess.choose`'s grid
    predictions = property(lambda self: self.path / "predictions.csv")  # the official submission format (test)

    def utterances(self, split: str) -> Path:
        return self.path / f"utterances_{split}.csv"  # `UtteranceTable`

    def frames(self, split: str) -> Path:
        return self.path / f"frames_{split}.npz"  # per-frame predictions, mask and group

    def checkpoint(self, stage: str, print_: str) -> Path:
        return self.path / f"{stage}-{print_}.pt"  # a training stage's resume file (`omglib.train.Checkpoint`)

    def checkpoints(self) -> list[Path]:
        return sorted(self.path.glob("*checkpoint*.pt")) if self.path.is_dir() else []


def run_folder(ctx: Context, exp: Experiment, seed: int, cnn_seed: int | None = None) -> RunFolder:
    """The folder of one training run: ``seed-<k>``, or ``seed-<k>-cnn-<j>`` when its CNN was
    pre-trained with a seed other than the shared one."""
    cnn_seed = ctx.cnn_seed if cnn_seed is None else cnn_seed
    name = f"seed-{seed}" if cnn_seed == ctx.cnn_seed else f"seed-{seed}-cnn-{cnn_seed}"
    return RunFolder(ctx.folder / ctx.experiment(exp).slug / name)


def code_version() -> str:
    """Digest of the code a result runs: `omglib.experiments.pipeline` and every omglib module it
    imports (`omglib.provenance.code_digest`)."""
    return code_digest("omglib.experiments.pipeline")


def fingerprint(*parts) -> str:
    return hashlib.sha1(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


@functools.lru_cache(maxsize=1)
def _environment() -> dict:
    """The environment lock's record, read once per process (it scans the installed packages)."""
    from omglib.provenance import environment_lock

    return environment_lock()


@dataclass(frozen=True)
class Provenance:
    """Where and from what a run's numbers came: the commit, the code digest, the machine, the
    locked environment (`omglib.provenance.environment_lock`) and the run's wall time."""

    git_commit: str | None
    code_version: str
    device: str
    hardware: str
    torch: str
    threads: int
    environment: dict
    wall_seconds: float


@dataclass(frozen=True)
class FusionWeights:
    """Eq. 1's weights of a decision fusion: (members, 2) validation CCCs, before and after post-processing."""

    raw: list[list[float]]
    final: list[list[float]]


def provenance(ctx: Context, seconds: float) -> Provenance:
    from omglib.provenance import git_commit

    hardware = torch.cuda.get_device_name(ctx.device) if ctx.device.type == "cuda" else platform.processor() or platform.machine()
    return Provenance(git_commit(), code_version(), str(ctx.device), hardware, torch.__version__, torch.get_num_threads(),
                      _environment(), round(seconds, 1))


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, float_format="%.6g")


# ---------------------------------------------------------------- typed records

@dataclass(frozen=True)
class Scores:
    """Utterance-level scores of one set of estimates against the labels."""

    ccc_valence: float  # the final official evaluation: one CCC over all utterances
    ccc_arousal: float
    ccc_mean: float
    ccc_per_video_valence: float  # the early official evaluation: mean of per-video CCCs
    ccc_per_video_arousal: float
    pcc_valence: float
    pcc_arousal: float
    mse_valence: float
    mse_arousal: float
    ci_valence: tuple[float, float]  # 95%, video-cluster bootstrap
    ci_arousal: tuple[float, float]
    ci_utterance_valence: tuple[float, float]  # 95%, utterance bootstrap (understates: utterances of a video correlate)
    ci_utterance_arousal: tuple[float, float]
    n_videos: int
    n_utterances: int
    quadrant_mse: list[dict] = field(default_factory=list)
    without_frames: int = 0  # utterances with no usable frame (they got the training mean)

    @property
    def scored(self) -> bool:
        return not np.isnan(self.ccc_mean)

    @classmethod
    def unscored(cls, truth: pd.DataFrame, without_frames: int = 0) -> Scores:
        """The record of an unlabelled split (the test set without labels): predicted, never scored."""
        counts = {"n_videos": int(truth["video"].nunique()), "n_utterances": len(truth), "without_frames": without_frames}
        return cls(**{f.name: (np.nan, np.nan) if f.name.startswith("ci_") else np.nan
                      for f in fields(cls) if f.name not in (*counts, "quadrant_mse")}, **counts)

    @classmethod
    def of(cls, truth: pd.DataFrame, estimates: np.ndarray, reps: int = 1000, seed: int = 0,
           without_frames: int = 0) -> Scores:
        """Scores of (G, 2) ``estimates`` against ``truth`` (video, utterance, valence, arousal);
        `unscored` when the truth has no labels."""
        if truth[list(DIMENSIONS)].isna().all().all():
            return cls.unscored(truth, without_frames)
        pred = truth[["video", "utterance"]].assign(valence=estimates[:, 0], arousal=estimates[:, 1])
        final, per_video = omg_ccc(truth, pred), omg_ccc_per_video(truth, pred)
        out: dict = {"ccc_valence": final["valence"], "ccc_arousal": final["arousal"],
                     "ccc_mean": (final["valence"] + final["arousal"]) / 2,
                     "ccc_per_video_valence": per_video["valence"], "ccc_per_video_arousal": per_video["arousal"],
                     "n_videos": int(truth["video"].nunique()), "n_utterances": len(truth),
                     "without_frames": without_frames}
        va = truth[list(DIMENSIONS)].to_numpy(np.float64)
        by_video = resampled_ccc(va, estimates, reps, seed, clusters=truth["video"].to_numpy())
        by_utterance = resampled_ccc(va, estimates, reps, seed)
        for i, d in enumerate(DIMENSIONS):
            t, p = truth[d].to_numpy(), pred[d].to_numpy()
            out[f"pcc_{d}"], out[f"mse_{d}"] = pcc(t, p), mse(t, p)
            out[f"ci_{d}"], out[f"ci_utterance_{d}"] = interval(by_video[:, i]), interval(by_utterance[:, i])
        out["quadrant_mse"] = quadrant_mse(truth[list(DIMENSIONS)].to_numpy(), estimates).reset_index().to_dict(orient="records")
        return cls(**out)

class _Record:
    """A dataclass stored as one JSON file (``FILE``) in a folder; `read` gives None when absent,
    or when the file was written by an older omglib (a field missing: the run is re-made)."""

    FILE = ""

    def write(self, folder: Path) -> None:
        write_json(Path(folder) / self.FILE, asdict(self))

    @classmethod
    def read(cls, folder: Path):
        path = Path(folder) / cls.FILE
        if not path.is_file():
            return None
        try:
            return from_json(cls, json.loads(path.read_text()))
        except (TypeError, AttributeError, ValueError):  # written by an older omglib: a field missing or reshaped
            return None


@dataclass(frozen=True)
class Training:
    """How a network was trained: on its pre-training data's frame labels first (when it is),
    then on OMG, with the batch per process and the processes (torchrun) that stepped it."""

    strategy: str  # "frozen" or "end-to-end"
    batch_size: int
    processes: int
    lr: float  # not scaled with the processes
    precision: str
    cnn: str  # the CNN run it started from, under the profile's results folder
    epochs_run: int
    best_epoch: int
    train_seconds: float
    train_frames_per_second: float
    pretrain_best_epoch: int | None = None
    pretrain_val_frame_ccc_mean: float | None = None
    resumed_after: int = 0  # OMG epochs its checkpoint held when the run began again (a killed run resumed)

    @property
    def effective_batch_size(self) -> int:
        return self.batch_size * self.processes


@dataclass(frozen=True)
class CNNResult(_Record):
    """A CNN pre-trained frame by frame (`omglib.experiments.pipeline.CNNRun`): metrics.json.
    ``adapted_*`` are set when it was then adapted to OMG's faces before being frozen."""

    FILE = "metrics.json"

    cnn: str
    data: str
    seed: int
    fingerprint: str
    start: StartingWeights
    batch_size: int
    processes: int
    lr: float
    best_epoch: int
    val_frame_ccc_mean: float
    train_frames_per_second: float
    provenance: Provenance
    adapted_best_epoch: int | None = None
    adapted_val_frame_ccc_mean: float | None = None


@dataclass(frozen=True)
class SeedResult(_Record):
    """One trained (or fused) run of an experiment: metrics.json."""

    FILE = "metrics.json"

    experiment: str
    model: str
    recipe: Experiment
    profile: str
    seed: int
    cnn_seed: int | None  # None for decision fusion (no CNN of its own)
    fingerprint: str
    test: Scores  # post-processed (Sec. 6.3)
    test_raw: Scores
    validation: Scores
    validation_raw: Scores
    training: Training | None  # a trained network (None: the linear probe, decision fusion)
    probe: ProbeFit | None  # the linear probe only: its penalty, chosen on validation
    postprocessing: PostProcessing | None  # chosen on validation (None: decision fusion fuses its members' estimates)
    fusion_weights: FusionWeights | None  # decision fusion only
    provenance: Provenance
    config: Profile

    @property
    def scored_split(self) -> str:
        """The split its tables report: test, or validation where the test split has no labels
        (validation also chose the model and post-processing, so it reads optimistic)."""
        return "test" if self.test.scored else "validation"

    @property
    def reported(self) -> Scores:
        return self.test if self.test.scored else self.validation

    @property
    def reported_raw(self) -> Scores:
        return self.test_raw if self.test.scored else self.validation_raw


def seed_runs(ctx: Context, exp: Experiment) -> list[tuple[int, int]]:
    """(seed, CNN seed) of the runs an experiment's numbers average: each training seed, with
    the shared CNN pre-training (or its own, when the profile does not share it). The linear
    probe has no seed (closed form): one run. No experiment setting changes them (seeds and
    ``share_cnn`` are the run's, not a recipe's: `catalogue.SETTING_SECTIONS`)."""
    if exp.is_probe:
        return [(ctx.seeds[0], ctx.cnn_seed)]
    return [(s, ctx.cnn_seed if ctx.profile.train.share_cnn else s) for s in ctx.seeds]


def cnn_seed_runs(ctx: Context, exp: Experiment) -> list[tuple[int, int]]:
    """For a frame CNN whose pre-training the seeds share: each seed with its CNN pre-trained
    with that seed too, to measure the spread the sharing hides (empty otherwise)."""
    return [(s, s) for s in ctx.seeds] if exp.is_frame_cnn and ctx.profile.train.share_cnn else []


def runs_of(ctx: Context, exp: Experiment) -> list[tuple[int, int]]:
    """Every (seed, CNN seed) run of ``exp``, each once."""
    return list(dict.fromkeys(seed_runs(ctx, exp) + cnn_seed_runs(ctx, exp)))


class UtteranceTable:
    """The columns of a run's utterances_<split>.csv, named once: the labels, the estimates
    before post-processing and after it (the post-processed test estimates are also
    predictions.csv, in the official format)."""

    KEYS = ["video", "utterance"]
    TRUE = [f"{d}_true" for d in DIMENSIONS]  # NaN where the split has no labels
    RAW = [f"{d}_raw" for d in DIMENSIONS]
    FINAL = list(DIMENSIONS)

    @classmethod
    def write(cls, folder: RunFolder, split: str, groups: pd.DataFrame, raw: np.ndarray, final: np.ndarray) -> None:
        """``groups`` (video, utterance, valence, arousal: `omglib.data.sequences.Sequences.groups`)
        with the (G, 2) estimates ``raw`` and ``final``."""
        table = groups[cls.KEYS + list(DIMENSIONS)].set_axis(cls.KEYS + cls.TRUE, axis=1)
        table = table.assign(**dict(zip(cls.RAW, raw.T)), **dict(zip(cls.FINAL, final.T)))
        write_csv(table, folder.utterances(split))
        if split == "test":
            write_omg_csv(table, folder.predictions, columns=SUBMISSION_COLUMNS)

    @classmethod
    def read(cls, folder: RunFolder, split: str = "test") -> pd.DataFrame:
        return pd.read_csv(folder.utterances(split), dtype={"video": str, "utterance": str}, keep_default_na=False,
                           na_values={c: [""] for c in cls.TRUE})  # an unlabelled split's empty labels: NaN

    @classmethod
    def truth(cls, table: pd.DataFrame) -> pd.DataFrame:
        """video, utterance, valence, arousal: the labels as `Scores.of` takes them."""
        return table[cls.KEYS + cls.TRUE].set_axis(cls.KEYS + list(DIMENSIONS), axis=1)

    @classmethod
    def estimates(cls, table: pd.DataFrame, raw: bool = False) -> np.ndarray:
        """(G, 2) estimates, post-processed or (``raw``) not."""
        return table[cls.RAW if raw else cls.FINAL].to_numpy(np.float64)


# ---------------------------------------------------------------- over seeds

@dataclass(frozen=True)
class Summary(_Record):
    """An experiment over its training seeds: summary.json.

    Means and standard deviations are over seeds; intervals are 95% video-cluster bootstraps
    of the mean over seeds (each resample draws test videos, scores every seed's predictions
    with the official pooled CCC and averages them).
    """

    experiment: str
    profile: str
    seeds: list[int]
    ccc_valence: float
    ccc_arousal: float
    ccc_mean: float
    sd_valence: float
    sd_arousal: float
    sd_mean: float
    ci_valence: tuple[float, float]
    ci_arousal: tuple[float, float]
    ci_mean: tuple[float, float]
    ci_utterance_valence: tuple[float, float]
    ci_utterance_arousal: tuple[float, float]
    raw_ccc_valence: float  # without post-processing, mean over seeds
    raw_ccc_arousal: float
    raw_ccc_mean: float
    val_ccc_mean: float  # validation, post-processed, mean over seeds (for choosing, never test)
    per_seed: list[dict]  # seed, cnn_seed, ccc_valence, ccc_arousal, ccc_mean, wall_seconds
    n_test_videos: int  # of the scored split
    n_test_utterances: int
    cnn_seeds: dict | None = None  # frame CNNs: the same over seeds whose CNN pre-training used that seed too
    wall_seconds: float = 0.0
    split: str = "test"  # what the means and intervals score: `SeedResult.scored_split`

    FILE = "summary.json"


def _spread(results: list[SeedResult]) -> dict:
    values = np.array([[r.reported.ccc_valence, r.reported.ccc_arousal, r.reported.ccc_mean] for r in results])
    sd = values.std(0, ddof=1) if len(values) > 1 else np.zeros(3)
    return {"seeds": [r.seed for r in results], "ccc_valence": float(values[:, 0].mean()),
            "ccc_arousal": float(values[:, 1].mean()), "ccc_mean": float(values[:, 2].mean()),
            "sd_valence": float(sd[0]), "sd_arousal": float(sd[1]), "sd_mean": float(sd[2])}


def scored_split(folder: RunFolder) -> str:
    """"test", or "validation" when the run's test split has no labels (`SeedResult.scored_split`)."""
    return "validation" if UtteranceTable.truth(UtteranceTable.read(folder))["valence"].isna().all() else "test"


def seed_predictions(folders: list[RunFolder], raw: bool = False,
                     split: str | None = None) -> tuple[pd.DataFrame, np.ndarray]:
    """The truth (video, utterance, valence, arousal) and the (S, G, 2) estimates of each run in
    ``folders`` on ``split`` (default: the scored split); ``raw``: before post-processing."""
    split = split or scored_split(folders[0])
    tables = [UtteranceTable.read(f, split) for f in folders]
    truth = UtteranceTable.truth(tables[0])
    for folder, t in zip(folders, tables):
        if not t[["video", "utterance"]].equals(tables[0][["video", "utterance"]]):
            raise OmgError(f"{folder}: its {split} utterances differ from {folders[0]}'s; re-run both (`omg run --force`)")
    return truth, np.stack([UtteranceTable.estimates(t, raw) for t in tables])


def summarise(ctx: Context, exp: Experiment, results: list[SeedResult], folders: list[Path],
              own_cnn: list[SeedResult] | None = None) -> Summary:
    """Aggregate the seed runs of ``exp`` and write its summary.json."""
    reps = ctx.profile.train.bootstrap
    split = results[0].scored_split
    truth, final = seed_predictions(folders, split=split)
    va = truth[list(DIMENSIONS)].to_numpy(np.float64)
    by_video = resampled_ccc(va, final, reps, ctx.cnn_seed, clusters=truth["video"].to_numpy())
    by_utterance = resampled_ccc(va, final, reps, ctx.cnn_seed)
    ci = {"ci_mean": interval(by_video.mean(1))}
    for d, dim in enumerate(DIMENSIONS):
        ci[f"ci_{dim}"], ci[f"ci_utterance_{dim}"] = interval(by_video[:, d]), interval(by_utterance[:, d])
    spread = _spread(results)
    summary = Summary(
        experiment=exp.name, profile=ctx.profile.name, seeds=spread["seeds"],
        **{k: spread[k] for k in ("ccc_valence", "ccc_arousal", "ccc_mean", "sd_valence", "sd_arousal", "sd_mean")}, **ci,
        raw_ccc_valence=float(np.mean([r.reported_raw.ccc_valence for r in results])),
        raw_ccc_arousal=float(np.mean([r.reported_raw.ccc_arousal for r in results])),
        raw_ccc_mean=float(np.mean([r.reported_raw.ccc_mean for r in results])),
        val_ccc_mean=float(np.mean([r.validation.ccc_mean for r in results])),
        per_seed=[{"seed": r.seed, "cnn_seed": r.cnn_seed, "ccc_valence": r.reported.ccc_valence,
                   "ccc_arousal": r.reported.ccc_arousal, "ccc_mean": r.reported.ccc_mean,
                   "wall_seconds": r.provenance.wall_seconds} for r in results],
        n_test_videos=int(truth["video"].nunique()), n_test_utterances=len(truth),
        cnn_seeds=_spread(own_cnn) if own_cnn else None,
        wall_seconds=float(sum(r.provenance.wall_seconds for r in results + (own_cnn or []))), split=split)
    summary.write(ctx.folder / exp.slug)
    return summary


def load_summary(ctx: Context, name: str) -> Summary | None:
    """The stored summary of experiment ``name`` at this profile, or None."""
    return Summary.read(ctx.folder / ctx.experiment(name).slug)


def trained_runs(results: str | Path, exp: Experiment, profile: str | None = None) -> list[RunFolder]:
    """The run folders of ``exp`` that hold a model under the results root ``results``, in the
    folder of ``profile`` (a `Profile.label`) or of every profile; the shared CNN's seeds first,
    lowest seed first. Each folder's profile names the run as it ran it (`catalogue.as_run`)."""
    from omglib.config import PROFILE_NAMES, get_profile

    def as_ran(folder: Path) -> Experiment:  # a "+hash" folder's overrides are its runs': the named profile's reading
        name = folder.name.partition("+")[0]
        return as_run(exp, get_profile(name)) if name in PROFILE_NAMES else exp

    root = Path(results)
    profiles = [root / profile] if profile else sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    runs = [RunFolder(p) for folder in profiles for p in (folder / as_ran(folder).slug).glob("seed-*")
            if RunFolder(p).model.is_file()]
    return sorted(runs, key=lambda r: ("-cnn-" in r.path.name, r.path.parent.parent.name, int(r.path.name.split("-")[1])))


def seed_folder(ctx: Context, name: str, seed: int | None = None) -> RunFolder:
    """The folder of ``name``'s run with ``seed`` (default: the context's first seed), shared CNN."""
    return run_folder(ctx, get(name), ctx.seeds[0] if seed is None else seed)


def load(ctx: Context, name: str, seed: int | None = None) -> SeedResult | None:
    """The stored result of ``name`` for ``seed`` (default: the first of the context's seeds)."""
    return SeedResult.read(seed_folder(ctx, name, seed))


def scores_of(truth: pd.DataFrame, estimates: np.ndarray, ctx: Context, seed: int, without_frames: int = 0) -> Scores:
    return Scores.of(truth, estimates, ctx.profile.train.bootstrap, seed, without_frames)


def ccc_pair(truth: np.ndarray, estimates: np.ndarray) -> tuple[float, float]:
    """(valence, arousal) CCC of (G, 2) estimates."""
    return tuple(ccc(truth[:, d], estimates[:, d]) for d in range(2))
