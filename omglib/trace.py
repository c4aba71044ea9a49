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
    """Valence and arousal over time (face-lost spans shaded), one above the other, and below
    them the path in the VA plane, coloured by time: stacked, so the figure reads at phone width.

    ``truth`` (n, 2), when given, is drawn dashed on the same axes (the surrogate's sidecar).
    A notebook shows the returned figure with ``omglib.plots.image(fig)``."""
    from matplotlib.figure import Figure  # not pyplot: no GUI backend, nothing left open in a long run

    from omglib.plots import PALETTE, WIDTH, theme

    theme()
    fig = Figure(figsize=(WIDTH, 8.6), layout="constrained")  # room for the legend, the colour bar and the title
    grid = fig.add_gridspec(3, 1, height_ratios=(1.0, 1.0, 2.3))
    spans = face_lost_spans(time, face)
    axes = []
    for row, (name, values, limits) in enumerate((("valence", valence, (-1.0, 1.0)), ("arousal", arousal, arousal_range))):
        ax = fig.add_subplot(grid[row], sharex=axes[0] if axes else None)
        axes.append(ax)
        for a, b in spans:
            ax.axvspan(a, b, color="0.85", lw=0, label="no face found" if (a, b) == spans[0] else None)
        ax.plot(time, values, color=PALETTE[row], lw=1.2, label="predicted")
        if truth is not None:
            ax.plot(time, truth[:, row], color="k", ls="--", lw=1, label="truth (generator)")
        ax.set_ylim(*limits)
        ax.set_ylabel(name)
        ax.set_xlabel("time (s)")
        ax.grid(alpha=0.3)
    handles, labels = [], []
    for ax in axes:  # one legend for both traces, above them and outside the data
        for h, label in zip(*ax.get_legend_handles_labels()):
            if label not in labels or label == "predicted":
                handles.append(h)
                labels.append(label if label != "predicted" else f"predicted {ax.get_ylabel()}")
    axes[0].legend(handles, labels, loc="lower left", bbox_to_anchor=(0.0, 1.02), ncol=2, fontsize="small")
    if title:
        fig.suptitle(title, fontsize=9)
    plane = fig.add_subplot(grid[2])
    ok = np.isfinite(valence) & np.isfinite(arousal)
    path = plane.scatter(valence[ok], arousal[ok], c=time[ok], s=6, cmap="viridis")
    plane.plot(valence[ok], arousal[ok], color="0.6", lw=0.5, zorder=0)
    plane.axhline(np.mean(arousal_range), color="0.7", lw=0.8)
    plane.axvline(0, color="0.7", lw=0.8)
    plane.set(xlim=(-1, 1), ylim=arousal_range, xlabel="valence", ylabel="arousal")
    plane.set_title("path in the valence-arousal plane", fontsize="medium")
    plane.set_aspect((2.0) / (arousal_range[1] - arousal_range[0]))
    fig.colorbar(path, ax=plane, label="time (s)", fraction=0.05)
    return fig


def modes_figure(window: dict[str, np.ndarray], stream: dict[str, np.ndarray],
                 arousal_range: tuple[float, float] = (-1.0, 1.0), title: str = ""):
    """Window mode against stream mode for one video: valence above arousal over time.
    ``window`` and ``stream`` map "time", "valence", "arousal" to per-frame arrays (e.g. the
    columns of the two runs' frames.csv)."""
    from matplotlib.figure import Figure

    from omglib.plots import PALETTE, WIDTH, legend_below, theme

    theme()
    fig = Figure(figsize=(WIDTH, 4.8))
    axes = fig.subplots(2, 1, sharex=True)
    for ax, (name, limits) in zip(axes, (("valence", (-1.0, 1.0)), ("arousal", arousal_range))):
        ax.plot(window["time"], window[name], color=PALETTE[0], lw=1.2, label="window mode (the paper's inference)")
        ax.plot(stream["time"], stream[name], color=PALETTE[1], lw=1.2, ls=":", label="stream mode (causal, frame by frame)")
        ax.set(ylim=limits, ylabel=name)
        ax.grid(alpha=0.3)
    axes[1].set_xlabel("time (s)")
    if title:
        axes[0].set_title(title, fontsize=9, loc="left")
    fig.tight_layout()
    legend_below(fig, *axes[0].get_legend_handles_labels(), columns=1)
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
