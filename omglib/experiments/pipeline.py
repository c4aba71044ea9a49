"""How one experiment is trained and evaluated (Sec. 6), for one seed.

1. its CNN (VGG-Face, ResNet-50 or DenseNet-121, as in Fig. 4 with landmarks, or without
   them for Table 6's rows) is trained frame by frame on the pre-training data, or on OMG
   itself "from scratch". This run is shared by every experiment that needs the same CNN
   (`pretrained_cnn`); a network without landmarks starts from a CNN trained without them;
2. the network is built and its CNN (trunk and the FC where the landmarks join) starts from
   that run. Model-level
   fusion's two branches start from the trained CNN-1RNN and CNN-3RNN of the same seed; other
   networks are trained on the pre-training data's per-frame labels first (Sec. 6.2);
3. it is trained on OMG train with the CCC loss and selected on OMG validation CCC, either
   end to end or above the frozen CNN (``TrainConfig.strategy``);
4. per-frame predictions on validation and test become utterance estimates; post-processing
   is chosen on validation and applied to test (`omglib.postprocess`).

The linear probe (each table's floor, `omglib.probe`) skips steps 1-3: its per-frame
predictions come from a ridge regression on the OMG FrameStores, then step 4 as for a network.

A run re-uses its stored result when the fingerprint of everything that produced it (profile,
recipe, seeds, data, code) matches; otherwise it is trained again.
"""

from __future__ import annotations

import logging
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from omglib.data.sequences import SequenceDataset, Sequences, cut, landmark_input
from omglib.errors import OmgError
from omglib.experiments.catalogue import CNN_OF_BACKBONE, Experiment, get, lr_field, slug
from omglib.experiments.results import (CNNResult, Context, FusionWeights, RunFolder, SeedResult, Training,
                                        UtteranceTable, ccc_pair, code_version, fingerprint, provenance, run_folder,
                                        scores_of, write_csv)
from omglib import distributed, probe
from omglib.features import cache_features, precomputed_trunks
from omglib.io import atomic_path, discard
from omglib.metrics import ccc
from omglib.models import checkpoint, registry
from omglib.models.weights import PAPER_START, StartingWeights, backbone_of, import_command, starting_weights
from omglib.models.networks import standardise_landmarks, trunks
from omglib.postprocess import DIMENSIONS, PostProcessing, UtteranceEstimate, choose, decision_fusion
from omglib.probe import ProbeFit
from omglib.train import FitSettings, fit, predict

log = logging.getLogger(__name__)


# ---------------------------------------------------------------- step 1: the CNN, frame by frame

@dataclass(frozen=True)
class CNNRun:
    """A CNN pre-trained frame by frame: its weights and the fingerprint that made them."""

    backbone: str
    dataset: str  # "affwild2", "affwild" or "omg" (from scratch)
    seed: int
    folder: RunFolder
    fingerprint: str
    landmarks: bool = True  # whether the landmarks join its FC (Table 6 trains a CNN without them)

    @property
    def weights(self) -> Path:
        return self.folder.model

    def state(self) -> dict:
        return checkpoint.read(self.weights)[1]

    def current(self) -> bool:
        """Whether its stored weights are those of this fingerprint."""
        stored = CNNResult.read(self.folder)
        return stored is not None and stored.fingerprint == self.fingerprint and self.weights.is_file()

    def features_folder(self, ctx: Context, dataset: str, split: str) -> Path:
        return ctx.folder / "features" / f"{self.folder.path.parent.name}-seed-{self.seed}" / f"{dataset}-{split}"


def start_of(ctx: Context, name: str) -> tuple[Path | None, StartingWeights]:
    """The weights the CNN ``name`` starts from (``train.start``: the paper's VGG-Face / ImageNet
    files from ``train.weights_dir``, or random) and their record for metrics.json and the
    fingerprint. The paper profile refuses a VGG network without VGG-Face (`starting_weights`)."""
    def make() -> tuple[Path | None, StartingWeights]:
        t = ctx.profile.train
        path = Path(t.weights_dir) / f"{PAPER_START[backbone_of(name)]}.pt"
        path = path if t.start == "paper" and path.is_file() else None
        record = starting_weights(name, path, allow_random=t.start == "random",
                                  allow_hint="train from random weights with --set train.start=random")
        if t.start == "paper" and path is None:  # ResNet / DenseNet (a VGG network was refused above)
            log.warning("%s: no %s in %s, so it starts from random weights (not the paper's start); %s", name,
                        record.paper_start, t.weights_dir, import_command(name))
        return path, record

    return ctx.once(("start", name, ctx.profile.train.start, ctx.profile.train.weights_dir), make)


