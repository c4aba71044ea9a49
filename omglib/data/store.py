"""FrameStore: the aligned faces of one split, memory-mapped, with landmarks and an index.

On disk (one folder per split)::

    faces.npy       (N, S, S, 3) uint8 aligned crops (zeros where no face was found)
    landmarks.npy   (N, 68, 2) float32 landmarks in crop pixels (NaN where no face)
    index.csv       one row per frame: video, utterance, frame, time, valid, valence, arousal
    meta.json       pipeline config, versions, counts, detection rates, problems; written last
    parts/          one .npz per video (a .failed note for a video that could not be read),
                    kept so that a re-run resumes and shards can be merged

Building writes each video's part atomically as soon as it is done. A crash or a kill
loses at most the videos in progress, and a re-run computes only the missing parts. The
consolidated arrays are written to temporary files and renamed into place, and meta.json
comes last: a store without meta.json is incomplete. Faces stay uint8 on disk; `load`
normalises a batch to [-1, 1] as the paper feeds it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any
from pathlib import Path

import numpy as np
import pandas as pd

from omglib import __version__
from omglib.errors import DataError, OmgError
from omglib.io import atomic_path, from_json, remove_stale_temporaries, write_json, write_text
from omglib.parallel import imap_unordered
from omglib.provenance import code_digest

# One unit's Sec. 4 pre-processing (`omglib.preprocess.run.process_unit`): faces, landmarks,
# valid, frame, time and stats, as `omglib.preprocess.pipeline.VideoResult` holds them.
Process = Callable[["Unit", "PreprocessConfig"], Any]
INDEX_COLUMNS = ["video", "utterance", "frame", "time", "valid", "valence", "arousal"]
log = logging.getLogger(__name__)


def normalise(faces: np.ndarray) -> np.ndarray:
    """uint8 [0, 255] -> float32 [-1, 1] (Sec. 4)."""
    return faces.astype(np.float32) / 127.5 - 1.0


@dataclass(frozen=True)
class StoreMeta:
    """A store's meta.json: where its videos came from, the settings and code that made it, what
    went in and how detection went. Written last (a store without it is incomplete); a field a
    newer omglib added reads as its default from an older store."""

    config: dict = field(default_factory=dict)  # `PreprocessConfig.to_dict`
    code: str | None = None  # `code_of` the pre-processing
    units: list[str] = field(default_factory=list)  # the videos' keys
    inputs: dict = field(default_factory=dict)  # key -> "left" / "right" (two-person video), "crops" (organisers' crops)
    labels_digest: str | None = None
    frames: int = 0
    valid_frames: int = 0
    detection_rate: float = 0.0
    detection_rate_per_video: dict = field(default_factory=dict)
    no_valid_frames: list[str] = field(default_factory=list)
    failed: dict = field(default_factory=dict)  # key -> the reason
    truncated: dict = field(default_factory=dict)  # key -> {"read", "expected"}
    searches: dict = field(default_factory=dict)  # full and region searches, tracking losses, crop-box fallbacks
    versions: dict = field(default_factory=dict)
    data_root: str | None = None  # the dataset's area (`omglib.data.roots.Found`)
    labels: str | None = None  # its label files
    layout: str | None = None  # as `Found.describe` names it
    split: str | None = None
    missing_videos: list[str] = field(default_factory=list)

    @classmethod
    def read(cls, folder: Path) -> StoreMeta | None:
        path = Path(folder) / "meta.json"
        if not path.is_file():
            return None
        return from_json(cls, json.loads(path.read_text()))

    def write(self, folder: Path) -> None:
        write_json(Path(folder) / "meta.json", asdict(self))

    def fingerprint(self) -> dict:
        """What a result depends on of its store: settings, pre-processing code, videos, frame counts and labels."""
        return {k: getattr(self, k) for k in ("config", "code", "units", "frames", "valid_frames", "labels_digest")}


@dataclass
class FrameStore:
    path: Path
    faces: np.ndarray
    landmarks: np.ndarray
    index: pd.DataFrame
    meta: StoreMeta

    @classmethod
    def open(cls, path: str | Path) -> FrameStore:
        path = Path(path)
        meta = StoreMeta.read(path)
        if meta is None:
            raise OmgError(f"{path}: not a complete FrameStore (no meta.json): run `omg preprocess` (it resumes)")
        faces = np.load(path / "faces.npy", mmap_mode="r")
        landmarks = np.load(path / "landmarks.npy", mmap_mode="r")
        index = pd.read_csv(path / "index.csv", dtype={"video": str, "utterance": str}, keep_default_na=False,
                            na_values={"valence": [""], "arousal": [""]})
        if not len(faces) == len(landmarks) == len(index):
            raise DataError(path, f"faces ({len(faces)}), landmarks ({len(landmarks)}) and index ({len(index)}) disagree",
                            fix="delete the folder's faces.npy and meta.json and re-run omg preprocess")
        return cls(path, faces, landmarks, index, meta)

    def __len__(self) -> int:
        return len(self.index)

    def load(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Faces of ``rows`` as float32 in [-1, 1] and their landmarks."""
        rows = np.asarray(rows)
        return normalise(self.faces[rows]), np.asarray(self.landmarks[rows])


