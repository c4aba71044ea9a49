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
class ModelConfig:
    """Sizes of the networks of Sec. 5 (`omglib.models`). The defaults are the paper's.

    Smaller profiles shrink the networks only through these named fields: the book prints
    them next to every result, so a reduction is never hidden.
    """

    input_size: int = 96  # faces are resized to this side if the store's crop differs
    width_divisor: int = 1  # backbone channels / d (VGG, DenseNet, ResNet stages; the ResNet stem stays 64)
    vgg_fc: int = 4096  # the FC after VGG's last pool (+ landmarks)
    cnn_fc: int = 1500  # the FC after ResNet/DenseNet's average pool (+ landmarks)
    gru_hidden: int = 128  # units per GRU layer (2 layers)
    fusion_hidden: int = 128  # model-level fusion's GRU or FC, and the "-1FC" layers
    tap_pool: int | None = None  # None: conv/pool taps flattened as the paper feeds them; k: average-pooled to k x k first
    fc_dropout: float = 0.5  # dropout on the FC layers above the CNN (Sec. 6.1)
    gru_dropout: float = 0.2  # after the first GRU layer; the paper's "0.8" read as TensorFlow's keep-probability
    landmarks: bool = True  # join the 68 landmarks to the last pool / average-pooled features (Table 6 turns it off)


@dataclass(frozen=True)
class TrainConfig:
    """Sec. 6: how networks are trained, aggregated and post-processed (`omglib.train`).

    ``strategy`` is the paper's choice between training end to end and freezing the CNN. The
    CNN (trunk) is first trained frame by frame on the pre-training data (Aff-Wild2, Aff-Wild,
    or OMG itself "from scratch"); "frozen" then trains only the layers above it, on CNN
    features computed once (the CPU profiles), "end-to-end" fine-tunes everything (the paper).
    """

    seq_len: int = 80  # frames per sequence (Sec. 6.1: 40-100 tried, 80 best)
    batch_size: int = 4  # sequences per batch (CNN-RNNs end to end)
    cnn_seq_len: int = 80  # frames per training window when a CNN trains frame by frame (Sec. 6.1: 80)
    cnn_batch_size: int = 4  # windows per batch when a CNN trains frame by frame (not given by the paper)
    frozen_batch_size: int = 4  # sequences per batch for the layers above a frozen CNN
    share_cnn: bool = False  # training seeds share one frame-by-frame CNN pre-training (seeded by Profile.seed)
    strategy: str = "end-to-end"  # or "frozen"
    lr_cnn: float = 1e-4  # CNNs, and the CNN pre-training (from ImageNet / VGG-Face weights in the paper)
    lr_end_to_end: float = 1e-5  # CNN-RNNs end to end (1e-4 also tried)
    lr_frozen: float = 1e-3  # CNN-RNNs above a frozen CNN
    epochs: int = 30  # most epochs on OMG; early stopping usually ends sooner
    pretrain_epochs: int = 10  # epochs of CNN pre-training
    patience: int = 5  # epochs without a better validation CCC before stopping
    loss_weights: tuple[float, float] = (0.5, 0.5)  # Eq. 3 multi-task; (1, 0) / (0, 1) uni-task
    aggregate: str = "median"  # per-sequence estimate from its frames: "median" (best) or "mean"
    median_windows: tuple[int, ...] = (1, 3, 5, 9, 17, 33, 81)  # Sec. 6.3 grid, per dimension
    smoothing_windows: tuple[int, ...] = (1, 3, 5)  # neighbouring utterances of a video
    bootstrap: int = 1000  # resamples for 95% confidence intervals
    augment: bool = False  # random horizontal flips of training sequences


@dataclass(frozen=True)
class Profile:
    """One scale of the whole book. ``seed`` fixes the data (surrogate, shared CNN
    pre-training); ``seeds`` are the training seeds every experiment runs with."""

    name: str
    seed: int
    seeds: tuple[int, ...]
    synth: SynthConfig
    preprocess: PreprocessConfig
    model: ModelConfig
    train: TrainConfig

    def to_dict(self) -> dict:
        return asdict(self)


_PROFILES = {
    "smoke": Profile(
        name="smoke",
        seed=0,
        seeds=(0, 1),
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
        model=ModelConfig(input_size=32, width_divisor=16, vgg_fc=32, cnn_fc=32, gru_hidden=16, fusion_hidden=16, tap_pool=2),
        train=TrainConfig(seq_len=16, strategy="frozen", cnn_seq_len=1, cnn_batch_size=32, frozen_batch_size=8, share_cnn=True,
                          lr_cnn=1e-3, epochs=3, pretrain_epochs=1, patience=2, median_windows=(1, 3, 17),
                          smoothing_windows=(1, 3), bootstrap=200),
    ),
    "quick": Profile(
        name="quick",
        seed=0,
        seeds=(0, 1, 2),
        synth=SynthConfig(
            # Enough videos for intervals that can resolve a few CCC points (issue: >= 60/20/40),
            # paid for with shorter utterances (x0.4 of the real durations), not fewer videos.
            omg_videos=SplitCounts(64, 24, 44),
            utterances_per_video=(4, 7),
            duration_scale=0.4,
            fps=12.5,
            frame_size=(640, 360),
            face_width=(95, 140),
            # Many short videos: a CNN pre-trained on a dozen faces learns those faces, not the cues
            # (the frames are about as many as before, the identities three times as many).
            affwild2_videos=SplitCounts(36, 12, 0),
            affwild2_frames=(140, 220),
            affwild_videos=SplitCounts(18, 6, 0),
            affwild_frames=(100, 160),
        ),
        preprocess=PreprocessConfig(crop_size=64, detect_every=12),
        model=ModelConfig(input_size=48, width_divisor=8, vgg_fc=256, cnn_fc=256, gru_hidden=64, fusion_hidden=64, tap_pool=4),
        # 40 frames at 12.5 fps span the same 3.2 s as the paper's 80 at 25 fps.
        # The CNNs start from random weights here (no VGG-Face / ImageNet download), hence a
        # larger learning rate and batch for their frame-by-frame pre-training.
        train=TrainConfig(seq_len=40, strategy="frozen", cnn_seq_len=1, cnn_batch_size=64, frozen_batch_size=16,
                          share_cnn=True, lr_cnn=1e-3, epochs=12, pretrain_epochs=6, patience=4,
                          median_windows=(1, 3, 5, 9, 17, 41)),
    ),
    "paper": Profile(
        name="paper",
        seed=0,
        seeds=(0, 1, 2),
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
        model=ModelConfig(),
        train=TrainConfig(),
    ),
}


def get_profile(name: str) -> Profile:
    """The named profile; an unknown name is a user mistake, reported with the valid names."""
    try:
        return _PROFILES[name]
    except KeyError:
        raise OmgError(f"unknown profile {name!r}: choose one of {', '.join(PROFILE_NAMES)}") from None


__all__ = ["PROFILE_NAMES", "ModelConfig", "PreprocessConfig", "Profile", "SplitCounts", "SynthConfig", "TrainConfig",
           "get_profile"]
