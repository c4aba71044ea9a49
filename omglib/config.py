"""Typed, frozen configuration: one `Profile` per scale (smoke | quick | paper).

A profile fixes every size knob so that a result directory can record exactly what
produced it. `smoke` runs in seconds for tests, `quick` is the CPU book, `paper` is the
paper's scale and meant for a GPU. `override` changes any field of a profile from the
command line (`--set train.epochs=1`) or a notebook's ``overrides``, type-checked, and the
profile records what was changed.
"""

from __future__ import annotations

import hashlib
import json
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields, is_dataclass, replace
from typing import Literal

from omglib.errors import OmgError

PROFILE_NAMES = ("smoke", "quick", "paper")


@dataclass(frozen=True)
class SplitCounts:
    """Number of videos per split (identities never cross splits)."""

    train: int
    validation: int
    test: int

    def items(self) -> list[tuple[str, int]]:
        return [("train", self.train), ("validation", self.validation), ("test", self.test)]


@dataclass(frozen=True)
class SynthConfig:
    """Sizes of the surrogate datasets written by `omg synth`.

    `duration_scale` multiplies utterance durations drawn from the real OMG statistics;
    only `smoke` shortens them (so tests take seconds), and the manifest records it.
    """

    omg_videos: SplitCounts
    utterances_per_video: tuple[int, int]  # inclusive range; real OMG: 3..78, median 8
    duration_scale: float
    fps: float
    frame_size: tuple[int, int]  # (width, height) of the video frames
    face_width: tuple[int, int]  # range of the face width in pixels (jaw to jaw)
    affwild2_videos: SplitCounts  # test stays 0: Aff-Wild2's VA test labels are not public
    affwild2_frames: tuple[int, int]
    affwild_videos: SplitCounts
    affwild_frames: tuple[int, int]
    annotators: int = 5


@dataclass(frozen=True)
class PreprocessConfig:
    """Sec. 4 pipeline settings (`omg preprocess`). See omglib/preprocess/pipeline.py."""

    crop_size: int = 96  # the paper's 96x96x3; the CPU profiles use 64
    detector: Literal["hog", "cnn"] = "hog"  # dlib HOG or MMOD CNN
    upsample: int = 0  # detector upsampling: 1 finds faces down to ~40 px, at 4x the cost
    detect_every: int = 25  # full-frame search period while tracking; 1 = full search on every frame
    roi_margin: float = 0.6  # search region = previous landmark box grown by this fraction per side
    frames_from: Literal["videos", "crops"] = "videos"  # an Aff-Wild2 video with both: its file or the organisers' crops

    def to_dict(self) -> dict:
        return asdict(self)

    def processing(self) -> dict:
        """The settings that decide one input's frames (`frames_from` only picks the input, which
        the store's part names record): what the per-video parts are keyed by."""
        return {k: v for k, v in asdict(self).items() if k != "frames_from"}


@dataclass(frozen=True)
class ModelConfig:
    """Sizes of the networks of Sec. 5 (`omglib.models`). The defaults are the paper's.

    Smaller profiles shrink the networks only through these named fields: the book prints
    them next to every result, so a reduction is never hidden.
    """

    input_size: int = 96  # faces are resized to this side if the store's crop differs
    width_divisor: int = 1  # backbone channels / d (VGG, DenseNet, ResNet stages; the ResNet stem stays 64)
    vgg_fc: int = 4096  # the FC after VGG's last pool (+ landmarks)
    cnn_fc: int = 1500  # the FC after ResNet/DenseNet's average pool (+ landmarks)
    gru_hidden: int = 128  # units per GRU layer (2 layers)
    fusion_hidden: int = 128  # model-level fusion's GRU or FC, and the "-1FC" layers
    tap_pool: int | None = None  # None: conv/pool taps flattened as the paper feeds them; k: average-pooled to k x k first
    fc_dropout: float = 0.5  # dropout on the FC layers above the CNN (Sec. 6.1)
    gru_dropout: float = 0.2  # after the first GRU layer; the paper's "0.8" read as TensorFlow's keep-probability
    landmarks: bool = True  # join the 68 landmarks to the last pool / average-pooled features (Table 6 turns it off)
    landmark_dropout: float = 0.0  # training only: a frame's landmarks hidden with this probability (0: the paper)