# the settings a CNN's frame-by-frame pre-training reads (the rest only shape what is built on it)
CNN_TRAIN = ("cnn_seq_len", "cnn_batch_size", "lr_cnn", "pretrain_epochs", "adapt_epochs", "patience", "loss_weights",
             "precision", "augment", "start", "weights_dir")
HEAD_MODEL = ("gru_hidden", "gru_dropout", "fusion_hidden")
# and an experiment's loss weights are its network's: the CNN is pre-trained on both dimensions,
# as the paper's CNNs were on Aff-Wild2, and only the network trains for one (a profile's own
# weights still reach every CNN)
HEAD_TRAIN = ("loss_weights",)


def cnn_settings(settings: tuple[str, ...]) -> tuple[str, ...]:
    """The experiment settings ("section.field=value") that change its CNN: an experiment with
    others shares the profile's CNN."""
    def reaches_cnn(setting: str) -> bool:
        section, _, field = setting.partition("=")[0].partition(".")
        return field in CNN_TRAIN and field not in HEAD_TRAIN if section == "train" else field not in HEAD_MODEL

    return tuple(s for s in settings if reaches_cnn(s))


def cnn_run(ctx: Context, backbone: str, pretrain: str | None, seed: int, landmarks: bool = True) -> CNNRun:
    """Where the CNN of ``backbone`` pre-trained on ``pretrain`` with ``seed``, with or without
    the landmarks as an input, lives (trained or not), under ``ctx``'s CNN settings."""
    ctx = ctx.with_settings(cnn_settings(ctx.settings))
    dataset = pretrain or "omg"
    stores = [ctx.store_print(dataset, s) for s in ("train", "validation")]
    name = CNN_OF_BACKBONE[backbone]
    t = ctx.profile.train
    model = {k: v for k, v in asdict(replace(ctx.profile.model, landmarks=landmarks)).items() if k not in HEAD_MODEL}
    recipe = {"model": model, "cnn": {k: getattr(t, k) for k in CNN_TRAIN if k not in ("start", "weights_dir")},
              "start": start_of(ctx, name)[1].identity()}
    folder = slug(" ".join([name, dataset, *([] if landmarks else ["no landmarks"]),
                            *(s.partition(".")[2] for s in ctx.settings)]), ctx.settings)
    return CNNRun(backbone, dataset, seed, RunFolder(ctx.folder / "cnn" / folder / f"seed-{seed}"),
                  fingerprint("cnn", name, dataset, recipe, seed, code_version(), stores), landmarks)


def _checkpoints(folder: RunFolder, print_: str, *stages: str) -> list[Path]:
    """The checkpoints of the training ``stages`` of the run with fingerprint ``print_``. A
    killed run resumes from them; those of another fingerprint (a changed recipe, data or
    code) are deleted, so a run never resumes from weights its inputs did not make."""
    wanted = [folder.checkpoint(stage, print_) for stage in stages]
    discard(*[old for old in folder.checkpoints() if old not in wanted])
    return wanted


