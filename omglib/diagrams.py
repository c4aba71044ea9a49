"""Figs. 4-7 of the paper drawn from the networks the registry builds, never by hand.

`walk` reads a built network (on the meta device: shapes, no memory) layer by layer: the VGG
blocks and where the taps leave them, the FC and its landmark input, the GRUs, the output. The
figures show every number at paper size with the profile's value in brackets where it differs,
so a change to a network or to a profile changes its figure.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from omglib.config import ModelConfig, Profile
from omglib.errors import OmgError

FIGURES = {  # file stem: (paper figure, network, drawing)
    "fig4_cnn": ("Fig. 4", "VGG-Face", "network"),
    "fig5_cnn_3rnn": ("Fig. 5", "CNN-3RNN-2nd-pool_last-pool_fc", "network"),
    "fig6_gru": ("Fig. 6", "CNN-3RNN-2nd-pool_last-pool_fc", "gru"),
    "fig7_cnn_1rnn": ("Fig. 7", "CNN-1RNN-2nd-pool_last-pool_fc", "network"),
}


@dataclass(frozen=True)
class Node:
    """One box: ``template`` is filled with ``values`` (numbers or shapes); ``inputs`` are the keys
    of the boxes with an arrow into it (None: the box above it in the main column)."""

    key: str
    template: str
    values: tuple = ()
    column: int = 0  # 0: the CNN and the layers above it; 1: the RNN branches
    inputs: tuple[str, ...] | None = None


def _built(name: str, profile: str | Profile | ModelConfig):
    import torch

    from omglib.models import build

    with torch.device("meta"):
        return build(name, profile)


def _shape(tensor) -> str:
    return "x".join(str(d) for d in tensor.shape[1:])


def _vgg(trunk, size: int) -> tuple[list[Node], dict[str, str]]:
    """The VGG blocks as boxes, split where a tap leaves; returns the boxes and {tap: box key}."""
    import torch
    from torch import nn

    from omglib.models.backbones import vgg_tap_node

    tapped = {vgg_tap_node(t): t for t in trunk.taps if t != "fc"}  # fc reads the last pool; its box is the FC
    layers = list(trunk.vgg.features.named_children())
    shapes = {}
    hooks = [module.register_forward_hook(lambda m, i, o, key=key: shapes.__setitem__(key, _shape(o)))
             for key, module in layers]
    trunk.vgg(torch.zeros(1, 3, size, size, device="meta"))
    for hook in hooks:
        hook.remove()
    nodes, taps, convs, conv_count, pools = [], {}, [], 0, 0
    for key, module in layers:
        if isinstance(module, nn.Conv2d):
            conv_count += 1
            convs.append((conv_count, module.out_channels))
        pool = isinstance(module, nn.MaxPool2d)
        pools += pool
        if pool or key in tapped or key == layers[-1][0]:
            first, last = convs[0][0] if convs else conv_count, conv_count
            span = f"conv {first}-{last}" if last > first else f"conv {last}"
            text = f"{span}: 3x3, {{}} ch" + (f", max-pool {pools}" if pool else "") + "\n-> {}"
            nodes.append(Node(f"vgg{key}", text, (convs[-1][1] if convs else "", shapes[key])))
            if key in tapped:
                taps[tapped[key]] = f"vgg{key}"
            convs = []
    return nodes, taps


def walk(name: str, profile: str | Profile | ModelConfig = "paper") -> list[Node]:
    """The boxes of network ``name`` as the registry builds it at ``profile``."""
    from omglib.models.networks import FC_INPUT, LANDMARK_FEATURES, POOLED, CNNRNN, FrameCNN, MultiRNN

    model = _built(name, profile)
    if not isinstance(model, (FrameCNN, CNNRNN, MultiRNN)):
        raise OmgError(f"{name}: no diagram of its own (model-level fusion joins a CNN-1RNN and a CNN-3RNN: draw those)")
    config, trunk = model.config, model.trunk
    sizes = trunk.sizes()
    nodes = [Node("input", "faces: T frames of {}", (f"3x{config.input_size}x{config.input_size}",))]
    if trunk.backbone == "vgg16":
        blocks, taps = _vgg(trunk, config.input_size)
        nodes += blocks
        features = FC_INPUT
    else:
        label = {"resnet50": "ResNet-50", "densenet121": "DenseNet-121"}[trunk.backbone]
        nodes.append(Node("trunk", f"{label} conv/pool, width / {{}}\n-> average pool {{}}",
                          (config.width_divisor, sizes[POOLED])))
        taps, features = {}, POOLED
    if getattr(model, "fc", None) is not None:
        joined = "{} + 68 landmarks ({})" if config.landmarks else "{} (no landmarks)"
        nodes.append(Node("join", f"flatten, join:\n{joined}", (sizes[features], LANDMARK_FEATURES)))
        fc = model.fc[0]
        nodes.append(Node("fc", "FC {} units, ReLU, dropout {}", (fc.out_features, model.fc[2].p)))
        taps["fc"] = "fc"
    head = _head(model, taps, sizes)
    return nodes + head


def _gru(gru, key: str, column: int, inputs: tuple[str, ...] | None, text: str = "") -> Node:
    return Node(key, text + "{}-layer GRU, {} units\ndropout {}, input {}",
                (gru.num_layers, gru.hidden_size, gru.dropout, gru.input_size), column, inputs)


def _head(model, taps: dict[str, str], sizes: dict[str, int]) -> list[Node]:
    """The layers above the CNN: GRU(s), concatenations, the output."""
    from omglib.models.networks import CNNRNN, MultiRNN

    nodes, joined = [], None  # joined: what feeds the output (None: the box above)
    if isinstance(model, CNNRNN):
        nodes.append(_gru(model.rnn.gru, "rnn", 0, None))
    elif isinstance(model, MultiRNN):
        widths = [model.config.vgg_fc if t == "fc" else sizes[t] for t in model.taps]
        if len(model.rnns) == 1:
            nodes.append(Node("concat", "concat\n" + " + ".join(["{}"] * len(widths)) + "\n= {}", (*widths, sum(widths)),
                              1, tuple(taps[t] for t in model.taps)))
            nodes.append(_gru(model.rnns[0].gru, "rnn", 1, ("concat",)))
            joined = ("rnn",)
        else:
            for i, (tap, rnn) in enumerate(zip(model.taps, model.rnns), 1):
                nodes.append(_gru(rnn.gru, f"rnn{i}", 1, (taps[tap],), f"RNN{i} ({tap}):\n"))
            nodes.append(Node("outputs", "concat the RNN outputs: {}", (model.rnn_features,), 0,
                              tuple(f"rnn{i}" for i in range(1, len(model.rnns) + 1))))
            joined = ("outputs",)
        if model.fc_before_output is not None:
            nodes.append(Node("fc2", "FC {} units, ReLU", (model.fc_before_output[0].out_features,), 0, joined))
            joined = ("fc2",)
    nodes.append(Node("output", "output: {} -> 2 (valence, arousal), tanh", (model.output.linear.in_features,), 0, joined))
    nodes.append(Node("estimate", "per-frame V-A -> one estimate\nper sequence (median or mean)"))
    return nodes


def _merge(paper, other) -> str:
    """A value at paper size, with the profile's in brackets where it differs."""
    text = lambda v: f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v)  # noqa: E731
    return text(paper) if paper == other else f"{text(paper)} [{text(other)}]"