@dataclass(frozen=True)
class TrainConfig:
    """Sec. 6: how networks are trained, aggregated and post-processed (`omglib.train`).

    ``strategy`` is the paper's choice between training end to end and freezing the CNN. The
    CNN (trunk) is first trained frame by frame on the pre-training data (Aff-Wild2, Aff-Wild,
    or OMG itself "from scratch"); "frozen" then trains only the layers above it, on CNN
    features computed once (the CPU profiles), "end-to-end" fine-tunes everything (the paper).
    """

    seq_len: int = 80  # frames per sequence (Sec. 6.1: 40-100 tried, 80 best)
    batch_size: int = 4  # sequences per batch (CNN-RNNs end to end)
    cnn_seq_len: int = 80  # frames per training window when a CNN trains frame by frame (Sec. 6.1: 80)
    cnn_batch_size: int = 4  # windows per batch when a CNN trains frame by frame (not given by the paper)
    frozen_batch_size: int = 4  # sequences per batch for the layers above a frozen CNN
    share_cnn: bool = False  # training seeds share one frame-by-frame CNN pre-training (seeded by Profile.seed)
    strategy: Literal["end-to-end", "frozen"] = "end-to-end"
    lr_cnn: float = 1e-4  # CNNs, and the CNN pre-training (from ImageNet / VGG-Face weights in the paper)
    lr_end_to_end: float = 1e-5  # CNN-RNNs end to end (1e-4 also tried)
    lr_frozen: float = 1e-3  # CNN-RNNs above a frozen CNN
    epochs: int = 30  # most epochs on OMG; early stopping usually ends sooner
    pretrain_epochs: int = 10  # epochs of CNN pre-training
    adapt_epochs: int = 0  # then epochs of the same frame-by-frame training on OMG train before the CNN is frozen
    patience: int = 5  # epochs without a better validation CCC before stopping
    loss_weights: tuple[float, float] = (0.5, 0.5)  # Eq. 3 multi-task; (1, 0) / (0, 1) uni-task
    aggregate: Literal["median", "mean"] = "median"  # per-sequence estimate from its frames (median: best)
    median_windows: tuple[int, ...] = (1, 3, 5, 9, 17, 33, 81)  # Sec. 6.3 grid, per dimension
    smoothing_windows: tuple[int, ...] = (1, 3, 5)  # neighbouring utterances of a video
    bootstrap: int = 1000  # resamples for 95% confidence intervals
    augment: bool = False  # random horizontal flips of training sequences
    precision: Literal["auto", "bf16", "fp32"] = "auto"  # auto: bf16 autocast + channels_last on CUDA, fp32 on CPU
    start: Literal["paper", "random"] = "paper"  # CNN start: the paper's VGG-Face / ImageNet files, or random weights
    weights_dir: str = "weights"  # where `omg weights import` put those files (weights/vgg-face.pt ...)


@dataclass(frozen=True)
class Profile:
    """One scale of the whole book. ``seed`` fixes the data (surrogate, shared CNN
    pre-training); ``seeds`` are the training seeds every experiment runs with; ``overrides``
    lists the fields `override` changed ("train.epochs=1"), so they reach every result."""

    name: str
    seed: int
    seeds: tuple[int, ...]
    synth: SynthConfig
    preprocess: PreprocessConfig
    model: ModelConfig
    train: TrainConfig
    overrides: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return asdict(self)

    def label(self, *sections: str) -> str:
        """The name of this profile's folders (data/synth-LABEL, results/LABEL): the profile's
        name, plus a hash of ``sections`` (every section when none is named; ``synth`` includes
        the data seed) when their values differ from the named profile's, so that an
        overridden run never overwrites the profile's own files. The training seeds name no
        folder (each seed has its own)."""
        chosen = sections or _SECTIONS
        mine, base = (({s: asdict(getattr(p, s)) for s in chosen} | ({"seed": p.seed} if "synth" in chosen else {}))
                      for p in (self, _PROFILES[self.name]))
        if mine == base:
            return self.name
        return f"{self.name}+{hashlib.sha1(json.dumps(mine, sort_keys=True).encode()).hexdigest()[:8]}"

    def settings(self) -> dict:
        """Every setting that decides a run's numbers, for its fingerprint: the profile without
        the training seeds (each run fingerprints its own) and the overrides list (their
        values are in the fields)."""
        return {k: v for k, v in self.to_dict().items() if k not in ("seeds", "overrides")}


