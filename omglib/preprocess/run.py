"""`omg preprocess`: every video of an OMG or Aff-Wild2 root into one FrameStore per split.

Stores always go to ``<out>/<dataset>/<split>``, whichever of three forms ``data_root`` takes:

    OMG root (the official CSVs at the top)  -> <out>/omg/<split>        train, validation, test
    Aff-Wild2 root (annotations/VA_Set/...)  -> <out>/affwild2/<split>   train, validation
      named like Aff-Wild (see `dataset_of`)  -> <out>/affwild/<split>    (Aff-Wild in the Aff-Wild2 layout)
    a folder of such roots (`omg synth`'s)   -> each of them as above

`omglib.experiments.Context.store` reads the same places, so `omg preprocess`, `omg run`,
`omg book` and `omg data summary` agree on any of the three forms.

Past one machine: ``preprocess_shard(..., shard=(i, n))`` pre-processes a deterministic 1/n of the
videos (a stable hash of the store and the video's key, so a shard's share does not move when
other videos appear) into the per-video parts a normal run writes; `merge` (or a normal run)
consolidates them into the same store a single run writes.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from omglib.config import PreprocessConfig
from omglib.data.affwild2 import SPLIT_DIRS, AffWild2Layout, read_va_annotation
from omglib.data.omg import CSV_NAMES, OmgLayout
from omglib.data.store import FrameStore, Unit, build_parts, build_store, complete, merge_store
from omglib.errors import OmgError

log = logging.getLogger(__name__)
DATASETS = ("omg", "affwild2", "affwild")
_AFFWILD_NAME = re.compile(r"affwild(?!2)")


def omg_units(layout: OmgLayout, split: str) -> tuple[list[Unit], list[str]]:
    """Units for the split's present utterance videos, and the missing ones (video/utterance)."""
    utterances = layout.read_split(split)
    labelled = utterances.attrs["has_labels"]
    units = [Unit(key=f"{r.video}__{Path(r.utterance).stem}", path=Path(r.path), video=r.video, utterance=r.utterance,
                  valence=r.valence if labelled else np.nan, arousal=r.arousal if labelled else np.nan)
             for r in utterances[utterances["present"]].itertuples()]
    missing = [f"{r.video}/{r.utterance}" for r in utterances[~utterances["present"]].itertuples()]
    return units, missing


def affwild_units(layout: AffWild2Layout, split: str) -> tuple[list[Unit], list[str]]:
    """Units for the split's annotated videos that are present (per-frame labels attached)."""
    entries = layout.read_split(split)
    units = []
    for r in entries[entries["present"]].itertuples():
        va = read_va_annotation(r.annotation)
        units.append(Unit(key=r.name, path=Path(r.path), video=r.name, utterance="", valence=va[:, 0], arousal=va[:, 1]))
    return units, entries.loc[~entries["present"], "name"].tolist()


def dataset_of(root: Path) -> str | None:
    """"omg" for an OMG root; for an Aff-Wild2-layout root "affwild" when its folder name, lower-cased
    without '-', '_', '.' and spaces, holds "affwild" not followed by "2" (Aff-Wild, aff_wild,
    AffWild1), else "affwild2"; None for anything else."""
    if OmgLayout.is_omg_root(root):
        return "omg"
    if AffWild2Layout.is_affwild2_root(root):
        return "affwild" if _AFFWILD_NAME.search(re.sub(r"[-_. ]", "", root.name.lower())) else "affwild2"
    return None


def data_roots(data_root: str | Path) -> list[tuple[str, Path]]:
    """(dataset, root) for a data root in any of the three forms; a user mistake raises OmgError."""
    data_root = Path(data_root)
    if not data_root.is_dir():
        raise OmgError(f"{data_root}: no such folder (pass --data-root an OMG or Aff-Wild2 root, or a folder of them)")
    if (own := dataset_of(data_root)) is not None:
        return [(own, data_root)]
    found: dict[str, Path] = {}
    for child in sorted(p for p in data_root.iterdir() if p.is_dir()):
        if (name := dataset_of(child)) is None:
            continue
        if name in found:
            raise OmgError(f"{data_root}: both {found[name].name}/ and {child.name}/ are {name} data; keep one "
                           "(an Aff-Wild2-layout folder named like affwild, not affwild2, is Aff-Wild)")
        found[name] = child
    if not found:
        raise OmgError(f"{data_root}: neither an OMG root (omg_TrainVideos.csv ...) nor an Aff-Wild2 root "
                       "(annotations/VA_Set/Train_Set), nor a folder of them")
    return [(name, found[name]) for name in DATASETS if name in found]


