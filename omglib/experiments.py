"""Every row of Tables 3-6 as a named experiment, and the results store they write.

An experiment is a network of the registry plus a recipe: which data its CNN was pre-trained
on (Aff-Wild2 by default, as in Table 3; Aff-Wild; or none, "from scratch") and whether the
landmarks are an input (Table 6). Fusion rows name the experiments they fuse.

How an experiment is trained (Sec. 6):
1. its CNN (VGG-Face, ResNet-50 or DenseNet-121, as in Fig. 4 with landmarks) is trained
   frame by frame on the pre-training data, or on OMG itself "from scratch". This run is
   shared by every experiment that needs the same CNN (`pretrained_cnn`);
2. the network is built and its CNN (trunk and the FC where the landmarks join) starts from
   that run; without landmarks (Table 6) the FC keeps its other inputs' weights. Model-level
   fusion's two branches start from the trained CNN-1RNN and CNN-3RNN;
3. it is trained on OMG train with the CCC loss and selected on OMG validation CCC, either
   end to end or above the frozen CNN (``TrainConfig.strategy``);
4. per-frame predictions on validation and test become utterance estimates; post-processing
   is chosen on validation and applied to test (`omglib.postprocess`).

Results: ``<results>/<profile>/<slug>/`` holds metrics.json (written last, with the
fingerprint of everything that produced it), predictions.csv (official submission format,
post-processed test), utterances_<split>.csv (truth, raw and post-processed estimates),
frames_<split>.npz (per-frame predictions), history.csv and model.pt. A re-run re-uses a
result whose fingerprint matches; a changed profile, recipe, seed, data or code is stale.
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
import re
import subprocess
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from omglib.config import Profile
from omglib.data.omg import SUBMISSION_COLUMNS, write_omg_csv
from omglib.data.sequences import SequenceDataset, Sequences, cut
from omglib.data.store import FrameStore
from omglib.errors import OmgError
from omglib.features import cache_features, precomputed_trunks
from omglib.io import atomic_path, write_json
from omglib.metrics import bootstrap_ccc, ccc, mse, omg_ccc, omg_ccc_per_video, pcc, quadrant_mse
from omglib.models import registry
from omglib.models.networks import LANDMARK_FEATURES, trunks
from omglib.postprocess import DIMENSIONS, PostProcessing, apply, choose, decision_fusion
from omglib.train import fit, predict, resolve_device

log = logging.getLogger(__name__)

DECISION_FUSION = "Decision-Level Fusion"
BEST_1RNN = "CNN-1RNN-2nd-pool_last-pool_fc"
BEST_3RNN = "CNN-3RNN-2nd-pool_last-pool_fc"
FUSION_RNN = "Model-level Fusion + RNN"
PRETRAIN_NAMES = {"affwild2": "Aff-Wild2", "affwild": "Aff-Wild", None: "from scratch"}
CNN_OF_BACKBONE = {"vgg16": "VGG-Face", "resnet50": "ResNet-50", "densenet121": "DenseNet-121"}
# The modules whose code decides a result's numbers (a change makes results stale).
CODE_MODULES = ("config.py", "data/sequences.py", "data/store.py", "features.py", "losses.py", "metrics.py",
                "postprocess.py", "train.py", "experiments.py", "models/backbones.py", "models/networks.py",
                "models/registry.py")


@dataclass(frozen=True)
class Experiment:
    """One row of a table: a registry network and its recipe."""

    model: str
    pretrain: str | None = "affwild2"  # "affwild2", "affwild" or None (CNN trained on OMG only)
    landmarks: bool = True
    members: tuple[str, ...] = ()  # experiments fused (decision level) or whose branches start a model-level fusion

    @property
    def name(self) -> str:
        tags = [] if self.pretrain == "affwild2" else [PRETRAIN_NAMES[self.pretrain]]
        tags += [] if self.landmarks else ["no landmarks"]
        return self.model + (f" ({', '.join(tags)})" if tags else "")

    @property
    def slug(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-")

    @property
    def backbone(self) -> str | None:
        if self.model == DECISION_FUSION:
            return None
        return registry.FRAME_CNNS.get(self.model) or registry.CNN_RNNS.get(self.model) or "vgg16"


def _variant(model: str, pretrain: str | None = "affwild2", landmarks: bool = True) -> Experiment:
    """``model`` under a recipe; fusion rows fuse the CNN-1RNN and CNN-3RNN of the same recipe."""
    members = ()
    if model in (DECISION_FUSION, *registry.FUSIONS):
        members = tuple(Experiment(m, pretrain, landmarks).name for m in (BEST_1RNN, BEST_3RNN))
    return Experiment(model, pretrain, landmarks, members)


TABLES: dict[int, list[Experiment]] = {
    3: [_variant(m) for m in ("VGG-Face", "DenseNet-121", "ResNet-50", "AffWildNet", "DenseNet-RNN", BEST_1RNN,
                              BEST_3RNN, DECISION_FUSION, "Model-level Fusion + FC", FUSION_RNN)],
    4: [_variant(m, p) for m in (BEST_1RNN, BEST_3RNN, FUSION_RNN) for p in (None, "affwild", "affwild2")],
    5: [_variant(f"CNN-3RNN-{'_'.join(taps)}") for taps in registry.TABLE5_TAPS],
    6: [_variant(m, landmarks=lm) for m in (BEST_1RNN, BEST_3RNN, FUSION_RNN) for lm in (False, True)],
}
EXPERIMENTS: dict[str, Experiment] = {e.name: e for rows in TABLES.values() for e in rows}


def get(name: str) -> Experiment:
    """The experiment called ``name`` (its name or its slug)."""
    for e in EXPERIMENTS.values():
        if name in (e.name, e.slug):
            return e
    raise OmgError(f"unknown experiment {name!r}: `omg run --list` shows them (e.g. {BEST_3RNN!r}, "
                   f"'{BEST_3RNN} (Aff-Wild)', '{FUSION_RNN} (no landmarks)')")


def table_order(tables: list[int]) -> list[Experiment]:
    """The experiments of ``tables``, each once, members before the fusions that need them."""
    ordered: dict[str, Experiment] = {}

    def add(e: Experiment) -> None:
        for member in e.members:
            add(get(member))
        ordered.setdefault(e.name, e)

    for t in tables:
        if t not in TABLES:
            raise OmgError(f"no table {t}: experiments fill Tables {', '.join(map(str, TABLES))} (Table 7 is read from Table 3's CNN-3RNN)")
        for e in TABLES[t]:
            add(e)
    return list(ordered.values())


@dataclass
class Context:
    """Where and how experiments run."""

    profile: Profile
    frames: Path  # FrameStore root: omg/, affwild2/, affwild/ (as `omg preprocess` writes it)
    results: Path  # results root; this profile's results go to results/<profile>/
    device: torch.device
    seed: int
    progress: bool = True
    force: bool = False

    @classmethod
    def create(cls, profile: Profile, frames: str | Path, results: str | Path = "results", device: str = "auto",
               seed: int | None = None, progress: bool = True, force: bool = False) -> Context:
        return cls(profile, Path(frames), Path(results), resolve_device(device),
                   profile.seed if seed is None else seed, progress, force)

    @property
    def folder(self) -> Path:
        return self.results / self.profile.name

    def store(self, dataset: str, split: str) -> FrameStore:
        path = self.frames / dataset / split
        if not (path / "meta.json").is_file():
            hint = {"omg": "the OMG-Emotion videos", "affwild2": "Aff-Wild2", "affwild": "Aff-Wild"}[dataset]
            raise OmgError(f"{path}: no FrameStore. Pre-process {hint} first (`omg preprocess --data-root DIR --out "
                           f"{self.frames}`), or run on the surrogate (`omg synth`), or choose a recipe without it")
        return FrameStore.open(path)


def code_version() -> str:
    """Hash of the modules in `CODE_MODULES`."""
    root = Path(__file__).parent
    digest = hashlib.sha1()
    for name in CODE_MODULES:
        digest.update((root / name).read_bytes())
    return digest.hexdigest()[:12]


def _store_fingerprint(store: FrameStore) -> dict:
    return {k: store.meta[k] for k in ("config", "units", "frames", "valid_frames")}


def _fingerprint(*parts) -> str:
    return hashlib.sha1(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _current(folder: Path, fingerprint: str) -> dict | None:
    path = folder / "metrics.json"
    if path.is_file():
        metrics = json.loads(path.read_text())
        if metrics.get("fingerprint") == fingerprint:
            return metrics
    return None


def _provenance(ctx: Context, seconds: float) -> dict:
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True,
                                cwd=Path(__file__).parent).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = None
    hardware = torch.cuda.get_device_name(ctx.device) if ctx.device.type == "cuda" else platform.processor() or platform.machine()
    return {"git_commit": commit, "code_version": code_version(), "seed": ctx.seed, "device": str(ctx.device),
            "hardware": hardware, "torch": torch.__version__, "wall_seconds": round(seconds, 1)}


# ---------------------------------------------------------------- step 1: the CNN, frame by frame

def _frame_ccc(pred: np.ndarray, sequences: Sequences) -> tuple[float, float]:
    """CCC over every labelled frame (per-frame labels: the pre-training data)."""
    mask, truth = sequences.mask, sequences.labels
    return tuple(ccc(truth[..., d][mask], pred[..., d][mask]) for d in range(2))


def pretrained_cnn(ctx: Context, backbone: str, pretrain: str | None) -> tuple[Path, str]:
    """Train (or re-use) the CNN of ``backbone`` frame by frame on the pre-training data;
    returns its weights file and fingerprint."""
    dataset = pretrain or "omg"
    name = CNN_OF_BACKBONE[backbone]
    train_store, val_store = ctx.store(dataset, "train"), ctx.store(dataset, "validation")
    t = ctx.profile.train
    fingerprint = _fingerprint("cnn", name, dataset, ctx.profile.to_dict(), ctx.seed, code_version(),
                               _store_fingerprint(train_store), _store_fingerprint(val_store))
    folder = ctx.folder / "cnn" / f"{name.lower()}-{dataset}"
    weights = folder / "model.pt"
    if _current(folder, fingerprint) and weights.is_file():  # shared: --force retrains experiments, not this
        return weights, fingerprint
    (folder / "checkpoint.pt").unlink(missing_ok=True)
    tic = time.perf_counter()
    torch.manual_seed(ctx.seed)
    model = registry.build(name, ctx.profile)
    train = SequenceDataset(cut(train_store, t.seq_len), augment=t.augment)
    val = SequenceDataset(cut(val_store, t.seq_len))
    result = fit(model, train, lambda m: _frame_ccc(predict(m, val, ctx.device), val.sequences), t.lr_cnn, t.pretrain_epochs, t.patience,
                 t.cnn_batch_size, folder / "checkpoint.pt", ctx.seed, ctx.device, t.loss_weights, resume=True,
                 progress=ctx.progress, desc=f"{name} on {dataset}")
    _save_model(model, weights)
    _write_csv(result.history, folder / "history.csv")
    write_json(folder / "metrics.json", {"cnn": name, "data": dataset, "fingerprint": fingerprint,
                                         "best_epoch": result.best_epoch, "val_frame_ccc_mean": result.best_score,
                                         "train_frames_per_second": result.frames_per_second,
                                         **_provenance(ctx, time.perf_counter() - tic)})
    return weights, fingerprint


def _save_model(model, path: Path) -> None:
    with atomic_path(path) as tmp:
        torch.save({"model": {k: v.cpu() for k, v in model.state_dict().items()}}, tmp)


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, float_format="%.6g")


def _transfer(model, state: dict, prefixes: tuple[str, ...], keep) -> None:
    """Copy the tensors of ``state`` whose key passes ``keep`` into ``model`` under each of
    ``prefixes``. An FC whose landmark inputs the model does not
    have (Table 6) keeps its other columns (landmarks are the last 136 inputs)."""
    own = model.state_dict()
    copied = {}
    for prefix in prefixes:
        for key, value in state.items():
            target = own.get(prefix + key)
            if not keep(key) or target is None:
                continue
            if target.ndim == 2 and target.shape[0] == value.shape[0] and value.shape[1] - target.shape[1] == LANDMARK_FEATURES:
                value = value[:, : target.shape[1]]
            if target.shape != value.shape:
                raise OmgError(f"{prefix + key}: saved shape {tuple(value.shape)} does not fit "
                               f"{tuple(target.shape)}; was it trained at another profile?")
            copied[prefix + key] = value
    model.load_state_dict(copied, strict=False)


# ---------------------------------------------------------------- steps 2-4: one experiment on OMG

@dataclass
class _Split:
    sequences: Sequences
    dataset: SequenceDataset


def _splits(ctx: Context, dataset: str, names: list[str], features: dict | None, augment: bool) -> dict[str, _Split]:
    out = {}
    for split in names:
        seqs = cut(ctx.store(dataset, split), ctx.profile.train.seq_len)
        out[split] = _Split(seqs, SequenceDataset(seqs, features[split] if features else None, augment and split == "train"))
    return out


def _truth(seqs: Sequences) -> np.ndarray:
    return seqs.groups[list(DIMENSIONS)].to_numpy(np.float64)


def _fallback(splits: dict[str, _Split]) -> tuple[float, float]:
    truth = _truth(splits["train"].sequences)
    return tuple(np.nanmean(truth, 0))


def _estimates(frames: np.ndarray, seqs: Sequences, choice: PostProcessing, ctx: Context, fallback) -> tuple[np.ndarray, int]:
    return apply(frames, seqs.mask, seqs.group, seqs.groups, choice, ctx.profile.train.aggregate, fallback)


def _utterance_ccc(pred: np.ndarray, split: _Split, ctx: Context, fallback) -> tuple[float, float]:
    """Utterance-level CCC of per-frame predictions, no post-processing (model selection)."""
    estimates, _ = _estimates(pred, split.sequences, PostProcessing(), ctx, fallback)
    truth = _truth(split.sequences)
    return tuple(ccc(truth[:, d], estimates[:, d]) for d in range(2))


class _Stage:
    """Trains one network in stages (pre-training data, then OMG) with one strategy: above a
    frozen CNN whose features are cached per store, or end to end."""

    def __init__(self, ctx: Context, exp: Experiment, model, cnn_weights: Path, cnn_state: dict, cnn_fingerprint: str):
        t = ctx.profile.train
        if t.strategy not in ("frozen", "end-to-end"):
            raise OmgError(f"unknown training strategy {t.strategy!r}: 'frozen' or 'end-to-end'")
        self.ctx, self.exp, self.model, self.frozen = ctx, exp, model, t.strategy == "frozen"
        self.is_cnn = exp.model in registry.FRAME_CNNS
        self.lr = t.lr_frozen if self.frozen else (t.lr_cnn if self.is_cnn else t.lr_end_to_end)
        self.cnn_weights, self.cnn_state, self.cnn_fingerprint = cnn_weights, cnn_state, cnn_fingerprint

    def splits(self, dataset: str, names: list[str]) -> dict[str, _Split]:
        features = None
        if self.frozen:
            cnn = registry.build(CNN_OF_BACKBONE[self.exp.backbone], self.ctx.profile)
            cnn.load_state_dict(self.cnn_state)
            wanted = tuple(dict.fromkeys(n for trunk in trunks(self.model) for n in trunk.names))
            features = {}
            for split in names:
                store = self.ctx.store(dataset, split)
                features[split] = cache_features(
                    trunks(cnn)[0], store, self.ctx.folder / "features" / self.cnn_weights.parent.name / f"{dataset}-{split}",
                    _fingerprint(self.cnn_fingerprint, _store_fingerprint(store)), wanted, self.ctx.device,
                    progress=self.ctx.progress)
        return _splits(self.ctx, dataset, names, features, self.ctx.profile.train.augment)

    def fit(self, train: _Split, score, checkpoint: Path, desc: str):
        t = self.ctx.profile.train
        with precomputed_trunks(self.model) if self.frozen else nullcontext():
            return fit(self.model, train.dataset, score, self.lr, t.epochs, t.patience,
                       t.cnn_batch_size if self.is_cnn else t.batch_size, checkpoint, self.ctx.seed, self.ctx.device,
                       t.loss_weights, resume=not self.ctx.force, progress=self.ctx.progress, desc=desc)

    def predict(self, split: _Split) -> np.ndarray:
        with precomputed_trunks(self.model) if self.frozen else nullcontext():
            return predict(self.model, split.dataset, self.ctx.device)


def _train_on_omg(ctx: Context, exp: Experiment, folder: Path) -> tuple[dict[str, np.ndarray], dict[str, _Split], dict]:
    """Steps 1-3; returns per-frame predictions per split, the splits and training facts."""
    weights, cnn_fingerprint = pretrained_cnn(ctx, exp.backbone, exp.pretrain)
    torch.manual_seed(ctx.seed)
    model = registry.build(exp.model, ctx.profile, landmarks=exp.landmarks)
    cnn_state = torch.load(weights, map_location="cpu", weights_only=True)["model"]
    is_cnn = exp.model in registry.FRAME_CNNS
    branches = ("one_rnn.", "three_rnn.") if exp.model in registry.FUSIONS else ("",)
    _transfer(model, cnn_state, branches, lambda k: k.startswith(("trunk.", "fc.")) or (is_cnn and k.startswith("output.")))
    for member, prefix in zip(exp.members, branches):
        member_state = torch.load(ctx.folder / get(member).slug / "model.pt", map_location="cpu", weights_only=True)["model"]
        _transfer(model, member_state, (prefix,), lambda k: not k.startswith("output."))
    stage = _Stage(ctx, exp, model, weights, cnn_state, cnn_fingerprint)
    tic = time.perf_counter()
    facts = {"strategy": ctx.profile.train.strategy, "lr": stage.lr, "cnn": str(weights.parent.relative_to(ctx.folder))}
    # The whole network is pre-trained too (Sec. 6.2), unless it is a CNN (done in step 1) or
    # a fusion (its branches were).
    if exp.pretrain and not is_cnn and not exp.members:
        pre = stage.splits(exp.pretrain, ["train", "validation"])
        result = stage.fit(pre["train"], lambda m: _frame_ccc(stage.predict(pre["validation"]), pre["validation"].sequences), folder / "pretrain_checkpoint.pt",
                           f"{exp.name} on {exp.pretrain}")
        _write_csv(result.history, folder / "pretrain_history.csv")
        facts["pretrain_best_epoch"], facts["pretrain_val_frame_ccc_mean"] = result.best_epoch, round(result.best_score, 4)
    splits = stage.splits("omg", ["train", "validation", "test"])
    fallback = _fallback(splits)
    result = stage.fit(splits["train"], lambda m: _utterance_ccc(stage.predict(splits["validation"]), splits["validation"], ctx, fallback),
                       folder / "checkpoint.pt", exp.name)
    frames = {s: stage.predict(splits[s]) for s in ("validation", "test")}
    _save_model(model, folder / "model.pt")
    _write_csv(result.history, folder / "history.csv")
    facts.update({"epochs_run": len(result.history), "best_epoch": result.best_epoch,
                  "train_seconds": round(time.perf_counter() - tic, 1),
                  "train_frames_per_second": round(result.frames_per_second, 1)})
    return frames, splits, facts


def evaluate(truth: pd.DataFrame, estimates: np.ndarray, reps: int = 1000, seed: int = 0) -> dict:
    """Utterance-level metrics of (G, 2) ``estimates`` against ``truth`` (video, utterance,
    valence, arousal): both official CCCs, PCC, MSE, bootstrap 95% intervals, quadrant MSE."""
    pred = truth[["video", "utterance"]].assign(valence=estimates[:, 0], arousal=estimates[:, 1])
    final, per_video = omg_ccc(truth, pred), omg_ccc_per_video(truth, pred)
    out = {"ccc_valence": final["valence"], "ccc_arousal": final["arousal"],
           "ccc_mean": (final["valence"] + final["arousal"]) / 2,
           "ccc_per_video_valence": per_video["valence"], "ccc_per_video_arousal": per_video["arousal"]}
    for d in DIMENSIONS:
        t, p = truth[d].to_numpy(), pred[d].to_numpy()
        out[f"pcc_{d}"], out[f"mse_{d}"] = pcc(t, p), mse(t, p)
        out[f"ci_{d}"] = list(bootstrap_ccc(t, p, reps, seed))
    quadrants = quadrant_mse(truth[list(DIMENSIONS)].to_numpy(), estimates)
    out["quadrant_mse"] = quadrants.reset_index().to_dict(orient="records")
    return out


def read_utterances(folder: Path, name: str, split: str = "test") -> pd.DataFrame:
    """The stored utterance table of experiment ``name`` (truth, raw and post-processed estimates)."""
    return pd.read_csv(Path(folder) / get(name).slug / f"utterances_{split}.csv", dtype={"video": str, "utterance": str},
                       keep_default_na=False)


def _write_utterances(folder: Path, split: str, groups: pd.DataFrame, raw: np.ndarray, final: np.ndarray) -> None:
    table = groups[["video", "utterance", "valence", "arousal"]].rename(columns={"valence": "valence_true", "arousal": "arousal_true"})
    table = table.assign(valence_raw=raw[:, 0], arousal_raw=raw[:, 1], valence=final[:, 0], arousal=final[:, 1])
    _write_csv(table, folder / f"utterances_{split}.csv")
    if split == "test":
        write_omg_csv(table, folder / "predictions.csv", columns=SUBMISSION_COLUMNS)


def _finish(ctx: Context, exp: Experiment, folder: Path, groups: dict[str, pd.DataFrame],
            raw: dict[str, np.ndarray], final: dict[str, np.ndarray], record: dict) -> dict:
    """Write the utterance tables, predictions and metrics.json (last)."""
    reps = ctx.profile.train.bootstrap
    for split in ("validation", "test"):
        _write_utterances(folder, split, groups[split], raw[split], final[split])
    truth = groups["test"][["video", "utterance", *DIMENSIONS]]
    metrics = {"experiment": exp.name, "model": exp.model, "recipe": asdict(exp), "profile": ctx.profile.name,
               **evaluate(truth, final["test"], reps, ctx.seed),
               "raw": evaluate(truth, raw["test"], reps, ctx.seed),
               "validation": {k: v for k, v in evaluate(groups["validation"], final["validation"], reps, ctx.seed).items()
                              if k.startswith("ccc")},
               "validation_raw": {k: v for k, v in evaluate(groups["validation"], raw["validation"], reps, ctx.seed).items()
                                  if k.startswith("ccc")},
               "config": ctx.profile.to_dict(), **record}
    write_json(folder / "metrics.json", metrics)
    return json.loads((folder / "metrics.json").read_text())  # as a re-use will read it


def _run_trained(ctx: Context, exp: Experiment, folder: Path, fingerprint: str, tic: float) -> dict:
    frames, splits, facts = _train_on_omg(ctx, exp, folder)
    fallback = _fallback(splits)
    val, test = splits["validation"].sequences, splits["test"].sequences
    t = ctx.profile.train
    choice, sweep = choose(frames["validation"], val.mask, val.group, val.groups, _truth(val), t.median_windows,
                           t.smoothing_windows, t.aggregate, fallback)
    _write_csv(sweep, folder / "postprocessing_sweep.csv")
    raw, final, empty = {}, {}, {}
    for split, seqs in (("validation", val), ("test", test)):
        np.savez_compressed(folder / f"frames_{split}.npz", predictions=frames[split], mask=seqs.mask, group=seqs.group)
        raw[split], empty[split] = _estimates(frames[split], seqs, PostProcessing(), ctx, fallback)
        final[split], _ = _estimates(frames[split], seqs, choice, ctx, fallback)
    record = {"fingerprint": fingerprint, "postprocessing": choice.to_dict(), "training": facts,
              "utterances_without_frames": empty, **_provenance(ctx, time.perf_counter() - tic)}
    return _finish(ctx, exp, folder, {"validation": val.groups, "test": test.groups}, raw, final, record)


def _run_decision_fusion(ctx: Context, exp: Experiment, folder: Path, fingerprint: str, tic: float) -> dict:
    members = [get(m) for m in exp.members]
    tables = {split: [read_utterances(ctx.folder, m.name, split) for m in members] for split in ("validation", "test")}
    groups = {split: tables[split][0][["video", "utterance", "valence_true", "arousal_true"]].rename(
        columns={"valence_true": "valence", "arousal_true": "arousal"}) for split in tables}
    raw, final, weights = {}, {}, {}
    for stage, suffix, out in (("raw", "_raw", raw), ("final", "", final)):
        val_ccc = np.array([[ccc(t[f"{d}_true"], t[f"{d}{suffix}"]) for d in DIMENSIONS] for t in tables["validation"]])
        weights[stage] = val_ccc.tolist()
        for split in tables:
            out[split] = decision_fusion([t[[f"{d}{suffix}" for d in DIMENSIONS]].to_numpy() for t in tables[split]], val_ccc)
    record = {"fingerprint": fingerprint, "fusion_weights": weights, **_provenance(ctx, time.perf_counter() - tic)}
    return _finish(ctx, exp, folder, groups, raw, final, record)


def status(ctx: Context, exp: Experiment) -> tuple[str, str]:
    """("current" | "stale" | "missing", fingerprint) of ``exp``'s result."""
    fingerprint = _fingerprint("experiment", asdict(exp), ctx.profile.to_dict(), ctx.seed, code_version(),
                               {s: _store_fingerprint(ctx.store("omg", s)) for s in ("train", "validation", "test")},
                               [status(ctx, get(m))[1] for m in exp.members])
    path = ctx.folder / exp.slug / "metrics.json"
    if not path.is_file():
        return "missing", fingerprint
    return ("current" if _current(path.parent, fingerprint) else "stale"), fingerprint


