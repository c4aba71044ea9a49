"""`omg synth`: write the surrogate datasets in the real datasets' layouts.

    <out>/omg/        OMG-Emotion layout: the three official CSV names + <split>/<video>/<utterance>.mp4
    <out>/affwild2/   Aff-Wild2 layout (ABAW2): annotations/VA_Set/{Train,Validation}_Set/*.txt + videos/*.mp4
    <out>/affwild/    Aff-Wild layout, smaller: annotations/{train,test}/{valence,arousal}/*.txt +
                      videos/{train,test}/*.mp4 (Aff-Wild's test set is the pre-training's validation set)
    <out>/*/synth_truth/<split>/<video>.npz   per-frame truth (not part of the real formats)
    <out>/manifest.json   seed, generator version, profile, counts, checksums, label ceiling

Every random choice descends from (seed, dataset, split, video index), so a video's content
does not depend on how many workers rendered it or in what order. A video whose truth file
and checksums are in place is skipped on a re-run; its files are written atomically.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from omglib.config import Profile
from omglib.data.affwild import annotation_paths, write_values
from omglib.data.affwild2 import SET_DIRS, write_va_annotation
from omglib.data.omg import CSV_NAMES, SPLITS, OmgLayout, read_omg_csv, write_omg_csv
from omglib.errors import OmgError
from omglib.io import remove_stale_temporaries, write_json
from omglib.metrics import ccc
from omglib.parallel import imap_unordered
from omglib.synth import labels
from omglib.synth.face import Identity
from omglib.synth.video import Segment, VideoSpec, is_complete, sha256, write_video

# 1.2: compositing in float32 through OpenCV, sensor noise from OpenCV's Gaussian generator
# (seeded per frame): the same nuisances and distributions, 2x faster, different bytes.
GENERATOR_VERSION = "1.2"
DATASETS = {"omg": 1, "affwild2": 2, "affwild": 3}
AFFWILD_MEAN = np.array([0.05, 0.25])  # Aff-Wild(2) lean to positive arousal
UNANNOTATED_RATE = 1 / 120  # chance per second that an annotation gap (-5) starts

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VideoJob:
    dataset: str
    split: str
    name: str
    spec: VideoSpec
    truth_path: Path
    annotations: tuple[Path, ...] = ()  # Aff-Wild2: the VA file; Aff-Wild: the valence and arousal files

    @property
    def frames(self) -> int:
        return sum(s.n_frames for s in self.spec.segments)


def _rng(seed: int, dataset: str, split: str, index: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, DATASETS[dataset], SPLITS.index(split), index]))


def _video_id(rng: np.random.Generator, taken: set[str]) -> str:
    while True:
        name = f"{int(rng.integers(16**9)):09x}"
        if rng.random() < 0.3:
            name += f"_{int(rng.integers(1, 5))}"
        if name not in taken:
            taken.add(name)
            return name


@dataclass(frozen=True)
class _OmgVideo:
    """One OMG video's timeline before rendering: utterances, latent VA, gold labels."""

    name: str
    link: str
    utterances: list[labels.Utterance]
    latent: np.ndarray
    gold: np.ndarray  # (utterances, 2) valence, arousal
    emotion: np.ndarray


def _drawn_video(rng: np.random.Generator, profile: Profile, taken: set[str]) -> _OmgVideo:
    """A new video: drawn utterance count and durations, latent trajectory, simulated annotators."""
    cfg = profile.synth
    name = _video_id(rng, taken)
    n_utt = int(rng.integers(cfg.utterances_per_video[0], cfg.utterances_per_video[1] + 1))
    utterances = labels.segment(rng, n_utt, cfg.fps, cfg.duration_scale)
    latent = labels.va_trajectory(rng, utterances[-1].first_frame + utterances[-1].n_frames, cfg.fps)
    means = np.stack([latent[u.first_frame : u.first_frame + u.n_frames].mean(0) for u in utterances])
    gold, emotion = labels.annotate(rng, means.astype(np.float64), cfg.annotators)
    return _OmgVideo(name, f"synthetic://omg/{name}", utterances, latent, gold, emotion)


def _real_video(rng: np.random.Generator, profile: Profile, given: pd.DataFrame) -> _OmgVideo:
    """A video that reuses a real one's id, utterance timings and gold labels (``--labels-from``).

    Each utterance's latent trajectory is the real label plus zero-mean drift, so its mean
    (what the face shows on average) is the real gold label.
    """
    cfg = profile.synth
    given = given.sort_values("start").head(cfg.utterances_per_video[1])
    origin = float(given["start"].iloc[0])
    timings = [(origin + (s - origin) * cfg.duration_scale, origin + (e - origin) * cfg.duration_scale)
               for s, e in zip(given["start"], given["end"])]
    utterances = labels.segment(rng, len(timings), cfg.fps, cfg.duration_scale, timings)
    utterances = [replace(u, name=n) for u, n in zip(utterances, given["utterance"])]
    drift = labels.va_trajectory(rng, max(u.first_frame + u.n_frames for u in utterances), cfg.fps, offset=np.zeros(2))
    latent = drift.astype(np.float64).copy()
    gold = given[["valence", "arousal"]].to_numpy(dtype=np.float64)
    for u, target in zip(utterances, gold):
        part = slice(u.first_frame, u.first_frame + u.n_frames)
        latent[part] = np.clip(target + drift[part] - drift[part].mean(0), -1, 1)
    return _OmgVideo(str(given["video"].iloc[0]), str(given["link"].iloc[0]), utterances,
                     latent.astype(np.float32), gold, given["emotion"].to_numpy())


