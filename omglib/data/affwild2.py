"""Aff-Wild2 (and Aff-Wild) valence-arousal annotations with their videos.

On disk, as the ABAW releases ship it::

    <root>/annotations/VA_Set/Train_Set/<name>.txt
    <root>/annotations/VA_Set/Validation_Set/<name>.txt
    <root>/<any folders, e.g. batch1/ batch2/ or videos/>/<video>.mp4 | .avi

Each annotation file has the header ``valence,arousal`` and one row per video frame,
both in [-1, 1]; -5 marks a frame that is not annotated (read as NaN). Videos showing two
people have one file per person, ``<video>_left.txt`` and ``<video>_right.txt``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from omglib.errors import DataError, OmgError

NOT_ANNOTATED = -5.0
SPLIT_DIRS = {"train": "Train_Set", "validation": "Validation_Set", "test": "Test_Set"}
VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov", ".webm")
SUBJECT_SUFFIXES = ("_left", "_right")


def read_va_annotation(path: str | Path) -> np.ndarray:
    """(frames, 2) float32 [valence, arousal]; NaN where the file says -5 (not annotated)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "annotation file not found")
    lines = path.read_text().splitlines()
    if not lines or not lines[0].strip():
        raise DataError(path, "file is empty", fix="expected the header 'valence,arousal' and one row per frame")
    header = [h.strip().lower() for h in lines[0].split(",")]
    if header != ["valence", "arousal"]:
        raise DataError(path, f"header is {lines[0]!r}", line=1, fix="expected 'valence,arousal'")
    rows = lines[1:]
    while rows and not rows[-1].strip():
        rows.pop()
    if not rows:
        raise DataError(path, "no frame rows after the header")
    values = np.empty((len(rows), 2), dtype=np.float64)
    for i, row in enumerate(rows):
        fields = row.split(",")
        if len(fields) != 2:
            raise DataError(path, f"expected 2 values, found {len(fields)}: {row!r}", line=i + 2)
        try:
            values[i] = [float(f) for f in fields]
        except ValueError:
            raise DataError(path, f"not a number: {row!r}", line=i + 2) from None
    unannotated = values == NOT_ANNOTATED
    bad = ~unannotated & ~((values >= -1.0) & (values <= 1.0))
    if bad.any():
        i = int(np.flatnonzero(bad.any(axis=1))[0])
        raise DataError(path, f"value {values[i].tolist()} outside [-1, 1] (and not -5)", line=i + 2)
    values[unannotated] = np.nan
    return values.astype(np.float32)


def write_va_annotation(path: str | Path, va: np.ndarray) -> None:
    """Inverse of `read_va_annotation` (NaN -> -5), written atomically."""
    from omglib.io import write_text

    va = np.asarray(va, dtype=np.float64)
    body = "\n".join("-5,-5" if np.isnan(v).any() else f"{v[0]:.6f},{v[1]:.6f}" for v in va)
    write_text(path, "valence,arousal\n" + body + "\n")


@dataclass(frozen=True)
class AffWild2Layout:
    """Finds the VA annotation folders and the matching videos under an Aff-Wild2-layout root."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    @staticmethod
    def find_annotation_dir(root: str | Path) -> Path | None:
        """The folder holding Train_Set/, or None: annotations/VA_Set (ABAW2) or any VA-named
        folder one or two levels down (e.g. 6th_ABAW_Annotations/VA_Estimation_Challenge).
        Not deeper, so that a folder *of* datasets is not mistaken for one."""
        root = Path(root)
        preferred = root / "annotations" / "VA_Set"
        if (preferred / SPLIT_DIRS["train"]).is_dir():
            return preferred
        for pattern in (f"*/{SPLIT_DIRS['train']}", f"*/*/{SPLIT_DIRS['train']}"):
            for candidate in sorted(root.glob(pattern)):
                if candidate.is_dir() and "va" in candidate.parent.name.lower():
                    return candidate.parent
        return None

    @classmethod
    def is_affwild2_root(cls, path: str | Path) -> bool:
        return cls.find_annotation_dir(path) is not None

    def annotation_dir(self) -> Path:
        found = self.find_annotation_dir(self.root)
        if found is None:
            raise OmgError(f"{self.root}: no annotations/VA_Set/Train_Set folder "
                           "(point --data-root at the Aff-Wild2 root that holds the VA annotations)")
        return found

    def video_index(self) -> dict[str, Path]:
        """Video files under the root by stem (folder structure does not matter)."""
        return {p.stem: p for p in sorted(self.root.rglob("*"))
                if p.suffix.lower() in VIDEO_SUFFIXES and not p.name.startswith(".") and p.is_file()}

    def read_split(self, split: str) -> pd.DataFrame:
        """One row per annotation file: name, video (stem of the video file), annotation path,
        video path, present. Two-subject files map ``x_left``/``x_right`` to video ``x``."""
        if split not in SPLIT_DIRS:
            raise OmgError(f"unknown split {split!r}: choose one of {', '.join(SPLIT_DIRS)}")
        folder = self.annotation_dir() / SPLIT_DIRS[split]
        if not folder.is_dir():
            return pd.DataFrame(columns=["split", "name", "video", "annotation", "path", "present"])
        videos = self.video_index()
        rows = []
        for txt in sorted(folder.glob("*.txt")):
            name = txt.stem
            video = name
            if video not in videos:
                for suffix in SUBJECT_SUFFIXES:
                    if name.endswith(suffix) and name[: -len(suffix)] in videos:
                        video = name[: -len(suffix)]
            path = videos.get(video)
            rows.append({"split": split, "name": name, "video": video, "annotation": str(txt),
                         "path": str(path) if path else "", "present": path is not None})
        return pd.DataFrame(rows, columns=["split", "name", "video", "annotation", "path", "present"])

    def read_all(self) -> pd.DataFrame:
        return pd.concat([self.read_split(s) for s in SPLIT_DIRS], ignore_index=True)


def summarize(entries: pd.DataFrame) -> pd.DataFrame:
    """Per split: annotation files, videos present and missing."""
    grouped = entries.groupby("split", sort=False)
    table = pd.DataFrame({"annotated": grouped.size(), "present": grouped["present"].sum().astype(int)})
    table["missing"] = table["annotated"] - table["present"]
    return table
