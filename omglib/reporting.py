"""Figures the book shows; each returns a matplotlib Figure and never calls plt.show()."""

from __future__ import annotations

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