_PROFILES = {
    "smoke": Profile(
        name="smoke",
        seed=0,
        seeds=(0, 1),
        synth=SynthConfig(
            omg_videos=SplitCounts(3, 2, 2),
            utterances_per_video=(2, 3),
            duration_scale=0.25,
            fps=25.0,
            frame_size=(640, 360),
            face_width=(100, 130),
            affwild2_videos=SplitCounts(2, 1, 0),
            affwild2_frames=(60, 90),
            affwild_videos=SplitCounts(1, 1, 0),
            affwild_frames=(40, 60),
        ),
        preprocess=PreprocessConfig(crop_size=64, detect_every=10),
        model=ModelConfig(input_size=32, width_divisor=16, vgg_fc=32, cnn_fc=32, gru_hidden=16, fusion_hidden=16, tap_pool=2),
        train=TrainConfig(seq_len=16, strategy="frozen", cnn_seq_len=1, cnn_batch_size=32, frozen_batch_size=8, share_cnn=True,
                          lr_cnn=1e-3, epochs=3, pretrain_epochs=1, patience=2, median_windows=(1, 3, 17),
                          smoothing_windows=(1, 3), bootstrap=200, start="random"),
    ),
    "quick": Profile(
        name="quick",
        seed=0,
        seeds=(0, 1, 2),
        synth=SynthConfig(
            # Enough videos for intervals that can resolve a few CCC points (issue: >= 60/20/40),
            # paid for with shorter utterances (x0.4 of the real durations), not fewer videos.
            omg_videos=SplitCounts(64, 24, 44),
            utterances_per_video=(4, 7),
            duration_scale=0.4,
            fps=12.5,
            frame_size=(640, 360),
            face_width=(95, 140),
            # Many people in short videos: a CNN pre-trained on a few dozen faces learns who they are,
            # not their expressions (its arousal on new faces stays near 0; benchmarks/pretraining_faces.py).
            # Aff-Wild has about half Aff-Wild2's videos, as the real ones (298 and 558).
            affwild2_videos=SplitCounts(720, 24, 0),
            affwild2_frames=(30, 45),
            affwild_videos=SplitCounts(360, 12, 0),
            affwild_frames=(30, 45),
        ),
        preprocess=PreprocessConfig(crop_size=64, detect_every=12),
        model=ModelConfig(input_size=48, width_divisor=8, vgg_fc=256, cnn_fc=256, gru_hidden=64, fusion_hidden=64, tap_pool=4),
        # 40 frames at 12.5 fps span the same 3.2 s as the paper's 80 at 25 fps.
        # The CNNs start from random weights here (no VGG-Face / ImageNet download): single frames
        # in larger batches for their frame-by-frame pre-training, at the paper's CNN learning rate,
        # then one epoch on OMG's training frames before they are frozen (of three, the first was
        # the best on validation: book/training.md, "The trunk learned its pre-training people").
        train=TrainConfig(seq_len=40, strategy="frozen", cnn_seq_len=1, cnn_batch_size=64, frozen_batch_size=16,
                          share_cnn=True, lr_cnn=1e-4, epochs=12, pretrain_epochs=4, adapt_epochs=1, patience=4,
                          median_windows=(1, 3, 5, 9, 17, 41), start="random"),
    ),
    "paper": Profile(
        name="paper",
        seed=0,
        seeds=(0, 1, 2),
        synth=SynthConfig(
            omg_videos=SplitCounts(231, 60, 204),
            utterances_per_video=(3, 18),
            duration_scale=1.0,
            fps=25.0,
            frame_size=(640, 360),
            face_width=(90, 160),
            affwild2_videos=SplitCounts(120, 40, 0),
            affwild2_frames=(1500, 4500),
            affwild_videos=SplitCounts(60, 20, 0),
            affwild_frames=(1500, 4500),
        ),
        preprocess=PreprocessConfig(crop_size=96, detect_every=25),
        model=ModelConfig(),
        train=TrainConfig(),
    ),
}


def get_profile(name: str, overrides: Mapping[str, object] | Iterable[str] | None = None) -> Profile:
    """The named profile with ``overrides`` applied (see `override`); an unknown name is a user
    mistake, reported with the valid names."""
    try:
        profile = _PROFILES[name]
    except KeyError:
        raise OmgError(f"unknown profile {name!r}: choose one of {', '.join(PROFILE_NAMES)}") from None
    return override(profile, overrides) if overrides else profile


# ---------------------------------------------------------------- overrides

_SECTIONS = ("synth", "preprocess", "model", "train")


