"""Sec. 6.1: fixed-length sequences of consecutive frames, as a torch Dataset.

A *group* is what carries one label trajectory: an OMG utterance (one label, repeated on
every frame) or an Aff-Wild2 video (a label per frame). Each group is cut into consecutive
windows of ``seq_len`` frames. The rules, so that no frame is silently dropped:

- the last window of a group, and a group shorter than one window, are padded to
  ``seq_len`` by repeating the group's last frame; padded positions are masked;
- a frame without a face (``valid`` false) is fed as the nearest valid frame of its group
  (the network sees a face, the sequence keeps its length and timing) and is masked;
- a frame without a label (Aff-Wild2's -5) is masked;
- a group with no valid frame still yields windows (all masked); its utterance gets no
  estimate from the network and `omglib.postprocess` fills it with the training mean,
  counted in the results.

Masked positions are left out of the loss and of the per-sequence estimates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from omglib.data.store import FrameStore, normalise

# iBUG 68-point index of each point's mirror image (for horizontal-flip augmentation).
MIRROR_68 = np.array([*range(16, -1, -1), *range(26, 21, -1), *range(21, 16, -1), 27, 28, 29, 30,
                      *range(35, 30, -1), 45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40,
                      *range(54, 47, -1), *range(59, 54, -1), *range(64, 59, -1), *range(67, 64, -1)])


def _natural(name: str) -> tuple:
    """Sort key that puts utterance_2 before utterance_10 (utterances are numbered in time)."""
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name))


@dataclass
class Sequences:
    """The windows of one FrameStore. Arrays are (W, L) unless said otherwise."""

    store: FrameStore
    rows: np.ndarray  # store row fed at each position (nearest valid frame; padding repeats the last)
    frames: np.ndarray  # store row each position stands for, -1 for padding
    mask: np.ndarray  # True where the position is a real, valid, labelled frame
    group: np.ndarray  # (W,) index into `groups`
    groups: pd.DataFrame  # video, utterance, valence, arousal (the utterance label, NaN for per-frame labels), frames, valid

    @property
    def labels(self) -> np.ndarray:
        """(W, L, 2) [valence, arousal] of each position (NaN where masked)."""
        va = self.store.index[["valence", "arousal"]].to_numpy(np.float32)[np.maximum(self.frames, 0)]
        return np.where(self.mask[..., None], va, np.nan).astype(np.float32)


def nearest_valid(valid: np.ndarray) -> np.ndarray:
    """Each position's nearest valid position (ties to the earlier); every position itself
    when none or all are valid."""
    pos = np.arange(len(valid))
    if valid.all() or not valid.any():
        return pos
    good = np.flatnonzero(valid)
    after = np.searchsorted(good, pos)
    left, right = good[np.clip(after - 1, 0, len(good) - 1)], good[np.clip(after, 0, len(good) - 1)]
    return np.where(np.abs(pos - left) <= np.abs(right - pos), left, right)


def windows(valid: np.ndarray, seq_len: int) -> tuple[np.ndarray, np.ndarray]:
    """One group's windows (the rules in the module doc), as positions in the group: (W, L) the
    position fed at each place and (W, L) the position it stands for (-1: padding).
    `cut` and `omglib.predict` (an utterance of a video) both cut through here."""
    fed = nearest_valid(valid)
    pad = (-len(valid)) % seq_len
    return (np.concatenate([fed, np.full(pad, fed[-1])]).reshape(-1, seq_len),
            np.concatenate([np.arange(len(valid)), np.full(pad, -1)]).reshape(-1, seq_len))


def cut(store: FrameStore, seq_len: int) -> Sequences:
    """Cut every group of ``store`` into windows of ``seq_len`` frames (rules in the module doc)."""
    index = store.index
    per_frame = (index["utterance"] == "").all()  # Aff-Wild2: labels per frame, one group per video
    keys = ["video"] if per_frame else ["video", "utterance"]
    rows_all, frames_all, group_all, groups = [], [], [], []
    ordered = sorted(index.groupby(keys, sort=False).indices.items(), key=lambda kv: tuple(map(_natural, np.atleast_1d(kv[0]))))
    for g, (key, members) in enumerate(ordered):
        part = index.iloc[members]
        members = members[np.argsort(part["frame"].to_numpy(), kind="stable")]
        valid = index["valid"].to_numpy(bool)[members]
        fed, stands = windows(valid, seq_len)
        rows_all.append(members[fed])
        frames_all.append(np.where(stands >= 0, members[np.maximum(stands, 0)], -1))
        group_all.append(np.full(len(rows_all[-1]), g))
        video, utterance = (key, "") if per_frame else key
        first = index.iloc[members[0]]
        groups.append({"video": video, "utterance": utterance,
                       "valence": np.nan if per_frame else first["valence"],
                       "arousal": np.nan if per_frame else first["arousal"],
                       "frames": len(members), "valid": int(valid.sum())})
    rows, frames = np.concatenate(rows_all), np.concatenate(frames_all)
    va = index[["valence", "arousal"]].to_numpy(np.float32)
    labelled = ~np.isnan(va).any(1)
    real = frames >= 0
    safe = np.maximum(frames, 0)
    mask = real & index["valid"].to_numpy(bool)[safe] & labelled[safe]
    return Sequences(store, rows, frames, mask, np.concatenate(group_all), pd.DataFrame(groups))


def landmark_input(landmarks: np.ndarray, crop_size: int) -> np.ndarray:
    """(..., 68, 2) crop pixels -> (..., 136) in [-1, 1], NaN (no face) -> 0: the networks' second input."""
    scaled = landmarks.reshape(*landmarks.shape[:-2], 136) / crop_size * 2 - 1
    return np.nan_to_num(scaled, nan=0.0).astype(np.float32)


