"""Figures the book shows (each returns a matplotlib Figure drawn under `omglib.plots`'s one
theme and never calls plt.show(); a chapter shows it with `omglib.plots.image`), the paper's
published numbers, and the tables and sentences the chapters print."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from omglib.plots import PALETTE, legend_below, pyplot


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
    """Sec. 4 step by step for a few evenly spaced frames of ``video``: the frame with the
    detection box and 68 landmarks, the 5 anchor points, and the aligned crop with the
    template's anchor points."""
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
    """A table of `omglib.experiments.table` as text: CCC mean over seeds +- sd, 95% video-cluster interval."""
    lines = [f"{'experiment':58s} {'valence':>26s} {'arousal':>26s} {'mean':>26s}"]
    for _, row in table.iterrows():
        cells = [f"{row[f'ccc_{k}']:.3f}+-{row[f'sd_{k}']:.3f} [{_interval(row[f'ci_{k}'])[1:-1]}]"
                 for k in ("valence", "arousal", "mean")]
        lines.append(f"{row['experiment']:58s} " + " ".join(f"{c:>26s}" for c in cells))
    return "\n".join(lines)


# The paper's published test-set CCCs (real OMG-Emotion): valence, arousal with post-processing
# and, for Table 3, without it. Keys are this book's experiment names.
_3RNN, _1RNN, _MF = "CNN-3RNN-2nd-pool_last-pool_fc", "CNN-1RNN-2nd-pool_last-pool_fc", "Model-level Fusion + RNN"
PAPER_CCC: dict[str, tuple[float, float]] = {
    "VGG-Face": (0.378, 0.203), "DenseNet-121": (0.365, 0.191), "ResNet-50": (0.359, 0.195),
    "AffWildNet": (0.409, 0.224), "DenseNet-RNN": (0.394, 0.211), _1RNN: (0.449, 0.303), _3RNN: (0.472, 0.329),
    "Decision-Level Fusion": (0.501, 0.332), "Model-level Fusion + FC": (0.518, 0.348), _MF: (0.535, 0.365),
    f"{_1RNN} (from scratch)": (0.371, 0.210), f"{_1RNN} (Aff-Wild)": (0.419, 0.278),
    f"{_3RNN} (from scratch)": (0.385, 0.192), f"{_3RNN} (Aff-Wild)": (0.448, 0.302),
    f"{_MF} (from scratch)": (0.431, 0.265), f"{_MF} (Aff-Wild)": (0.511, 0.342),
    "CNN-3RNN-8th-conv_last-pool_fc": (0.416, 0.261), "CNN-3RNN-5th-conv_last-pool_fc": (0.455, 0.322),
    "CNN-3RNN-3rd-conv_7th-conv_fc": (0.402, 0.267), "CNN-3RNN-last-conv_last-pool_fc": (0.440, 0.248),
    "CNN-3RNN-6th-conv_7th-conv_8th-conv": (0.328, 0.162), "CNN-3RNN-7th-conv_8th-conv_9th-conv": (0.334, 0.172),
    "CNN-3RNN-3rd-conv_4th-conv_5th-conv": (0.345, 0.185),
    f"{_1RNN} (no landmarks)": (0.429, 0.291), f"{_3RNN} (no landmarks)": (0.454, 0.310), f"{_MF} (no landmarks)": (0.524, 0.352),
}
PAPER_CCC_RAW: dict[str, tuple[float, float]] = {  # Table 3's brackets: without post-processing
    "VGG-Face": (0.361, 0.193), "DenseNet-121": (0.350, 0.184), "ResNet-50": (0.344, 0.189),
    "AffWildNet": (0.390, 0.219), "DenseNet-RNN": (0.378, 0.209), _1RNN: (0.441, 0.297), _3RNN: (0.463, 0.322),
    "Decision-Level Fusion": (0.482, 0.321), "Model-level Fusion + FC": (0.500, 0.328), _MF: (0.512, 0.340),
}
# Table 7 (best CNN-3RNN): MSE of valence, arousal (OMG's [0, 1] arousal scale) per region.
PAPER_QUADRANT_MSE = {"V>=0,A<0": (0.101, 0.031), "V>=0,A>=0": (0.055, 0.021), "V<0,A<0": (0.154, 0.061),
                      "V<0,A>=0": (0.110, 0.040), "all": (0.110, 0.041)}


