"""Surrogate faces: identities from two real portraits, expressions driven by valence/arousal.

Identity. Both public-domain portraits (NASA's astronaut Eileen Collins from scikit-image,
Grace Hopper from matplotlib) are warped onto one head tile and cross-dissolved with a
per-identity weight; the shared shape is then morphed in landmark space (face width and
length, eye distance and size, nose length, mouth width, lip thickness, jaw, brow height,
resting mouth-corner height) and the appearance changed (skin tone in Lab, hair/clothing,
mirroring). Every identity is a distinct face, but all descend from two people: the
surrogate's identity variety is narrower than OMG's and the book says so.

Expression. Valence and arousal set six expression units that move landmarks (smile,
frown, brow raise, eye closure, mouth opening, lip stretch), rendered by piecewise-affine
warping of the tile, and four texture maps that no landmark carries (smile lines and cheek
highlights, brow-furrow lines, arousal flush and forehead sheen, teeth in the open mouth). Per-identity
expressivity and spontaneous expression noise blur the landmark cues on purpose.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

from omglib.errors import OmgError
from omglib.landmarks import detect_landmarks
from omglib.synth.warp import MeshMap, frame_points, piecewise_affine_warp, triangulate

TILE = 256  # side of the head tile in pixels
IOD = 0.2 * TILE  # inter-ocular distance (eye centres) of the reference shape
EYES_Y = 0.40 * TILE

# Mirror permutation of the 68-point scheme (left <-> right of the face).
FLIP_68 = np.array(
    list(range(16, -1, -1)) + list(range(26, 16, -1)) + list(range(27, 31)) + [35, 34, 33, 32, 31]
    + [45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40]
    + [54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55] + [64, 63, 62, 61, 60, 67, 66, 65]
)


@dataclass(frozen=True)
class Portrait:
    name: str
    image: np.ndarray  # RGB uint8
    landmarks: np.ndarray  # (68, 2) in image pixels


@functools.lru_cache(maxsize=1)
def portraits() -> tuple[Portrait, Portrait]:
    """The two source portraits and their dlib landmarks (found once per process)."""
    import matplotlib.cbook
    import matplotlib.image
    from skimage import data

    astronaut = data.astronaut()
    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as f:
        hopper = np.ascontiguousarray(matplotlib.image.imread(f, format="jpg")[..., :3])
    result = []
    for name, image in (("astronaut", astronaut), ("grace_hopper", hopper)):
        lm = detect_landmarks(image, upsample=1)
        if lm is None:
            raise OmgError(f"dlib found no face in the {name} portrait: is dlib-bin installed correctly?")
        result.append(Portrait(name, image, lm))
    return tuple(result)


def similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """2x3 least-squares similarity (rotation, isotropic scale, translation) mapping src onto dst."""
    matrix, _ = cv2.estimateAffinePartial2D(src.astype(np.float32), dst.astype(np.float32), method=cv2.LMEDS)
    return matrix


def apply_affine(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ matrix[:, :2].T + matrix[:, 2]


@functools.lru_cache(maxsize=1)
def reference_shape() -> np.ndarray:
    """Mean of the two portraits' landmarks, placed on the tile (eyes level, IOD = 0.2 tile)."""
    a, b = (p.landmarks.astype(np.float64) for p in portraits())
    b_on_a = apply_affine(similarity(b, a), b)
    mean = (a + b_on_a) / 2
    left, right = mean[36:42].mean(0), mean[42:48].mean(0)
    target = np.array([[TILE / 2 - IOD / 2, EYES_Y], [TILE / 2 + IOD / 2, EYES_Y]])
    return apply_affine(similarity(np.stack([left, right]), target), mean)


def _pattern(entries: dict[tuple[int, ...], tuple[float, float]]) -> np.ndarray:
    """A (68, 2) displacement pattern in IOD units from {indices: (dx, dy)} (image axes, y down)."""
    d = np.zeros((68, 2))
    for indices, vec in entries.items():
        d[list(indices)] += vec
    return d


def _scale_about(indices, sx: float, sy: float) -> np.ndarray:
    """Pattern that scales the given points about their centre (for shape modes)."""
    ref = reference_shape()
    d = np.zeros((68, 2))
    centre = ref[list(indices)].mean(0)
    d[list(indices)] = (ref[list(indices)] - centre) * [sx, sy] / IOD
    return d


JAW, BROWS, NOSE = range(0, 17), range(17, 27), range(27, 36)
EYES, MOUTH = range(36, 48), range(48, 68)
UPPER_LIDS, LOWER_LIDS = (37, 38, 43, 44), (40, 41, 46, 47)
CHIN = {5: 0.3, 6: 0.6, 7: 0.85, 8: 1.0, 9: 0.85, 10: 0.6, 11: 0.3}


