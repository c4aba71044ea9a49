"""dlib's 68-point landmarks: model location and a one-face detector.

The 68-point model ships inside the `face_recognition_models` package; we locate it with
importlib instead of importing the package (its import needs pkg_resources).
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import numpy as np

from omglib.errors import OmgError

# 68-point indices of the paper's 5 anchor points (Sec. 4): eye centres, nose tip, mouth corners.
LEFT_EYE = list(range(36, 42))
RIGHT_EYE = list(range(42, 48))
NOSE_TIP = 30
MOUTH_CORNERS = (48, 54)


def model_path(name: str = "shape_predictor_68_face_landmarks.dat") -> Path:
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise OmgError("the dlib landmark model is missing: pip install face_recognition_models")
    path = Path(list(spec.submodule_search_locations)[0]) / "models" / name
    if not path.is_file():
        raise OmgError(f"{path} not found: reinstall face_recognition_models")
    return path


@functools.lru_cache(maxsize=1)
def _dlib_models():
    import dlib

    return dlib.get_frontal_face_detector(), dlib.shape_predictor(str(model_path()))


def detect_landmarks(image_rgb: np.ndarray, upsample: int = 0) -> np.ndarray | None:
    """68x2 float32 landmarks of the highest-scoring HOG detection, or None if no face.

    The highest score, not the first box: a portrait can hold face-like patches (the
    astronaut's mission badge is one).
    """
    import dlib

    detector, predictor = _dlib_models()
    boxes, scores, _ = detector.run(image_rgb, upsample, 0.0)
    if not boxes:
        return None
    best = boxes[int(np.argmax(scores))]
    shape = predictor(image_rgb, dlib.rectangle(best.left(), best.top(), best.right(), best.bottom()))
    return np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float32)


def five_points(landmarks: np.ndarray) -> np.ndarray:
    """The 5 anchor points (left eye, right eye, nose tip, left and right mouth corner)."""
    lm = np.asarray(landmarks, dtype=np.float64)
    return np.stack([lm[LEFT_EYE].mean(0), lm[RIGHT_EYE].mean(0), lm[NOSE_TIP], lm[MOUTH_CORNERS[0]], lm[MOUTH_CORNERS[1]]])
