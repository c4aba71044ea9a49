"""Procrustes alignment (Sec. 4): the 5 anchor points of a frame onto a frontal template.

The similarity (rotation, isotropic scale, translation) that best maps the frame's eye
centres, nose tip and mouth corners onto the template's is found in closed form (Umeyama,
reflections excluded) and applied to the whole frame, which is sampled straight into the
crop. The 68 landmarks go through the same transform.
"""

from __future__ import annotations

import cv2
import numpy as np

from omglib.landmarks import five_points

# Frontal 5-point template in units of the crop side: left eye, right eye, nose tip, left and
# right mouth corner. The proportions are those of the mean dlib landmarks of two real frontal
# portraits (the astronaut and Grace Hopper), made symmetric; eyes 0.29 of the crop apart, so
# brows and chin stay inside.
TEMPLATE = np.array([[0.355, 0.40], [0.645, 0.40], [0.50, 0.564], [0.366, 0.680], [0.634, 0.680]])


def procrustes(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """2x3 similarity matrix M minimising sum |M [src; 1] - dst|^2 (no reflection).

    In 2-D this is Umeyama's solution in closed form: with the centred points read as complex
    numbers a and b, the best scaled rotation is c = sum(conj(a) b) / sum(|a|^2), which is
    what the SVD with the reflection excluded gives, without the SVD.
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    a, b = src - mu_s, dst - mu_d
    norm = (a * a).sum()
    c = (a * b).sum() / norm  # scale * cos
    s = (a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]).sum() / norm  # scale * sin
    linear = np.array([[c, -s], [s, c]])
    return np.hstack([linear, (mu_d - linear @ mu_s)[:, None]])


def template(size: int) -> np.ndarray:
    return TEMPLATE * size


def align(frame_rgb: np.ndarray, landmarks: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(crop uint8 (size, size, 3), landmarks in crop pixels (68, 2), the 2x3 matrix used)."""
    matrix = procrustes(five_points(landmarks), template(size))
    crop = cv2.warpAffine(frame_rgb, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    moved = np.asarray(landmarks, np.float64) @ matrix[:, :2].T + matrix[:, 2]
    return crop, moved.astype(np.float32), matrix
