"""Rendering one surrogate video: a face on a background, with the nuisances of real footage.

Per video: a background, a head pose that drifts (position, scale, in-plane rotation) plus
jitter whose energy grows with arousal, slow lighting changes, sensor noise, optional JPEG
re-compression, defocus-blur episodes, and events where a hand occludes the face or the
head leaves the frame. The per-frame truth (latent valence/arousal, landmarks in frame
pixels, whether the face is meant to be visible) goes to a sidecar file that the real
datasets do not have; tests and diagnostics use it, readers ignore it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from omglib.io import atomic_path
from omglib.synth.face import TILE, FaceAssets, Identity, build_assets, expression_state, render_face

FOURCC = "mp4v"  # OpenCV's pip wheels carry no H.264 encoder; MPEG-4 Part 2 in .mp4 reads the same way


@dataclass(frozen=True)
class Segment:
    """Consecutive frames of the video timeline written to one file (an utterance, or a whole video)."""

    path: Path
    first_frame: int
    n_frames: int


@dataclass(frozen=True)
class VideoSpec:
    identity: Identity
    latent: np.ndarray  # (timeline frames, 2) valence, arousal in [-1, 1]
    segments: tuple[Segment, ...]
    fps: float
    frame_size: tuple[int, int]
    face_width: float
    seed: int


def _ou(rng: np.random.Generator, n: int, dims: int, tau_frames: float, sd: float = 1.0) -> np.ndarray:
    """Smooth zero-mean noise (Ornstein-Uhlenbeck) with stationary standard deviation ``sd``."""
    decay = np.exp(-1.0 / max(tau_frames, 1e-3))
    x = np.empty((n, dims))
    x[0] = rng.normal(0, sd, dims)
    shocks = rng.normal(0, sd * np.sqrt(1 - decay**2), (n, dims))
    for t in range(1, n):
        x[t] = decay * x[t - 1] + shocks[t]
    return x


def _events(rng: np.random.Generator, n: int, fps: float, per_second: float, seconds: tuple[float, float]) -> np.ndarray:
    """Boolean mask of randomly placed episodes (occlusion, out of view, blur)."""
    mask = np.zeros(n, dtype=bool)
    for _ in range(rng.poisson(per_second * n / fps)):
        length = max(2, int(rng.uniform(*seconds) * fps))
        start = int(rng.integers(0, max(1, n - length)))
        mask[start : start + length] = True
    return mask


def background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A room-like backdrop: colour gradient, a few blurred rectangles, low-frequency texture."""
    top, bottom = rng.uniform(30, 230, 3), rng.uniform(30, 230, 3)
    ramp = np.linspace(0, 1, height)[:, None, None]
    bg = (top * (1 - ramp) + bottom * ramp) * np.ones((1, width, 1))
    for _ in range(rng.integers(2, 7)):
        x0, y0 = rng.integers(0, width), rng.integers(0, height)
        w, h = rng.integers(width // 10, width // 2), rng.integers(height // 10, height // 2)
        cv2.rectangle(bg, (int(x0), int(y0)), (int(x0 + w), int(y0 + h)), rng.uniform(20, 240, 3).tolist(), -1)
    texture = cv2.resize(rng.normal(0, 10, (height // 24 + 1, width // 24 + 1)), (width, height), interpolation=cv2.INTER_CUBIC)
    return cv2.GaussianBlur(bg + texture[..., None], (0, 0), 2.5).astype(np.float32)


def _speech(rng: np.random.Generator, n: int, fps: float, activation: np.ndarray) -> np.ndarray:
    """Speech-like mouth opening: syllable rate and amplitude rise with arousal, with pauses."""
    rate = 1.5 + 2.0 * activation  # syllables per second (kept below Nyquist of 12.5 fps video)
    phase = 2 * np.pi * np.cumsum(rate) / fps + rng.uniform(0, 2 * np.pi)
    syllables = np.clip(np.sin(phase), 0, None) ** 0.7
    loudness = np.clip(1 + 0.35 * _ou(rng, n, 1, 0.3 * fps)[:, 0], 0.3, 1.5)
    talking = _ou(rng, n, 1, 1.5 * fps)[:, 0] > -0.8  # pauses ~20% of the time
    return (0.12 + 0.5 * activation) * syllables * loudness * talking


def _blinks(rng: np.random.Generator, n: int, fps: float) -> np.ndarray:
    b = np.zeros(n)
    for start in np.flatnonzero(rng.random(n) < 0.3 / fps):
        for k, v in enumerate((0.6, 1.0, 0.5)):
            if start + k < n:
                b[start + k] = max(b[start + k], v)
    return b


def _composite(frame: np.ndarray, rgb: np.ndarray, alpha: np.ndarray, rot: np.ndarray,
               offset: np.ndarray) -> tuple[slice, slice] | None:
    """Alpha-blend the tile into ``frame`` (in place) under x -> rot @ x + offset.

    Only the tile's bounding box is warped and blended; returns it (rows, cols), or None
    when the tile lies wholly outside the frame.
    """
    height, width = frame.shape[:2]
    corners = np.array([[0, 0], [TILE, 0], [0, TILE], [TILE, TILE]]) @ rot.T + offset
    x0, y0 = np.maximum(np.floor(corners.min(0)).astype(int), 0)
    x1, y1 = np.minimum(np.ceil(corners.max(0)).astype(int), [width, height])
    if x1 <= x0 or y1 <= y0:
        return None
    # Colour channels go through OpenCV (which handles them natively): numpy broadcasting a
    # per-pixel value over a last axis of 3 runs an inner loop of 3 elements per pixel.
    premultiplied = cv2.multiply(rgb, cv2.cvtColor(alpha, cv2.COLOR_GRAY2RGB))
    matrix = np.hstack([rot, (offset - [x0, y0])[:, None]])
    size = (int(x1 - x0), int(y1 - y0))
    warped = cv2.warpAffine(premultiplied, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    coverage = cv2.warpAffine(alpha, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    roi = (slice(y0, y1), slice(x0, x1))
    box = frame[roi]
    box *= cv2.cvtColor(1 - coverage, cv2.COLOR_GRAY2RGB)
    box += warped
    return roi


def _motion_blur(frame: np.ndarray, roi: tuple[slice, slice], step: np.ndarray) -> None:
    """Blur ``frame[roi]`` along the head's movement since the last frame (in place)."""
    speed = float(np.hypot(*step))
    length = int(min(speed * 0.8, 9))
    if length < 2:
        return
    kernel = np.zeros((length, length), np.float32)
    mid = (length - 1) / 2
    dx, dy = step / speed * mid
    cv2.line(kernel, (int(round(mid - dx)), int(round(mid - dy))), (int(round(mid + dx)), int(round(mid + dy))), 1.0, 1)
    frame[roi] = cv2.filter2D(frame[roi], -1, kernel / kernel.sum())


def render_frames(spec: VideoSpec, assets: FaceAssets | None = None):
    """Yield (timeline index, BGR uint8 frame, landmarks (68,2) in frame pixels, visible) for every segment frame."""
    rng = np.random.default_rng(spec.seed)
    assets = assets or build_assets(spec.identity)
    width, height = spec.frame_size
    n = len(spec.latent)
    fps = spec.fps
    activation = (spec.latent[:, 1] + 1) / 2
    bg = background(rng, width, height)

    # Head pose: drift + arousal-driven jitter. The tile's face is ~2.1 IOD wide (jaw to jaw).
    base_scale = spec.face_width / (assets.landmarks[16, 0] - assets.landmarks[0, 0])
    drift = _ou(rng, n, 4, 4.0 * fps)
    energy = 0.3 + 1.6 * activation**2
    jitter = _ou(rng, n, 3, 0.15 * fps) * energy[:, None]
    centre = np.array([width / 2, height * 0.5]) + rng.uniform(-0.12, 0.12, 2) * [width, height]
    cx = centre[0] + drift[:, 0] * 0.06 * width + jitter[:, 0] * 0.025 * spec.face_width
    cy = centre[1] + drift[:, 1] * 0.04 * height + jitter[:, 1] * 0.02 * spec.face_width
    scale = base_scale * np.exp(0.07 * drift[:, 2])
    angle = 10.0 * drift[:, 3] + 2.0 * jitter[:, 2] + rng.normal(0, 6)  # degrees

    out_of_view = _events(rng, n, fps, 1 / 90, (0.6, 1.4))
    if out_of_view.any():  # slide the head out of the frame during the event
        side = rng.choice([-1, 1])
        push = cv2.GaussianBlur(out_of_view.astype(np.float32)[None], (0, 0), sigmaX=0.15 * fps)[0]
        cx = cx + side * push * 0.9 * width
    occluded = _events(rng, n, fps, 1 / 60, (0.5, 1.5))
    defocus = _events(rng, n, fps, 1 / 45, (0.4, 1.0))
    gain = np.clip(1 + 0.1 * _ou(rng, n, 1, 5 * fps)[:, 0], 0.75, 1.25)
    side_light = 0.3 * _ou(rng, n, 1, 6 * fps)[:, 0]
    tint = rng.uniform(0.95, 1.05, 3).astype(np.float32)
    noise_sd = rng.uniform(1.5, 5.0)
    noise_seeds = np.random.SeedSequence([spec.seed, 7]).generate_state(n) >> 1  # a sensor-noise seed per frame (C int)
    jpeg_quality = int(rng.integers(30, 70)) if rng.random() < 0.3 else 0
    speech = _speech(rng, n, fps, activation)
    blinks = _blinks(rng, n, fps)
    habits = _ou(rng, n, 6, 1.5 * fps)
    hand_rgb = np.asarray(assets.rgb[int(assets.landmarks[30, 1]), int(assets.landmarks[30, 0])], np.float32)
    xs3 = np.repeat((np.arange(TILE, dtype=np.float32) - TILE / 2) / TILE, 3)  # column position, per channel

    # Buffers reused by every frame: full-frame temporaries are the bulk of the work.
    frame = np.empty((height, width, 3), np.float32)
    noise = np.empty((height, width), np.float32)
    previous = None
    for segment in spec.segments:
        for t in range(segment.first_frame, segment.first_frame + segment.n_frames):
            v, a = float(spec.latent[t, 0]), float(spec.latent[t, 1])
            units, textures = expression_state(v, a, spec.identity, habits[t], float(speech[t]), float(blinks[t]))
            rgb, lm = render_face(assets, units, textures)  # a new array: changed in place below
            rgb.reshape(TILE, TILE * 3)[:] *= 1 + np.float32(side_light[t]) * xs3  # light from one side
            alpha = assets.alpha
            if occluded[t]:  # a hand over the lower face
                alpha = alpha.copy()
                centre_hand = tuple(int(x) for x in lm[57])
                axes = (int(1.3 * (lm[54, 0] - lm[48, 0])), int(0.9 * (lm[8, 1] - lm[30, 1])))
                cv2.ellipse(rgb, centre_hand, axes, float(rng.uniform(-30, 30)), 0, 360, (hand_rgb * 0.92).tolist(), -1)
                cv2.ellipse(alpha, centre_hand, axes, 0, 0, 360, 1.0, -1)

            theta = np.deg2rad(angle[t])
            rot = scale[t] * np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
            offset = np.array([cx[t], cy[t]]) - rot @ np.array([TILE / 2, TILE / 2])
            np.copyto(frame, bg)
            roi = _composite(frame, rgb, alpha, rot, offset)
            if roi is not None:
                here = np.array([cx[t], cy[t]])
                if previous is not None:
                    _motion_blur(frame, roi, here - previous)
                previous = here
            if defocus[t]:
                frame[...] = cv2.GaussianBlur(frame, (0, 0), 1.8)
            # Lighting gain and tint, sensor noise (one draw per pixel, shared by the channels), 8 bits.
            cv2.multiply(frame, tuple((gain[t] * tint).tolist()) + (0.0,), dst=frame)
            cv2.setRNGSeed(int(noise_seeds[t]))  # OpenCV's Gaussian generator: 3x numpy's speed
            cv2.randn(noise, 0.0, 1.0)
            cv2.scaleAdd(cv2.cvtColor(noise, cv2.COLOR_GRAY2RGB), noise_sd, frame, dst=frame)
            np.clip(frame, 0, 255, out=frame)
            image = cv2.cvtColor(frame.astype(np.uint8), cv2.COLOR_RGB2BGR)
            if jpeg_quality:
                image = cv2.imdecode(cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])[1], cv2.IMREAD_COLOR)
            landmarks = lm @ rot.T + offset
            inside = ((landmarks >= 0) & (landmarks < [width, height])).all(1).mean()
            visible = bool(inside > 0.9 and not occluded[t])
            yield t, image, landmarks.astype(np.float32), visible


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def write_video(spec: VideoSpec, truth_path: Path) -> dict:
    """Render every segment to its file and the per-frame truth to ``truth_path`` (all atomic).

    The truth file is written last and records each file's checksum, so a video counts as
    done only when all of its files are complete.
    """
    width, height = spec.frame_size
    frames = render_frames(spec)
    records = {"timeline": [], "segment": [], "landmarks": [], "visible": []}
    checksums = {}
    for index, segment in enumerate(spec.segments):
        with atomic_path(segment.path) as tmp:
            writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*FOURCC), spec.fps, (width, height))
            if not writer.isOpened():
                raise RuntimeError(f"OpenCV cannot write {FOURCC} video to {tmp}")
            for _ in range(segment.n_frames):
                t, image, landmarks, visible = next(frames)
                writer.write(image)
                records["timeline"].append(t)
                records["segment"].append(index)
                records["landmarks"].append(landmarks)
                records["visible"].append(visible)
            writer.release()
        checksums[segment.path.name] = sha256(segment.path)
    timeline = np.asarray(records["timeline"])
    truth = {
        "timeline": timeline,
        "segment": np.asarray(records["segment"], np.int32),
        "latent": spec.latent[timeline],
        "landmarks": np.asarray(records["landmarks"], np.float32),
        "visible": np.asarray(records["visible"]),
        "files": np.asarray([s.path.name for s in spec.segments]),
        "sha256": np.asarray([checksums[s.path.name] for s in spec.segments]),
    }
    with atomic_path(truth_path) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **truth)
    return {"frames": int(len(timeline)), "visible": int(truth["visible"].sum()), "files": checksums}


def is_complete(spec: VideoSpec, truth_path: Path) -> bool:
    """True when the truth file exists and every segment file matches its recorded checksum."""
    if not truth_path.is_file():
        return False
    try:
        with np.load(truth_path) as truth:
            recorded = dict(zip(truth["files"].tolist(), truth["sha256"].tolist()))
    except (OSError, ValueError, KeyError):
        return False
    return all(s.path.is_file() and recorded.get(s.path.name) == sha256(s.path) for s in spec.segments)


def clip_truth(clip: str | Path) -> np.ndarray | None:
    """Per-frame true (valence, arousal) in [-1, 1] of one surrogate utterance clip
    (``<omg>/<split>/<video>/<utterance>.mp4``), read from its video's truth sidecar
    (``<omg>/synth_truth/<split>/<video>.npz``); None for a clip without one (real data)."""
    clip = Path(clip)
    sidecar = clip.parents[2] / "synth_truth" / clip.parent.parent.name / f"{clip.parent.name}.npz"
    if not sidecar.is_file():
        return None
    with np.load(sidecar) as truth:
        files = truth["files"].tolist()
        if clip.name not in files:
            return None
        return truth["latent"][truth["segment"] == files.index(clip.name)].astype(np.float32)
