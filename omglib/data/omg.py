"""OMG-Emotion: the official label CSVs and the utterance-video layout.

On disk (the official CSVs; the challenge's `prepare_data.py` writes each utterance to
``<target>/<video>/<utterance>`` for whatever target folder the user chose)::

    omg_TrainVideos.csv
    omg_ValidationVideos.csv
    omg_TestVideos_WithLabels.csv   or   omg_TestVideos_WithoutLabels.csv (the test set before its labels)
    <any folders: train/, val/, Videos/Train/ ...>/<video>/<utterance>   e.g. .../6d71a2500_2/utterance_19.mp4

An utterance video is found by its ``<video>/<utterance>`` wherever it lies in the dataset's
area (`omglib.data.roots`); the surrogate writes train/, validation/ and test/ beside the CSVs.

CSV columns: link,start,end,video,utterance,arousal,valence,EmotionMaxVote with arousal
in [0, 1] and valence in [-1, 1]. Inside omglib both dimensions live in [-1, 1]: the
arousal mapping happens in `arousal_from_omg` / `arousal_to_omg` and nowhere else.
Missing utterance videos (dead YouTube links) are the normal case: they are reported,
never fatal.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from omglib.data.media import Media, collect
from omglib.errors import DataError, OmgError
from omglib.io import atomic_path

SPLITS = ("train", "validation", "test")
CSV_NAMES = {
    "train": ("omg_TrainVideos.csv",),
    "validation": ("omg_ValidationVideos.csv",),
    "test": ("omg_TestVideos_WithLabels.csv", "omg_TestVideos_WithoutLabels.csv"),  # the labelled one first
}
ALL_CSV_NAMES = tuple(name for names in CSV_NAMES.values() for name in names)
ID_COLUMNS = ("link", "start", "end", "video", "utterance")
LABEL_COLUMNS = ("arousal", "valence", "EmotionMaxVote")
OMG_COLUMNS = ID_COLUMNS + LABEL_COLUMNS
SUBMISSION_COLUMNS = ("video", "utterance", "arousal", "valence")
EMOTIONS = ("anger", "disgust", "fear", "happy", "neutral", "sad", "surprise")  # EmotionMaxVote 0..6
log = logging.getLogger(__name__)


def arousal_from_omg(arousal: np.ndarray | pd.Series | float):
    """OMG arousal [0, 1] -> omglib arousal [-1, 1]."""
    return 2.0 * arousal - 1.0


def arousal_to_omg(arousal: np.ndarray | pd.Series | float):
    """omglib arousal [-1, 1] -> OMG arousal [0, 1]."""
    return (arousal + 1.0) / 2.0


def _numbers(frame: pd.DataFrame, column: str, path: Path) -> pd.Series:
    """Column as float, with the first value that is not a number reported by file line (header = line 1)."""
    raw = frame[column]
    values = pd.to_numeric(raw, errors="coerce")
    bad = values.isna() | ~np.isfinite(values)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(path, f"column {column!r} value {raw.iloc[i]!r} is not a number", line=i + 2)
    return values.astype(float)


def _numeric(frame: pd.DataFrame, column: str, path: Path, lo: float, hi: float) -> pd.Series:
    """`_numbers`, each in [lo, hi] (a label file's values)."""
    values = _numbers(frame, column, path)
    out_of_range = (values < lo) | (values > hi)
    if out_of_range.any():
        i = int(np.flatnonzero(out_of_range.to_numpy())[0])
        raise DataError(
            path, f"column {column!r} value {values.iloc[i]} is outside [{lo}, {hi}]", line=i + 2,
            fix="OMG arousal is in [0, 1] and valence in [-1, 1]" if column in ("arousal", "valence") else "",
        )
    return values.astype(float)


def read_omg_csv(path: str | Path) -> pd.DataFrame:
    """Read one official OMG CSV (with or without labels) and validate every row.

    Returns columns link,start,end,video,utterance and, when the file has labels,
    valence and arousal in [-1, 1] and emotion (EmotionMaxVote, int). ``df.attrs``
    holds ``path`` and ``has_labels``. Errors name the file, the line and the problem.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "file not found", fix="check --data-root; expected the official OMG CSV names")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise DataError(path, "file is empty", fix="re-download the official CSV") from None
    except pd.errors.ParserError as err:
        raise DataError(path, f"not a valid CSV: {err}") from None
    frame.columns = [c.strip() for c in frame.columns]
    missing = [c for c in ID_COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(path, f"missing column(s) {', '.join(missing)}", line=1,
                        fix=f"the header must contain {','.join(OMG_COLUMNS)}")
    present_labels = [c for c in LABEL_COLUMNS if c in frame.columns]
    if present_labels and len(present_labels) != len(LABEL_COLUMNS):
        absent = [c for c in LABEL_COLUMNS if c not in frame.columns]
        raise DataError(path, f"missing column(s) {', '.join(absent)}", line=1,
                        fix="a labelled file has arousal, valence and EmotionMaxVote")
    if frame.empty:
        raise DataError(path, "file has a header but no rows")
    has_labels = bool(present_labels)

    out = pd.DataFrame({c: frame[c].str.strip() for c in ("link", "video", "utterance")})
    for column in ("video", "utterance"):
        empty = out[column] == ""
        if empty.any():
            raise DataError(path, f"column {column!r} is empty", line=int(np.flatnonzero(empty)[0]) + 2)
    out["start"] = _numeric(frame, "start", path, 0.0, np.inf)
    out["end"] = _numeric(frame, "end", path, 0.0, np.inf)
    not_after = out["end"] <= out["start"]
    if not_after.any():
        i = int(np.flatnonzero(not_after)[0])
        raise DataError(path, f"end {out['end'].iloc[i]} is not after start {out['start'].iloc[i]}", line=i + 2)

    duplicated = out.duplicated(["video", "utterance"], keep=False)
    if duplicated.any():
        lines = np.flatnonzero(duplicated)[:2] + 2
        row = out.iloc[lines[0] - 2]
        raise DataError(path, f"duplicate utterance {row['video']}/{row['utterance']} (also on line {lines[1]})",
                        line=int(lines[0]), fix="each (video, utterance) pair must appear once")

    if has_labels:
        out["valence"] = _numeric(frame, "valence", path, -1.0, 1.0)
        out["arousal"] = arousal_from_omg(_numeric(frame, "arousal", path, 0.0, 1.0))
        emotion = _numeric(frame, "EmotionMaxVote", path, 0, len(EMOTIONS) - 1)
        fractional = emotion != np.round(emotion)
        if fractional.any():
            i = int(np.flatnonzero(fractional)[0])
            raise DataError(path, f"EmotionMaxVote {emotion.iloc[i]} is not an integer 0..6", line=i + 2)
        out["emotion"] = emotion.astype(int)
    out.attrs.update(path=str(path), has_labels=has_labels)
    return out


def write_omg_csv(frame: pd.DataFrame, path: str | Path, columns: tuple[str, ...] = OMG_COLUMNS) -> None:
    """Write utterances in the official format (arousal back to [0, 1]), atomically.

    ``columns=SUBMISSION_COLUMNS`` writes the challenge's prediction format.
    """
    on_disk = pd.DataFrame(index=frame.index)
    for column in columns:
        if column == "arousal":
            on_disk[column] = arousal_to_omg(frame["arousal"])
        elif column == "EmotionMaxVote":
            on_disk[column] = frame["emotion"]
        else:
            on_disk[column] = frame[column]
    with atomic_path(path) as tmp:
        on_disk.to_csv(tmp, index=False, float_format="%.12g")


def read_predictions(path: str | Path, truth: pd.DataFrame) -> pd.DataFrame:
    """Predictions in the challenge's format (video, utterance, arousal in [0, 1], valence),
    ordered as ``truth``; every utterance of ``truth`` needs exactly one row.

    Read as the official script reads them: by column name, other columns ignored, a trailing
    comma on each row (the official README's example) allowed, and values outside the nominal
    range scored as given (one warning says how many)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "file not found")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, index_col=False, skipinitialspace=True)
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as err:
        raise DataError(path, f"not a valid CSV: {err}") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in SUBMISSION_COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(path, f"missing column(s) {', '.join(missing)}", line=1, fix=f"the header must be {','.join(SUBMISSION_COLUMNS)}")
    valence, arousal = _numbers(frame, "valence", path), _numbers(frame, "arousal", path)
    outside = int(((valence < -1) | (valence > 1) | (arousal < 0) | (arousal > 1)).sum())
    if outside:
        log.warning("%s: %d of %d rows have a value outside valence [-1, 1] or arousal [0, 1]; scored as given",
                    path, outside, len(frame))
    arousal = arousal_from_omg(arousal)
    pred = pd.DataFrame({"video": frame["video"].str.strip(), "utterance": frame["utterance"].str.strip(),
                         "valence": valence, "arousal": arousal})
    if pred.duplicated(["video", "utterance"]).any():
        first = pred[pred.duplicated(["video", "utterance"])].iloc[0]
        raise DataError(path, f"duplicate prediction for {first['video']}/{first['utterance']}")
    merged = truth[["video", "utterance"]].merge(pred, on=["video", "utterance"], how="left")
    if merged["valence"].isna().any():
        first = merged[merged["valence"].isna()].iloc[0]
        raise DataError(path, f"{int(merged['valence'].isna().sum())} utterances of the truth file have no prediction, "
                        f"e.g. {first['video']}/{first['utterance']}", fix="predict every utterance of the split")
    return merged