def pretrained_cnn(ctx: Context, backbone: str, pretrain: str | None, seed: int, landmarks: bool = True) -> CNNRun:
    """Train (or re-use) the CNN of ``backbone`` frame by frame on the pre-training data."""
    ctx = ctx.with_settings(cnn_settings(ctx.settings))
    run = cnn_run(ctx, backbone, pretrain, seed, landmarks)
    if run.current():
        return run  # shared: --force retrains experiments, not this
    t = ctx.profile.train
    stages = [(run.dataset, t.pretrain_epochs, "checkpoint")]
    if run.dataset != "omg" and t.adapt_epochs:  # then adapted to OMG's faces before it is frozen
        stages.append(("omg", t.adapt_epochs, "adapt_checkpoint"))
    checkpoints = _checkpoints(run.folder, run.fingerprint, *(stage[2] for stage in stages))
    tic = time.perf_counter()
    name = CNN_OF_BACKBONE[backbone]
    torch.manual_seed(seed)
    weights, start = start_of(ctx, name)
    model = registry.build(name, ctx.profile, weights=weights, landmarks=landmarks)
    histories, results = [], []
    for (dataset, epochs, _), resume_from in zip(stages, checkpoints):
        train = SequenceDataset(cut(ctx.store(dataset, "train"), t.cnn_seq_len), augment=t.augment)
        if not histories:
            standardise_landmarks(model, train.training_landmarks())
        val_seqs = cut(ctx.store(dataset, "validation"), t.seq_len)
        val = SequenceDataset(val_seqs)
        settings = FitSettings(t.lr_cnn, epochs, t.patience, t.cnn_batch_size, t.loss_weights, t.precision)
        result = fit(model, train, lambda m: _frame_ccc(predict(m, val, ctx.device, precision=t.precision), val_seqs),
                     settings, checkpoint=resume_from, seed=seed, device=ctx.device, progress=ctx.progress,
                     desc=f"{name}{'' if landmarks else ' without landmarks'} on {dataset} (seed {seed})")
        done = sum(len(h) for h in histories)  # epochs count on across the stages, so curves run on
        histories.append(result.history.assign(epoch=result.history["epoch"] + done, data=dataset))
        results.append(result)
    first, adapted = results[0], results[1] if len(results) > 1 else None
    _save_model(ctx, model, run.weights, name, {"pre-training": run.dataset, "adapted to": stages[-1][0],
                                                "seq_len": t.seq_len, "start": asdict(start)}, seed,
                {"validation_frame_ccc_mean": first.best_score})
    write_csv(pd.concat(histories, ignore_index=True), run.folder.history)
    CNNResult(cnn=name, data=run.dataset, seed=seed, fingerprint=run.fingerprint, start=start,
              batch_size=t.cnn_batch_size, processes=distributed.world(), lr=t.lr_cnn, best_epoch=first.best_epoch,
              val_frame_ccc_mean=first.best_score, train_frames_per_second=results[-1].frames_per_second,
              provenance=provenance(ctx, time.perf_counter() - tic),
              adapted_best_epoch=adapted and adapted.best_epoch,
              adapted_val_frame_ccc_mean=adapted and adapted.best_score).write(run.folder)
    discard(*checkpoints)
    return run


def _frame_ccc(pred: np.ndarray, sequences: Sequences) -> tuple[float, float]:
    """CCC over every labelled frame (per-frame labels: the pre-training data)."""
    mask, truth = sequences.mask, sequences.labels
    return tuple(ccc(truth[..., d][mask], pred[..., d][mask]) for d in range(2))


def _save_model(ctx: Context, model, path: Path, experiment: str, recipe: dict, seed: int, scores: dict,
                estimate: UtteranceEstimate | None = None) -> None:
    """A self-describing model file (`omglib.models.save`) and its MODEL_CARD.md."""
    store = ctx.store("omg", "train")
    checkpoint.save(model, path, experiment=experiment, recipe=recipe, preprocess=store.meta.config,
                    training_data={"frames": str(ctx.frames), "omg": store.meta.data_root,
                                   "profile": ctx.profile.name}, seed=seed, code_version=code_version(), scores=scores,
                    utterance_estimate=estimate)


def _transfer(model, state: dict, prefixes: tuple[str, ...], keep) -> None:
    """Copy the tensors of ``state`` whose key passes ``keep`` into ``model`` under each of
    ``prefixes`` (a network and the CNN it starts from agree on the landmarks)."""
    own = model.state_dict()
    copied = {}
    for prefix in prefixes:
        for key, value in state.items():
            target = own.get(prefix + key)
            if not keep(key) or target is None:
                continue
            if target.shape != value.shape:
                raise OmgError(f"{prefix + key}: saved shape {tuple(value.shape)} does not fit "
                               f"{tuple(target.shape)}; was it trained at another profile?")
            copied[prefix + key] = value
    model.load_state_dict(copied, strict=False)


def features_needed(model_names: list[str], profile) -> tuple[str, ...]:
    """The trunk outputs that the networks ``model_names`` read (what a frozen CNN caches)."""
    wanted: dict[str, None] = {}
    for name in model_names:
        for trunk in trunks(registry.build(name, profile)):
            wanted.update(dict.fromkeys(trunk.names))
    return tuple(wanted)


