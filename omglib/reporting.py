"""Figures the book shows (each returns a matplotlib Figure drawn under `omglib.plots`'s one
theme and never calls plt.show(); a chapter shows it with `omglib.plots.image`), the paper's
published numbers, and the tables and sentences the chapters print."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from omglib import experiments, paper
from omglib.plots import PALETTE, WIDTH, legend_below, pyplot, run_style


def surrogate_va_grid(size: int = 5, seed: int = 0, identities: int = 2):
    """A grid of rendered surrogate faces across the VA space (valence left to right, arousal
    bottom to top), one block per identity, with the frame-level cues switched on and the
    emotion-free noise off, so that what each cue does is visible."""
    plt = pyplot()

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
    """Sec. 4 step by step for a few evenly spaced frames of ``video``, one row per frame: the
    frame with the detection box, 68 landmarks and the 5 anchor points (left), and the aligned
    crop with the template's anchor points (right)."""
    plt = pyplot()

    from omglib.errors import DataError
    from omglib.landmarks import detect_faces, five_points, predict_landmarks
    from omglib.preprocess.align import align, template
    from omglib.preprocess.pipeline import expected_frames, iter_frames

    count = expected_frames(video)
    if count is None:
        raise DataError(video, "not found" if not Path(video).exists() else "cannot tell how many frames it has (corrupt?)")
    wanted = set(np.linspace(0, count - 1, frames).round().astype(int).tolist())
    shown = [(i, rgb) for i, _, rgb in iter_frames(video) if i in wanted]  # keeps only the frames shown
    fig, axes = plt.subplots(len(shown), 2, figsize=(WIDTH * 0.8, 2.4 * len(shown) + 0.5), squeeze=False,
                             gridspec_kw={"width_ratios": [1.35, 1]})
    for row, (i, rgb) in enumerate(shown):
        left, right = axes[row]
        left.imshow(rgb)
        left.set_title(f"frame {i}: detection, 68 landmarks", fontsize=9)
        faces = detect_faces(rgb)
        if faces:
            box = faces[0][0]
            landmarks = predict_landmarks(rgb, box)
            left.add_patch(plt.Rectangle(box[:2], box[2] - box[0], box[3] - box[1], fill=False, color="yellow", lw=1))
            left.scatter(*landmarks.T, s=2, c="lime")
            left.scatter(*five_points(landmarks).T, s=12, c="red")
            crop, moved, _ = align(rgb, landmarks, crop_size)
            right.imshow(crop)
            right.scatter(*moved.T, s=3, c="lime")
            right.scatter(*template(crop_size).T, s=30, facecolors="none", edgecolors="red")
            right.set_title(f"aligned crop, {crop_size}x{crop_size}", fontsize=9)
        else:
            right.text(0.5, 0.5, "no face found:\nframe marked invalid", ha="center", va="center")
        for ax in (left, right):
            ax.set_axis_off()  # pictures: no ticks, no spines (the titles stay)
    fig.suptitle("Detection + 68 landmarks (5 anchors in red) -> Procrustes\nonto the template (red circles) -> crop",
                 fontsize=10)
    fig.tight_layout()
    return fig


def format_table(table) -> str:
    """A table of `omglib.experiments.table` as text: CCC mean over seeds +- sd, 95% video-cluster interval."""
    lines = [f"{'experiment':58s} {'valence':>26s} {'arousal':>26s} {'mean':>26s}"]
    for _, row in table.iterrows():
        cells = [f"{row[f'ccc_{k}']:.3f}+-{row[f'sd_{k}']:.3f} [{_interval(row[f'ci_{k}'])[1:-1]}]"
                 for k in ("valence", "arousal", "mean")]
        lines.append(f"{row['experiment']:58s} " + " ".join(f"{c:>26s}" for c in cells))
    return "\n".join(lines)


CNN_SEEDS_COLUMN = "mean, CNN seeds too"  # frame CNNs: the spread over CNN pre-training seeds as well


def show_table(ctx, summaries: dict, table, source: str = "surrogate") -> None:
    """A chapter's table in the notebook: its caption (`caption`, for the columns printed) above
    its rows beside the paper's (`comparison`)."""
    from IPython.display import Markdown, display

    shown = comparison(table, source)
    display(Markdown(caption(ctx, summaries, shown)), shown)