def comparison(table, source: str = "surrogate"):
    """Table 3-6 rows next to the paper's numbers, each column labelled with its data: the
    mean over seeds +- the standard deviation across seeds, and the 95% video-cluster interval."""
    import pandas as pd

    rows = []
    for _, row in table.iterrows():
        paper = PAPER_CCC.get(row["experiment"], (np.nan, np.nan))
        cells = {"seeds": row["seeds"]}
        for key, label in (("valence", "V"), ("arousal", "A")):
            spread = f" ± {row[f'sd_{key}']:.3f}" if row["seeds"] > 1 else ""  # one seed (the floor): no spread
            cells[f"{label} ({source})"] = f"{row[f'ccc_{key}']:.3f}{spread}" if row["seeds"] else ""
            cells[f"{label} 95% CI ({source})"] = _interval(row[f"ci_{key}"])
        if row["sd_mean_cnn_seeds"] == row["sd_mean_cnn_seeds"]:  # frame CNNs: the spread over CNN pre-training seeds too
            cells[f"mean, CNN seeds too ({source})"] = f"{row['ccc_mean_cnn_seeds']:.3f} ± {row['sd_mean_cnn_seeds']:.3f}"
        rows.append({"experiment": row["experiment"], **cells,
                     "V (paper, real OMG)": paper[0], "A (paper, real OMG)": paper[1]})
    return pd.DataFrame(rows).set_index("experiment").fillna("")


def _interval(ci) -> str:
    return f"[{ci[0]:.2f}, {ci[1]:.2f}]" if isinstance(ci, (list, tuple)) else ""


def rows_plot(table, source: str = "surrogate", title: str = ""):
    """Each row's valence and arousal CCC: mean over seeds (dot), 95% video-cluster interval
    (bar), and the paper's number on the real OMG test set (cross), so that a reader sees the
    comparison before reading a number."""
    plt = pyplot()

    names = list(table["experiment"])
    fig, axes = plt.subplots(1, 2, figsize=(11, 0.45 * len(names) + 1.4), sharey=True)
    y = np.arange(len(names))[::-1]
    for ax, (key, label) in zip(axes, (("valence", "valence"), ("arousal", "arousal"))):
        mean = table[f"ccc_{key}"].to_numpy(float)
        ci = np.array([c if isinstance(c, (list, tuple)) else (np.nan, np.nan) for c in table[f"ci_{key}"]], float)
        # a percentile interval need not contain the point (tiny test sets): bars stop at the point
        ax.errorbar(mean, y, xerr=np.clip([mean - ci[:, 0], ci[:, 1] - mean], 0, None), fmt="o", color=PALETTE[0], capsize=3,
                    label=f"this book ({source}): mean over seeds, 95% interval")
        paper = [PAPER_CCC.get(n, (np.nan, np.nan))[0 if key == "valence" else 1] for n in names]
        ax.scatter(paper, y, marker="x", color=PALETTE[1], zorder=3, label="paper (real OMG)")
        ax.axvline(0, color="grey", lw=0.6)
        ax.set_xlabel(f"test CCC, {label}")
    axes[0].set_yticks(y, names, fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    legend_below(fig, *axes[0].get_legend_handles_labels(), columns=2)
    return fig


def claims_forest(claims):
    """A forest plot of the claims table: each claim's difference in mean CCC (this book, mean
    over seeds, 95% paired video-cluster interval, coloured by verdict) and the paper's (cross)."""
    plt = pyplot()

    colours = {"holds": PALETTE[2], "does not hold": PALETTE[1], "cannot tell at this size": "#767676"}
    y = np.arange(len(claims))[::-1]
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(claims) + 1.2))
    for yi, (_, row) in zip(y, claims.iterrows()):
        ax.errorbar(row["difference"], yi, xerr=np.clip([[row["difference"] - row["low"]], [row["high"] - row["difference"]]], 0, None),
                    fmt="o", color=colours[row["verdict"]], capsize=3)
    ax.scatter(claims["paper difference"], y, marker="x", color="black", zorder=3, label="paper (real OMG)")
    for verdict, colour in colours.items():
        ax.scatter([], [], color=colour, label=f"this book: {verdict}")
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_yticks(y, claims["claim"], fontsize=8)
    ax.set_xlabel("difference in mean CCC ((V + A) / 2), better minus worse")
    fig.tight_layout()
    legend_below(fig, *ax.get_legend_handles_labels(), columns=2)
    return fig