def run(ctx: Context, name: str) -> dict:
    """The metrics of experiment ``name``: re-used when current, else trained (members first)."""
    exp = get(name)
    for member in exp.members:
        run(ctx, member)
    state, fingerprint = status(ctx, exp)
    folder = ctx.folder / exp.slug
    if state == "current" and not ctx.force:
        return json.loads((folder / "metrics.json").read_text())
    if state == "stale":
        log.info("%s: result is stale (profile, recipe, seed, data or code changed): re-running", exp.name)
        for old in ("checkpoint.pt", "pretrain_checkpoint.pt"):
            (folder / old).unlink(missing_ok=True)
    folder.mkdir(parents=True, exist_ok=True)
    tic = time.perf_counter()
    if exp.model == DECISION_FUSION:
        return _run_decision_fusion(ctx, exp, folder, fingerprint, tic)
    return _run_trained(ctx, exp, folder, fingerprint, tic)


def load(ctx: Context, name: str) -> dict | None:
    """The stored metrics of ``name`` at this profile, or None."""
    path = ctx.folder / get(name).slug / "metrics.json"
    return json.loads(path.read_text()) if path.is_file() else None


def table(ctx: Context, number: int, post_processed: bool = True) -> pd.DataFrame:
    """Table ``number`` (3-6) from stored results: one row per experiment, CCC V/A/mean and
    the 95% intervals (NaN where an experiment has not run)."""
    rows = []
    for exp in TABLES[number]:
        m = load(ctx, exp.name)
        source = (m if post_processed else m["raw"]) if m else {}
        rows.append({"experiment": exp.name, "model": exp.model, "pretrain": PRETRAIN_NAMES[exp.pretrain],
                     "landmarks": exp.landmarks,
                     **{k: source.get(k, np.nan) for k in ("ccc_valence", "ccc_arousal", "ccc_mean")},
                     **{f"{k}_raw": (m["raw"][k] if m else np.nan) for k in ("ccc_valence", "ccc_arousal", "ccc_mean")},
                     "ci_valence": source.get("ci_valence"), "ci_arousal": source.get("ci_arousal"),
                     "wall_seconds": m.get("wall_seconds") if m else np.nan})
    return pd.DataFrame(rows)


__all__ = ["Context", "EXPERIMENTS", "Experiment", "TABLES", "evaluate", "get", "load", "pretrained_cnn",
           "read_utterances", "run", "status", "table", "table_order"]
