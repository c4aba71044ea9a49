"""One video through Sec. 4: detect -> 68 landmarks -> Procrustes -> crop.

Detection dominates the cost: dlib's HOG detector needs about 20 ms on a 640x360 frame, but
landmarks take 0.7 ms and alignment 0.1 ms. `FaceTracker` therefore searches the whole
frame only on the first frame, every ``detect_every`` frames and after losing the face. In
between, it searches a small region around the previous frame's landmarks. Every frame is
still searched, so a frame where the detector finds no face is marked invalid instead of
inheriting the last landmarks.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
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
    previous: np.ndarray | None = None
    since_full: int = 0
    counts: dict = field(default_factory=lambda: {"full_searches": 0, "roi_searches": 0, "tracking_losses": 0})

    def _choose(self, faces: list[tuple[np.ndarray, float]]) -> np.ndarray | None:
        """The subject: the box overlapping the previous face most, else the largest box."""
        if not faces:
            return None
        if self.previous is not None:
            reference = landmark_box(self.previous)
            overlaps = [_iou(box, reference) for box, _ in faces]
            if max(overlaps) > 0.2:
                return faces[int(np.argmax(overlaps))][0]
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

    def __call__(self, frame_rgb: np.ndarray) -> np.ndarray | None:
        tracking = self.previous is not None and self.config.detect_every > 1 and self.since_full < self.config.detect_every
        box = self._choose(self._roi(frame_rgb)) if tracking else None
        if tracking and box is None:
            self.counts["tracking_losses"] += 1
        if box is None:
            box = self._choose(self._full(frame_rgb))
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
                   seconds: dict[str, float] | None = None) -> Iterator[AlignedFrame]:
    """Stream the frames of ``source`` (see `iter_frames`) through detect -> landmarks -> align,
    one at a time, so memory stays bounded on any length. `process_video` (``omg preprocess``)
    and `omglib.predict` (``omg predict``) both go through here. ``seconds``, when given,
    accumulates the time spent in "decode", "detect" (detection, tracking, landmarks) and "align"."""
    tracker = tracker or FaceTracker(config)
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


def process_video(path: str | Path, config: PreprocessConfig) -> VideoResult:
    """Every frame of one video through detect -> landmarks -> align -> crop."""
    tracker = FaceTracker(config)
    size = config.crop_size
    faces, landmarks, valid, frames, times = [], [], [], [], []
    for aligned in aligned_frames(path, config, tracker):
        found = aligned.crop is not None
        faces.append(aligned.crop if found else np.zeros((size, size, 3), np.uint8))
        landmarks.append(aligned.crop_landmarks if found else np.full((68, 2), np.nan, np.float32))
        valid.append(found)
        frames.append(aligned.index)
        times.append(aligned.time)
    stats = {"frames": len(frames), "valid": int(np.sum(valid)), **tracker.counts}
    if (short := truncation(path, len(frames))) is not None:
        stats["truncated"] = short
    return VideoResult(np.stack(faces), np.stack(landmarks), np.asarray(valid), np.asarray(frames), np.asarray(times), stats)
