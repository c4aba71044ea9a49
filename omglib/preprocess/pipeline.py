"""One video through Sec. 4: detect -> 68 landmarks -> Procrustes -> crop.

Detection dominates the cost: dlib's HOG detector needs about 20 ms on a 640x360 frame, but
landmarks take 0.7 ms and alignment 0.1 ms. `FaceTracker` therefore searches the whole
frame only on the first frame, every ``detect_every`` frames and after losing the face. In
between, it searches a small region around the previous frame's landmarks. Every frame is
still searched, so a frame where the detector finds no face is marked invalid instead of
inheriting the last landmarks.

Two inputs are not whole frames of one person. A two-person Aff-Wild2 video has one annotation
file per face (``_left``, ``_right``): the tracker starts on the face of that side and keeps
tracking it (`FaceTracker.side`). The ABAW organisers' crops (cropped_aligned/, 112x112, the face
already found and roughly aligned) go through `process_crops`: 68 landmarks inside each crop,
then the same Procrustes alignment and crop size as every other input.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from omglib.config import PreprocessConfig
from omglib.errors import DataError
from omglib.landmarks import detect_faces, predict_landmarks
from omglib.preprocess.align import align

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
FRAME_FOLDER_FPS = 25.0  # a folder of frames carries no frame rate; OMG and Aff-Wild2 videos are mostly 25-30 fps
log = logging.getLogger(__name__)


def landmark_box(landmarks: np.ndarray) -> np.ndarray:
    """[x0, y0, x1, y1] around 68 landmarks (frame pixels)."""
    (x0, y0), (x1, y1) = landmarks.min(0), landmarks.max(0)
    return np.array([x0, y0, x1, y1], np.float32)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


@dataclass
class FaceTracker:
    """Finds the subject's 68 landmarks frame after frame (see the module docstring)."""

    config: PreprocessConfig
    side: str | None = None  # "left" / "right": follow that face of a two-person video
    previous: np.ndarray | None = None
    since_full: int = 0
    counts: dict = field(default_factory=lambda: {"full_searches": 0, "roi_searches": 0, "tracking_losses": 0})

    def _choose(self, faces: list[tuple[np.ndarray, float]], width: int) -> np.ndarray | None:
        """The subject: the box overlapping the previous face most, else the largest box (with a
        side: the face furthest to that side; a lone face on the other half of the frame is not it)."""
        if not faces:
            return None
        if self.previous is not None:
            reference = landmark_box(self.previous)
            overlaps = [_iou(box, reference) for box, _ in faces]
            if max(overlaps) > 0.2:
                return faces[int(np.argmax(overlaps))][0]
        if self.side is not None:
            centre = {"left": lambda b: (b[0] + b[2]) / 2, "right": lambda b: width - (b[0] + b[2]) / 2}[self.side]
            box = min((b for b, _ in faces), key=centre)
            return box if len(faces) > 1 or centre(box) < width / 2 else None
        return max(faces, key=lambda f: (f[0][2] - f[0][0]) * (f[0][3] - f[0][1]))[0]

    def _full(self, frame: np.ndarray) -> list[tuple[np.ndarray, float]]:
        self.counts["full_searches"] += 1
        self.since_full = 0
        return detect_faces(frame, self.config.upsample, self.config.detector)

    def _roi(self, frame: np.ndarray) -> list[tuple[np.ndarray, float]]:
        self.counts["roi_searches"] += 1
        self.since_full += 1
        x0, y0, x1, y1 = landmark_box(self.previous)
        mx, my = (x1 - x0) * self.config.roi_margin, (y1 - y0) * self.config.roi_margin
        h, w = frame.shape[:2]
        left, top = int(max(0, x0 - mx)), int(max(0, y0 - my))
        right, bottom = int(min(w, x1 + mx)), int(min(h, y1 + my))
        if right - left < 40 or bottom - top < 40:
            return []
        found = detect_faces(np.ascontiguousarray(frame[top:bottom, left:right]), self.config.upsample, self.config.detector)
        return [(box + np.array([left, top, left, top], np.float32), score) for box, score in found]

    def restart(self) -> None:
        """Forget the face followed so far: the next frame is searched in full."""
        self.previous, self.since_full = None, 0

    def __call__(self, frame_rgb: np.ndarray) -> np.ndarray | None:
        tracking = self.previous is not None and self.config.detect_every > 1 and self.since_full < self.config.detect_every
        width = frame_rgb.shape[1]
        box = self._choose(self._roi(frame_rgb), width) if tracking else None
        if tracking and box is None:
            self.counts["tracking_losses"] += 1
        if box is None:
            box = self._choose(self._full(frame_rgb), width)
        self.previous = None if box is None else predict_landmarks(frame_rgb, box)
        return self.previous