UTTERANCE_COLUMNS = ["split", "link", "start", "end", "video", "utterance", "valence", "arousal", "emotion",
                     "true_valence", "true_arousal"]


def plan_omg(profile: Profile, out: Path, seed: int, labels_from: Path | None = None) -> tuple[list[VideoJob], pd.DataFrame]:
    """Every OMG video to render, and the utterance table (gold labels + the truth means)."""
    cfg = profile.synth
    root = out / "omg"
    real = OmgLayout(labels_from) if labels_from else None
    jobs, rows, taken = [], [], set()
    for split, count in cfg.omg_videos.items():
        real_videos: list[pd.DataFrame] = []
        if real:
            real_split = read_omg_csv(real.csv_path(split))
            if not real_split.attrs["has_labels"]:
                raise OmgError(f"{real.csv_path(split)} has no labels: --labels-from needs labelled CSVs")
            groups = [g for _, g in real_split.groupby("video", sort=False)]
            order = np.random.default_rng([seed, SPLITS.index(split)]).permutation(len(groups))
            real_videos = [groups[i] for i in order[:count]]
            taken.update(g["video"].iloc[0] for g in real_videos)
        for k in range(count):
            rng = _rng(seed, "omg", split, k)
            identity = Identity.draw(rng)
            video = _real_video(rng, profile, real_videos[k]) if k < len(real_videos) else _drawn_video(rng, profile, taken)
            spec = VideoSpec(
                identity=identity, latent=video.latent,
                segments=tuple(Segment(root / split / video.name / u.name, u.first_frame, u.n_frames) for u in video.utterances),
                fps=cfg.fps, frame_size=cfg.frame_size, face_width=float(rng.uniform(*cfg.face_width)),
                seed=int(rng.integers(2**31)),
            )
            jobs.append(VideoJob("omg", split, video.name, spec, root / "synth_truth" / split / f"{video.name}.npz"))
            for u, g, e in zip(video.utterances, video.gold, video.emotion):
                truth = video.latent[u.first_frame : u.first_frame + u.n_frames].mean(0)
                rows.append({"split": split, "link": video.link, "start": u.start, "end": u.end, "video": video.name,
                             "utterance": u.name, "valence": float(g[0]), "arousal": float(g[1]), "emotion": int(e),
                             "true_valence": float(truth[0]), "true_arousal": float(truth[1])})
    return jobs, pd.DataFrame(rows, columns=UTTERANCE_COLUMNS)  # the columns even without OMG videos


AFFWILD_FOLDERS = {"train": "train", "validation": "test"}  # the surrogate's splits as Aff-Wild's release names them


def plan_affwild(profile: Profile, out: Path, seed: int, dataset: str) -> list[VideoJob]:
    """Videos with per-frame labels in their dataset's layout (``dataset`` = affwild2 or affwild)."""
    cfg = profile.synth
    counts, frame_range = (cfg.affwild2_videos, cfg.affwild2_frames) if dataset == "affwild2" else (cfg.affwild_videos, cfg.affwild_frames)
    root = out / dataset
    width, height = cfg.frame_size
    jobs = []
    for split, count in counts.items():
        for k in range(count):
            rng = _rng(seed, dataset, split, k)
            identity = Identity.draw(rng)
            n = int(rng.integers(frame_range[0], frame_range[1] + 1))
            name = f"{'' if dataset == 'affwild2' else 'aw'}{split[0]}{k + 1}-{int(cfg.fps)}-{width}x{height}"
            latent = labels.va_trajectory(rng, n, cfg.fps, mean=AFFWILD_MEAN)
            if dataset == "affwild2":
                video = root / "videos" / f"{name}.mp4"
                annotations = (root / "annotations" / "VA_Set" / SET_DIRS[split] / f"{name}.txt",)
            else:
                video = root / "videos" / AFFWILD_FOLDERS[split] / f"{name}.mp4"
                annotations = tuple(annotation_paths(root / "annotations", AFFWILD_FOLDERS[split], name).values())
            spec = VideoSpec(identity, latent, (Segment(video, 0, n),), cfg.fps,
                             cfg.frame_size, float(rng.uniform(*cfg.face_width)), int(rng.integers(2**31)))
            jobs.append(VideoJob(dataset, split, name, spec, root / "synth_truth" / split / f"{name}.npz", annotations))
    return jobs