def comparison(table, source: str = "surrogate"):
    """Table 3-6 rows next to the paper's numbers, each column labelled with its data: the
    mean over seeds +- the standard deviation across seeds beside the paper's number, then the
    95% video-cluster intervals (a dash: not published, or not run)."""

    rows = []
    for _, row in table.iterrows():
        printed = paper.CCC.get(row["experiment"], (np.nan, np.nan))
        cells = {}
        for key, label, published in (("valence", "V", printed[0]), ("arousal", "A", printed[1])):
            spread = f" ± {row[f'sd_{key}']:.3f}" if row["seeds"] > 1 else ""  # one seed (the floor): no spread
            cells[f"{label} ({source})"] = f"{row[f'ccc_{key}']:.3f}{spread}" if row["seeds"] else np.nan
            cells[f"{label} (paper, real OMG)"] = published  # beside the book's: visible without scrolling
        for key, label in (("valence", "V"), ("arousal", "A")):
            cells[f"{label} 95% CI ({source})"] = _interval(row[f"ci_{key}"]) or np.nan
        if row["sd_mean_cnn_seeds"] == row["sd_mean_cnn_seeds"]:  # frame CNNs: the spread over CNN pre-training seeds too
            cells[f"{CNN_SEEDS_COLUMN} ({source})"] = f"{row['ccc_mean_cnn_seeds']:.3f} ± {row['sd_mean_cnn_seeds']:.3f}"
        rows.append({"experiment": row["experiment"], **cells, "seeds": row["seeds"]})
    return dashed(pd.DataFrame(rows).set_index("experiment"))


def _interval(ci) -> str:
    return f"[{ci[0]:.2f}, {ci[1]:.2f}]" if isinstance(ci, (list, tuple)) else ""


def rows_plot(table, source: str = "surrogate", title: str = "", summaries: dict | None = None):
    """Each row's valence and arousal CCC in one panel: the mean over seeds (filled marker), its
    95% video-cluster interval (bar), each training seed (small open marker, when
    ``summaries``, name -> `Summary`, are given) and the paper's number on the real OMG test
    set (cross), so that a reader sees the comparison before reading a number."""
    plt = pyplot()

    names = list(table["experiment"])
    fig, ax = plt.subplots(figsize=(WIDTH, 0.5 * len(names) + 1.3))
    y = np.arange(len(names))[::-1].astype(float)
    for offset, (key, colour, marker) in zip((0.17, -0.17), (("valence", PALETTE[0], "o"), ("arousal", PALETTE[1], "s"))):
        mean = table[f"ccc_{key}"].to_numpy(float)
        ci = np.array([c if isinstance(c, (list, tuple)) else (np.nan, np.nan) for c in table[f"ci_{key}"]], float)
        # a percentile interval need not contain the point (tiny test sets): bars stop at the point
        ax.errorbar(mean, y + offset, xerr=np.clip([mean - ci[:, 0], ci[:, 1] - mean], 0, None), fmt=marker,
                    color=colour, capsize=3, label=f"{key}: this book ({source}), mean over seeds, 95% interval")
        if summaries:
            seeds = [(yi + offset, seed[f"ccc_{key}"]) for yi, name in zip(y, names) if (s := summaries.get(name))
                     for seed in (s.per_seed if len(s.per_seed) > 1 else [])]
            if seeds:
                ax.scatter([v for _, v in seeds], [p for p, _ in seeds], s=14, marker=marker, facecolors="none",
                           edgecolors=colour, lw=0.8, alpha=0.8, zorder=2, label=f"{key}: one training seed")
        printed = [paper.CCC.get(n, (np.nan, np.nan))[0 if key == "valence" else 1] for n in names]
        ax.scatter(printed, y + offset, marker="x", color=colour, s=40, zorder=3, label=f"{key}: paper (real OMG test)")
    ax.axvline(0, color="grey", lw=0.6)
    ax.set_yticks(y, names, fontsize=8)
    ax.set_ylim(y.min() - 0.6, y.max() + 0.6)
    ax.set_xlabel("test CCC (valence: circles, arousal: squares)")
    ax.set_ylabel("experiment")
    if title:
        ax.set_title(title, loc="left")
    fig.tight_layout()
    legend_below(fig, *ax.get_legend_handles_labels(), columns=2)  # valence's entries in one column, arousal's in the other
    return fig


