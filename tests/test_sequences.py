import numpy as np
import pandas as pd
import torch

from omglib.data.sequences import MIRROR_68, SequenceDataset, cut, landmark_input
from omglib.data.store import FrameStore


def _store(valid, utterances, labels=None, size=4):
    n = len(valid)
    index = pd.DataFrame({"video": ["v"] * n, "utterance": utterances, "frame": np.arange(n), "time": np.arange(n) / 25,
                          "valid": valid, "valence": 0.5 if labels is None else labels[:, 0],
                          "arousal": -0.25 if labels is None else labels[:, 1]})
    faces = np.arange(n, dtype=np.uint8)[:, None, None, None] * np.ones((1, size, size, 3), np.uint8)
    landmarks = np.full((n, 68, 2), 2.0, np.float32)
    landmarks[~np.asarray(valid)] = np.nan
    return FrameStore(None, faces, landmarks, index, {})


def test_short_group_is_padded_and_masked():
    seqs = cut(_store([True] * 5, ["u1"] * 5), seq_len=4)
    assert seqs.rows.tolist() == [[0, 1, 2, 3], [4, 4, 4, 4]]  # padding repeats the last frame
    assert seqs.frames.tolist() == [[0, 1, 2, 3], [4, -1, -1, -1]]
    assert seqs.mask.tolist() == [[True] * 4, [True, False, False, False]]
    assert seqs.groups[["valence", "arousal", "frames", "valid"]].values.tolist() == [[0.5, -0.25, 5, 5]]


def test_invalid_frames_take_the_nearest_valid_frame_and_are_masked():
    valid = [False, True, False, False, False, True, False]
    seqs = cut(_store(valid, ["u1"] * 7), seq_len=7)
    assert seqs.rows.tolist() == [[1, 1, 1, 1, 5, 5, 5]]  # ties go to the earlier frame
    assert seqs.mask.tolist() == [valid]


def test_groups_never_share_a_window_and_follow_utterance_order():
    seqs = cut(_store([True] * 6, ["utterance_10.mp4"] * 3 + ["utterance_2.mp4"] * 3), seq_len=4)
    assert seqs.groups["utterance"].tolist() == ["utterance_2.mp4", "utterance_10.mp4"]
    assert seqs.rows.tolist() == [[3, 4, 5, 5], [0, 1, 2, 2]]


def test_per_frame_labels_mask_unannotated_frames():
    labels = np.array([[0.1, 0.2], [np.nan, np.nan], [0.3, 0.4]], np.float32)
    seqs = cut(_store([True] * 3, [""] * 3, labels), seq_len=3)
    assert seqs.mask.tolist() == [[True, False, True]]
    assert np.isnan(seqs.groups["valence"]).all()  # no utterance label
    np.testing.assert_allclose(seqs.labels[0, [0, 2]], labels[[0, 2]])


def test_dataset_normalises_faces_and_landmarks():
    data = SequenceDataset(cut(_store([True, False], ["u"] * 2), seq_len=2))
    faces, landmarks, labels, mask = data[0]
    assert faces.shape == (2, 3, 4, 4) and faces.dtype == torch.float32
    assert faces[0].max() == -1.0 and faces[1].max() == -1.0  # frame 0 (value 0) fed for the invalid frame too
    assert landmarks.shape == (2, 136) and float(landmarks[0, 0]) == 0.0  # 2 px of a 4 px crop -> 0
    assert mask.tolist() == [True, False] and labels[1].tolist() == [0.0, 0.0]


def test_mirror_permutation_is_an_involution_and_landmarks_map_to_unit_range():
    assert sorted(MIRROR_68) == list(range(68)) and (MIRROR_68[MIRROR_68] == np.arange(68)).all()
    assert MIRROR_68[36] == 45 and MIRROR_68[48] == 54 and MIRROR_68[30] == 30
    lm = np.array([[[0.0, 96.0]] * 68, [[np.nan, np.nan]] * 68])
    out = landmark_input(lm, 96)
    assert out.shape == (2, 136) and out[0, :2].tolist() == [-1.0, 1.0] and (out[1] == 0).all()