def labels(name: str, profile: str | Profile | ModelConfig) -> dict[str, tuple[Node, str]]:
    """{box key: (box, text)} of ``name`` at paper size, the profile's numbers in brackets."""
    paper, other = walk(name, "paper"), {n.key: n for n in walk(name, profile)}
    merged = {}
    for node in paper:
        mine = other.get(node.key, node)
        if mine.template == node.template:
            merged[node.key] = (node, node.template.format(*(_merge(a, b) for a, b in zip(node.values, mine.values))))
        else:  # a different layer (e.g. no landmarks): both texts
            text = [n.template.format(*(_merge(v, v) for v in n.values)) for n in (node, mine)]
            merged[node.key] = (node, f"{text[0]}\n[{text[1]}]")
    return merged


def _profile_name(profile) -> str:
    return profile if isinstance(profile, str) else getattr(profile, "name", "this configuration")


def network_figure(name: str, profile: str | Profile | ModelConfig = "quick", title: str = ""):
    """Boxes and arrows of network ``name``: the CNN top to bottom, the RNN branches to its right."""
    from matplotlib.patches import FancyArrowPatch
    from matplotlib.path import Path as MplPath

    from omglib.plots import pyplot

    plt = pyplot()  # the book's theme

    boxes = labels(name, profile)
    rows, inputs, previous = {}, {}, None
    for key, (node, _) in boxes.items():  # a branch sits beside its one tap; anything else below its inputs
        inputs[key] = node.inputs if node.inputs is not None else (previous,) if previous else ()
        if node.column == 1 and len(inputs[key]) == 1 and boxes[inputs[key][0]][0].column == 0:
            rows[key] = rows[inputs[key][0]]
        else:
            rows[key] = max((rows[i] + 1 for i in inputs[key]), default=0)
        previous = key if node.column == 0 else previous
    height = max(rows.values()) + 1
    branches = any(node.column == 1 for node, _ in boxes.values())
    fig, ax = plt.subplots(figsize=(7.4 if branches else 4.8, 0.8 * height + 0.8))  # 7.4 in: reads at phone width
    ax.set(xlim=(0, 1), ylim=(-height + 0.45, 0.55))
    ax.axis("off")
    centre, artists = ({0: 0.24, 1: 0.74} if branches else {0: 0.5}), {}
    for key, (node, text) in boxes.items():
        colour = "#dbe9f6" if node.column == 0 else "#fde2c8"
        artists[key] = ax.text(centre[node.column], -rows[key], text, ha="center", va="center", fontsize=8.5,
                               bbox={"boxstyle": "round,pad=0.35", "fc": colour, "ec": "#4a4a4a", "lw": 0.8})
    ax.set_title(f"{title or name}: paper size, [{_profile_name(profile)} profile] where it differs", fontsize=9.5)
    fig.tight_layout()
    fig.canvas.draw()  # box extents are known only after a draw (and the final layout)
    to_data = ax.transData.inverted()
    edges = {k: to_data.transform(a.get_bbox_patch().get_window_extent()) for k, a in artists.items()}
    for key in boxes:
        for source in inputs[key]:
            (sx0, sy0), (sx1, sy1) = edges[source]
            (tx0, ty0), (tx1, ty1) = edges[key]
            a, b = boxes[source][0].column, boxes[key][0].column
            if rows[source] == rows[key]:  # a tap to its branch
                points = [(sx1, (sy0 + sy1) / 2), (tx0, (ty0 + ty1) / 2)]
            elif a == b:
                points = [(centre[a], sy0), (centre[a], ty1)]
            else:  # along a bus: between the columns, or right of the branches
                bus = 0.5 if a == 0 else 0.985
                y = (ty0 + ty1) / 2
                points = [(sx1, (sy0 + sy1) / 2), (bus, (sy0 + sy1) / 2), (bus, y), (tx0 if a == 0 else tx1, y)]
            ax.add_patch(FancyArrowPatch(path=MplPath(points), arrowstyle="-|>", mutation_scale=9, lw=0.9,
                                         color="#333333"))
    return fig