def cache(ctx: Context, cnn: CNNRun, dataset: str, splits: list[str], names: tuple[str, ...],
          state: dict | None = None) -> dict[str, dict]:
    """The frozen CNN's features ``names`` for each split of ``dataset`` (computed when missing)."""
    model = registry.build(CNN_OF_BACKBONE[cnn.backbone], ctx.profile, landmarks=cnn.landmarks)
    model.load_state_dict(state if state is not None else cnn.state())
    out = {}
    for split in splits:
        store = ctx.store(dataset, split)
        with distributed.main_first():  # under torchrun: rank 0 computes and writes, the others read
            out[split] = cache_features(trunks(model)[0], store, cnn.features_folder(ctx, dataset, split),
                                        fingerprint(cnn.fingerprint, ctx.store_print(dataset, split)), names, ctx.device,
                                        progress=ctx.progress)
    return out


# ---------------------------------------------------------------- steps 2-4: one experiment on OMG

@dataclass
class _Split:
    sequences: Sequences
    dataset: SequenceDataset


def _truth(seqs: Sequences) -> np.ndarray:
    return seqs.groups[list(DIMENSIONS)].to_numpy(np.float64)


class _Stage:
    """Trains one network in stages (pre-training data, then OMG) with one strategy: above a
    frozen CNN whose features are cached per store, or end to end."""

    def __init__(self, ctx: Context, exp: Experiment, model, cnn: CNNRun, cnn_state: dict, seed: int):
        t = ctx.profile.train
        if t.strategy not in ("frozen", "end-to-end"):
            raise OmgError(f"unknown training strategy {t.strategy!r}: 'frozen' or 'end-to-end'")
        self.ctx, self.exp, self.model, self.seed = ctx, exp, model, seed
        self.frozen = t.strategy == "frozen"
        self.cnn, self.cnn_state = cnn, cnn_state
        batch = t.frozen_batch_size if self.frozen else t.cnn_batch_size if exp.is_frame_cnn else t.batch_size
        self.settings = FitSettings(getattr(t, lr_field(t, exp.is_frame_cnn)), t.epochs, t.patience, batch,
                                    t.loss_weights, t.precision)

    def splits(self, dataset: str, names: list[str]) -> dict[str, _Split]:
        features = None
        if self.frozen:
            wanted = tuple(dict.fromkeys(n for trunk in trunks(self.model) for n in trunk.names))
            features = cache(self.ctx, self.cnn, dataset, names, wanted, self.cnn_state)
        out = {}
        for split in names:
            seqs = cut(self.ctx.store(dataset, split), self.ctx.profile.train.seq_len)
            augment = self.ctx.profile.train.augment and split == "train"
            out[split] = _Split(seqs, SequenceDataset(seqs, features[split] if features else None, augment))
        return out

    def fit(self, train: _Split, score, checkpoint: Path, desc: str):
        with precomputed_trunks(self.model) if self.frozen else nullcontext():
            return fit(self.model, train.dataset, score, self.settings, checkpoint=checkpoint, seed=self.seed,
                       device=self.ctx.device, resume=not self.ctx.force, progress=self.ctx.progress, desc=desc)

    def predict(self, split: _Split) -> np.ndarray:
        with precomputed_trunks(self.model) if self.frozen else nullcontext():
            return predict(self.model, split.dataset, self.ctx.device, precision=self.ctx.profile.train.precision)


class _Evaluation:
    """Per-frame predictions of a split -> utterance estimates (with a post-processing choice)."""

    def __init__(self, ctx: Context, train: Sequences):
        self.plain = UtteranceEstimate(ctx.profile.train.aggregate, fallback=tuple(np.nanmean(_truth(train), 0)))

    def estimates(self, frames: np.ndarray, seqs: Sequences, choice: PostProcessing = PostProcessing()):
        return replace(self.plain, choice=choice)(frames, seqs)

    def ccc(self, frames: np.ndarray, seqs: Sequences) -> tuple[float, float]:
        """Utterance-level CCC without post-processing (model selection)."""
        return ccc_pair(_truth(seqs), self.estimates(frames, seqs)[0])


