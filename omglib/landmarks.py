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
def _hog_detector():
    import dlib

    return dlib.get_frontal_face_detector()


@functools.lru_cache(maxsize=1)
def _cnn_detector():
    import dlib

    return dlib.cnn_face_detection_model_v1(str(model_path("mmod_human_face_detector.dat")))


@functools.lru_cache(maxsize=1)
def _predictor():
    import dlib

    return dlib.shape_predictor(str(model_path()))


def detect_faces(image_rgb: np.ndarray, upsample: int = 0, detector: str = "hog") -> list[tuple[np.ndarray, float]]:
    """Face boxes [left, top, right, bottom] with detector scores, best first.

    ``detector``: "hog" (dlib's frontal HOG + linear SVM, fast on a CPU) or "cnn" (dlib's MMOD
    CNN, more robust to pose, slow without a GPU build of dlib).
    """
    if detector == "hog":
        rects, scores, _ = _hog_detector().run(image_rgb, upsample, 0.0)
        found = [(np.array([r.left(), r.top(), r.right(), r.bottom()], np.float32), float(s)) for r, s in zip(rects, scores)]
    elif detector == "cnn":
        found = [(np.array([d.rect.left(), d.rect.top(), d.rect.right(), d.rect.bottom()], np.float32), float(d.confidence))
                 for d in _cnn_detector()(image_rgb, upsample)]
    else:
        raise OmgError(f"unknown detector {detector!r}: choose hog or cnn")
    return sorted(found, key=lambda f: -f[1])


def predict_landmarks(image_rgb: np.ndarray, box: np.ndarray) -> np.ndarray:
    """68x2 float32 landmarks inside ``box`` [left, top, right, bottom]."""
    import dlib

    left, top, right, bottom = (int(round(v)) for v in box)
    shape = _predictor()(image_rgb, dlib.rectangle(left, top, right, bottom))
    return np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float32)


def detect_landmarks(image_rgb: np.ndarray, upsample: int = 0) -> np.ndarray | None:
    """68x2 float32 landmarks of the highest-scoring HOG detection, or None if no face.

    The highest score, not the first box: a portrait can hold face-like patches (the
    astronaut's mission badge is one).
    """
    faces = detect_faces(image_rgb, upsample)
    return predict_landmarks(image_rgb, faces[0][0]) if faces else None


def five_points(landmarks: np.ndarray) -> np.ndarray:
    """The 5 anchor points (left eye, right eye, nose tip, left and right mouth corner)."""
    lm = np.asarray(landmarks, dtype=np.float64)
    return np.stack([lm[LEFT_EYE].mean(0), lm[RIGHT_EYE].mean(0), lm[NOSE_TIP], lm[MOUTH_CORNERS[0]], lm[MOUTH_CORNERS[1]]])
