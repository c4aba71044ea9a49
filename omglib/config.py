"""Typed, frozen configuration: one `Profile` per scale (smoke | quick | paper).

A profile fixes every size knob so that a result directory can record exactly what
produced it. `smoke` runs in seconds for tests, `quick` is the CPU book, `paper` is the
paper's scale and meant for a GPU.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from omglib.errors import OmgError

PROFILE_NAMES = ("smoke", "quick", "paper")


@dataclass(frozen=True)
class SplitCounts:
    """Number of videos per split (identities never cross splits)."""

    train: int
    validation: int
    test: int

    def items(self) -> list[tuple[str, int]]:
        return [("train", self.train), ("validation", self.validation), ("test", self.test)]


@dataclass(frozen=True)
class SynthConfig:
    """Sizes of the surrogate datasets written by `omg synth`.

    `duration_scale` multiplies utterance durations drawn from the real OMG statistics;
    only `smoke` shortens them (so tests take seconds), and the manifest records it.
    """

    omg_videos: SplitCounts
    utterances_per_video: tuple[int, int]  # inclusive range; real OMG: 3..78, median 8
    duration_scale: float
    fps: float
    frame_size: tuple[int, int]  # (width, height) of the video frames
    face_width: tuple[int, int]  # range of the face width in pixels (jaw to jaw)
    affwild2_videos: SplitCounts  # test stays 0: Aff-Wild2's VA test labels are not public
    affwild2_frames: tuple[int, int]
    affwild_videos: SplitCounts
    affwild_frames: tuple[int, int]
    annotators: int = 5


@dataclass(frozen=True)
class PreprocessConfig:
    """Sec. 4 pipeline settings (`omg preprocess`). See omglib/preprocess/pipeline.py."""

    crop_size: int = 96  # the paper's 96x96x3; the CPU profiles use 64
    detector: str = "hog"  # or "cnn" (dlib MMOD)
    upsample: int = 0  # detector upsampling: 1 finds faces down to ~40 px, at 4x the cost
    detect_every: int = 25  # full-frame search period while tracking; 1 = full search on every frame
    roi_margin: float = 0.6  # search region = previous landmark box grown by this fraction per side

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Profile:
    name: str
    seed: int
    synth: SynthConfig
    preprocess: PreprocessConfig

    def to_dict(self) -> dict:
        return asdict(self)


_PROFILES = {
    "smoke": Profile(
        name="smoke",
        seed=0,
        synth=SynthConfig(
            omg_videos=SplitCounts(3, 2, 2),
            utterances_per_video=(2, 3),
            duration_scale=0.25,
            fps=25.0,
            frame_size=(640, 360),
            face_width=(100, 130),
            affwild2_videos=SplitCounts(2, 1, 0),
            affwild2_frames=(60, 90),
            affwild_videos=SplitCounts(1, 1, 0),
            affwild_frames=(40, 60),
        ),
        preprocess=PreprocessConfig(crop_size=64, detect_every=10),
    ),
    "quick": Profile(
        name="quick",
        seed=0,
        synth=SynthConfig(
            omg_videos=SplitCounts(24, 8, 8),
            utterances_per_video=(4, 7),
            duration_scale=1.0,
            fps=12.5,
            frame_size=(640, 360),
            face_width=(95, 140),
            affwild2_videos=SplitCounts(12, 4, 0),
            affwild2_frames=(400, 700),
            affwild_videos=SplitCounts(6, 2, 0),
            affwild_frames=(300, 500),
        ),
        preprocess=PreprocessConfig(crop_size=64, detect_every=12),
    ),
    "paper": Profile(
        name="paper",
        seed=0,
        synth=SynthConfig(
            omg_videos=SplitCounts(231, 60, 204),
            utterances_per_video=(3, 18),
            duration_scale=1.0,
            fps=25.0,
            frame_size=(640, 360),
            face_width=(90, 160),
            affwild2_videos=SplitCounts(120, 40, 0),
            affwild2_frames=(1500, 4500),
            affwild_videos=SplitCounts(60, 20, 0),
            affwild_frames=(1500, 4500),
        ),
        preprocess=PreprocessConfig(crop_size=96, detect_every=25),
    ),
}


def get_profile(name: str) -> Profile:
    """The named profile; an unknown name is a user mistake, reported with the valid names."""
    try:
        return _PROFILES[name]
    except KeyError:
        raise OmgError(f"unknown profile {name!r}: choose one of {', '.join(PROFILE_NAMES)}") from None


__all__ = ["PROFILE_NAMES", "Profile", "SplitCounts", "SynthConfig", "get_profile"]