@dataclass(frozen=True)
class Unit:
    """One video file to pre-process and what the index should say about its frames."""

    key: str  # unique within the split, safe as a file name
    path: Path
    video: str
    utterance: str
    valence: np.ndarray | float  # per frame (Aff-Wild2) or one value (OMG); NaN when unlabelled
    arousal: np.ndarray | float
    side: str | None = None  # "left" / "right": which face of a two-person video
    source: str = "video"  # "video" (a file, or a folder of whole frames) or "crops" (the organisers' face crops)

    @property
    def part(self) -> str:
        """Its part file's name: the key, the side, and the input when it is not a video (a part
        written before sides were tracked is never taken for one)."""
        tags = [t for t in (self.side, self.source if self.source != "video" else None) if t]
        return ".".join([self.key, *tags, "npz"])


def labels_digest(units: list[Unit]) -> str:
    """A digest of every unit's labels: a corrected label file changes it (and so the store's and
    its results' fingerprints)."""
    digest = hashlib.sha1()
    for unit in sorted(units, key=lambda u: u.key):
        digest.update(unit.key.encode())
        for values in (unit.valence, unit.arousal):
            digest.update(np.asarray(values, np.float32).tobytes())
    return digest.hexdigest()[:16]


def _inputs(units: list[Unit]) -> dict[str, str]:
    """What meta.json records of each unit beyond its key: the side and the input, where not the default."""
    return {u.key: "/".join(x for x in (u.source if u.source != "video" else "", u.side or "") if x)
            for u in units if u.side or u.source != "video"}


def code_of(process: Process) -> str:
    """The digest of the code a part's content comes from: ``process``'s module and what it imports."""
    return code_digest(process.__module__)


def _config_hash(config_dict: dict, process: Process) -> str:
    """The parts folder's name: the settings that decide a part's content (`PreprocessConfig.processing`)
    and the code that computes it."""
    from omglib.config import PreprocessConfig

    processing = PreprocessConfig(**config_dict).processing()
    return hashlib.sha1(json.dumps([processing, code_of(process)], sort_keys=True).encode()).hexdigest()[:12]


def _process_unit(args: tuple[Unit, Path, dict, Process]) -> tuple[str, dict | None, str | None]:
    """Pre-process one video into its part file; returns (key, stats, error). A failure leaves a
    ``KEY.failed`` note beside the parts, so that a merge of shards knows the video was tried."""
    from omglib.config import PreprocessConfig

    unit, part, config_dict, process = args
    if part.is_file():
        return (unit.key, *_part_outcome(part))
    try:
        result = process(unit, PreprocessConfig(**config_dict))
    except DataError as error:
        write_text(part.with_suffix(".failed"), str(error))
        return unit.key, None, str(error)
    with atomic_path(part) as tmp, open(tmp, "wb") as f:
        np.savez(f, faces=result.faces, landmarks=result.landmarks, valid=result.valid, frame=result.frame,
                 time=result.time, stats=json.dumps(result.stats))
    part.with_suffix(".failed").unlink(missing_ok=True)
    return unit.key, result.stats, None


def _part_outcome(part: Path) -> tuple[dict | None, str | None]:
    """(stats, None) for a video with a part, (None, error) for one that failed, else (None, None)."""
    if part.is_file():
        with np.load(part) as done:
            return json.loads(str(done["stats"])), None
    failed = part.with_suffix(".failed")
    return (None, failed.read_text()) if failed.is_file() else (None, None)


def _labels(value: np.ndarray | float, n: int) -> np.ndarray:
    if np.ndim(value) == 0:
        return np.full(n, value, np.float32)
    out = np.full(n, np.nan, np.float32)
    m = min(n, len(value))
    out[:m] = value[:m]
    return out


def _parts_folder(out: Path, config_dict: dict, process: Process) -> Path:
    parts = out / "parts" / _config_hash(config_dict, process)
    parts.mkdir(parents=True, exist_ok=True)
    return parts


def complete(out: Path, units: list[Unit], config_dict: dict, process: Process) -> bool:
    """Whether ``out`` already holds the store of exactly these units at this config and code."""
    old = StoreMeta.read(out)
    return old is not None and (old.config == config_dict and old.code == code_of(process)
                                and old.units == sorted(u.key for u in units)
                                and old.labels_digest == labels_digest(units) and old.inputs == _inputs(units))


def build_parts(units: list[Unit], out: str | Path, config_dict: dict, process: Process, workers: int | None = None,
                progress: bool = True) -> tuple[dict, dict]:
    """Pre-process every unit that has no part yet with ``process`` (a module-level function:
    it runs in worker processes); returns (stats by key, error by key). Shards on other
    machines may be writing parts into the same folder: nothing is removed."""
    from tqdm import tqdm

    out = Path(out)
    parts = _parts_folder(out, config_dict, process)
    jobs = [(u, parts / u.part, config_dict, process) for u in sorted(units, key=lambda u: u.key)]
    stats, failed = {}, {}
    with tqdm(total=len(jobs), unit="video", desc=f"preprocess {out.name}", disable=not progress) as bar:
        for key, stat, error in imap_unordered(_process_unit, jobs, workers):
            if error:
                failed[key] = error
                log.warning("skipped: %s", error)
            else:
                stats[key] = stat
            bar.update(1)
    return stats, failed