def iter_frames(source: str | Path | int) -> Iterator[tuple[int, float, np.ndarray]]:
    """(frame number, time in s, RGB frame) from a video file, a folder of frame images
    (sorted by name; times assume FRAME_FOLDER_FPS) or a camera (an int: OpenCV's device number).

    A file OpenCV cannot open raises `DataError`. A file that breaks off part-way ends early,
    and `truncation` reports it.
    """
    if isinstance(source, int):
        yield from _capture_frames(cv2.VideoCapture(source), f"camera {source}", "OpenCV cannot open this camera (try another --webcam N)")
        return
    path = Path(source)
    if path.is_dir():
        images = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not images:
            raise DataError(path, "folder holds no frame images (.jpg, .png, .bmp)")
        for i, image_path in enumerate(images):
            image = cv2.imread(str(image_path), cv2.IMREAD_COLOR)
            if image is None:
                raise DataError(image_path, "unreadable image")
            yield i, i / FRAME_FOLDER_FPS, cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        return
    if not path.is_file():
        raise DataError(path, "video file not found")
    if path.stat().st_size == 0:
        raise DataError(path, "file is empty (0 bytes)", fix="copy or download the video again")
    yield from _capture_frames(cv2.VideoCapture(str(path)), path,
                               "OpenCV cannot open this video (corrupt, empty, not a video or an unsupported codec)")


def _capture_frames(capture: cv2.VideoCapture, name: str | Path, unopened: str) -> Iterator[tuple[int, float, np.ndarray]]:
    if not capture.isOpened():
        raise DataError(name, unopened)
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    i = 0
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            yield i, i / fps, cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            i += 1
    finally:
        capture.release()
    if i == 0:
        raise DataError(name, "no frame could be decoded (corrupt or truncated video, or not a video)")


def expected_frames(path: str | Path) -> int | None:
    """Frame count the container claims, or a frame folder's image count (None when unknown)."""
    path = Path(path)
    if path.is_dir():
        return sum(p.suffix.lower() in IMAGE_SUFFIXES for p in path.iterdir()) or None
    capture = cv2.VideoCapture(str(path))
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) if capture.isOpened() else 0
    capture.release()
    return count or None


@dataclass
class AlignedFrame:
    """One frame after Sec. 4. ``landmarks`` (frame pixels), ``crop`` and ``crop_landmarks``
    (crop pixels) are None when no face was found."""

    index: int
    time: float
    rgb: np.ndarray
    landmarks: np.ndarray | None
    crop: np.ndarray | None
    crop_landmarks: np.ndarray | None


def aligned_frames(source: str | Path | int, config: PreprocessConfig, tracker: FaceTracker | None = None,
                   seconds: dict[str, float] | None = None, restarts: Sequence[float] = ()) -> Iterator[AlignedFrame]:
    """Stream the frames of ``source`` (see `iter_frames`) through detect -> landmarks -> align,
    one at a time, so memory stays bounded on any length. `process_video` (``omg preprocess``)
    and `omglib.predict` (``omg predict``) both go through here. ``seconds``, when given,
    accumulates the time spent in "decode", "detect" (detection, tracking, landmarks) and "align".
    At each time in ``restarts`` (seconds) the tracker starts afresh, as it does on each clip
    `omg preprocess` reads: a video cut into utterances is then tracked as its clips are."""
    tracker = tracker or FaceTracker(config)
    pending = sorted(restarts)
    seconds = seconds if seconds is not None else {}
    for stage in ("decode", "detect", "align"):
        seconds.setdefault(stage, 0.0)
    frames = iter_frames(source)
    while True:
        tic = time.perf_counter()
        item = next(frames, None)
        toc = time.perf_counter()
        seconds["decode"] += toc - tic
        if item is None:
            return
        index, at, rgb = item
        if pending and at >= pending[0]:
            pending = [t for t in pending if t > at]
            tracker.restart()
        found = tracker(rgb)
        tac = time.perf_counter()
        seconds["detect"] += tac - toc
        crop = moved = None
        if found is not None:
            crop, moved, _ = align(rgb, found, config.crop_size)
        seconds["align"] += time.perf_counter() - tac
        yield AlignedFrame(index, at, rgb, found, crop, moved)


def truncation(source: str | Path | int, read: int) -> dict | None:
    """{"read", "expected"} when fewer frames were read than the container claims (logged as a warning)."""
    expected = None if isinstance(source, int) else expected_frames(source)
    if expected is None or read >= expected:
        return None
    log.warning("%s: truncated, read %d of %d frames", source, read, expected)
    return {"read": read, "expected": expected}