def claims_forest(claims):
    """A forest plot of the claims table: each claim's difference in mean CCC (this book, mean
    over seeds, 95% paired video-cluster interval, coloured by verdict) and the paper's (cross)."""
    import textwrap

    plt = pyplot()

    colours = {"holds": PALETTE[2], "does not hold": PALETTE[1], "cannot tell at this size": "#767676"}
    markers = {"holds": "o", "does not hold": "s", "cannot tell at this size": "D"}
    y = np.arange(len(claims))[::-1]
    wrapped = [textwrap.fill(c, 42) for c in claims["claim"]]
    lines = sum(w.count("\n") + 1 for w in wrapped)
    fig, ax = plt.subplots(figsize=(WIDTH, 0.22 * lines + 0.25 * len(claims) + 1.4))
    for yi, (_, row) in zip(y, claims.iterrows()):
        ax.errorbar(row["difference"], yi, xerr=np.clip([[row["difference"] - row["low"]], [row["high"] - row["difference"]]], 0, None),
                    fmt=markers[row["verdict"]], color=colours[row["verdict"]], capsize=3)
    ax.scatter(claims["paper difference"], y, marker="x", color="black", zorder=3, label="paper (real OMG test)")
    for verdict, colour in colours.items():
        ax.errorbar([], [], xerr=[], fmt=markers[verdict], color=colour, capsize=3,
                    label=f"this book: {verdict} (mean over seeds, 95% interval)")
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_yticks(y, wrapped, fontsize=7.5)
    ax.set_ylim(-0.6, len(claims) - 0.4)
    ax.set_xlabel("difference in mean CCC ((V + A) / 2),\nbetter minus worse")
    ax.set_ylabel("claim of the paper")
    fig.tight_layout()
    legend_below(fig, *ax.get_legend_handles_labels(), columns=1)
    return fig


def fit_curves(histories: dict, title: str = ""):
    """Training CCC (dashed, mean over the epoch's batches) and validation CCC (solid) per epoch
    of each run in ``histories`` (label -> history.csv frame), valence above arousal: a gap is
    over-fitting, a flat line a network that does not learn. Each run has its own colour and
    marker (eight stay apart, in greyscale too)."""
    from matplotlib.lines import Line2D

    plt = pyplot()
    fig, axes = plt.subplots(2, 1, figsize=(WIDTH, 6.2), sharex=True, sharey=True)
    for i, (label, history) in enumerate(histories.items()):
        style = run_style(i)
        for ax, dim in zip(axes, ("valence", "arousal")):
            ax.plot(history["epoch"], history[f"val_ccc_{dim}"], **style, ms=5, label=label)
            if f"train_ccc_{dim}" in history:
                ax.plot(history["epoch"], history[f"train_ccc_{dim}"], **style, ms=3, ls="--", alpha=0.6, mfc="none")
    for ax, dim in zip(axes, ("valence", "arousal")):
        ax.set(title=f"{dim}: validation (solid), training (dashed)", ylabel=f"CCC, {dim}")
        ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
        ax.axhline(0, color="grey", lw=0.5)
    axes[1].set_xlabel("epoch")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    handles, labels = axes[0].get_legend_handles_labels()
    handles += [Line2D([], [], color="black", ls="-"), Line2D([], [], color="black", ls="--")]
    labels += ["validation", "training"]
    legend_below(fig, handles, labels, columns=2)
    return fig


def quadrant_comparison(utterances, source: str = "surrogate"):
    """Table 7: per-region MSE of one run's test utterances (arousal on OMG's [0, 1] scale) beside the paper's."""
    from omglib.metrics import quadrant_mse

    truth = experiments.UtteranceTable.truth(utterances)[["valence", "arousal"]].to_numpy()
    table = quadrant_mse(truth, experiments.UtteranceTable.estimates(utterances), arousal_scale="omg")
    table = table.rename(columns={"n": "utterances", "mse_valence": f"MSE-V ({source})", "mse_arousal": f"MSE-A ({source})"})
    printed = np.array([paper.QUADRANT_MSE[region] for region in table.index])
    return table.assign(**{"MSE-V (paper)": printed[:, 0], "MSE-A (paper)": printed[:, 1]}).rename_axis("region")



def challenge_entries():
    """Table 8's rows as published: method, modality, valence and arousal test CCC, bibkey, reference."""

    rows = [{"method": m, "modality": mod, "ccc_valence": v, "ccc_arousal": a, "bibkey": key, "reference": paper.REFERENCES[key]}
            for m, mod, v, a, key in paper.CHALLENGE_ENTRIES]
    return pd.DataFrame(rows)