def gru_figure(name: str = "CNN-3RNN-2nd-pool_last-pool_fc", profile: str | Profile | ModelConfig = "quick",
               title: str = "", steps: int = 3):
    """Fig. 6: one RNN of ``name`` unrolled over ``steps`` frames, layer by layer, with its
    dropout; the title lists the input width of each of the network's RNNs."""
    from omglib.plots import pyplot

    plt = pyplot()  # the book's theme

    paper, other = _built(name, "paper"), _built(name, profile)
    if not hasattr(paper, "rnns"):
        raise OmgError(f"{name}: not a CNN-1RNN/CNN-3RNN network (no RNN block to draw)")
    gru, small = paper.rnns[0].gru, other.rnns[0].gru
    inputs = ", ".join(f"{_merge(a.gru.input_size, b.gru.input_size)}" for a, b in zip(paper.rnns, other.rnns))
    rows = ["x_t: the frame's features"]
    for layer in range(1, gru.num_layers + 1):
        rows.append(f"GRU layer {layer}\n{_merge(gru.hidden_size, small.hidden_size)} units")
        if layer < gru.num_layers:
            rows.append(f"dropout {_merge(gru.dropout, small.dropout)}")
    rows.append(f"h_t: {_merge(gru.hidden_size, small.hidden_size)} features")
    fig, ax = plt.subplots(figsize=(7.4, 0.85 * len(rows) + 0.9))
    xs = [0.18 + 0.32 * i for i in range(steps)]
    for col, x in enumerate(xs):
        frame = ["t-1", "t", "t+1"][col] if steps == 3 else str(col + 1)
        for row, text in enumerate(rows):
            recurrent = text.startswith("GRU")
            ax.text(x, -row, text.replace("_t", f"_{{{frame}}}").replace("x_{", "$x_{").replace("h_{", "$h_{")
                    .replace("}:", "}$:"), ha="center", va="center", fontsize=8.5,
                    bbox={"boxstyle": "round,pad=0.35", "fc": "#fde2c8" if recurrent else "#eeeeee", "ec": "#4a4a4a",
                          "lw": 0.8})
            if row:
                ax.annotate("", (x, -row), (x, -row + 1), arrowprops={"arrowstyle": "->", "lw": 0.9, "shrinkA": 14,
                                                                      "shrinkB": 14})
            if recurrent and col:
                ax.annotate("", (x, -row), (xs[col - 1], -row), arrowprops={"arrowstyle": "->", "lw": 0.9,
                                                                            "color": "#b34700", "shrinkA": 40,
                                                                            "shrinkB": 40})
    ax.set(xlim=(0, 1), ylim=(-len(rows) + 0.4, 0.6))
    ax.axis("off")
    heading = (f"{title or 'each RNN of ' + name}: inputs {inputs} features per frame; paper size, "
               f"[{_profile_name(profile)} profile] where it differs")
    ax.set_title(textwrap.fill(heading, 80), fontsize=9)  # wrapped by hand: matplotlib's wrap= clips at the figure's edge
    fig.tight_layout()
    return fig


def paper_figures(profile: str | Profile | ModelConfig = "quick") -> dict[str, object]:
    """Figs. 4-7 as {file stem: matplotlib Figure}. The drawings carry no figure number: the
    book's captions number them (and name the paper's figure)."""
    drawn = {}
    for stem, (_, name, kind) in FIGURES.items():
        draw = network_figure if kind == "network" else gru_figure
        drawn[stem] = draw(name, profile, title=name if kind == "network" else f"each RNN of {name}")
    return drawn