def _train_on_omg(ctx: Context, exp: Experiment, folder: RunFolder, seed: int, cnn_seed: int, print_: str):
    """Steps 1-3; returns per-frame predictions per split, the splits, the evaluation and training facts."""
    cnn = pretrained_cnn(ctx, exp.backbone, exp.pretrain, cnn_seed, exp.landmarks)
    torch.manual_seed(seed)
    model = registry.build(exp.model, ctx.profile, landmarks=exp.landmarks)
    cnn_state = cnn.state()
    branches = ("one_rnn.", "three_rnn.") if exp.model in registry.FUSIONS else ("",)
    _transfer(model, cnn_state, branches,
              lambda k: k.startswith(("trunk.", "join.", "fc.")) or (exp.is_frame_cnn and k.startswith("output.")))
    for member, prefix in zip(exp.members, branches):
        member_state = checkpoint.read(run_folder(ctx, get(member), seed).model)[1]
        _transfer(model, member_state, (prefix,), lambda k: not k.startswith("output."))
    stage = _Stage(ctx, exp, model, cnn, cnn_state, seed)
    pretrain_checkpoint, omg_checkpoint = _checkpoints(folder, print_, "pretrain_checkpoint", "checkpoint")
    tic = time.perf_counter()
    pretrained = None
    if exp.pretrain and not exp.is_frame_cnn and not exp.members:
        pre = stage.splits(exp.pretrain, ["train", "validation"])
        result = stage.fit(pre["train"], lambda m: _frame_ccc(stage.predict(pre["validation"]), pre["validation"].sequences),
                           pretrain_checkpoint, f"{exp.name} on {exp.pretrain} (seed {seed})")
        write_csv(result.history, folder.pretrain_history)
        pretrained = result
    splits = stage.splits("omg", ["train", "validation", "test"])
    evaluation = _Evaluation(ctx, splits["train"].sequences)
    val = splits["validation"]
    result = stage.fit(splits["train"], lambda m: evaluation.ccc(stage.predict(val), val.sequences),
                       omg_checkpoint, f"{exp.name} (seed {seed})")
    frames = {s: stage.predict(splits[s]) for s in ("validation", "test")}
    write_csv(result.history, folder.history)
    discard(pretrain_checkpoint, omg_checkpoint)
    facts = Training(ctx.profile.train.strategy, stage.settings.batch_size, distributed.world(), stage.settings.lr,
                     ctx.profile.train.precision, str(cnn.folder.path.relative_to(ctx.folder)), len(result.history),
                     result.best_epoch, round(time.perf_counter() - tic, 1), round(result.frames_per_second, 1),
                     pretrained and pretrained.best_epoch, pretrained and round(pretrained.best_score, 4),
                     result.resumed_after)
    return model, frames, splits, evaluation, facts


def _record(ctx: Context, exp: Experiment, folder: RunFolder, seed: int, cnn_seed: int | None, print_: str,
            groups: dict[str, pd.DataFrame], raw: dict, final: dict, tic: float, empty: dict[str, int] | None = None,
            training: Training | None = None, probe: ProbeFit | None = None,
            postprocessing: PostProcessing | None = None, fusion_weights: FusionWeights | None = None) -> SeedResult:
    """Write the utterance tables and predictions of one run; returns its record (the caller
    writes it last, after the model file). ``empty``: each split's utterances without a frame."""
    for split in ("validation", "test"):
        UtteranceTable.write(folder, split, groups[split], raw[split], final[split])
    truth = {s: groups[s][["video", "utterance", *DIMENSIONS]] for s in groups}
    scores = {f"{s}{'_raw' if stage is raw else ''}": scores_of(truth[s], stage[s], ctx, seed, (empty or {}).get(s, 0))
              for s in ("test", "validation") for stage in (final, raw)}
    return SeedResult(experiment=exp.name, model=exp.model, recipe=exp, profile=ctx.profile.name, seed=seed,
                      cnn_seed=cnn_seed, fingerprint=print_, **scores, training=training, probe=probe,
                      postprocessing=postprocessing, fusion_weights=fusion_weights,
                      provenance=provenance(ctx, time.perf_counter() - tic), config=ctx.profile)


def _run_trained(ctx: Context, exp: Experiment, folder: RunFolder, seed: int, cnn_seed: int, print_: str, tic: float) -> SeedResult:
    model, frames, splits, evaluation, facts = _train_on_omg(ctx, exp, folder, seed, cnn_seed, print_)
    result = _evaluate(ctx, exp, folder, seed, cnn_seed, print_, tic, frames, splits["validation"].sequences,
                       splits["test"].sequences, evaluation, training=facts)
    scores = {f"{split}_{k}": getattr(getattr(result, split), k) for split in ("test", "validation")
              for k in ("ccc_valence", "ccc_arousal", "ci_valence", "ci_arousal")}
    recipe = {**asdict(exp), "cnn_seed": cnn_seed, "strategy": facts.strategy, "seq_len": ctx.profile.train.seq_len,
              "start": asdict(start_of(ctx, CNN_OF_BACKBONE[exp.backbone])[1])}
    _save_model(ctx, model, folder.model, exp.name, recipe, seed, scores,
                replace(evaluation.plain, choice=result.postprocessing))
    result.write(folder)  # last: a run is complete only when its metrics.json is there
    return result