def build_store(units: list[Unit], out: str | Path, config_dict: dict, process: Process, workers: int | None = None,
                progress: bool = True, extra_meta: dict | None = None) -> FrameStore:
    """Pre-process every unit (resuming from parts on disk) and consolidate the split's store."""
    out = Path(out)
    if complete(out, units, config_dict, process):
        return FrameStore.open(out)
    parts = _parts_folder(out, config_dict, process)
    remove_stale_temporaries(parts)  # what a killed run left; this run is the folder's only writer
    stats, failed = build_parts(units, out, config_dict, process, workers, progress)
    return _consolidate(out, sorted((u for u in units if u.key in stats), key=lambda u: u.key), parts, stats, failed,
                        config_dict, process, extra_meta or {})


def merge_store(units: list[Unit], out: str | Path, config_dict: dict, process: Process,
                extra_meta: dict | None = None) -> FrameStore:
    """Consolidate parts that shards wrote (with ``process``'s code); a unit without a part or a
    failure note is an error."""
    out = Path(out)
    if complete(out, units, config_dict, process):
        return FrameStore.open(out)
    parts = _parts_folder(out, config_dict, process)
    stats, failed, todo = {}, {}, []
    for unit in sorted(units, key=lambda u: u.key):
        stat, error = _part_outcome(parts / unit.part)
        if stat is not None:
            stats[unit.key] = stat
        elif error is not None:
            failed[unit.key] = error
        else:
            todo.append(unit.key)
    if todo:
        raise OmgError(f"{out}: {len(todo)} of {len(units)} videos have no part yet (e.g. {todo[0]}): run the "
                       "remaining `omg preprocess --shard I/N` jobs first, or `omg preprocess` without --shard and "
                       "--merge to compute them here")
    return _consolidate(out, [u for u in sorted(units, key=lambda u: u.key) if u.key in stats], parts, stats, failed,
                        config_dict, process, extra_meta or {})


def _consolidate(out: Path, units: list[Unit], parts: Path, stats: dict, failed: dict, config_dict: dict,
                 process: Process, extra_meta: dict) -> FrameStore:
    if not units:
        raise OmgError(f"{out}: no video could be pre-processed ({len(failed)} failed, e.g. {next(iter(failed.values()), 'none given')})")
    total = sum(stats[u.key]["frames"] for u in units)
    size = config_dict["crop_size"]
    rows = []
    with atomic_path(out / "faces.npy") as faces_tmp, atomic_path(out / "landmarks.npy") as lm_tmp:
        faces = np.lib.format.open_memmap(faces_tmp, mode="w+", dtype=np.uint8, shape=(total, size, size, 3))
        landmarks = np.lib.format.open_memmap(lm_tmp, mode="w+", dtype=np.float32, shape=(total, 68, 2))
        at = 0
        for unit in units:
            with np.load(parts / unit.part) as part:
                n = len(part["valid"])
                faces[at : at + n] = part["faces"]
                landmarks[at : at + n] = part["landmarks"]
                rows.append(pd.DataFrame({
                    "video": unit.video, "utterance": unit.utterance, "frame": part["frame"], "time": part["time"],
                    "valid": part["valid"], "valence": _labels(unit.valence, n), "arousal": _labels(unit.arousal, n)}))
            at += n
        faces.flush()
        landmarks.flush()
        del faces, landmarks
    index = pd.concat(rows, ignore_index=True)[INDEX_COLUMNS]
    with atomic_path(out / "index.csv") as tmp:
        index.to_csv(tmp, index=False, float_format="%.6g")
    per_video = index.groupby(["video", "utterance"], sort=False)["valid"].mean()
    no_valid = [f"{v}/{u}" if u else v for (v, u), rate in per_video.items() if rate == 0]
    if no_valid:
        log.warning("%s: %d videos without a single valid frame, e.g. %s", out, len(no_valid), no_valid[0])
    import cv2
    import dlib

    StoreMeta(
        config=config_dict, code=code_of(process), units=[u.key for u in units], inputs=_inputs(units),
        labels_digest=labels_digest(units), frames=int(total), valid_frames=int(index["valid"].sum()),
        detection_rate=float(index["valid"].mean()),
        detection_rate_per_video={f"{v}/{u}" if u else v: round(float(r), 4) for (v, u), r in per_video.items()},
        no_valid_frames=no_valid, failed=failed,
        truncated={k: s["truncated"] for k, s in stats.items() if "truncated" in s},
        searches={k: sum(s.get(k, 0) for s in stats.values())
                  for k in ("full_searches", "roi_searches", "tracking_losses", "crop_box_fallbacks")},
        versions={"omglib": __version__, "opencv": cv2.__version__, "dlib": dlib.__version__, "numpy": np.__version__,
                  "python": platform.python_version()},
        **extra_meta).write(out)
    return FrameStore.open(out)
