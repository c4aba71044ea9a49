"""Aff-Wild (2017): per-frame valence and arousal, one file per dimension.

On disk, as the database is released (any wrapper folder above; `omglib.data.roots` finds it)::

    annotations/train/valence/<id>.txt    one value in [-1, 1] per line, one line per frame, no header
    annotations/train/arousal/<id>.txt
    annotations/test/valence/<id>.txt, .../arousal/<id>.txt
    videos/train/<id>.mp4 (or .avi), videos/test/...   (found anywhere in the dataset's area)

Aff-Wild has a train and a test set and no validation set. The paper pre-trains on it, so its
test set is the validation set of that pre-training (`SPLIT_DIRS`): OMG's test set is never
touched. A value of -5, where a copy has one, marks a frame that is not annotated (NaN).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from omglib.data.affwild2 import NOT_ANNOTATED, frame_entries
from omglib.data.media import Media
from omglib.errors import DataError, OmgError

SPLITS = ("train", "validation")
SPLIT_DIRS = {"train": "train", "validation": "validation", "val": "validation", "test": "validation"}
DIMENSIONS = ("valence", "arousal")


def read_values(path: str | Path) -> np.ndarray:
    """One dimension's per-frame values (float64); NaN where the file says -5."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "annotation file not found",
                        fix="Aff-Wild keeps valence/ and arousal/ side by side, one file per video in each")
    lines = path.read_text().splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise DataError(path, "file is empty", fix="expected one value per line, one line per frame")
    values = np.empty(len(lines))
    for i, line in enumerate(lines):
        try:
            values[i] = float(line.strip().rstrip(","))
        except ValueError:
            raise DataError(path, f"not a number: {line!r}", line=i + 1,
                            fix="Aff-Wild annotations hold one value per line and no header") from None
    if (bad := (values != NOT_ANNOTATED) & ~((values >= -1.0) & (values <= 1.0))).any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(path, f"value {values[i]} outside [-1, 1]", line=i + 1)
    values[values == NOT_ANNOTATED] = np.nan
    return values


def write_values(path: str | Path, values: np.ndarray) -> None:
    """Inverse of `read_values` (NaN -> -5), written atomically."""
    from omglib.io import write_text

    write_text(path, "".join("-5\n" if np.isnan(v) else f"{v:.6f}\n" for v in np.asarray(values, np.float64)))


def annotation_paths(annotations: Path, folder: str, name: str) -> dict[str, Path]:
    """The valence and arousal files of video ``name`` in split folder ``folder``."""
    return {d: annotations / folder / d / f"{name}.txt" for d in DIMENSIONS}


@dataclass(frozen=True)
class AffWildLayout:
    """An Aff-Wild copy: its annotations/ folder and the videos of its area."""

    labels: Path  # the folder holding train/valence/, train/arousal/, ...
    media: Media
    frames_from: str = "videos"

    def _folders(self, split: str) -> list[str]:
        present = [f for f, s in SPLIT_DIRS.items() if s == split and (self.labels / f / "valence").is_dir()]
        # a copy with its own validation folder keeps test/ out of it
        return [f for f in present if f != "test"] or present

    def splits(self) -> list[str]:
        return [s for s in SPLITS if self._folders(s)]

    def read_split(self, split: str) -> pd.DataFrame:
        """The split's annotated videos (`frame_entries`); ``annotation`` is the valence file."""
        if split not in SPLITS:
            raise OmgError(f"unknown Aff-Wild split {split!r}: choose one of {', '.join(SPLITS)}")
        annotations = {p.stem: p for f in self._folders(split) for p in sorted((self.labels / f / "valence").glob("*.txt"))}
        return frame_entries(split, annotations, self.media, self.frames_from)

    def read_labels(self, entry) -> np.ndarray:
        """(frames, 2) float32 [valence, arousal] of one entry; the two files must agree in length."""
        valence = Path(entry.annotation)
        arousal = valence.parents[1] / "arousal" / valence.name
        v, a = read_values(valence), read_values(arousal)
        if len(v) != len(a):
            raise DataError(arousal, f"{len(a)} frames, but {valence} has {len(v)}",
                            fix="the valence and arousal files of a video have one line per frame each")
        return np.stack([v, a], axis=1).astype(np.float32)

    def read_all(self) -> pd.DataFrame:
        return pd.concat([self.read_split(s) for s in self.splits()], ignore_index=True)
