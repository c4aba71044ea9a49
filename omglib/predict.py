"""`omg predict`: a face video to per-frame valence and arousal, a trace plot and an overlay.

Frames stream through the same Sec. 4 code as `omg preprocess`
(`omglib.preprocess.pipeline.aligned_frames`: detect, track, 68 landmarks, Procrustes, crop),
then through the network, and their rows are written as they come, so memory stays bounded
on any length (at most one window of frames is held).

Two modes (both through `StreamingNetwork`'s signature, see `omglib.export`):

- ``window`` (the paper's inference, Sec. 6.1-6.2): the video is cut into consecutive,
  non-overlapping windows of the model's ``seq_len`` frames; each runs through the network
  from a zero GRU state. A frame without a face is fed as the window's nearest frame with one
  (as in training, `omglib.data.sequences.cut`) but gets no value; the last window is padded
  by repeating its last frame. Per frame we write the network's output (``valence``,
  ``arousal``) and the window's median over its face frames (``window_valence``,
  ``window_arousal``: the paper's per-sequence estimate). Values lag by up to one window.
- ``stream`` (live use): causal, one frame at a time, the GRU state carried from frame to
  frame; a frame without a face is not fed and leaves the state as it was. The network's
  time per frame is reported (``latency_ms``).

Outputs per input (in ``out``): frames.csv (one row per frame read, never dropped: ``frame,
time, face_found, x0, y0, x1, y1, valence, arousal`` [+ window columns]; empty values where
no face was found), summary.json (model, mode, the arousal scale, counts, timings),
trace.png, utterances.csv with ``segments`` (each segment estimated as `omg run` estimates an
utterance: its own windows, the post-processing chosen on validation that model.pt records,
the tracker restarted at its start as on a clip), overlay.mp4 with ``overlay``. Arousal is in
[-1, 1] (``internal``) or on the official OMG files' [0, 1] (``omg``); summary.json names it.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from omglib.config import PreprocessConfig, TrainConfig
from omglib.data.omg import ID_COLUMNS, arousal_to_omg, read_omg_csv
from omglib.data.media import VIDEO_SUFFIXES
from omglib.data.sequences import landmark_input, windows
from omglib.data.store import normalise
from omglib.errors import DataError, OmgError
from omglib.export import Network
from omglib.io import atomic_path, from_json, write_json
from omglib.postprocess import UtteranceEstimate
from omglib.preprocess.pipeline import IMAGE_SUFFIXES, AlignedFrame, FaceTracker, aligned_frames, expected_frames, \
    landmark_box, truncation

MODES = ("window", "stream")
SCALES = ("internal", "omg")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PredictOptions:
    mode: str = "window"  # see the module docstring
    arousal_scale: str = "internal"  # "internal": [-1, 1]; "omg": the official files' [0, 1]
    overlay: bool = False  # write overlay.mp4 (face box + VA gauge)
    segments: str | Path | None = None  # an OMG utterance CSV or a start,end table (seconds) -> utterances.csv
    progress: bool = True

    def __post_init__(self):
        if self.mode not in MODES:
            raise OmgError(f"unknown mode {self.mode!r}: choose one of {', '.join(MODES)}")
        if self.arousal_scale not in SCALES:
            raise OmgError(f"unknown arousal scale {self.arousal_scale!r}: choose one of {', '.join(SCALES)}")


@dataclass
class FrameValue:
    """One frame's outputs: the network's (valence, arousal), and in window mode its window's median."""

    frame: AlignedFrame
    va: np.ndarray | None
    window: int | None = None
    window_va: np.ndarray | None = None


@dataclass
class Timings:
    seconds: dict[str, float] = field(default_factory=dict)  # decode, detect, align (pipeline) + network
    latency: list[float] = field(default_factory=list)  # stream mode: network seconds per fed frame


def preprocess_config(meta: dict) -> PreprocessConfig:
    """The pre-processing the model was trained on (unknown keys from newer versions ignored)."""
    known = PreprocessConfig.__dataclass_fields__
    return PreprocessConfig(**{k: v for k, v in (meta.get("preprocess") or {}).items() if k in known})