@functools.lru_cache(maxsize=1)
def shape_modes() -> np.ndarray:
    """(10, 68, 2) identity shape modes in IOD units, each scaled to one standard deviation."""
    jaw_in = _pattern({(3, 4): (0.05, 0), (12, 13): (-0.05, 0), (5, 6): (0.06, 0), (10, 11): (-0.06, 0)})
    chin_down = _pattern({(i,): (0, 0.08 * w) for i, w in CHIN.items()})
    return np.stack([
        _scale_about(JAW, 0.07, 0.0),                                    # face width
        chin_down + _pattern({tuple(BROWS): (0, -0.03)}),                # face length
        _pattern({(17, 18, 19, 20, 21, 36, 37, 38, 39, 40, 41): (-0.05, 0),
                  (22, 23, 24, 25, 26, 42, 43, 44, 45, 46, 47): (0.05, 0)}),  # eye distance
        _scale_about(range(36, 42), 0.12, 0.15) + _scale_about(range(42, 48), 0.12, 0.15),  # eye size
        _pattern({(30, 31, 32, 33, 34, 35): (0, 0.06), (29,): (0, 0.03)}),  # nose length
        _scale_about(MOUTH, 0.10, 0.0),                                  # mouth width
        _scale_about(MOUTH, 0.0, 0.18),                                  # lip thickness
        jaw_in,                                                          # jaw shape (V vs square)
        _pattern({tuple(BROWS): (0, -0.05)}),                            # brow height
        _pattern({(48, 60): (0, -0.025), (54, 64): (0, -0.025)}),        # resting mouth corners
    ])


EXPRESSION_UNITS = ("smile", "frown", "brow_raise", "eye_close", "mouth_open", "lip_stretch")


@functools.lru_cache(maxsize=1)
def expression_patterns() -> np.ndarray:
    """(6, 68, 2) landmark displacements of the expression units at full intensity, IOD units."""
    return np.stack([
        _pattern({(48,): (-0.07, -0.07), (54,): (0.07, -0.07), (60,): (-0.06, -0.06), (64,): (0.06, -0.06),
                  (49, 59): (-0.035, -0.035), (53, 55): (0.035, -0.035), (50, 51, 52, 61, 62, 63): (0, -0.02),
                  (56, 57, 58, 65, 66, 67): (0, -0.01), LOWER_LIDS: (0, -0.03)}),              # smile
        _pattern({(48, 60): (0.01, 0.06), (54, 64): (-0.01, 0.06), (59, 55): (0, 0.03),
                  (20, 21): (0.03, 0.05), (22, 23): (-0.03, 0.05), (19, 24): (0, 0.025),
                  (56, 57, 58, 65, 66, 67): (0, -0.015)}),                                      # frown
        _pattern({tuple(BROWS): (0, -0.06), (19, 20, 23, 24): (0, -0.02), UPPER_LIDS: (0, -0.03),
                  LOWER_LIDS: (0, 0.01)}),                                                      # brow raise
        _pattern({UPPER_LIDS: (0, 0.17), LOWER_LIDS: (0, -0.03)}),                            # eye closure
        _pattern({**{(i,): (0, 0.13 * w) for i, w in CHIN.items()}, (56, 57, 58): (0, 0.24),
                  (55, 59): (0, 0.15), (65, 66, 67): (0, 0.22), (61, 62, 63): (0, -0.015),
                  (60, 64): (0, 0.05)}),                                                        # mouth open
        _pattern({(48, 60): (-0.07, 0.01), (54, 64): (0.07, 0.01), (49, 59): (-0.03, 0),
                  (53, 55): (0.03, 0)}),                                                        # lip stretch
    ])


TEXTURES = ("smile_lines", "furrow", "flush", "teeth")


