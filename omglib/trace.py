"""Pictures of one `omg predict` run: the valence-arousal trace and the overlay video's frames."""

from __future__ import annotations

import cv2
import numpy as np


def face_lost_spans(time: np.ndarray, face: np.ndarray) -> list[tuple[float, float]]:
    """(start, end) in seconds of every run of frames without a face."""
    if len(time) == 0:
        return []
    step = float(np.median(np.diff(time))) if len(time) > 1 else 0.04
    lost = np.flatnonzero(~face)
    if len(lost) == 0:
        return []
    breaks = np.flatnonzero(np.diff(lost) > 1)
    starts, ends = lost[np.r_[0, breaks + 1]], lost[np.r_[breaks, len(lost) - 1]]
    return [(float(time[a]) - step / 2, float(time[b]) + step / 2) for a, b in zip(starts, ends)]


def trace_figure(time: np.ndarray, valence: np.ndarray, arousal: np.ndarray, face: np.ndarray,
                 arousal_range: tuple[float, float] = (-1.0, 1.0), title: str = "", truth: np.ndarray | None = None):
    """Valence and arousal over time (face-lost spans shaded) and the path in the VA plane.

    ``truth`` (n, 2), when given, is drawn dashed on the same axes (the surrogate's sidecar).
    A notebook shows the returned figure with ``display(fig)``."""
    from matplotlib.figure import Figure  # not pyplot: no GUI backend, nothing left open in a long run

    fig = Figure(figsize=(11, 4.2))
    grid = fig.add_gridspec(2, 2, width_ratios=(2.6, 1.0))
    plane = fig.add_subplot(grid[:, 1])
    spans = face_lost_spans(time, face)
    for row, (name, values, limits) in enumerate((("valence", valence, (-1.0, 1.0)), ("arousal", arousal, arousal_range))):
        ax = fig.add_subplot(grid[row, 0])
        for a, b in spans:
            ax.axvspan(a, b, color="0.85", lw=0, label="no face" if (a, b) == spans[0] else None)
        ax.plot(time, values, color=f"C{row}", lw=1.2, label="predicted")
        if truth is not None:
            ax.plot(time, truth[:, row], color="k", ls="--", lw=1, label="truth")
        ax.set_ylim(*limits)
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        if row == 0:
            ax.set_title(title, fontsize=9, loc="left")
            ax.legend(fontsize=7, loc="upper right", ncol=3)
        else:
            ax.set_xlabel("time (s)")
    ok = np.isfinite(valence) & np.isfinite(arousal)
    path = plane.scatter(valence[ok], arousal[ok], c=time[ok], s=6, cmap="viridis")
    plane.plot(valence[ok], arousal[ok], color="0.6", lw=0.5, zorder=0)
    plane.axhline(np.mean(arousal_range), color="0.7", lw=0.8)
    plane.axvline(0, color="0.7", lw=0.8)
    plane.set(xlim=(-1, 1), ylim=arousal_range, xlabel="valence", ylabel="arousal", title="VA plane")
    plane.set_aspect((2.0) / (arousal_range[1] - arousal_range[0]))
    fig.colorbar(path, ax=plane, label="time (s)", fraction=0.05)
    fig.tight_layout()
    return fig


def draw_overlay(rgb: np.ndarray, box: np.ndarray | None, va: tuple[float, float] | None,
                 arousal_range: tuple[float, float] = (-1.0, 1.0)) -> np.ndarray:
    """BGR frame for the overlay video: the face box and a VA gauge (a square, the point at
    (valence, arousal); grey with no face)."""
    frame = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    if box is not None:
        x0, y0, x1, y1 = (int(round(v)) for v in box)
        cv2.rectangle(frame, (x0, y0), (x1, y1), (0, 220, 0), 2)
    side = max(60, min(frame.shape[:2]) // 4)
    left, top = frame.shape[1] - side - 10, 10
    cv2.rectangle(frame, (left, top), (left + side, top + side), (40, 40, 40), -1)
    cv2.line(frame, (left + side // 2, top), (left + side // 2, top + side), (120, 120, 120), 1)
    cv2.line(frame, (left, top + side // 2), (left + side, top + side // 2), (120, 120, 120), 1)
    if va is not None and np.all(np.isfinite(va)):
        lo, hi = arousal_range
        x = left + (va[0] + 1) / 2 * side
        y = top + side - (va[1] - lo) / (hi - lo) * side
        cv2.circle(frame, (int(round(x)), int(round(y))), 5, (0, 200, 255), -1)
        cv2.putText(frame, f"V {va[0]:+.2f} A {va[1]:+.2f}", (left - 5, top + side + 18), cv2.FONT_HERSHEY_SIMPLEX,
                    0.45, (255, 255, 255), 1, cv2.LINE_AA)
    return frame
