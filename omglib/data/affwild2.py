"""Aff-Wild2 valence-arousal annotations with their videos or the organisers' face crops.

On disk, as the ABAW releases ship it (any wrapper folder above; `omglib.data.roots` finds it)::

    ABAW1 (2020)    annotations/VA_Set/Training_Set/<name>.txt, .../Validation_Set/
    ABAW2 (2021)    annotations/VA_Set/Train_Set/<name>.txt, .../Validation_Set/
    ABAW3-6         <n>th ABAW Annotations/.../VA_Estimation_Challenge/Train_Set/, .../Validation_Set/
    videos          anywhere: batch1/<video>.mp4, batch2/<video>.avi, videos/...
    crops           cropped_aligned/<name>/00001.jpg ... (112x112; a missing number: no face found)

Each annotation file has the header ``valence,arousal`` and one row per video frame,
both in [-1, 1]; -5 marks a frame that is not annotated (read as NaN). Videos showing two
people have one file per person, ``<video>_left.txt`` and ``<video>_right.txt`` (their crops
are cropped_aligned/<video>_left/ and _right/). Image k of a crop folder is annotation row k.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from omglib.data.media import Media
from omglib.errors import DataError, OmgError

NOT_ANNOTATED = -5.0
SPLITS = ("train", "validation", "test")
SET_DIRS = {"train": "Train_Set", "validation": "Validation_Set", "test": "Test_Set"}  # ABAW2-6 (the surrogate's)
SPLIT_DIRS = {**{folder: split for split, folder in SET_DIRS.items()}, "Training_Set": "train"}  # + ABAW1
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


ENTRY_COLUMNS = ["split", "name", "video", "side", "annotation", "path", "source", "present"]


def frame_entries(split: str, annotations: dict[str, Path], media: Media, frames_from: str = "videos") -> pd.DataFrame:
    """One row per annotated subject: name (the annotation's), video, side ("left"/"right" for
    ``<video>_left``/``<video>_right`` of a two-person video, else ""), annotation, path, source
    ("video" or "crops": the organisers' face crops, cropped_aligned/<name>/), present.
    ``frames_from`` says which input is read where a subject has both."""
    videos, crops = media.by_stem(), media.crops_by_name()
    rows = []
    for name, annotation in sorted(annotations.items()):
        video, side = name, ""
        for suffix in SUBJECT_SUFFIXES:
            if name not in videos and name.endswith(suffix) and name[: -len(suffix)] in videos:
                video, side = name[: -len(suffix)], suffix[1:]
        inputs = {"video": videos.get(video), "crops": crops.get(name)}
        order = ("crops", "video") if frames_from == "crops" else ("video", "crops")
        source = next((k for k in order if inputs[k] is not None), "")
        path = inputs.get(source)
        rows.append({"split": split, "name": name, "video": video, "side": side if source == "video" else "",
                     "annotation": str(annotation), "path": str(path) if path else "", "source": source,
                     "present": path is not None})
    return pd.DataFrame(rows, columns=ENTRY_COLUMNS)


@dataclass(frozen=True)
class AffWild2Layout:
    """An Aff-Wild2 copy: its VA annotation folder (holding Train_Set/ or Training_Set/) and the
    videos and crop folders of its area (see `omglib.data.roots`)."""

    labels: Path
    media: Media
    frames_from: str = "videos"

    def _folders(self, split: str) -> list[Path]:
        return [self.labels / d for d, s in SPLIT_DIRS.items() if s == split and (self.labels / d).is_dir()]

    def splits(self) -> list[str]:
        """The splits the release has annotations for (the VA test labels are not public)."""
        return [s for s in SPLITS if self._folders(s)]

    def read_split(self, split: str) -> pd.DataFrame:
        """The split's annotated subjects (`frame_entries`); empty when the release has no such set."""
        if split not in SPLITS:
            raise OmgError(f"unknown split {split!r}: choose one of {', '.join(SPLITS)}")
        folders = self._folders(split)
        annotations = {p.stem: p for folder in folders for p in sorted(folder.glob("*.txt"))}
        return frame_entries(split, annotations, self.media, self.frames_from)

    def read_labels(self, entry) -> np.ndarray:
        return read_va_annotation(entry.annotation)

    def read_all(self) -> pd.DataFrame:
        return pd.concat([self.read_split(s) for s in self.splits()], ignore_index=True)


def summarize(entries: pd.DataFrame) -> pd.DataFrame:
    """Per split: annotated subjects, how many are present (read from a video file or from the
    organisers' crops) and missing, and how many are one face of a two-person video."""
    grouped = entries.groupby("split", sort=False)
    table = pd.DataFrame({"annotated": grouped.size(), "present": grouped["present"].sum().astype(int)})
    table["missing"] = table["annotated"] - table["present"]
    for source, column in (("video", "from_videos"), ("crops", "from_crops")):
        table[column] = grouped["source"].apply(lambda s, source=source: int((s == source).sum()))
    table["two_person"] = grouped["side"].apply(lambda s: int((s != "").sum()))
    return table