@dataclass(frozen=True)
class Identity:
    """Everything that makes one surrogate person, drawn once from a seed."""

    mix: float  # 0 = astronaut, 1 = Grace Hopper
    shape: tuple[float, ...]  # coefficients of `shape_modes`, in standard deviations
    skin_lab: tuple[float, float, float]  # shift of L, a, b inside the face
    hair_rgb: tuple[int, int, int]
    clothing_rgb: tuple[int, int, int]
    mirror: bool
    expressivity: float  # gain of the landmark expression units
    spontaneity: float  # amplitude of emotion-free expression noise (talking, habits)

    @classmethod
    def draw(cls, rng: np.random.Generator) -> Identity:
        return cls(
            mix=float(rng.beta(0.6, 0.6)),
            shape=tuple(float(x) for x in np.clip(rng.normal(0, 1, len(shape_modes())), -2.5, 2.5)),
            skin_lab=(float(rng.normal(0, 14)), float(rng.normal(2, 5)), float(rng.normal(4, 8))),
            hair_rgb=tuple(int(x) for x in rng.integers(10, 200, 3)),
            clothing_rgb=tuple(int(x) for x in rng.integers(0, 256, 3)),
            mirror=bool(rng.random() < 0.5),
            expressivity=float(rng.uniform(0.5, 1.5)),
            spontaneity=float(rng.uniform(0.15, 0.4)),
        )


@dataclass
class FaceAssets:
    """An identity rendered once; per frame only weighted sums and one remap remain."""

    rgb: np.ndarray  # (TILE, TILE, 3) float32, 0..255
    alpha: np.ndarray  # (TILE, TILE) float32 0..1: head, neck and shoulders
    landmarks: np.ndarray  # (68, 2) neutral landmarks on the tile
    unit_fields: np.ndarray  # (units, TILE, TILE, 2) dense displacement per expression unit
    unit_landmarks: np.ndarray  # (units, 68, 2) landmark displacement per expression unit, px
    textures: np.ndarray  # (textures, TILE, TILE, 3) additive intensity maps


def _portrait_on_tile(portrait: Portrait, target: np.ndarray) -> np.ndarray:
    """The portrait's face moved onto ``target`` landmarks on the tile (similarity, then warp)."""
    m = similarity(portrait.landmarks, target)
    tile = cv2.warpAffine(portrait.image, m, (TILE, TILE), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    src = np.concatenate([apply_affine(m, portrait.landmarks.astype(np.float64)), frame_points(TILE, TILE)])
    dst = np.concatenate([target, frame_points(TILE, TILE)])
    return piecewise_affine_warp(tile, src, dst).astype(np.float32)


def _head_mask(lm: np.ndarray) -> np.ndarray:
    """Feathered mask of face + forehead/hair (from the jaw line and brows raised by ~1 IOD)."""
    top = lm[17:27].copy()
    centre_x = lm[27:31, 0].mean()
    top[:, 1] -= 1.05 * IOD
    top[:, 0] = centre_x + (top[:, 0] - centre_x) * 1.2
    hull = cv2.convexHull(np.concatenate([lm[0:17], top[::-1]]).astype(np.float32)).astype(np.int32)
    mask = np.zeros((TILE, TILE), np.float32)
    cv2.fillConvexPoly(mask, hull, 1.0)
    return mask


def _blob(shape, centre, sx, sy) -> np.ndarray:
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]]
    return np.exp(-0.5 * (((xs - centre[0]) / sx) ** 2 + ((ys - centre[1]) / sy) ** 2)).astype(np.float32)


def _line_map(points: list[tuple[np.ndarray, np.ndarray]], thickness: int, blur: float) -> np.ndarray:
    canvas = np.zeros((TILE, TILE), np.float32)
    for p, q in points:
        cv2.line(canvas, tuple(int(v) for v in np.round(p)), tuple(int(v) for v in np.round(q)), 1.0, thickness, cv2.LINE_AA)
    return cv2.GaussianBlur(canvas, (0, 0), blur)


def _texture_maps(lm: np.ndarray, skin_mask: np.ndarray) -> np.ndarray:
    """(4, TILE, TILE, 3) additive maps at full intensity, placed on the neutral landmarks."""
    u = IOD
    folds = _line_map([(lm[31] + [-0.08 * u, 0], lm[48] + [-0.1 * u, 0.05 * u]),
                       (lm[35] + [0.08 * u, 0], lm[54] + [0.1 * u, 0.05 * u])], 3, 2.0)
    cheeks = _blob((TILE, TILE), (lm[1] + lm[31]) / 2 + [0, -0.1 * u], 0.22 * u, 0.15 * u) + \
        _blob((TILE, TILE), (lm[15] + lm[35]) / 2 + [0, -0.1 * u], 0.22 * u, 0.15 * u)
    smile_lines = (-45 * folds + 28 * cheeks)[..., None] * np.ones(3, np.float32)
    mid = (lm[21] + lm[22]) / 2
    furrow_lines = _line_map([(mid + [-0.07 * u, -0.05 * u], mid + [-0.05 * u, 0.2 * u]),
                              (mid + [0.07 * u, -0.05 * u], mid + [0.05 * u, 0.2 * u])], 2, 1.5)
    furrow = (-55 * furrow_lines)[..., None] * np.ones(3, np.float32)
    flush = (cv2.GaussianBlur(skin_mask, (0, 0), 4) * 0.6 + 0.8 * cheeks)[..., None] * np.array([42, -14, -16], np.float32)
    forehead = (lm[19] + lm[24]) / 2 + [0, -0.45 * u]
    flush += (38 * _blob((TILE, TILE), forehead, 0.35 * u, 0.14 * u))[..., None]  # sheen of an aroused face
    mouth = np.zeros((TILE, TILE), np.float32)  # teeth: brightening band of the inner mouth
    cv2.fillConvexPoly(mouth, np.round(lm[60:68]).astype(np.int32), 1.0)
    teeth = cv2.GaussianBlur(cv2.dilate(mouth, np.ones((3, 3), np.uint8)), (0, 0), 1.0)[..., None] * np.float32(120)
    return np.stack([smile_lines, furrow, flush, teeth * np.ones(3, np.float32)])