def seq_len(meta: dict) -> int:
    """Window length the model was trained with: the recipe's ``seq_len``, else the paper's 80."""
    return int((meta.get("recipe") or {}).get("seq_len") or TrainConfig().seq_len)


def _inputs(frames: list[AlignedFrame], crop_size: int) -> tuple[np.ndarray, np.ndarray]:
    faces = normalise(np.stack([f.crop for f in frames])).transpose(0, 3, 1, 2)[None]
    landmarks = landmark_input(np.stack([f.crop_landmarks for f in frames]), crop_size)[None]
    return np.ascontiguousarray(faces), landmarks


def _run_window(frames: list[AlignedFrame], network: Network, crop_size: int, timings: Timings) -> np.ndarray:
    """(L, 2) outputs of one window of face frames, from a zero GRU state (as in training)."""
    faces, landmarks = _inputs(frames, crop_size)
    tic = time.perf_counter()
    va, _ = network.runner(faces, landmarks, np.zeros((1, network.runner.state_size), np.float32))
    timings.seconds["network"] += time.perf_counter() - tic
    return va[0]


def _window(frames: list[AlignedFrame], index: int, network: Network, length: int, crop_size: int,
            timings: Timings) -> Iterator[FrameValue]:
    valid = np.array([f.crop is not None for f in frames])
    if not valid.any():
        yield from (FrameValue(f, None, index) for f in frames)
        return
    (fed,), _ = windows(valid, length)  # one window: nearest face frames fed, padded with the last
    va = _run_window([frames[i] for i in fed], network, crop_size, timings)[: len(frames)]
    median = np.median(va[valid], axis=0)
    for f, ok, value in zip(frames, valid, va):
        yield FrameValue(f, value if ok else None, index, median)


def _window_mode(frames: Iterator[AlignedFrame], network: Network, timings: Timings) -> Iterator[FrameValue]:
    length, crop_size = seq_len(network.meta), preprocess_config(network.meta).crop_size
    for index in itertools.count():
        chunk = list(itertools.islice(frames, length))
        if not chunk:
            return
        yield from _window(chunk, index, network, length, crop_size, timings)


def _stream_mode(frames: Iterator[AlignedFrame], network: Network, timings: Timings) -> Iterator[FrameValue]:
    crop_size = preprocess_config(network.meta).crop_size
    state = np.zeros((1, network.runner.state_size), np.float32)
    for f in frames:
        if f.crop is None:
            yield FrameValue(f, None)
            continue
        faces, landmarks = _inputs([f], crop_size)
        tic = time.perf_counter()
        va, state = network.runner(faces, landmarks, state)
        spent = time.perf_counter() - tic
        timings.seconds["network"] += spent
        timings.latency.append(spent)
        yield FrameValue(f, va[0, 0])


def _fmt(value: float | None) -> str:
    return "" if value is None or not np.isfinite(value) else f"{value:.5f}"


def read_segments(path: str | Path) -> pd.DataFrame:
    """video, utterance, start, end (seconds) from an OMG utterance CSV or a table with start,end
    columns (an optional ``utterance`` or ``name`` column names the rows)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "segments file not found")
    try:
        header = pd.read_csv(path, nrows=0).columns.str.strip()
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as error:
        raise DataError(path, f"not a CSV table ({error.__class__.__name__})") from None
    if set(ID_COLUMNS) <= set(header):
        return read_omg_csv(path)[["video", "utterance", "start", "end"]]
    if not {"start", "end"} <= set(header):
        raise DataError(path, "no start and end columns", line=1,
                        fix="give an OMG utterance CSV or a table with start,end in seconds")
    table = pd.read_csv(path, skipinitialspace=True)
    table.columns = table.columns.str.strip()
    for column in ("start", "end"):
        values = pd.to_numeric(table[column], errors="coerce")
        if values.isna().any():
            line = int(np.flatnonzero(values.isna())[0]) + 2
            raise DataError(path, f"column {column!r} holds a value that is not a number of seconds", line=line)
        table[column] = values
    names = table["utterance"] if "utterance" in table else table.get("name", pd.Series(range(1, len(table) + 1)))
    return pd.DataFrame({"video": path.stem, "utterance": names.astype(str), "start": table["start"], "end": table["end"]})


@dataclass(frozen=True)
class _Segments:
    """The windows of a video's segments, as `omglib.postprocess.Windows`."""

    mask: np.ndarray
    group: np.ndarray
    groups: pd.DataFrame


