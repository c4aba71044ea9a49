"""Which datasets a data root holds, recognised by their files, never by a folder's name.

A researcher's copy comes in the layout of its release, often still inside the wrapper folder
its zip unpacked to. `find` walks the folder the user gave once and recognises each dataset
by its label files, at any depth:

    OMG-Emotion   a folder holding the official CSVs (omg_TrainVideos.csv, ...)
    Aff-Wild2     a folder holding Train_Set/ or Training_Set/ (and Validation_Set/) of text files
                  headed ``valence,arousal``: ABAW1 annotations/VA_Set, ABAW2 annotations/VA_Set,
                  ABAW3-6 .../VA_Estimation_Challenge (the EXPR and AU sets have other headers)
    Aff-Wild      annotations/<split>/valence/ + arousal/ (one value per line)

Each dataset's videos and frame folders are looked for anywhere in its *area*: the largest
folder above its labels, up to the data root, that holds no other dataset's labels. So one
release may keep videos, crops and annotations in sibling folders, and a folder of datasets
keeps each dataset's files apart. What content cannot tell (an Aff-Wild copy converted to the
Aff-Wild2 layout) the user says with ``dataset=`` (``omg preprocess --dataset affwild``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from omglib.data import affwild, affwild2, omg
from omglib.data.media import CROP_FOLDERS, Media, collect
from omglib.errors import OmgError

DATASETS = ("omg", "affwild2", "affwild")
NAMES = {"omg": "OMG-Emotion", "affwild2": "Aff-Wild2", "affwild": "Aff-Wild"}
@dataclass(frozen=True)
class Found:
    """One dataset of a data root: where its labels are and what its area holds."""

    dataset: str  # "omg" | "affwild2" | "affwild": which stores it fills
    format: str  # the layout its label files have (the same names; differs only when declared)
    labels: Path  # OMG: the CSV folder; Aff-Wild2: the folder holding Train_Set/; Aff-Wild: annotations/
    area: Path
    media: Media

    @property
    def release(self) -> str:
        """The release its label folders look like, for the summary ("ABAW3 annotations", ...)."""
        if self.format == "omg":
            return "official CSVs"
        if self.format == "affwild":
            return "2017 release layout"
        for folder in (self.labels, *self.labels.parents):
            if match := re.match(r"(\d)(?:st|nd|rd|th)[ _-]?abaw", folder.name.lower()):
                return f"ABAW{match.group(1)} annotations"
        if (self.labels / "Training_Set").is_dir():
            return "ABAW1 annotations"
        return "ABAW2 annotations" if self.labels.name == "VA_Set" else "ABAW3-6 annotations"

    def layout(self, frames_from: str = "videos"):
        """The reader of its format: `OmgLayout`, `AffWild2Layout` or `AffWildLayout`."""
        if self.format == "omg":
            return omg.OmgLayout(self.labels, self.media)
        reader = affwild2.AffWild2Layout if self.format == "affwild2" else affwild.AffWildLayout
        return reader(self.labels, self.media, frames_from)

    def describe(self, frames_from: str = "videos") -> str:
        """E.g. "Aff-Wild2, ABAW3 annotations, cropped_aligned frames"."""
        kinds = sorted({p.parent.name for p in self.media.crops}, key=CROP_FOLDERS.index)
        inputs = (["videos"] if self.media.videos else []) + [f"{k} frames" for k in kinds]
        if len(inputs) > 1 and self.dataset != "omg":
            inputs[-1] += f" ({'videos' if frames_from == 'videos' else 'crops'} read where both exist)"
        declared = [] if self.format == self.dataset else [f"in the {NAMES[self.format]} layout (declared)"]
        return ", ".join([NAMES[self.dataset], *declared, self.release, *(inputs or ["no videos"])])


def _header(folder: Path) -> str:
    """The first line of the first .txt file in ``folder`` (lower-cased, no spaces)."""
    with os.scandir(folder) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            if entry.name.endswith(".txt") and entry.is_file():
                with open(entry.path, errors="replace") as f:
                    return f.readline().strip().lower().replace(" ", "")
    return ""


def _markers(folder: Path, files: list[str], subfolders: list[str]) -> list[str]:
    """Which datasets' labels ``folder`` holds itself (normally none, at most one)."""
    found = []
    if any(name in omg.ALL_CSV_NAMES for name in files):
        found.append("omg")
    splits = [s for s in subfolders if s in affwild2.SPLIT_DIRS]
    if splits and any(_header(folder / s) == "valence,arousal" for s in splits):
        found.append("affwild2")
    if any(s in affwild.SPLIT_DIRS and (folder / s / "valence").is_dir() and (folder / s / "arousal").is_dir()
           for s in subfolders):
        found.append("affwild")
    return found


def scan(data_root: Path) -> tuple[list[tuple[str, Path]], Media]:
    """One walk of ``data_root``: the (dataset, label folder) markers, and every video and crop folder."""
    markers: list[tuple[str, Path]] = []
    media = collect(data_root, lambda here, subfolders, files: markers.extend(
        (dataset, here) for dataset in _markers(here, files, subfolders)))
    return markers, media


def _area(labels: Path, others: list[Path], data_root: Path) -> Path:
    """The largest folder above ``labels`` (up to ``data_root``) holding none of ``others``."""
    area = labels
    for folder in labels.parents:
        if not folder.is_relative_to(data_root) or any(o.is_relative_to(folder) for o in others):
            break
        area = folder
    return area


def find(data_root: str | Path, dataset: str | None = None) -> list[Found]:
    """Every dataset under ``data_root`` (in `DATASETS` order); ``dataset`` declares what a root
    holding one dataset's labels is (e.g. "affwild" for Aff-Wild in the Aff-Wild2 layout)."""
    data_root = Path(data_root)
    if not data_root.is_dir():
        raise OmgError(f"{data_root}: no such folder (pass --data-root your OMG-Emotion, Aff-Wild2 or Aff-Wild copy, "
                       "or a folder of them)")
    if dataset is not None and dataset not in DATASETS:
        raise OmgError(f"--dataset {dataset}: choose one of {', '.join(DATASETS)}")
    markers, media = scan(data_root)
    if not markers:
        raise OmgError(f"{data_root}: no dataset found: neither OMG-Emotion's official CSVs (omg_TrainVideos.csv, ...), "
                       "nor Aff-Wild2's VA annotations (VA_Set/Train_Set or VA_Estimation_Challenge/Train_Set, files "
                       "headed valence,arousal), nor Aff-Wild's annotations/<split>/valence + arousal, at any depth")
    if dataset is not None:
        if len(markers) > 1:
            raise OmgError(f"--dataset {dataset} names one dataset, but {data_root} holds "
                           + " and ".join(f"{NAMES[d]} labels in {p}" for d, p in markers))
    by_dataset: dict[str, tuple[str, Path]] = {}
    for name, labels in markers:
        if name in by_dataset:
            raise OmgError(f"{data_root}: two {NAMES[name]} label folders, {by_dataset[name][1]} and {labels}; keep one "
                           "(or point --data-root at one of them)")
        by_dataset[dataset or name] = (name, labels)
    found = []
    for name in DATASETS:
        if name in by_dataset:
            format_, labels = by_dataset[name]
            area = _area(labels, [p for d, (_, p) in by_dataset.items() if d != name], data_root)
            found.append(Found(name, format_, labels, area, media.within(area)))
    return found