def build_assets(identity: Identity) -> FaceAssets:
    """Render an identity's tile, masks, expression fields and texture maps."""
    ref = reference_shape()
    target = ref + np.tensordot(np.asarray(identity.shape), shape_modes(), axes=1) * IOD
    astronaut, hopper = portraits()
    rgb = (1 - identity.mix) * _portrait_on_tile(astronaut, target) + identity.mix * _portrait_on_tile(hopper, target)

    face = _head_mask(target)
    skin = np.zeros((TILE, TILE), np.float32)
    cv2.fillConvexPoly(skin, cv2.convexHull(target[:27].astype(np.float32)).astype(np.int32), 1.0)
    skin = cv2.GaussianBlur(skin, (0, 0), 3)
    lab = cv2.cvtColor(np.clip(rgb, 0, 255).astype(np.uint8), cv2.COLOR_RGB2LAB).astype(np.float32)
    lab += skin[..., None] * np.asarray(identity.skin_lab, np.float32)
    rgb = cv2.cvtColor(np.clip(lab, 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB).astype(np.float32)
    hair = np.clip(face - cv2.dilate(skin, np.ones((5, 5), np.uint8)), 0, 1)  # forehead/hair band above the skin
    rgb = rgb * (1 - 0.45 * hair[..., None]) + 0.45 * hair[..., None] * np.asarray(identity.hair_rgb, np.float32)

    # Neck and shoulders below the head, so the head does not float on the background.
    body = np.zeros((TILE, TILE, 3), np.float32)
    body_alpha = np.zeros((TILE, TILE), np.float32)
    chin = target[8]
    neck_w = 0.55 * IOD
    skin_rgb = rgb[skin > 0.9].mean(0)
    cv2.rectangle(body, (int(chin[0] - neck_w), int(chin[1] - 0.6 * IOD)), (int(chin[0] + neck_w), TILE), skin_rgb.tolist(), -1)
    cv2.rectangle(body_alpha, (int(chin[0] - neck_w), int(chin[1] - 0.6 * IOD)), (int(chin[0] + neck_w), TILE), 1.0, -1)
    shoulders = (int(chin[0]), int(chin[1] + 1.9 * IOD))
    cv2.ellipse(body, shoulders, (int(2.6 * IOD), int(1.3 * IOD)), 0, 180, 360, identity.clothing_rgb, -1)
    cv2.ellipse(body_alpha, shoulders, (int(2.6 * IOD), int(1.3 * IOD)), 0, 180, 360, 1.0, -1)
    cv2.rectangle(body, (int(chin[0] - 2.6 * IOD), shoulders[1]), (int(chin[0] + 2.6 * IOD), TILE), identity.clothing_rgb, -1)
    cv2.rectangle(body_alpha, (int(chin[0] - 2.6 * IOD), shoulders[1]), (int(chin[0] + 2.6 * IOD), TILE), 1.0, -1)
    face_soft = cv2.GaussianBlur(face, (0, 0), 2.0)
    rgb = rgb * face_soft[..., None] + body * (1 - face_soft[..., None])
    alpha = np.clip(face_soft + cv2.GaussianBlur(body_alpha, (0, 0), 1.5), 0, 1)

    textures = _texture_maps(target, skin)
    if identity.mirror:
        rgb, alpha, textures = rgb[:, ::-1], alpha[:, ::-1], textures[:, :, ::-1]
        target = target[FLIP_68] * [-1, 1] + [TILE - 1, 0]
    units = expression_patterns() * IOD
    if identity.mirror:
        units = units[:, FLIP_68] * [-1, 1]
    mesh_points = np.concatenate([target, frame_points(TILE, TILE)])
    mesh = MeshMap(mesh_points, triangulate(mesh_points), TILE, TILE)
    border = np.zeros((len(mesh_points) - 68, 2))
    fields = np.stack([mesh.interpolate(np.concatenate([u, border])) for u in units])
    return FaceAssets(
        rgb=np.ascontiguousarray(rgb, dtype=np.float32),
        alpha=np.ascontiguousarray(alpha, dtype=np.float32),
        landmarks=target.astype(np.float32),
        unit_fields=fields.astype(np.float32),
        unit_landmarks=units.astype(np.float32),
        textures=np.ascontiguousarray(textures, dtype=np.float32),
    )


def expression_state(valence: float, arousal: float, identity: Identity, noise: np.ndarray,
                     speech: float, blink: float) -> tuple[np.ndarray, np.ndarray]:
    """Expression-unit and texture intensities for one frame.

    Landmark units: gain `expressivity` and emotion-free noise (``noise``: 6 values, the
    identity's talking habits). Textures: driven by valence/arousal alone, so an image model
    can see what landmarks cannot.
    """
    pos_v, neg_v = max(valence, 0.0), max(-valence, 0.0)
    activation = (arousal + 1.0) / 2.0
    e = identity.expressivity
    units = np.array([
        e * pos_v,
        e * neg_v,
        e * (0.25 + 0.65 * arousal),
        blink + e * 0.35 * max(-arousal, 0.0),
        speech + 0.2 * e * pos_v,
        e * neg_v * activation,
    ]) + identity.spontaneity * noise
    units[:3] = np.clip(units[:3], -0.3, 1.6)
    units[3:] = np.clip(units[3:], 0.0, 1.0)
    textures = np.array([pos_v, neg_v, activation, pos_v * min(1.0, 4 * units[4])], dtype=np.float32)
    return units.astype(np.float32), textures


@functools.lru_cache(maxsize=1)
def _tile_grid() -> np.ndarray:
    """(TILE, TILE, 2) float32 pixel coordinates (x, y): the identity map for `cv2.remap`."""
    ys, xs = np.mgrid[0:TILE, 0:TILE].astype(np.float32)
    grid = np.stack([xs, ys], -1)
    grid.flags.writeable = False
    return grid


def render_face(assets: FaceAssets, units: np.ndarray, textures: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Tile RGB (float32, 0..255) with the expression applied, and the expressed landmarks.

    Per frame: the weighted sum of the texture maps whose weight is not zero (valence
    switches either the smile or the furrow maps off), the weighted sum of the unit
    displacement fields, one `remap` through a two-channel map, and the mouth cavity
    composited inside the mouth's bounding box only.
    """
    # einsum / scaleAdd, not tensordot: a BLAS call here spawns threads that fight the worker processes
    base = assets.rgb
    for k in np.flatnonzero(textures):  # cv2.scaleAdd: base += w * map in one pass, no temporary
        base = cv2.scaleAdd(assets.textures[k], float(textures[k]), base, dst=None if base is assets.rgb else base)
    source = _tile_grid() - np.einsum("k,khwc->hwc", units, assets.unit_fields)
    rgb = cv2.remap(base, source, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    landmarks = assets.landmarks + np.tensordot(units, assets.unit_landmarks, axes=1)
    mouth = np.round(landmarks[60:68]).astype(np.int32)
    opening = np.linalg.norm(landmarks[66] - landmarks[62])
    if opening > 1.5:  # the open mouth: dark cavity, teeth brightened by the `teeth` texture above
        # The blurred cavity is zero beyond a few pixels of the polygon: work in its padded box.
        pad = 8  # > the radius of the sigma-0.8 Gaussian kernel
        x0, y0 = np.maximum(mouth.min(0) - pad, 0)
        x1, y1 = np.minimum(mouth.max(0) + pad + 1, TILE)
        if x1 > x0 and y1 > y0:
            cavity = np.zeros((y1 - y0, x1 - x0), np.float32)
            cv2.fillConvexPoly(cavity, (mouth - [x0, y0]).astype(np.int32), 1.0)
            cavity = cv2.GaussianBlur(cavity, (0, 0), 0.8)[..., None]
            teeth = min(1.0, 2.5 * float(textures[3]))
            inside = np.array([40, 18, 20], np.float32) * (1 - teeth) + np.array([225, 220, 205], np.float32) * teeth
            box = rgb[y0:y1, x0:x1]
            box *= 1 - cavity
            box += inside * cavity
    return rgb, landmarks