class SequenceDataset(Dataset):
    """(inputs, landmarks (L, 136), labels (L, 2), mask (L,)) per window.

    ``inputs`` are faces (L, 3, S, S) normalised to [-1, 1] as they are read (stores keep
    uint8), or, when ``features`` (name -> (N, F) array per store row) is given, a dict of the
    frozen CNN's cached features (L, F). ``augment`` flips a sequence horizontally with
    probability 1/2 (faces and mirrored landmarks; off by default, faces only).
    """

    def __init__(self, sequences: Sequences, features: dict[str, np.ndarray] | None = None, augment: bool = False):
        if augment and features is not None:
            raise ValueError("augmentation needs faces: it cannot be combined with cached CNN features")
        self.sequences, self.features, self.augment = sequences, features, augment
        self.crop = sequences.store.faces.shape[1]
        self.labels = np.nan_to_num(sequences.labels)

    def __len__(self) -> int:
        return len(self.sequences.rows)

    def training_landmarks(self) -> torch.Tensor:
        """(N, 136) network-input landmarks of the store's valid frames (for `standardise_landmarks`)."""
        store = self.sequences.store
        valid = store.index["valid"].to_numpy(bool)
        return torch.from_numpy(landmark_input(np.asarray(store.landmarks)[valid], self.crop))

    def __getitem__(self, i: int):
        rows = self.sequences.rows[i]
        landmarks = np.asarray(self.sequences.store.landmarks[rows])
        if self.features is not None:
            inputs = {name: torch.from_numpy(np.asarray(f[rows], dtype=np.float32)) for name, f in self.features.items()}
        else:
            faces = normalise(self.sequences.store.faces[rows]).transpose(0, 3, 1, 2)
            if self.augment and torch.rand(()) < 0.5:
                faces = faces[..., ::-1]
                landmarks = landmarks[:, MIRROR_68].copy()
                landmarks[..., 0] = self.crop - landmarks[..., 0]
            inputs = torch.from_numpy(np.ascontiguousarray(faces))
        return (inputs, torch.from_numpy(landmark_input(landmarks, self.crop)),
                torch.from_numpy(self.labels[i]), torch.from_numpy(self.sequences.mask[i]))