def override(profile: Profile, settings: Mapping[str, object] | Iterable[str]) -> Profile:
    """``profile`` with the fields named by ``settings`` changed: "section.field=value" strings
    (``omg run --set train.epochs=1``) or a mapping (a notebook's ``overrides``). Each value is
    parsed and checked against the field's type; an unknown name or a bad value is refused
    with the valid choices. The changes are recorded in ``Profile.overrides`` (sorted, later
    settings of one name win), so they reach metrics.json and every fingerprint."""
    pairs = settings.items() if isinstance(settings, Mapping) else [_split(text) for text in settings]
    changed = dict(_split(o) for o in profile.overrides)
    for key, raw in pairs:
        section, _, name = key.rpartition(".")
        owner = profile if not section else getattr(profile, section, None) if section in _SECTIONS else None
        if owner is None or section == "" and name in (*_SECTIONS, "name", "overrides"):
            raise OmgError(f"--set {key}: unknown section; write SECTION.FIELD=VALUE with SECTION one of "
                           f"{', '.join(_SECTIONS)} (or seed=, seeds=)")
        hints = typing.get_type_hints(type(owner))
        if name not in hints:
            valid = [f.name for f in fields(owner) if not (owner is profile and f.name in (*_SECTIONS, "name", "overrides"))]
            raise OmgError(f"--set {key}: {type(owner).__name__} has no field {name!r}; valid: {', '.join(valid)}")
        value = _parse(raw, hints[name], key)
        owner = replace(owner, **{name: value})
        profile = owner if not section else replace(profile, **{section: owner})
        changed[key] = _format(value)
    return replace(profile, overrides=tuple(f"{k}={v}" for k, v in sorted(changed.items())))


def _split(text: str) -> tuple[str, str]:
    key, sep, value = str(text).partition("=")
    if not sep or not key.strip():
        raise OmgError(f"--set {text}: write SECTION.FIELD=VALUE, e.g. --set train.epochs=1")
    return key.strip(), value.strip()


def _format(value) -> str:
    if is_dataclass(value):
        value = tuple(getattr(value, f.name) for f in fields(value))
    if isinstance(value, tuple):
        return ",".join(_format(v) for v in value)
    return "none" if value is None else str(value).lower() if isinstance(value, bool) else str(value)


def _describe(hint) -> str:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Literal:
        return "one of " + ", ".join(map(str, args))
    if origin in (typing.Union, types.UnionType):
        return " or ".join("none" if a is type(None) else _describe(a) for a in args)
    if origin is tuple:
        return (f"a comma-separated list of {_describe(args[0])}" if args[-1] is Ellipsis
                else f"{len(args)} comma-separated values ({', '.join(_describe(a) for a in args)})")
    if is_dataclass(hint):
        return f"{len(fields(hint))} comma-separated values ({', '.join(f.name for f in fields(hint))})"
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string"}.get(hint, str(hint))


def _parse(raw, hint, key: str):
    """``raw`` (a string from the command line, or a JSON-like value from a notebook) as ``hint``."""
    def bad() -> OmgError:
        return OmgError(f"--set {key}={_format(raw) if not isinstance(raw, str) else raw}: "
                        f"{key} takes {_describe(hint)}")

    origin, args = typing.get_origin(hint), typing.get_args(hint)
    text = raw.strip() if isinstance(raw, str) else None
    if origin in (typing.Union, types.UnionType):
        if raw is None or text is not None and text.lower() in ("none", "null"):
            if type(None) in args:
                return None
            raise bad()
        for arg in [a for a in args if a is not type(None)]:
            try:
                return _parse(raw, arg, key)
            except OmgError:
                pass
        raise bad()
    if origin is tuple or is_dataclass(hint):
        if isinstance(raw, (list, tuple)):
            items = list(raw)
        elif text is not None:
            items = [t for t in text.strip("()[] ").split(",") if t.strip()]
        else:
            raise bad()
        if is_dataclass(hint):
            kinds = list(typing.get_type_hints(hint).values())
        else:
            kinds = [args[0]] * len(items) if args[-1] is Ellipsis else list(args)
        if not items or len(kinds) != len(items):
            raise bad()
        values = tuple(_parse(item, kind, key) for item, kind in zip(items, kinds))
        return hint(*values) if is_dataclass(hint) else values
    if origin is Literal:
        if str(raw) not in args:
            raise bad()
        return str(raw)
    if hint is bool:
        if isinstance(raw, bool):
            return raw
        if text is not None and text.lower() in ("true", "1", "yes", "on", "false", "0", "no", "off"):
            return text.lower() in ("true", "1", "yes", "on")
        raise bad()
    if hint in (int, float):
        try:
            value = float(text if text is not None else raw)
        except (TypeError, ValueError):
            raise bad() from None
        if isinstance(raw, bool) or hint is int and not value.is_integer():
            raise bad()
        return int(value) if hint is int else value
    if hint is str:
        return str(raw)
    raise bad()


__all__ = ["PROFILE_NAMES", "ModelConfig", "PreprocessConfig", "Profile", "SplitCounts", "SynthConfig", "TrainConfig",
           "get_profile", "override"]