def utterance_estimate(meta: dict) -> UtteranceEstimate:
    """How the model's run estimated an utterance (recorded in model.pt); a file without the
    record gets each sequence's median, averaged, and no post-processing."""
    recorded = meta.get("utterance_estimate")
    return from_json(UtteranceEstimate, recorded) if recorded else UtteranceEstimate()


def utterance_table(segments: pd.DataFrame, frames: list[AlignedFrame], network: Network,
                    timings: Timings) -> pd.DataFrame:
    """Per segment (in time order within each video): frames, frames with a face, and the
    pipeline's estimate (Sec. 6.2): the segment cut into windows as `omglib.data.sequences.cut`
    cuts an utterance, each run from a zero state, then the model's recorded `UtteranceEstimate`
    (post-processing chosen on validation; smoothing over the segments of the same video).
    ``frames`` are the video's frames inside the segments, in order."""
    meta = network.meta
    length, crop_size = seq_len(meta), preprocess_config(meta).crop_size
    order = segments.sort_values(["video", "start"], kind="stable").reset_index(drop=True)
    times = np.array([f.time for f in frames])
    outputs, masks, group, counts = [], [], [], []
    for g, seg in enumerate(order.itertuples(index=False)):
        inside = np.flatnonzero((times >= seg.start) & (times < seg.end))
        valid = np.array([frames[i].crop is not None for i in inside], bool)
        counts.append((len(inside), int(valid.sum())))
        if not valid.any():
            continue  # no face: the estimate's fallback, as an utterance without one in `omg run`
        fed, stands = windows(valid, length)
        for feed, stand in zip(fed, stands):
            outputs.append(_run_window([frames[inside[i]] for i in feed], network, crop_size, timings))
            masks.append((stand >= 0) & valid[np.maximum(stand, 0)])
            group.append(g)
    predictions = np.stack(outputs).astype(np.float64) if outputs else np.zeros((0, length, 2))
    estimates, _ = utterance_estimate(meta)(predictions, _Segments(np.array(masks, bool).reshape(-1, length),
                                                                   np.array(group, int), order))
    return order[["video", "utterance", "start", "end"]].assign(
        frames=[c[0] for c in counts], face_frames=[c[1] for c in counts],
        valence=estimates[:, 0], arousal=estimates[:, 1])


def _scale(arousal: float, scale: str) -> float:
    return float(arousal_to_omg(arousal)) if scale == "omg" else arousal