def _evaluate(ctx: Context, exp: Experiment, folder: RunFolder, seed: int, cnn_seed: int | None, print_: str, tic: float,
              frames: dict[str, np.ndarray], val: Sequences, test: Sequences, evaluation: _Evaluation,
              **facts) -> SeedResult:
    """Step 4: post-processing chosen on validation, utterance estimates of validation and test
    from the per-frame predictions ``frames``, their tables and the run's record (not yet written)."""
    t = ctx.profile.train
    choice, sweep = choose(frames["validation"], val, _truth(val), t.median_windows, t.smoothing_windows, evaluation.plain)
    write_csv(sweep, folder.sweep)
    raw, final, empty = {}, {}, {}
    for split, seqs in (("validation", val), ("test", test)):
        with atomic_path(folder.frames(split)) as tmp:
            np.savez_compressed(tmp, predictions=frames[split], mask=seqs.mask, group=seqs.group)
        raw[split], empty[split] = evaluation.estimates(frames[split], seqs)
        final[split], _ = evaluation.estimates(frames[split], seqs, choice)
    return _record(ctx, exp, folder, seed, cnn_seed, print_, {"validation": val.groups, "test": test.groups}, raw, final,
                   tic, empty, postprocessing=choice, **facts)


def postprocessing_on(ctx: Context, exp: Experiment, seed: int, cnn_seed: int, median_windows: tuple[int, ...],
                      smoothing_windows: tuple[int, ...]):
    """Sec. 6.3 again for one stored run (a network or the floor) with another grid: the windows
    chosen on validation from ``median_windows`` and ``smoothing_windows``, from the run's stored
    per-frame predictions (nothing is trained), and the test `Scores` they give."""
    exp, ctx = ctx.running(exp)
    folder, seq_len = run_folder(ctx, exp, seed, cnn_seed), ctx.profile.train.seq_len
    seqs = {s: ctx.once(("sequences", ctx.frames, s, seq_len), lambda s=s: cut(ctx.store("omg", s), seq_len))
            for s in ("train", "validation", "test")}  # cut once for every run a grid re-chooses
    plain = _Evaluation(ctx, seqs["train"]).plain
    frames = {s: np.load(folder.frames(s))["predictions"] for s in ("validation", "test")}
    val = seqs["validation"]
    choice, _ = choose(frames["validation"], val, _truth(val), median_windows, smoothing_windows, plain)
    estimates, empty = replace(plain, choice=choice)(frames["test"], seqs["test"])
    truth = seqs["test"].groups[["video", "utterance", *DIMENSIONS]]
    return choice, scores_of(truth, estimates, ctx, seed, empty)


def _run_probe(ctx: Context, exp: Experiment, folder: RunFolder, seed: int, print_: str, tic: float) -> SeedResult:
    """The linear floor (`omglib.probe`) on the OMG FrameStores, scored like a network."""
    seqs = {s: cut(ctx.store("omg", s), ctx.profile.train.seq_len) for s in ("train", "validation", "test")}
    evaluation = _Evaluation(ctx, seqs["train"])
    frames, fit_ = probe.fit_predict(seqs, lambda f: evaluation.ccc(f, seqs["validation"]))
    result = _evaluate(ctx, exp, folder, seed, None, print_, tic, frames, seqs["validation"], seqs["test"], evaluation,
                       probe=fit_)
    result.write(folder)
    return result


