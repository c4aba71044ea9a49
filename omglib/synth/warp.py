"""Piecewise-affine warping on a triangle mesh over the 68 landmarks.

A `MeshMap` rasterises the mesh once (triangle index and barycentric weights per pixel)
so that any quantity known at the mesh vertices (source coordinates, displacements) can be
interpolated to every pixel with one gather. Warping an image from source vertices to
destination vertices is then `cv2.remap` with the interpolated source coordinates: an exact
piecewise-affine warp, computed from the destination side.
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy.spatial import Delaunay


def frame_points(width: int, height: int, per_side: int = 4) -> np.ndarray:
    """Points along the image border that pin the mesh to the canvas."""
    xs = np.linspace(0, width - 1, per_side + 1)
    ys = np.linspace(0, height - 1, per_side + 1)
    top = np.stack([xs, np.zeros_like(xs)], 1)
    bottom = np.stack([xs, np.full_like(xs, height - 1)], 1)
    left = np.stack([np.zeros_like(ys[1:-1]), ys[1:-1]], 1)
    right = np.stack([np.full_like(ys[1:-1], width - 1), ys[1:-1]], 1)
    return np.concatenate([top, bottom, left, right]).astype(np.float64)


def triangulate(points: np.ndarray) -> np.ndarray:
    """Delaunay triangles (K, 3) of vertex indices."""
    return Delaunay(np.asarray(points, dtype=np.float64)).simplices.astype(np.int32)


class MeshMap:
    """Per-pixel triangle index and barycentric weights of a mesh on an (height, width) canvas."""

    def __init__(self, points: np.ndarray, triangles: np.ndarray, height: int, width: int):
        points = np.asarray(points, dtype=np.float64)
        self.triangles = triangles
        index = np.full((height, width), -1, dtype=np.int32)
        for k, tri in enumerate(triangles):
            cv2.fillConvexPoly(index, np.round(points[tri]).astype(np.int32), int(k))
        for _ in range(4):  # edge pixels the rasteriser missed take a neighbouring triangle
            missing = index < 0
            if not missing.any():
                break
            grown = cv2.dilate(index.astype(np.float32), np.ones((3, 3), np.uint8)).astype(np.int32)
            index[missing] = grown[missing]
        index[index < 0] = 0
        ys, xs = np.mgrid[0:height, 0:width]
        a, b, c = (points[triangles[index, i]] for i in range(3))
        v0, v1 = b - a, c - a
        v2 = np.stack([xs, ys], -1) - a
        d00 = (v0 * v0).sum(-1)
        d01 = (v0 * v1).sum(-1)
        d11 = (v1 * v1).sum(-1)
        d20 = (v2 * v0).sum(-1)
        d21 = (v2 * v1).sum(-1)
        denom = d00 * d11 - d01 * d01
        denom[denom == 0] = 1.0
        wb = (d11 * d20 - d01 * d21) / denom
        wc = (d00 * d21 - d01 * d20) / denom
        self.index = index
        self.weights = np.stack([1.0 - wb - wc, wb, wc], -1).astype(np.float32)

    def interpolate(self, values: np.ndarray) -> np.ndarray:
        """Vertex values (P, D) -> per-pixel (H, W, D), affine inside each triangle."""
        values = np.asarray(values, dtype=np.float32)
        corners = values[self.triangles[self.index]]  # (H, W, 3, D)
        return np.einsum("hwk,hwkd->hwd", self.weights, corners)


def piecewise_affine_warp(image: np.ndarray, src_points: np.ndarray, dst_points: np.ndarray,
                          triangles: np.ndarray | None = None) -> np.ndarray:
    """Move the content at ``src_points`` to ``dst_points`` (same canvas size)."""
    h, w = image.shape[:2]
    if triangles is None:
        triangles = triangulate(dst_points)
    source = MeshMap(dst_points, triangles, h, w).interpolate(src_points)
    return cv2.remap(image, source[..., 0], source[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