def fit_curves(histories: dict, title: str = ""):
    """Training CCC (dashed, mean over the epoch's batches) and validation CCC (solid) per epoch
    of each run in ``histories`` (label -> history.csv frame): a gap is over-fitting, a flat
    line a network that does not learn. Up to eight runs get eight distinct colours."""
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    for i, (label, history) in enumerate(histories.items()):
        colour = PALETTE[i % len(PALETTE)]
        for ax, dim in zip(axes, ("valence", "arousal")):
            ax.plot(history["epoch"], history[f"val_ccc_{dim}"], color=colour, marker=".", label=label)
            if f"train_ccc_{dim}" in history:
                ax.plot(history["epoch"], history[f"train_ccc_{dim}"], color=colour, ls="--", alpha=0.7)
    for ax, dim in zip(axes, ("valence", "arousal")):
        ax.set(title=f"{dim}: validation (solid), training (dashed)", xlabel="epoch")
        ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
        ax.axhline(0, color="grey", lw=0.5)
    axes[0].set_ylabel("CCC")
    fig.suptitle(title)
    fig.tight_layout()
    legend_below(fig, *axes[0].get_legend_handles_labels(), columns=min(4, len(histories)))
    return fig


def quadrant_comparison(utterances, source: str = "surrogate"):
    """Table 7: per-region MSE of one run's test utterances (arousal on OMG's [0, 1] scale) beside the paper's."""
    from omglib.metrics import quadrant_mse

    truth = utterances[["valence_true", "arousal_true"]].to_numpy()
    table = quadrant_mse(truth, utterances[["valence", "arousal"]].to_numpy(), arousal_scale="omg")
    table = table.rename(columns={"n": "utterances", "mse_valence": f"MSE-V ({source})", "mse_arousal": f"MSE-A ({source})"})
    paper = np.array([PAPER_QUADRANT_MSE[region] for region in table.index])
    return table.assign(**{"MSE-V (paper)": paper[:, 0], "MSE-A (paper)": paper[:, 1]}).rename_axis("region")



# Table 8 as the paper prints it (test CCC on the real OMG test set): the challenge entries and
# the paper's two best networks. The numbers are copied from the paper's Table 8, not from the
# cited papers; `bibkey` names the entry in book/references.bib.
CHALLENGE_ENTRIES = (  # method, modality (as Table 8 writes it), valence, arousal, bibkey
    ("VNet", "V,A: visual", 0.438, 0.244, "peng2018deep"),
    ("ANet + VNet", "V,A: audio + visual", 0.442, 0.236, "peng2018deep"),
    ("openSMILE + LSTMs, VGG-FACE-BLSTM", "A: audio, V: visual", 0.258, 0.277, "triantafyllopoulos2018audeering"),
    ("openSMILE + LSTMs, VGG-FACE-BLSTM + openSMILE + LSTMs", "A: audio, V: audio + visual", 0.369, 0.286,
     "triantafyllopoulos2018audeering"),
    ("openSMILE + LSTMs", "V,A: audio", 0.361, 0.293, "triantafyllopoulos2018audeering"),
    ("Single Multi-Modal", "V,A: audio + visual", 0.484, 0.345, "zheng2018multimodal"),
    ("Ensemble I", "V,A: audio + visual", 0.496, 0.356, "zheng2018multimodal"),
    ("Ensemble II", "V,A: audio + visual", 0.499, 0.361, "zheng2018multimodal"),
    (_3RNN, "V,A: visual", 0.472, 0.329, "kollias2020exploiting"),
    (_MF, "V,A: visual", 0.535, 0.365, "kollias2020exploiting"),
)
_REFERENCES = {"peng2018deep": "Peng et al. 2018", "triantafyllopoulos2018audeering": "Triantafyllopoulos et al. 2018",
               "zheng2018multimodal": "Zheng et al. 2018", "kollias2020exploiting": "Kollias & Zafeiriou (this paper)"}