def table8(best_rows, source: str = "surrogate"):
    """Table 8 with this book's rows beside it. ``best_rows``: a DataFrame with columns
    experiment, ccc_valence, ccc_arousal (e.g. the best rows of `omglib.experiments.table`).
    Published and own numbers stay in separate columns, each labelled with its data: a book row
    that Table 8 has (the paper's two networks) fills that row's ``source`` columns, others are
    added below with the paper's published numbers when Table 3 has them."""

    from omglib.errors import OmgError

    missing = {"experiment", "ccc_valence", "ccc_arousal"} - set(best_rows.columns)
    if missing:
        raise OmgError(f"table8: best_rows lacks the columns {sorted(missing)} (pass rows of experiments.table)")
    published, own = "Table 8, real OMG test", source
    table = challenge_entries().set_index("method")
    out = pd.DataFrame({"modality": table["modality"], f"V ({published})": table["ccc_valence"],
                        f"A ({published})": table["ccc_arousal"], f"V ({own})": np.nan, f"A ({own})": np.nan,
                        "reference": table["reference"]})
    for _, row in best_rows.iterrows():
        name = row["experiment"]
        if name not in out.index:
            printed = paper.CCC.get(name, (np.nan, np.nan))
            out.loc[name] = {"modality": "V,A: visual", f"V ({published})": printed[0], f"A ({published})": printed[1],
                             "reference": paper.REFERENCES["kollias2020exploiting"] if name in paper.CCC else "this book"}
        out.loc[name, [f"V ({own})", f"A ({own})"]] = [row["ccc_valence"], row["ccc_arousal"]]
    return out.rename_axis("method")

def dashed(table, digits: int = 3):
    """``table`` as the book prints it: numbers to ``digits`` decimals and a dash, not NaN, in a
    cell with no number (a row the paper did not publish, or this book did not run)."""
    return table.map(lambda v: "–" if isinstance(v, float) and v != v else f"{v:.{digits}f}" if isinstance(v, float) else v)


def va_histograms(utterances, bins: int = 20, columns: int = 2):
    """Fig. 3: per split, the 2-D histogram of (valence, arousal) (seaborn, with a colour bar
    counting utterances per cell) and both marginals; ``columns`` splits side by side."""
    import seaborn as sns

    plt = pyplot()
    splits = list(dict.fromkeys(utterances["split"]))
    columns = min(columns, len(splits))
    rows = -(-len(splits) // columns)
    fig = plt.figure(figsize=(3.6 * columns, 3.7 * rows))
    outer = fig.add_gridspec(rows, columns, hspace=0.35, wspace=0.55)
    edges = np.linspace(-1, 1, bins + 1)
    for i, split in enumerate(splits):
        part = utterances[utterances["split"] == split]
        grid = outer[i // columns, i % columns].subgridspec(2, 3, width_ratios=[4, 1, 0.25], height_ratios=[1, 4],
                                                             hspace=0.06, wspace=0.08)
        main = fig.add_subplot(grid[1, 0])
        sns.histplot(part, x="valence", y="arousal", bins=[edges, edges], cmap="viridis", cbar=True, ax=main,
                     cbar_ax=fig.add_subplot(grid[1, 2]), cbar_kws={"label": "utterances per cell"})
        main.set(xlim=(-1, 1), ylim=(-1, 1), xlabel="valence", ylabel="arousal (omglib scale)")
        top = fig.add_subplot(grid[0, 0], sharex=main)
        sns.histplot(part, x="valence", bins=edges, color=PALETTE[0], ax=top)
        top.set_title(f"{split} ({len(part)} utterances)")
        top.axis("off")
        side = fig.add_subplot(grid[1, 1], sharey=main)
        sns.histplot(part, y="arousal", bins=edges, color=PALETTE[1], ax=side)
        side.axis("off")
    return fig


def utterance_statistics(utterances):
    """Utterance durations (top) and utterances per video (bottom), per split (seaborn step histograms)."""
    import seaborn as sns

    plt = pyplot()
    table = utterances.assign(duration=utterances["end"] - utterances["start"])
    per_video = table.groupby(["split", "video"], sort=False).size().rename("utterances per video").reset_index()
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(WIDTH * 0.85, 5.6))
    sns.histplot(table, x="duration", hue="split", bins=30, element="step", ax=top)
    sns.histplot(per_video, x="utterances per video", hue="split", discrete=True, element="step", ax=bottom, legend=False)
    top.set(xlabel="utterance duration (s)", ylabel="utterances")
    bottom.set(xlabel="utterances per video", ylabel="videos")
    bottom.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    for ax in (top, bottom):  # counts
        ax.yaxis.set_major_locator(plt.MaxNLocator(integer=True))
    sns.move_legend(top, "upper left", bbox_to_anchor=(1.0, 1.0), title="split", fontsize="small")
    fig.tight_layout()
    return fig