@dataclass
class VideoResult:
    faces: np.ndarray  # (n, S, S, 3) uint8; zeros where invalid
    landmarks: np.ndarray  # (n, 68, 2) float32, crop pixels; NaN where invalid
    valid: np.ndarray  # (n,) bool
    frame: np.ndarray  # (n,) int
    time: np.ndarray  # (n,) float seconds
    stats: dict


def _result(aligned: list[AlignedFrame], size: int, stats: dict) -> VideoResult:
    """The store's arrays of a sequence of aligned frames (zeros and NaN where no face)."""
    found = [a.crop is not None for a in aligned]
    faces = [a.crop if ok else np.zeros((size, size, 3), np.uint8) for a, ok in zip(aligned, found)]
    landmarks = [a.crop_landmarks if ok else np.full((68, 2), np.nan, np.float32) for a, ok in zip(aligned, found)]
    return VideoResult(np.stack(faces), np.stack(landmarks), np.asarray(found), np.asarray([a.index for a in aligned]),
                       np.asarray([a.time for a in aligned]), {"frames": len(aligned), "valid": int(sum(found)), **stats})


def process_video(path: str | Path, config: PreprocessConfig, side: str | None = None) -> VideoResult:
    """Every frame of one video through detect -> landmarks -> align -> crop (``side``: which
    face of a two-person video, see `FaceTracker`)."""
    tracker = FaceTracker(config, side=side)
    aligned = [replace(a, rgb=None) for a in aligned_frames(path, config, tracker)]  # the frames themselves are not kept
    result = _result(aligned, config.crop_size, tracker.counts)
    if (short := truncation(path, len(aligned))) is not None:
        result.stats["truncated"] = short
    return result


CROP_SCALE = 2  # the organisers' 112x112 crops are upscaled (and padded) for the 80-px HOG detector
CROP_BOX = (0.12, 0.16, 0.88, 0.96)  # where the face lies in an organisers' crop (fractions of its side), if HOG misses it


def crop_frames(folder: str | Path, frames: int) -> dict[int, Path]:
    """The crops of one video by frame index: image ``00001.jpg`` is frame 0 (annotation row 0);
    a number without an image is a frame without a face. Frames past ``frames`` are dropped."""
    folder = Path(folder)
    images = {}
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() in IMAGE_SUFFIXES and path.stem.isdigit() and 0 < int(path.stem) <= frames:
            images[int(path.stem) - 1] = path
    if not images:
        raise DataError(folder, f"no numbered crop (00001.jpg ... {frames:05d}.jpg) for the annotation's {frames} frames",
                        fix="point --data-root at the release's cropped_aligned/ frames, or drop this folder")
    return images


def process_crops(folder: str | Path, config: PreprocessConfig, frames: int) -> VideoResult:
    """One video's organisers' crops through landmarks -> align -> crop, ``frames`` frames long.

    The crop is padded and upscaled so that dlib's HOG detector can find the face in it; where it
    does not, the face is taken to fill `CROP_BOX` of the crop. The 68 landmarks come from that
    box, then the same Procrustes alignment and crop size as a video's frames.
    """
    images = crop_frames(folder, frames)
    aligned, fallbacks = [], 0
    for index in range(frames):
        path = images.get(index)
        crop = moved = found = None
        if path is not None:
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is None:
                raise DataError(path, "unreadable image")
            side = image.shape[1] * CROP_SCALE
            pad = side // 4
            big = cv2.copyMakeBorder(cv2.resize(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), None, fx=CROP_SCALE, fy=CROP_SCALE,
                                                interpolation=cv2.INTER_CUBIC), pad, pad, pad, pad, cv2.BORDER_REPLICATE)
            boxes = detect_faces(big, config.upsample, config.detector)
            if boxes:
                box = boxes[0][0]
            else:
                fallbacks += 1
                box = np.array(CROP_BOX, np.float32) * np.tile(image.shape[1::-1], 2) * CROP_SCALE + pad
            found = predict_landmarks(big, box)
            crop, moved, _ = align(big, found, config.crop_size)
        aligned.append(AlignedFrame(index, index / FRAME_FOLDER_FPS, None, found, crop, moved))
    return _result(aligned, config.crop_size, {"crops": len(images), "crop_box_fallbacks": fallbacks})


def process_unit(unit, config: PreprocessConfig) -> VideoResult:
    """One store unit (`omglib.data.store.Unit`) through Sec. 4: the organisers' crops, or a video
    with its side. A store's parts and meta record this module's code digest."""
    if unit.source == "crops":
        return process_crops(unit.path, config, frames=np.size(unit.valence))
    return process_video(unit.path, config, side=unit.side)