def trunk_probe(ctx: Context, cnn: CNNRun | None, *tap_sets: tuple[str, ...]) -> list[tuple[float, float]]:
    """Validation utterance CCC (valence, arousal) of the linear probe (`omglib.probe`) on what
    the frozen ``cnn`` passes on, one per tap set (its cached taps on OMG, with the probe's
    temporal summary; default the FC's input), or on the 68 landmarks alone when ``cnn`` is
    None: how much of the data a pre-trained trunk holds, against what the landmarks carry
    without it. The stores are cut and the taps cached once for all the sets."""
    seqs = {s: cut(ctx.store("omg", s), ctx.profile.train.seq_len) for s in ("train", "validation")}
    evaluation = _Evaluation(ctx, seqs["train"])
    score = lambda f: evaluation.ccc(f, seqs["validation"])
    if cnn is None:
        landmarks = lambda split, s: probe.summarised(landmark_input(np.asarray(s.store.landmarks), s.store.faces.shape[1])
                                                      .astype(np.float32), s)
        return [probe.fit_predict(seqs, score, features=landmarks)[1].score]
    tap_sets = tap_sets or (("fc-input",),)
    cached = cache(ctx, cnn, "omg", list(seqs), tuple(dict.fromkeys(t for taps in tap_sets for t in taps)))
    scores = []
    for taps in tap_sets:
        def described(split: str, s: Sequences, taps=taps) -> np.ndarray:
            return probe.summarised(np.hstack([np.asarray(cached[split][t], np.float32).reshape(len(s.store), -1)
                                               for t in taps]), s)

        scores.append(probe.fit_predict(seqs, score, features=described)[1].score)
    return scores


def _run_decision_fusion(ctx: Context, exp: Experiment, folder: RunFolder, seed: int, print_: str,
                         tic: float) -> SeedResult:
    tables = {split: [UtteranceTable.read(run_folder(ctx, get(m), seed), split) for m in exp.members]
              for split in ("validation", "test")}
    groups = {split: UtteranceTable.truth(tables[split][0]) for split in tables}
    raw, final, weights = {}, {}, {}
    truth = groups["validation"][list(DIMENSIONS)].to_numpy(np.float64)
    for stage, out in (("raw", raw), ("final", final)):
        estimates = {split: [UtteranceTable.estimates(t, stage == "raw") for t in tables[split]] for split in tables}
        val_ccc = np.array([[ccc(truth[:, d], e[:, d]) for d in range(2)] for e in estimates["validation"]])
        weights[stage] = val_ccc.tolist()
        for split in tables:
            out[split] = decision_fusion(estimates[split], val_ccc)
    result = _record(ctx, exp, folder, seed, None, print_, groups, raw, final, tic,
                     fusion_weights=FusionWeights(**weights))
    result.write(folder)
    return result


def run_fingerprint(ctx: Context, exp: Experiment, seed: int, cnn_seed: int) -> str:
    """Everything that decides one run's numbers: recipe, profile, seeds, code, data, members."""
    exp, ctx = ctx.running(exp)
    members = [run_fingerprint(ctx, get(m), seed, cnn_seed) for m in exp.members]
    stores = {s: ctx.store_print("omg", s) for s in ("train", "validation", "test")}
    cnn = cnn_run(ctx, exp.backbone, exp.pretrain, cnn_seed, exp.landmarks).fingerprint if exp.trained else None
    return fingerprint("experiment", asdict(exp), ctx.profile.settings(), seed, cnn, code_version(), stores, members)


def status(ctx: Context, exp: Experiment, seed: int, cnn_seed: int | None = None) -> str:
    """"current", "stale" or "missing": the state of one run's stored result."""
    cnn_seed = ctx.cnn_seed if cnn_seed is None else cnn_seed
    stored = SeedResult.read(run_folder(ctx, exp, seed, cnn_seed))
    if stored is None:
        return "missing"
    return "current" if stored.fingerprint == run_fingerprint(ctx, exp, seed, cnn_seed) else "stale"


def run_seed(ctx: Context, name: str, seed: int, cnn_seed: int | None = None) -> SeedResult:
    """One run of experiment ``name``: re-used when current, else trained. Members (fusions)
    must have run for the same seed first (`omglib.experiments.schedule` orders them)."""
    exp, ctx = ctx.running(name)
    cnn_seed = ctx.cnn_seed if cnn_seed is None else cnn_seed
    folder = run_folder(ctx, exp, seed, cnn_seed)
    print_ = run_fingerprint(ctx, exp, seed, cnn_seed)
    stored = SeedResult.read(folder)
    if stored is not None and stored.fingerprint == print_ and not ctx.force:
        return stored
    if stored is not None:
        log.info("%s seed %d: result is stale (profile, recipe, seed, data or code changed): re-running", exp.name, seed)
    folder.path.mkdir(parents=True, exist_ok=True)
    tic = time.perf_counter()
    if exp.is_probe:
        return _run_probe(ctx, exp, folder, seed, print_, tic)
    if not exp.trained:
        return _run_decision_fusion(ctx, exp, folder, seed, print_, tic)
    return _run_trained(ctx, exp, folder, seed, cnn_seed, print_, tic)