def training_curves(ctx, names: list[str], seed: int | None = None):
    """Training loss (top) and validation CCC of valence and arousal (below) per epoch (OMG
    stage) of each experiment (one seed; default the context's first)."""

    plt = pyplot()
    fig = plt.figure(figsize=(WIDTH, 6.0))
    grid = fig.add_gridspec(2, 2)
    loss_ax = fig.add_subplot(grid[0, :])
    val_ax = fig.add_subplot(grid[1, 0])
    ar_ax = fig.add_subplot(grid[1, 1], sharey=val_ax)
    for i, name in enumerate(names):
        if not experiments.folder(ctx, name, seed).history.is_file():
            continue
        history = experiments.history(ctx, name, seed)
        style = {**run_style(i), "label": name}
        loss_ax.plot(history["epoch"], history["loss"], **style)
        val_ax.plot(history["epoch"], history["val_ccc_valence"], **style)
        ar_ax.plot(history["epoch"], history["val_ccc_arousal"], **style)
    for ax, title, label in ((loss_ax, "training loss (Eq. 3)", "loss (1 - CCC)"), (val_ax, "validation, valence", "CCC"),
                             (ar_ax, "validation, arousal", "CCC")):
        ax.set(title=title, xlabel="epoch", ylabel=label)
        ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    fig.tight_layout()
    legend_below(fig, *loss_ax.get_legend_handles_labels(), columns=min(len(names), 3))
    return fig


def postprocessing_sweep(ctx, name: str, seed: int | None = None):
    """Validation CCC per window of the median filter (top) and of the utterance smoothing
    (bottom), per dimension (one seed; default the context's first; seaborn)."""
    import seaborn as sns

    plt = pyplot()
    sweep = pd.read_csv(experiments.folder(ctx, name, seed).sweep)
    stages = list(dict.fromkeys(sweep["stage"]))
    fig, axes = plt.subplots(len(stages), 1, figsize=(WIDTH * 0.85, 2.7 * len(stages) + 0.6), sharey=True, squeeze=False)
    for ax, stage in zip(axes[:, 0], stages):
        part = sweep[sweep["stage"] == stage]
        sns.lineplot(part, x="window", y="ccc", hue="dimension", style="dimension", markers=True, dashes=False, ax=ax,
                     palette=list(PALETTE[:part["dimension"].nunique()]), legend=ax is axes[0, 0])
        ax.set_xscale("log", base=2)
        ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:g}"))
        ax.set(xlabel="median window (frames)" if stage == "median_window" else "smoothing window (utterances)",
               ylabel="validation CCC")
    axes[0, 0].set_title(name, fontsize=9, loc="left")
    sns.move_legend(axes[0, 0], "upper left", bbox_to_anchor=(1.0, 1.0), title="dimension", fontsize="small")
    fig.tight_layout()
    return fig


def va_errors(ctx, name: str, seed: int | None = None):
    """Test utterances in the VA space: an arrow from the label to the prediction (one seed;
    default the context's first)."""
    from matplotlib.lines import Line2D

    plt = pyplot()

    table = experiments.utterances(ctx, name, seed)
    truth, estimates = experiments.UtteranceTable.truth(table)[["valence", "arousal"]].to_numpy(), \
        experiments.UtteranceTable.estimates(table)
    fig, ax = plt.subplots(figsize=(5.4, 5.8))
    ax.quiver(truth[:, 0], truth[:, 1], *(estimates - truth).T, angles="xy", scale_units="xy", scale=1, width=0.003,
              alpha=0.6, color="0.3")
    ax.scatter(truth[:, 0], truth[:, 1], s=10, color=PALETTE[1], zorder=3, label="label (gold)")
    ax.axhline(0, color="grey", lw=0.5)
    ax.axvline(0, color="grey", lw=0.5)
    ax.set(xlim=(-1, 1), ylim=(-1, 1), xlabel="valence", ylabel="arousal (omglib scale)", aspect="equal")
    ax.set_title(f"{name}: label -> prediction", fontsize=9)
    handles, labels = ax.get_legend_handles_labels()
    handles.append(Line2D([], [], color="0.3", marker=">", markevery=[1], lw=1))
    labels.append("arrow to the prediction (post-processed)")
    fig.tight_layout()
    legend_below(fig, handles, labels, columns=2)
    return fig


