"""`omg preprocess`: every video of every dataset under a data root into one FrameStore per split.

Stores always go to ``<out>/<dataset>/<split>`` (dataset: omg, affwild2, affwild), wherever the
data root's datasets lie: `omglib.data.roots` recognises them by their label files (an OMG
copy, an Aff-Wild2 release of any ABAW year, Aff-Wild 2017, a folder of them, each in the
wrapper folders its download came in). `omglib.experiments.Context.store` reads the same
places, so `omg preprocess`, `omg run`, `omg book` and `omg data summary` agree.

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
from omglib.data.omg import OmgLayout
from omglib.data.roots import find
from omglib.data.store import FrameStore, Unit, build_parts, build_store, complete, merge_store
from omglib.errors import OmgError
from omglib.preprocess.pipeline import process_unit

log = logging.getLogger(__name__)


def omg_units(layout: OmgLayout, split: str) -> tuple[list[Unit], list[str]]:
    """Units for the split's present utterance videos, and the missing ones (video/utterance).
    An unlabelled split (the test set without labels) gets NaN labels: pre-processed, predicted, never scored."""
    utterances = layout.read_split(split)
    labelled = utterances.attrs["has_labels"]
    units = [Unit(key=f"{r.video}__{Path(r.utterance).stem}", path=Path(r.path), video=r.video, utterance=r.utterance,
                  valence=r.valence if labelled else np.nan, arousal=r.arousal if labelled else np.nan)
             for r in utterances[utterances["present"]].itertuples()]
    missing = [f"{r.video}/{r.utterance}" for r in utterances[~utterances["present"]].itertuples()]
    return units, missing


def frame_label_units(layout, split: str) -> tuple[list[Unit], list[str]]:
    """Units for the split's annotated subjects that are present (Aff-Wild2 or Aff-Wild: per-frame
    labels attached; a video file, with the side of a two-person video, or the organisers' crops)."""
    entries = layout.read_split(split)
    units = []
    for r in entries[entries["present"]].itertuples():
        va = layout.read_labels(r)
        units.append(Unit(key=r.name, path=Path(r.path), video=r.name, utterance="", valence=va[:, 0],
                          arousal=va[:, 1], side=r.side or None, source=r.source))
    return units, entries.loc[~entries["present"], "name"].tolist()


@dataclass
class StoreJob:
    """One split of one dataset: where its store goes and what goes in."""

    name: str  # "omg/train"
    path: Path
    units: list[Unit]
    meta: dict


def store_jobs(data_root: str | Path, out: str | Path, config: PreprocessConfig,
               dataset: str | None = None) -> list[StoreJob]:
    """Every split with a present video, each read once (CSVs, every annotation file)."""
    jobs = []
    for found in find(data_root, dataset):
        layout = found.layout(config.frames_from)
        units_of = omg_units if found.format == "omg" else frame_label_units
        for split in layout.splits():
            units, missing = units_of(layout, split)
            if missing:
                log.warning("%s %s: %d videos missing (skipped), e.g. %s", found.area, split, len(missing), missing[0])
            if not units:
                if missing:  # a split without annotations (e.g. no Validation_Set) is not worth a warning
                    log.warning("%s %s: no video present, nothing to pre-process", found.area, split)
                continue
            meta = {"data_root": str(found.area.resolve()), "labels": str(found.labels.resolve()),
                    "layout": found.describe(config.frames_from), "split": split, "missing_videos": missing}
            jobs.append(StoreJob(f"{found.dataset}/{split}", Path(out) / found.dataset / split, units, meta))
    return jobs


def preprocess(data_root: str | Path, out: str | Path, config: PreprocessConfig, workers: int | None = None,
               progress: bool = True, dataset: str | None = None) -> dict[str, FrameStore]:
    """Build (or resume, or consolidate shards into) the FrameStore of every split; keys like "omg/train"."""
    return {job.name: build_store(job.units, job.path, config.to_dict(), process_unit, workers=workers, progress=progress,
                                  extra_meta=job.meta) for job in store_jobs(data_root, out, config, dataset)}


def incomplete(data_root: str | Path, out: str | Path, config: PreprocessConfig, dataset: str | None = None) -> list[str]:
    """The stores of ``data_root`` that ``out`` does not hold complete at ``config`` (what
    `preprocess` would still compute)."""
    return [job.name for job in store_jobs(data_root, out, config, dataset)
            if not complete(job.path, job.units, config.to_dict(), process_unit)]


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
                     workers: int | None = None, progress: bool = True,
                     dataset: str | None = None) -> dict[str, tuple[int, int, int]]:
    """Pre-process shard (i, n)'s videos into per-video parts, without consolidating;
    per store: (videos done, videos failed, videos in the whole store)."""
    done = {}
    for job in store_jobs(data_root, out, config, dataset):
        units = [u for u in job.units if in_shard(job.name, u.key, shard)]
        stats, failed = build_parts(units, job.path, config.to_dict(), process_unit, workers=workers, progress=progress)
        done[job.name] = (len(stats), len(failed), len(job.units))
    return done


def merge(data_root: str | Path, out: str | Path, config: PreprocessConfig,
          dataset: str | None = None) -> dict[str, FrameStore]:
    """Consolidate the shards' parts into every split's store; refuses while a video has no part."""
    return {job.name: merge_store(job.units, job.path, config.to_dict(), process_unit, extra_meta=job.meta)
            for job in store_jobs(data_root, out, config, dataset)}