def predict_video(source: str | Path | int, network: Network, out: str | Path, options: PredictOptions) -> PredictSummary:
    """Run one video (a file, a frame folder or a camera number) and write its outputs to ``out``;
    returns the summary also written to summary.json."""
    from tqdm import tqdm

    out = Path(out)
    segments = read_segments(options.segments) if options.segments is not None else None  # a bad file fails first
    config = preprocess_config(network.meta)
    timings = Timings({"network": 0.0})
    spans = np.empty((0, 2)) if segments is None else segments[["start", "end"]].to_numpy(np.float64)
    restarts = spans[:, 0].tolist()  # each segment tracked as a clip is
    frames = aligned_frames(source, config, FaceTracker(config), timings.seconds, restarts)
    tic = time.perf_counter()
    first = next(frames)  # a missing, empty or undecodable input fails here, before anything is written
    frames = itertools.chain([first], frames)
    if not options.overlay:
        frames = map(_drop_image, frames)
    values = (_window_mode if options.mode == "window" else _stream_mode)(frames, network, timings)
    arousal_range = (0.0, 1.0) if options.arousal_scale == "omg" else (-1.0, 1.0)
    columns = ["frame", "time", "face_found", "x0", "y0", "x1", "y1", "valence", "arousal"]
    if options.mode == "window":
        columns += ["window", "window_valence", "window_arousal"]
    times, va, face, kept = [], [], [], []  # kept: the frames inside a segment (without the image)
    webcam = isinstance(source, int)
    with contextlib.ExitStack() as stack:
        csv_path = stack.enter_context(atomic_path(out / "frames.csv"))
        handle = stack.enter_context(open(csv_path, "w"))
        handle.write(",".join(columns) + "\n")
        writer = _overlay(stack, out / "overlay.mp4", first, source) if options.overlay else None
        bar = stack.enter_context(tqdm(total=None if webcam else expected_frames(source), unit="frame",
                                       desc=str(source), disable=not options.progress, leave=False))
        try:
            for value in values:
                f = value.frame
                box = landmark_box(f.landmarks) if f.landmarks is not None else None
                v = None if value.va is None else float(value.va[0])
                a = None if value.va is None else _scale(float(value.va[1]), options.arousal_scale)
                row = [str(f.index), f"{f.time:.4f}", str(int(box is not None)),
                       *(("",) * 4 if box is None else (f"{x:.1f}" for x in box)), _fmt(v), _fmt(a)]
                if options.mode == "window":
                    wv = value.window_va
                    row += [str(value.window), _fmt(None if wv is None else float(wv[0])),
                            _fmt(None if wv is None else _scale(float(wv[1]), options.arousal_scale))]
                handle.write(",".join(row) + "\n")
                times.append(f.time)
                va.append((np.nan if v is None else v, np.nan if a is None else a))
                face.append(box is not None)
                if ((spans[:, 0] <= f.time) & (f.time < spans[:, 1])).any():  # inside a segment
                    kept.append(replace(f, rgb=None))
                if writer is not None:
                    writer.write(draw_overlay_frame(f, box, None if v is None else (v, a), arousal_range))
                bar.update()
        except KeyboardInterrupt:
            if not webcam:
                raise  # a file run that is interrupted writes nothing; a camera run ends here on purpose
        handle.close()
    wall = time.perf_counter() - tic
    times, va, face = np.asarray(times), np.asarray(va, np.float64).reshape(-1, 2), np.asarray(face, bool)
    summary = _summary(source, network, options, timings, len(times), int(face.sum()), wall)
    if (short := truncation(source, len(times))) is not None:
        summary.truncated = short
    _write_trace(out / "trace.png", times, va, face, arousal_range, f"{source} ({network.meta['model']}, {options.mode} mode)")
    if segments is not None:
        table = utterance_table(segments, kept, network, timings)
        if options.arousal_scale == "omg":
            table["arousal"] = arousal_to_omg(table["arousal"].to_numpy())
        with atomic_path(out / "utterances.csv") as tmp:
            table.to_csv(tmp, index=False, float_format="%.6f")
        summary.utterance_estimate = network.meta.get("utterance_estimate")
    summary.write(out / "summary.json")
    return summary


def _drop_image(frame: AlignedFrame) -> AlignedFrame:
    """Without an overlay the full frame is not needed downstream: free it while a window waits."""
    frame.rgb = None
    return frame


def _overlay(stack: contextlib.ExitStack, path: Path, first: AlignedFrame, source):
    import cv2

    tmp = stack.enter_context(atomic_path(path))
    fps = 25.0 if isinstance(source, int) or Path(source).is_dir() else (cv2.VideoCapture(str(source)).get(cv2.CAP_PROP_FPS) or 25.0)
    height, width = first.rgb.shape[:2]
    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    if not writer.isOpened():
        raise OmgError(f"{path}: OpenCV cannot write an mp4 video here")
    stack.callback(writer.release)
    return writer


def draw_overlay_frame(frame: AlignedFrame, box, va, arousal_range) -> np.ndarray:
    from omglib.trace import draw_overlay

    return draw_overlay(frame.rgb, box, va, arousal_range)


def _write_trace(path: Path, times, va, face, arousal_range, title: str) -> None:
    from omglib.trace import trace_figure

    fig = trace_figure(times, va[:, 0], va[:, 1], face, arousal_range, title)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100)