def challenge_entries():
    """Table 8's rows as published: method, modality, valence and arousal test CCC, bibkey, reference."""
    import pandas as pd

    rows = [{"method": m, "modality": mod, "ccc_valence": v, "ccc_arousal": a, "bibkey": key, "reference": _REFERENCES[key]}
            for m, mod, v, a, key in CHALLENGE_ENTRIES]
    return pd.DataFrame(rows)


def table8(best_rows, source: str = "surrogate"):
    """Table 8 with this book's rows beside it. ``best_rows``: a DataFrame with columns
    experiment, ccc_valence, ccc_arousal (e.g. the best rows of `omglib.experiments.table`).
    Published and own numbers stay in separate columns, each labelled with its data: a book row
    that Table 8 has (the paper's two networks) fills that row's ``source`` columns, others are
    added below with the paper's published numbers when Table 3 has them."""
    import pandas as pd

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
            paper = PAPER_CCC.get(name, (np.nan, np.nan))
            out.loc[name] = {"modality": "V,A: visual", f"V ({published})": paper[0], f"A ({published})": paper[1],
                             "reference": _REFERENCES["kollias2020exploiting"] if name in PAPER_CCC else "this book"}
        out.loc[name, [f"V ({own})", f"A ({own})"]] = [row["ccc_valence"], row["ccc_arousal"]]
    return out.rename_axis("method")

def va_histograms(utterances, bins: int = 20):
    """Fig. 3: per split, the 2-D histogram of (valence, arousal) (seaborn, with a colour bar
    counting utterances per cell) and both marginals."""
    import seaborn as sns

    plt = pyplot()
    splits = list(dict.fromkeys(utterances["split"]))
    fig = plt.figure(figsize=(4.6 * len(splits), 4.6))
    grid = fig.add_gridspec(2, 3 * len(splits), width_ratios=[4, 1, 0.25] * len(splits), height_ratios=[1, 4],
                            hspace=0.06, wspace=0.08)
    edges = np.linspace(-1, 1, bins + 1)
    for i, split in enumerate(splits):
        part = utterances[utterances["split"] == split]
        main = fig.add_subplot(grid[1, 3 * i])
        sns.histplot(part, x="valence", y="arousal", bins=[edges, edges], cmap="viridis", cbar=True, ax=main,
                     cbar_ax=fig.add_subplot(grid[1, 3 * i + 2]), cbar_kws={"label": "utterances per cell"})
        main.set(xlim=(-1, 1), ylim=(-1, 1), xlabel="valence", ylabel="arousal (omglib scale)" if i == 0 else "")
        top = fig.add_subplot(grid[0, 3 * i], sharex=main)
        sns.histplot(part, x="valence", bins=edges, color=PALETTE[0], ax=top)
        top.set_title(f"{split} ({len(part)} utterances)")
        top.axis("off")
        side = fig.add_subplot(grid[1, 3 * i + 1], sharey=main)
        sns.histplot(part, y="arousal", bins=edges, color=PALETTE[1], ax=side)
        side.axis("off")
    return fig