def _job_done(job: VideoJob) -> bool:
    return is_complete(job.spec, job.truth_path) and all(p.is_file() for p in job.annotations)


def _run_job(job: VideoJob) -> tuple[str, int, bool]:
    """Render one video (skipping it when complete); returns (name, frames, rendered)."""
    if _job_done(job):
        return job.name, job.frames, False
    write_video(job.spec, job.truth_path)
    if job.annotations:
        with np.load(job.truth_path) as truth:
            visible = truth["visible"]
        rng = np.random.default_rng([job.spec.seed, 1])
        va = labels.frame_annotation(rng, job.spec.latent, job.spec.fps)
        unannotated = ~visible
        for start in np.flatnonzero(rng.random(len(va)) < UNANNOTATED_RATE / job.spec.fps):
            unannotated[start : start + int(rng.uniform(0.5, 3) * job.spec.fps)] = True
        va[unannotated] = np.nan
        if job.dataset == "affwild2":
            write_va_annotation(job.annotations[0], va)
        else:
            for path, values in zip(job.annotations, va.T):
                write_values(path, values)
    return job.name, job.frames, True


def _check_compatible(out: Path, record: dict) -> None:
    manifest = out / "manifest.json"
    if not manifest.is_file():
        return
    old = json.loads(manifest.read_text())
    record = json.loads(json.dumps(record))  # as it reads back from disk (tuples become lists)
    for key in ("generator_version", "seed", "synth", "labels_from"):
        if old.get(key) != record.get(key):
            raise OmgError(f"{out} already holds a surrogate dataset made with a different {key} "
                           f"({old.get(key)!r} vs {record.get(key)!r}): choose another --out or delete it")


def generate(profile: Profile, out: str | Path, workers: int | None = None, seed: int | None = None,
             labels_from: str | Path | None = None, progress: bool = True) -> dict:
    """Write synth-omg, synth-affwild2 and synth-affwild under ``out``; return the manifest."""
    from tqdm import tqdm

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OmgError(f"{out} is a file: --out needs a folder (new or one written by omg synth)")
    seed = profile.seed if seed is None else seed
    labels_from = Path(labels_from) if labels_from else None
    record = {"generator_version": GENERATOR_VERSION, "seed": seed, "profile": profile.name,
              "synth": asdict(profile.synth), "labels_from": str(labels_from) if labels_from else None}
    _check_compatible(out, record)
    remove_stale_temporaries(out)
    started = time.perf_counter()
    omg_jobs, utterances = plan_omg(profile, out, seed, labels_from)
    jobs = omg_jobs + plan_affwild(profile, out, seed, "affwild2") + plan_affwild(profile, out, seed, "affwild")
    total = sum(j.frames for j in jobs)
    rendered = 0
    ordered = sorted(jobs, key=lambda j: -j.frames)  # longest first: better load balance
    with tqdm(total=total, unit="frame", desc=f"synth {profile.name}", disable=not progress) as bar:
        for _, frames, was_rendered in imap_unordered(_run_job, ordered, workers):
            rendered += frames if was_rendered else 0
            bar.update(frames)
    seconds = time.perf_counter() - started

    root = out / "omg"
    omg_splits = [s for s in CSV_NAMES if (utterances["split"] == s).any()]  # a split without videos gets no CSV
    for split in omg_splits:
        write_omg_csv(utterances[utterances["split"] == split], root / CSV_NAMES[split][0])
    manifest = {**record, "counts": {}, "checksums": {}, "label_ceiling_ccc": {},
                "run": {"workers": workers or os.cpu_count(), "frames_rendered": rendered, "seconds": round(seconds, 2),
                        "frames_per_second": round(rendered / seconds, 1) if rendered else None}}
    for job in jobs:
        with np.load(job.truth_path) as truth:
            visible = int(truth["visible"].sum())
            files = dict(zip(truth["files"].tolist(), truth["sha256"].tolist()))
        counts = manifest["counts"].setdefault(job.dataset, {}).setdefault(
            job.split, {"videos": 0, "files": 0, "frames": 0, "visible_frames": 0})
        counts["videos"] += 1
        counts["files"] += len(files)
        counts["frames"] += job.frames
        counts["visible_frames"] += visible
        for segment in job.spec.segments:
            manifest["checksums"][str(segment.path.relative_to(out))] = files[segment.path.name]
        for path in job.annotations:
            manifest["checksums"][str(path.relative_to(out))] = sha256(path)
    for split in omg_splits:
        manifest["checksums"][str((root / CSV_NAMES[split][0]).relative_to(out))] = sha256(root / CSV_NAMES[split][0])
        part = utterances[utterances["split"] == split]
        manifest["counts"]["omg"][split]["utterances"] = len(part)
        manifest["label_ceiling_ccc"][split] = {
            d: round(ccc(part[f"true_{d}"], part[d]), 4) for d in ("valence", "arousal")}
    write_json(out / "manifest.json", manifest)
    log.info("synth %s: %d frames in %.1f s (%d rendered)", profile.name, total, seconds, rendered)
    return manifest