@dataclass
class StoreJob:
    """One split of one dataset: where its store goes and what goes in."""

    name: str  # "omg/train"
    path: Path
    units: list[Unit]
    meta: dict


def store_jobs(data_root: str | Path, out: str | Path) -> list[StoreJob]:
    """Every split with a present video, each read once (CSVs, every Aff-Wild2 annotation file)."""
    jobs = []
    for dataset, root in data_roots(data_root):
        if dataset == "omg":
            layout = OmgLayout(root)
            found = [(s, *omg_units(layout, s)) for s in CSV_NAMES if any((root / n).is_file() for n in CSV_NAMES[s])]
        else:
            layout = AffWild2Layout(root)
            found = [(s, *affwild_units(layout, s)) for s in SPLIT_DIRS]
        for split, units, missing in found:
            if missing:
                log.warning("%s %s: %d videos missing (skipped), e.g. %s", root, split, len(missing), missing[0])
            if not units:
                if missing:  # a split without annotations (e.g. no Validation_Set) is not worth a warning
                    log.warning("%s %s: no video present, nothing to pre-process", root, split)
                continue
            meta = {"data_root": str(root.resolve()), "layout": "omg" if dataset == "omg" else "affwild2",
                    "split": split, "missing_videos": missing}
            jobs.append(StoreJob(f"{dataset}/{split}", Path(out) / dataset / split, units, meta))
    return jobs


def preprocess(data_root: str | Path, out: str | Path, config: PreprocessConfig, workers: int | None = None,
               progress: bool = True) -> dict[str, FrameStore]:
    """Build (or resume, or consolidate shards into) the FrameStore of every split; keys like "omg/train"."""
    return {job.name: build_store(job.units, job.path, config.to_dict(), workers=workers, progress=progress,
                                  extra_meta=job.meta) for job in store_jobs(data_root, out)}


def incomplete(data_root: str | Path, out: str | Path, config: PreprocessConfig) -> list[str]:
    """The stores of ``data_root`` that ``out`` does not hold complete at ``config`` (what
    `preprocess` would still compute)."""
    return [job.name for job in store_jobs(data_root, out) if not complete(job.path, job.units, config.to_dict())]


def parse_shard(text: str) -> tuple[int, int]:
    """"I/N" (1 <= I <= N) -> (I, N)."""
    match = re.fullmatch(r"(\d+)/(\d+)", text.strip())
    if not match or not 1 <= int(match.group(1)) <= int(match.group(2)):
        raise OmgError(f"--shard {text}: write I/N with 1 <= I <= N, e.g. --shard 1/4 (Slurm: $SLURM_ARRAY_TASK_ID/4 "
                       "with --array=1-4)")
    return int(match.group(1)), int(match.group(2))


def in_shard(store: str, key: str, shard: tuple[int, int]) -> bool:
    """Whether video ``key`` of ``store`` belongs to shard (i, n): a stable hash, not Python's."""
    index, count = shard
    return int(hashlib.sha1(f"{store}/{key}".encode()).hexdigest()[:15], 16) % count == index - 1


def preprocess_shard(data_root: str | Path, out: str | Path, config: PreprocessConfig, shard: tuple[int, int],
                     workers: int | None = None, progress: bool = True) -> dict[str, tuple[int, int, int]]:
    """Pre-process shard (i, n)'s videos into per-video parts, without consolidating;
    per store: (videos done, videos failed, videos in the whole store)."""
    done = {}
    for job in store_jobs(data_root, out):
        units = [u for u in job.units if in_shard(job.name, u.key, shard)]
        stats, failed = build_parts(units, job.path, config.to_dict(), workers=workers, progress=progress)
        done[job.name] = (len(stats), len(failed), len(job.units))
    return done


def merge(data_root: str | Path, out: str | Path, config: PreprocessConfig) -> dict[str, FrameStore]:
    """Consolidate the shards' parts into every split's store; refuses while a video has no part."""
    return {job.name: merge_store(job.units, job.path, config.to_dict(), extra_meta=job.meta)
            for job in store_jobs(data_root, out)}