@dataclass
class Latency:
    """The network's time per fed frame in stream mode (milliseconds)."""

    mean: float
    p50: float
    p95: float


@dataclass
class PredictSummary:
    """What one `predict_video` run did: summary.json, also returned."""

    input: str
    model: str
    experiment: str | None
    backend: str
    mode: str
    window_frames: int | None  # window mode: the model's sequence length
    arousal_scale: str  # "[-1, 1]" or "[0, 1] (official OMG files)"
    valence_scale: str
    frames: int
    face_frames: int
    seconds: dict[str, float]  # decode, detect, align, network
    wall_seconds: float
    frames_per_second: float | None
    latency_ms: Latency | None = None
    truncated: dict | None = None  # {"read", "expected"} when the container claims more frames
    utterance_estimate: dict | None = None  # with segments: the model's recorded `UtteranceEstimate` (None: not recorded)

    def write(self, path: Path) -> None:
        write_json(path, asdict(self))


def _summary(source, network: Network, options: PredictOptions, timings: Timings, frames: int, faces: int,
             wall: float) -> PredictSummary:
    latency = None
    if timings.latency:
        ms = np.asarray(timings.latency) * 1000
        latency = Latency(round(float(ms.mean()), 3), round(float(np.median(ms)), 3), round(float(np.percentile(ms, 95)), 3))
    return PredictSummary(
        str(source), network.meta["model"], network.meta.get("experiment"), network.backend, options.mode,
        seq_len(network.meta) if options.mode == "window" else None,
        "[0, 1] (official OMG files)" if options.arousal_scale == "omg" else "[-1, 1]", "[-1, 1]", frames, faces,
        {k: round(v, 4) for k, v in timings.seconds.items()}, round(wall, 3),
        round(frames / wall, 2) if wall > 0 else None, latency)


def inputs(path: str | Path, out: str | Path) -> list[tuple[Path, Path]]:
    """(input, output folder) pairs: a video file or a frame folder -> itself into ``out``; a
    folder of videos -> each video into ``out/<video name>``."""
    path, out = Path(path), Path(out)
    if path.is_file():
        return [(path, out)]
    if not path.is_dir():
        raise DataError(path, "input not found", fix="give a video file, a folder of frames or a folder of videos")
    children = sorted(path.iterdir())
    if any(p.suffix.lower() in IMAGE_SUFFIXES for p in children):
        return [(path, out)]
    videos = [p for p in children if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES]
    if not videos:
        raise DataError(path, "folder holds neither frame images nor videos",
                        fix=f"videos are recognised by {', '.join(VIDEO_SUFFIXES)}")
    return [(v, out / v.stem) for v in videos]


def resolve_model(spec: str, results: str | Path = "results", profile: str | None = None) -> Path:
    """A model file: ``spec`` itself when it is a file, else the model.pt of the experiment named
    ``spec`` (its first seed) under ``results/<profile>/`` (every profile when None)."""
    from omglib.experiments import get
    from omglib.experiments.results import trained_runs

    if Path(spec).is_file() or Path(spec).suffix in (".pt", ".onnx"):
        return Path(spec)
    experiment = get(spec)
    found = trained_runs(results, experiment, profile)
    if not found:
        raise OmgError(f"no trained model of {experiment.name!r} under {results}/{profile or '*'}/ "
                       f"(train it with `omg run '{experiment.name}'`, or pass a model.pt path)")
    if len(profiles := {run.path.parent.parent.name for run in found}) > 1:
        raise OmgError(f"{experiment.name!r} is trained at several profiles ({', '.join(sorted(profiles))}): "
                       "choose one with --profile")
    return found[0].model


def trained_model(ctx, name: str) -> Path:
    """The model.pt of experiment ``name`` at ``ctx``'s profile (its first training seed),
    trained first when missing or stale (`omglib.experiments.run` re-uses a current one)."""
    from omglib import experiments

    experiments.run(ctx, [name])
    return experiments.folder(ctx, name).model