def utterance_statistics(utterances):
    """Utterance durations and utterances per video, per split (seaborn step histograms)."""
    import seaborn as sns

    plt = pyplot()
    table = utterances.assign(duration=utterances["end"] - utterances["start"])
    per_video = table.groupby(["split", "video"], sort=False).size().rename("utterances per video").reset_index()
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    sns.histplot(table, x="duration", hue="split", bins=30, element="step", ax=left)
    sns.histplot(per_video, x="utterances per video", hue="split", discrete=True, element="step", ax=right, legend=False)
    left.set(xlabel="utterance duration (s)", ylabel="utterances")
    right.set(ylabel="videos")
    right.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    sns.move_legend(left, "upper right", title="split", fontsize="small")
    fig.tight_layout()
    return fig


def training_curves(ctx, names: list[str], seed: int | None = None):
    """Training loss and validation CCC per epoch (OMG stage) of each experiment (one seed)."""
    import pandas as pd

    from omglib.experiments import folder

    plt = pyplot()
    fig, (loss_ax, val_ax, ar_ax) = plt.subplots(1, 3, figsize=(11, 3.6))
    for i, name in enumerate(names):
        path = folder(ctx, name, seed) / "history.csv"
        if not path.is_file():
            continue
        history = pd.read_csv(path)
        style = {"color": PALETTE[i % len(PALETTE)], "marker": ".", "label": name}
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
    """Validation CCC per window of the median filter and of the utterance smoothing (one seed; seaborn)."""
    import pandas as pd
    import seaborn as sns

    from omglib.experiments import folder

    plt = pyplot()
    sweep = pd.read_csv(folder(ctx, name, seed) / "postprocessing_sweep.csv")
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4), sharey=True)
    for ax, (stage, part) in zip(axes, sweep.groupby("stage", sort=False)):
        sns.lineplot(part, x="window", y="ccc", hue="dimension", marker="o", ax=ax, legend=ax is axes[0])
        ax.set_xscale("log", base=2)
        ax.set(xlabel="median window (frames)" if stage == "median_window" else "smoothing window (utterances)",
               ylabel="validation CCC")
    fig.suptitle(name)
    fig.tight_layout()
    return fig


def va_errors(ctx, name: str, seed: int | None = None):
    """Test utterances in the VA space: an arrow from the label to the prediction (one seed)."""
    plt = pyplot()

    from omglib.experiments import utterances

    table = utterances(ctx, name, seed)
    fig, ax = plt.subplots(figsize=(5.2, 5))
    ax.quiver(table["valence_true"], table["arousal_true"], table["valence"] - table["valence_true"],
              table["arousal"] - table["arousal_true"], angles="xy", scale_units="xy", scale=1, width=0.003, alpha=0.6)
    ax.scatter(table["valence_true"], table["arousal_true"], s=8, c="tab:red", label="label")
    ax.axhline(0, color="grey", lw=0.5)
    ax.axvline(0, color="grey", lw=0.5)
    ax.set(xlim=(-1, 1), ylim=(-1, 1), xlabel="valence", ylabel="arousal (omglib scale)", title=f"{name}: label -> prediction")
    legend_below(ax, columns=1)
    return fig


def va_traces(ctx, name: str, videos: int = 3, seed: int | None = None):
    """Per-utterance labels and predictions along the first test videos (one seed)."""
    from omglib.experiments import utterances

    plt = pyplot()
    table = utterances(ctx, name, seed)
    chosen = list(dict.fromkeys(table["video"]))[:videos]
    fig, axes = plt.subplots(2, len(chosen), figsize=(3.6 * len(chosen), 5), squeeze=False, sharey=True)
    for col, video in enumerate(chosen):
        part = table[table["video"] == video].reset_index(drop=True)
        for row, dim in enumerate(("valence", "arousal")):
            ax = axes[row, col]
            ax.plot(part.index + 1, part[f"{dim}_true"], marker="o", color=PALETTE[0], label="label")
            ax.plot(part.index + 1, part[f"{dim}_raw"], marker=".", ls=":", color=PALETTE[1], label="prediction")
            ax.plot(part.index + 1, part[dim], marker="x", color=PALETTE[2], label="post-processed")
            ax.set_ylim(-1, 1)
            ax.set_title(f"video {video}: {dim}")
            ax.set_xlabel("utterance")
            ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
        axes[0, col].set_ylabel("valence" if col == 0 else "")
        axes[1, col].set_ylabel("arousal" if col == 0 else "")
    fig.tight_layout()
    legend_below(fig, *axes[0, 0].get_legend_handles_labels())
    return fig