def va_traces(ctx, name: str, videos: int = 3, seed: int | None = None):
    """Per-utterance labels and predictions along the first test videos, one row per video,
    valence left and arousal right (one seed; default the context's first)."""
    plt = pyplot()
    table = experiments.utterances(ctx, name, seed)
    chosen = list(dict.fromkeys(table["video"]))[:videos]
    fig, axes = plt.subplots(len(chosen), 2, figsize=(WIDTH, 2.3 * len(chosen) + 0.6), squeeze=False, sharey=True)
    columns = experiments.UtteranceTable
    for row, video in enumerate(chosen):
        part = table[table["video"] == video].reset_index(drop=True)
        for col, dim in enumerate(("valence", "arousal")):
            ax = axes[row, col]
            x = part.index + 1
            ax.plot(x, part[columns.TRUE[col]], marker="o", color=PALETTE[0], label="label (gold)")
            ax.plot(x, part[columns.RAW[col]], marker=".", ls=":", color=PALETTE[1], label="prediction")
            ax.plot(x, part[columns.FINAL[col]], marker="x", color=PALETTE[2], label="post-processed prediction")
            ax.set_ylim(-1, 1)
            ax.set_title(f"video {video}: {dim}", fontsize=9)
            ax.set_xlabel("utterance")
            ax.set_ylabel(dim)
            ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
            ax.set_xlim(0.5, len(part) + 0.5)
    fig.tight_layout()
    legend_below(fig, *axes[0, 0].get_legend_handles_labels())
    return fig


def caption(ctx, summaries: dict, shown=None) -> str:
    """What every number of a chapter's tables is: a mean over which seeds, sharing what, with
    which interval, on how many videos of which split (validation where the test split has no
    labels), what the linear floor is when the table has it, and the frame CNNs' further
    column only when ``shown`` (the table printed, `comparison`'s) has it."""
    floor = experiments.LINEAR_PROBE in summaries
    first = next((s for name, s in summaries.items() if name != experiments.LINEAR_PROBE), summaries.get(experiments.LINEAR_PROBE))
    split = first.split
    frame_cnn_column = shown is not None and any(c.startswith(CNN_SEEDS_COLUMN) for c in shown.columns)
    if not ctx.profile.train.share_cnn:
        shared = "Each seed also seeds its CNN's pre-training. "
    else:
        shared = f"The frame-by-frame CNN pre-training is shared by the seeds (seed {ctx.cnn_seed}). "
        if frame_cnn_column:
            shared += "For the frame CNNs a further column seeds the pre-training too, to show the spread that sharing hides. "
    return (f"CCC on the {split} split: mean over {len(first.seeds)} training seeds ({', '.join(map(str, first.seeds))}) "
            f"± the standard deviation across seeds; seeds change initialisation, shuffling and dropout, the data stay "
            f"fixed. {shared}Intervals: 95% bootstrap of the mean over seeds, resampling the "
            f"{first.n_test_videos} {split} videos ({first.n_test_utterances} utterances)."
            + (f" {experiments.LINEAR_PROBE}: ridge regression on the FrameStores' own inputs (faces at 32x32, landmarks, their "
               "1 s mean and frame difference; penalty chosen on validation), one closed-form fit with no seed; a "
               "network below it has not learned what its inputs hold. It is not a network of the paper."
               if floor else "")
            + (f" The label ceiling (a perfect model, held back by the simulated annotators) is V {ceiling[0]:.3f}, "
               f"A {ceiling[1]:.3f} on this split: each row reads between the floor and it."
               if (ceiling := ctx.label_ceiling(split)) else "")
            + (f" {split.capitalize()} also chose the models and post-processing, so these numbers read optimistic."
               if split != "test" else "")
            + (f" Profile settings changed from {ctx.profile.name}'s: {', '.join(ctx.profile.overrides)}."
               if ctx.profile.overrides else ""))


SHORT_TAPS = {"2nd-pool": "P2", "last-pool": "P5", "fc": "FC", "3rd-conv": "C3", "4th-conv": "C4", "5th-conv": "C5",
              "7th-conv": "C7", "8th-conv": "C8", "9th-conv": "C9"}
SHORT_MODELS = {"Model-level Fusion + RNN": "MF+RNN", "Decision-Level Fusion": "DF"}


def short_name(name: str) -> str:
    """An experiment's name short enough for a table cell: "CNN-3RNN-2nd-pool_last-pool_fc
    (Aff-Wild)" -> "3RNN P2-P5-FC (Aff-Wild)"; `claims_legend` spells them out."""
    model, _, tags = name.partition(" (")
    if model in SHORT_MODELS:
        model = SHORT_MODELS[model]
    elif model.startswith(("CNN-1RNN-", "CNN-3RNN-")):
        model = f"{model[4:8]} " + "-".join(SHORT_TAPS.get(t, t) for t in model[9:].split("_"))
    return model + (f" ({tags}" if tags else "")