@dataclass(frozen=True)
class OmgLayout:
    """An OMG copy: the folder of its official CSVs and the utterance videos of its area."""

    root: Path  # the folder holding the CSVs
    media: Media | None = None  # default: every video under ``root``

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    def csv_path(self, split: str) -> Path:
        if split not in CSV_NAMES:
            raise OmgError(f"unknown split {split!r}: choose one of {', '.join(SPLITS)}")
        for name in CSV_NAMES[split]:
            if (self.root / name).is_file():
                return self.root / name
        raise OmgError(f"{self.root}: no {' or '.join(CSV_NAMES[split])} "
                       f"(point --data-root at the folder holding the official OMG CSVs)")

    def splits(self) -> list[str]:
        """The splits whose CSV exists (a copy may hold only some)."""
        return [s for s in SPLITS if any((self.root / n).is_file() for n in CSV_NAMES[s])]

    @functools.cached_property
    def utterance_videos(self) -> dict[tuple[str, str], Path]:
        """Utterance files by (video, utterance): ``<video>/<utterance>`` anywhere in the area."""
        media = self.media if self.media is not None else collect(self.root)
        found: dict[tuple[str, str], Path] = {}
        for path in media.videos:
            key = (path.parent.name, path.name)
            if key in found:
                raise OmgError(f"two copies of {key[0]}/{key[1]}: {found[key]} and {path}; keep one")
            found[key] = path
        return found

    def read_split(self, split: str) -> pd.DataFrame:
        """The split's utterances plus ``path`` and ``present`` (is its video there). A missing
        video's path is where the surrogate's layout would keep it (``<split>/<video>/<utterance>``)."""
        frame = read_omg_csv(self.csv_path(split))
        frame["split"] = split
        videos = self.utterance_videos
        paths = [videos.get((v, u)) for v, u in zip(frame["video"], frame["utterance"])]
        frame["present"] = [p is not None for p in paths]
        frame["path"] = [str(p if p is not None else self.root / split / v / u)
                         for p, v, u in zip(paths, frame["video"], frame["utterance"])]
        return frame

    def read_all(self) -> pd.DataFrame:
        """All splits whose CSV exists, concatenated."""
        if not (splits := self.splits()):
            self.csv_path("train")  # raises the error naming the expected files
        frames = [self.read_split(s) for s in splits]
        return pd.concat(frames, ignore_index=True).assign(
            labelled=[f.attrs["has_labels"] for f in frames for _ in range(len(f))])


def summarize(utterances: pd.DataFrame) -> pd.DataFrame:
    """Per split: videos and utterances in the CSVs, how many video files are present/missing."""
    grouped = utterances.groupby("split", sort=False)
    table = pd.DataFrame({
        "videos": grouped["video"].nunique(),
        "utterances": grouped.size(),
        "present": grouped["present"].sum().astype(int),
    })
    table["missing"] = table["utterances"] - table["present"]
    if "labelled" in utterances:
        table["labelled"] = grouped["labelled"].all()
    return table.reindex([s for s in SPLITS if s in table.index])


def write_missing_list(utterances: pd.DataFrame, path: str | Path) -> int:
    """Write the utterances whose video file is absent (split,video,utterance,link,path); return the count."""
    missing = utterances.loc[~utterances["present"], ["split", "video", "utterance", "link", "path"]]
    with atomic_path(path) as tmp:
        missing.to_csv(tmp, index=False)
    return len(missing)