def caption(ctx, summaries: dict) -> str:
    """What every number of a chapter's tables is: a mean over which seeds, sharing what, with
    which interval, on how many videos of which split (validation where the test split has no
    labels), and what the linear floor is when the table has it."""
    from omglib.experiments import LINEAR_PROBE

    floor = LINEAR_PROBE in summaries
    first = next((s for name, s in summaries.items() if name != LINEAR_PROBE), summaries.get(LINEAR_PROBE))
    split = first.split
    frame_cnn_column = any(s.cnn_seeds for s in summaries.values())
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
            + (f" {LINEAR_PROBE}: ridge regression on the FrameStores' own inputs (faces at 32x32, landmarks, their "
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


def claims_display(claims):
    """The claims table as the book prints it: the paper's difference, this book's (mean over
    seeds, 95% paired video-cluster interval), the p-value and the verdict."""
    shown = claims.assign(**{
        "paper (real OMG): V, A": [f"{r['paper difference V']:+.3f}, {r['paper difference A']:+.3f}" for _, r in claims.iterrows()],
        "this book: mean of V and A (95% interval)": [f"{r.difference:+.3f} [{r.low:+.3f}, {r.high:+.3f}]"
                                                     for r in claims.itertuples()]})
    shown["p_value"] = [p_value(p) for p in claims["p_value"]]
    return shown[["claim", "comparison", "paper (real OMG): V, A", "this book: mean of V and A (95% interval)", "p_value",
                  "verdict"]].rename(columns={"p_value": "p"}).set_index("claim")


def p_value(p: float) -> str:
    """A bootstrap p-value as a reader reads it: "< 0.001" below the resolution, else 3 decimals."""
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def claims_table(ctx, source: str, keyword: str = ""):
    """The claims that a chapter's table (``source``, e.g. "Table 5") tests, computed."""
    from omglib.experiments import claims

    return claims_display(claims(ctx, source, keyword))


def fit_summary(ctx, names: list[str]) -> str:
    """One line per run: where it stopped and the gap between training and validation CCC there."""
    from omglib.experiments import history

    lines = []
    for name in names:
        h = history(ctx, name)
        best = h.loc[h["val_score"].idxmax()]
        fitted = (best["train_ccc_valence"] + best["train_ccc_arousal"]) / 2
        lines.append(f"- {name}: best epoch {int(best['epoch'])} of {len(h)}, validation CCC {best['val_score']:.3f}, "
                     f"training CCC {fitted:.3f} (gap {fitted - best['val_score']:+.3f})")
    return "\n".join(lines)


def postprocessing_table(ctx, names: list[str]):
    """Per experiment: the windows chosen on validation (first seed) and the test CCC without
    and with post-processing (means over seeds)."""
    import pandas as pd

    from omglib.experiments import load, load_summary

    rows = []
    for name in names:
        s, first = load_summary(ctx, name), load(ctx, name)
        chosen = first.postprocessing or {}
        rows.append({"experiment": name, "median windows (V, A)": chosen.get("median_window"),
                     "smoothing windows (V, A)": chosen.get("smoothing_window"),
                     "V without": s.raw_ccc_valence, "V with": s.ccc_valence,
                     "A without": s.raw_ccc_arousal, "A with": s.ccc_arousal})
    return pd.DataFrame(rows).set_index("experiment")


def timings(ctx, chosen):
    """Seconds each experiment took, summed over its seeds (each process's own wall time)."""
    import pandas as pd

    from omglib.experiments import load_summary

    rows = [{"experiment": e.name, "seeds": len(s.seeds), "seconds, all seeds": s.wall_seconds}
            for e in chosen if (s := load_summary(ctx, e.name))]
    return pd.DataFrame(rows).set_index("experiment")