def claims_display(claims):
    """The claims as the book prints them first: the verdict of the claims judged together
    (Holm), this book's mean difference (its uncorrected 95% paired video-cluster interval)
    beside the paper's, then valence and arousal, the book's beside the paper's ("–" where the
    paper reports no such difference: a reader's own row). Seven columns, so that they fit a
    desktop column; how each claim was tested is `claims_tests`."""
    rows = []
    for _, r in claims.iterrows():
        rows.append({"claim": r["claim"], "verdict": r["verdict_holm"],
                     "book mean [95% interval]": f"{r['difference']:+.3f} [{r['low']:+.3f}, {r['high']:+.3f}]",
                     "paper mean": _signed(r["paper difference"]),
                     "book V": _signed(r["difference V"]), "paper V": _signed(r["paper difference V"]),
                     "book A": _signed(r["difference A"]), "paper A": _signed(r["paper difference A"])})
    return pd.DataFrame(rows).set_index("claim")


def claims_tests(claims):
    """How each claim was tested: the two experiments (short names, `claims_legend`), the
    verdict of the claim alone, the p-values alone and judged together (Holm), the smallest
    difference this test size detects (80% power), the test videos the paper's difference
    would need, and the diagnostic that says why the book may differ."""
    rows = []
    for _, r in claims.iterrows():
        needed = r["videos for the paper's"]
        raw = " (raw)" if r["post_processing"] else ""
        rows.append({"claim": r["claim"], "better vs worse": f"{short_name(r['better'])} vs {short_name(r['than'])}{raw}",
                     "alone": r["verdict"], "p": p_value(r["p_value"]), "p (Holm)": p_value(r["p_holm"]),
                     "detectable": f"{r['detectable']:.3f}",
                     "videos for the paper's": "–" if np.isnan(needed) else f"{needed:,.0f}",
                     "why it may differ": r.get("diagnostic") or "–"})
    return pd.DataFrame(rows).set_index("claim")


def show_claims(claims) -> None:
    """A chapter's claims (rows of `omglib.experiments.claims`) in the notebook: the verdicts
    and differences, how each was tested, and the full names behind the short ones."""
    from IPython.display import Markdown, display

    display(claims_display(claims), Markdown("**How each claim was tested**"), claims_tests(claims),
            Markdown(claims_legend(claims)))


def _signed(x: float) -> str:
    return "–" if np.isnan(x) else f"{x:+.3f}"


def claims_legend(claims) -> str:
    """The full names behind `claims_display`'s short ones, as one Markdown line."""
    names = dict.fromkeys([*claims["better"], *claims["than"]])
    shown = {short_name(n).partition(" (")[0]: n.partition(" (")[0] for n in names}
    return "Names: " + "; ".join(f"**{s}** = {n}" for s, n in shown.items() if s != n) + \
        ". (raw): the same experiment before post-processing. Differences: better minus worse, CCC."


def size_note(claim) -> str:
    """What a claim's test size can tell (a row of `omglib.experiments.claims`), as a phrase."""
    needed = claim["videos for the paper's"]
    paper_needs = "the paper reports no such difference" if np.isnan(needed) else \
        f"the paper's difference would need {needed:,.0f} test videos"
    return f"this size detects {claim['detectable']:.3f}; {paper_needs}"


def p_value(p: float) -> str:
    """A bootstrap p-value as a reader reads it: "< 0.001" below the resolution, else 3 decimals."""
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


FINDINGS = ("top", "top_ccc", "bottom", "bottom_ccc", "paper_top", "agree", "floor", "verdicts")


