"""How the book shows a figure: one seaborn theme for every figure, and `image`, which turns
a figure into a PNG image output whatever the backend or whether pyplot made it."""

from __future__ import annotations

import functools
import io

# Okabe-Ito: eight colours that stay apart for colour-blind readers and in greyscale print.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")  # with PALETTE: eight runs told apart without colour too
DPI = 110
# Inches. A figure this wide fills the book's desktop column and, scaled to a phone's 390 px,
# keeps its text legible: multi-panel figures stack their panels instead of growing wider.
WIDTH = 6.6


@functools.cache  # once per process
def theme() -> None:
    """The book's one look: seaborn's ticks style, paper-size fonts, the colour-blind palette.
    Every `omglib.reporting`, `omglib.trace` and `omglib.diagrams` figure is drawn under it."""
    import seaborn as sns

    sns.set_theme(context="paper", style="ticks", palette=list(PALETTE), font_scale=1.1,
                  rc={"axes.spines.right": False, "axes.spines.top": False, "figure.dpi": DPI,
                      "savefig.dpi": DPI, "legend.frameon": False, "axes.titlesize": "medium"})


def pyplot():
    """matplotlib.pyplot, with the book's theme applied."""
    import matplotlib.pyplot as plt

    theme()
    return plt


def image(fig, dpi: int = DPI):
    """``fig`` as an IPython PNG image (the figure is closed, so an inline backend does not show
    it a second time). A notebook cell ends with ``plots.image(...)``; its caption and alt text
    are the cell's ``mystnb`` metadata."""
    import matplotlib.pyplot as plt
    from IPython.display import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return Image(data=buffer.getvalue(), format="png")


def run_style(i: int) -> dict:
    """Colour and marker of the ``i``-th run of a figure: eight combinations that stay apart."""
    return {"color": PALETTE[i % len(PALETTE)], "marker": MARKERS[i % len(MARKERS)]}


def legend_below(ax_or_fig, handles=None, labels=None, columns: int = 3, **kwargs):
    """A legend under the axes (or under the whole figure), outside the data; `image` crops to
    include it."""
    from matplotlib.figure import Figure

    whole = isinstance(ax_or_fig, Figure)
    if handles is None:
        handles, labels = (ax_or_fig.axes[0] if whole else ax_or_fig).get_legend_handles_labels()
    return ax_or_fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0 if whole else -0.18),
                            ncol=columns, fontsize="small", **kwargs)

