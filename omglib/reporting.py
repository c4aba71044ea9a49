"""Figures the book shows; each returns a matplotlib Figure and never calls plt.show()."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def surrogate_va_grid(size: int = 5, seed: int = 0, identities: int = 2):
    """A grid of rendered surrogate faces across the VA space (valence left to right, arousal
    bottom to top), one block per identity, with the frame-level cues switched on and the
    emotion-free noise off, so that what each cue does is visible."""
    import matplotlib.pyplot as plt

    from omglib.synth.face import Identity, build_assets, expression_state, render_face

    rng = np.random.default_rng(seed)
    values = np.linspace(-0.9, 0.9, size)
    fig, axes = plt.subplots(size, size * identities, figsize=(1.6 * size * identities, 1.7 * size))
    for block in range(identities):
        identity = Identity.draw(rng)
        assets = build_assets(identity)
        for row, arousal in enumerate(values[::-1]):
            for col, valence in enumerate(values):
                speech = 0.12 + 0.5 * (arousal + 1) / 2
                units, textures = expression_state(valence, arousal, identity, np.zeros(6), speech, 0.0)
                rgb, _ = render_face(assets, units, textures)
                image = rgb * assets.alpha[..., None] + 235 * (1 - assets.alpha[..., None])
                ax = axes[row, block * size + col]
                ax.imshow(np.clip(image[30:230, 28:228], 0, 255).astype(np.uint8))
                ax.set_xticks([])
                ax.set_yticks([])
                if row == size - 1:
                    ax.set_xlabel(f"V={valence:+.1f}", fontsize=8)
                if col == 0 and block == 0:
                    ax.set_ylabel(f"A={arousal:+.1f}", fontsize=8)
    fig.suptitle("Surrogate faces across valence (columns) and arousal (rows), two identities", fontsize=10)
    fig.tight_layout()
    return fig


def preprocessing_steps(video, frames: int = 4, crop_size: int = 96):
    """Sec. 4 step by step for a few evenly spaced frames of ``video``: the frame with the
    detection box and 68 landmarks, the 5 anchor points, and the aligned crop with the
    template's anchor points."""
    import matplotlib.pyplot as plt

    from omglib.errors import DataError
    from omglib.landmarks import detect_faces, five_points, predict_landmarks
    from omglib.preprocess.align import align, template
    from omglib.preprocess.pipeline import expected_frames, iter_frames

    count = expected_frames(video)
    if count is None:
        raise DataError(video, "not found" if not Path(video).exists() else "cannot tell how many frames it has (corrupt?)")
    wanted = set(np.linspace(0, count - 1, frames).round().astype(int).tolist())
    shown = [(i, rgb) for i, _, rgb in iter_frames(video) if i in wanted]  # keeps only the frames shown
    fig, axes = plt.subplots(2, len(shown), figsize=(3.2 * len(shown), 5.4), gridspec_kw={"height_ratios": [1, 1.1]},
                             squeeze=False)
    for col, (i, rgb) in enumerate(shown):
        top, bottom = axes[0, col], axes[1, col]
        top.imshow(rgb)
        top.set_title(f"frame {i}", fontsize=9)
        faces = detect_faces(rgb)
        if faces:
            box = faces[0][0]
            landmarks = predict_landmarks(rgb, box)
            top.add_patch(plt.Rectangle(box[:2], box[2] - box[0], box[3] - box[1], fill=False, color="yellow", lw=1))
            top.scatter(*landmarks.T, s=2, c="lime")
            top.scatter(*five_points(landmarks).T, s=12, c="red")
            crop, moved, _ = align(rgb, landmarks, crop_size)
            bottom.imshow(crop)
            bottom.scatter(*moved.T, s=3, c="lime")
            bottom.scatter(*template(crop_size).T, s=30, facecolors="none", edgecolors="red")
            bottom.set_title(f"aligned {crop_size}x{crop_size}", fontsize=9)
        else:
            bottom.text(0.5, 0.5, "no face found:\nframe marked invalid", ha="center", va="center")
        for ax in (top, bottom):
            ax.set_xticks([])
            ax.set_yticks([])
    fig.suptitle("Detection + 68 landmarks (5 anchors in red) -> Procrustes onto the template (red circles) -> crop", fontsize=10)
    fig.tight_layout()
    return fig


def format_table(table) -> str:
    """A table of `omglib.experiments.table` as the paper prints it: CCC with (without) post-processing."""
    lines = [f"{'experiment':58s} {'valence':>15s} {'arousal':>15s} {'mean':>15s}"]
    for _, row in table.iterrows():
        cells = [f"{row[f'ccc_{k}']:.3f} ({row[f'ccc_{k}_raw']:.3f})" for k in ("valence", "arousal", "mean")]
        lines.append(f"{row['experiment']:58s} " + " ".join(f"{c:>15s}" for c in cells))
    return "\n".join(lines)