def table_findings(table, claims=None) -> dict[str, str]:
    """What a chapter's closing section says of its table (rows of `omglib.experiments.table`),
    as sentences to glue (`FINDINGS`): the best and the weakest network (valence / arousal),
    the paper's best of these rows, whether they agree, how many beat the linear floor, and the
    verdicts of ``claims`` (rows of `omglib.experiments.claims`) when given."""
    networks = table[table["experiment"] != experiments.LINEAR_PROBE].dropna(subset=["ccc_mean"])
    top, bottom = networks.loc[networks["ccc_mean"].idxmax()], networks.loc[networks["ccc_mean"].idxmin()]
    printed = {n: sum(paper.CCC[n]) / 2 for n in networks["experiment"] if n in paper.CCC}
    paper_top = max(printed, key=printed.get) if printed else None
    floor = table[table["experiment"] == experiments.LINEAR_PROBE]["ccc_mean"]
    va = lambda row: f"{row['ccc_valence']:.3f} / {row['ccc_arousal']:.3f}"
    return {
        "top": top["experiment"], "top_ccc": va(top), "bottom": bottom["experiment"], "bottom_ccc": va(bottom),
        "paper_top": (f"{paper_top} ({' / '.join(f'{v:.3f}' for v in paper.CCC[paper_top])})" if paper_top
                      else "none of them (the paper does not report these rows)"),
        "agree": "the same row" if paper_top == top["experiment"] else "a different row",
        "floor": (f"{(networks['ccc_mean'] > floor.iloc[0]).sum()} of the {len(networks)} networks beat the linear floor "
                  f"(mean CCC {floor.iloc[0]:.3f})" if len(floor) and floor.notna().all() else "the table has no linear floor"),
        "verdicts": verdicts(claims) if claims is not None else "none tested in this chapter",
    }


def verdicts(claims) -> str:
    """Each claim (rows of `omglib.experiments.claims`) with its verdict judged with the page's
    other claims (Holm), as one sentence to glue."""
    return "; ".join(f"{claim}: {verdict}" for claim, verdict in zip(claims["claim"], claims["verdict_holm"])) or "none"


def fit_summary(ctx, names: list[str]) -> str:
    """One line per run: where it stopped and the gap between training and validation CCC there."""
    lines = []
    for name in names:
        h = experiments.history(ctx, name)
        best = h.loc[h["val_score"].idxmax()]
        fitted = (best["train_ccc_valence"] + best["train_ccc_arousal"]) / 2
        lines.append(f"- {name}: best epoch {int(best['epoch'])} of {len(h)}, validation CCC {best['val_score']:.3f}, "
                     f"training CCC {fitted:.3f} (gap {fitted - best['val_score']:+.3f})")
    return "\n".join(lines)


def postprocessing_table(ctx, names: list[str]):
    """Per experiment: the windows chosen on validation (first seed) and the test CCC without
    and with post-processing (means over seeds)."""

    rows = []
    for name in names:
        s, first = experiments.load_summary(ctx, name), experiments.load(ctx, name)
        chosen = first.postprocessing
        rows.append({"experiment": name, "median windows (V, A)": chosen and chosen.median_window,
                     "smoothing windows (V, A)": chosen and chosen.smoothing_window,
                     "V without": s.raw_ccc_valence, "V with": s.ccc_valence,
                     "A without": s.raw_ccc_arousal, "A with": s.ccc_arousal})
    return pd.DataFrame(rows).set_index("experiment")


def postprocessing_grid(ctx, names: list[str], median_windows: tuple[int, ...], smoothing_windows: tuple[int, ...]):
    """Per experiment (networks and the floor; decision fusion has no frames): the test CCC
    with the post-processing chosen on validation from the profile's grid (as the tables
    report it) and from ``median_windows`` / ``smoothing_windows``, means over seeds, and the
    windows the new grid chose (first seed). Nothing is trained."""
    from omglib.experiments.pipeline import postprocessing_on
    from omglib.experiments.results import seed_runs

    rows = []
    for name in names:
        exp, s = experiments.get(name), experiments.load_summary(ctx, name)
        if not (exp.trained or exp.is_probe) or s is None:
            continue
        redone = [postprocessing_on(ctx, exp, seed, cnn_seed, median_windows, smoothing_windows)
                  for seed, cnn_seed in seed_runs(ctx, exp)]
        rows.append({"experiment": name, "median windows (V, A)": redone[0][0].median_window,
                     "smoothing windows (V, A)": redone[0][0].smoothing_window,
                     "V, profile's grid": s.ccc_valence, "V, this grid": np.mean([r[1].ccc_valence for r in redone]),
                     "A, profile's grid": s.ccc_arousal, "A, this grid": np.mean([r[1].ccc_arousal for r in redone])})
    return pd.DataFrame(rows).set_index("experiment")


def timings(ctx, chosen):
    """Seconds each experiment took, summed over its seeds (each process's own wall time)."""

    rows = [{"experiment": e.name, "seeds": len(s.seeds), "seconds, all seeds": s.wall_seconds}
            for e in chosen if (s := experiments.load_summary(ctx, e.name))]
    return pd.DataFrame(rows).set_index("experiment")
