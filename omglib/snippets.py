"""Numbers for the method pages, computed when the book is built, never typed into the prose.

`omglib.book.figures` writes every snippet of `SNIPPETS` as a small Markdown file into the
staged book's ``build/tables/`` (``make figures``: the repository's ``build/tables/``); the
pages pull them in with MyST's ``{include}`` directive. Three kinds of number:

- what the code computes from the networks and the profiles: parameters and GFLOPs of every
  network (`model_sizes`, from `omglib.models.describe`), the backbones' parameters and the
  taps' shapes at paper size, the `ModelConfig` fields a profile changes, the surrogate's sizes;
- what the book's own data say: counts, label ceiling and generation speed from the data's
  ``manifest.json`` (`surrogate_data`, `label_ceiling`);
- benchmark records: what a benchmark measured once, written by the benchmark itself
  (`write_record`, ``--record FILE``) with its command, date, commit and machine into
  ``benchmarks/records/``, and rendered with that provenance (`record_table`). A measurement
  belongs to the machine that made it; the page says which.
"""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict, fields
from datetime import date
from pathlib import Path

from omglib.config import PROFILE_NAMES, ModelConfig, get_profile
from omglib.errors import OmgError
from omglib.provenance import git_commit

REPO = Path(__file__).resolve().parents[1]
RECORDS = REPO / "benchmarks" / "records"
SPLITS = ("train", "validation", "test")

# The fields of ModelConfig as the models page describes them (a field without an entry shows its name only).
FIELD_NOTES = {
    "width_divisor": "VGG, DenseNet and ResNet stage widths",
    "vgg_fc": "the FC above VGG's last pool",
    "cnn_fc": "the FC above ResNet/DenseNet's average pool",
    "gru_hidden": "units per GRU layer",
    "fusion_hidden": "model-level fusion's GRU or FC, and the -1FC layers",
    "tap_pool": "conv and pool taps average-pooled to k x k before their GRU",
    "landmark_dropout": "training only: a frame's landmarks hidden at the FC with this probability",
}


def markdown_table(header: list[str], rows: list[list]) -> str:
    """A GitHub/MyST pipe table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def model_size_rows(profiles: tuple[str, ...] = PROFILE_NAMES) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of `model_sizes`: every registered network's parameters and forward
    GFLOPs per frame at each profile, as `omglib.models.describe` counts them."""
    from omglib.models import describe, names

    table = {p: {r["name"]: r for r in describe(p)} for p in profiles}
    header = ["model", *(f"{p} params" for p in profiles), *(f"{p} GFLOPs/frame" for p in profiles)]
    rows = [[name, *(f"{table[p][name]['parameters']:,}" for p in profiles),
             *(f"{table[p][name]['gflops_per_frame']:.3f}" for p in profiles)] for name in names()]
    return header, rows


def model_sizes(profiles: tuple[str, ...] = PROFILE_NAMES) -> str:
    return markdown_table(*model_size_rows(profiles))


def _paper_backbones():
    import torch

    from omglib.models.backbones import VGGTaps, pooled_backbone

    size = ModelConfig().input_size
    with torch.device("meta"):
        vgg = VGGTaps(("2nd-pool", "last-pool"))
        taps = vgg(torch.zeros(1, 3, size, size))
        resnet, _ = pooled_backbone("resnet50")
        densenet, _ = pooled_backbone("densenet121")
    count = lambda net: sum(p.numel() for p in net.parameters())
    return size, {"vgg": count(vgg), "resnet": count(resnet), "densenet": count(densenet)}, \
        {tap: tuple(t.shape[1:]) for tap, t in taps.items()}


def tap_shapes() -> str:
    size, _, shapes = _paper_backbones()
    pool2, last = shapes["2nd-pool"], shapes["last-pool"]
    return (f"At the paper's {size}x{size} faces, the 2nd pool feeds its GRU with {' x '.join(map(str, pool2))} = "
            f"{pool2[0] * pool2[1] * pool2[2]:,} inputs per frame, and the last pool is {' x '.join(map(str, last))}.\n")


def backbone_parameters() -> str:
    _, counts, _ = _paper_backbones()
    return (f"At paper size the backbones have exactly the reference parameter counts: VGG-16's convolutional part "
            f"{counts['vgg']:,}, ResNet-50 without its classifier {counts['resnet']:,}, and DenseNet-121's features "
            f"{counts['densenet']:,} (counted from the networks omglib builds; `tests/test_models.py` checks them "
            "against torchvision's published counts).\n")


def model_fields(profiles: tuple[str, ...] = PROFILE_NAMES) -> str:
    """The `ModelConfig` fields whose value differs between the profiles, one row each."""
    configs = {p: asdict(get_profile(p).model) for p in profiles}
    rows = []
    for field in fields(ModelConfig):
        values = [configs[p][field.name] for p in profiles]
        if len(set(map(repr, values))) > 1:
            note = f" ({FIELD_NOTES[field.name]})" if field.name in FIELD_NOTES else ""
            rows.append([f"`{field.name}`{note}", *("none (flattened)" if v is None else v for v in values)])
    return markdown_table(["field", *profiles], rows)


def _range(pair) -> str:
    return f"{pair[0]}-{pair[1]}" if pair[0] != pair[1] else str(pair[0])


def surrogate_profiles(profiles: tuple[str, ...] = PROFILE_NAMES) -> str:
    """What `omg synth --profile P` writes at each profile (its `SynthConfig`)."""
    rows = []
    for p in profiles:
        s = get_profile(p).synth
        omg = " / ".join(str(n) for _, n in s.omg_videos.items())
        aff2, aff = (sum(n for _, n in c.items()) for c in (s.affwild2_videos, s.affwild_videos))
        rows.append([f"`{p}`", omg, _range(s.utterances_per_video), f"x{s.duration_scale:g}", f"{s.fps:g}",
                     f"{aff2} / {aff} ({_range(s.affwild2_frames)} / {_range(s.affwild_frames)} frames each)"])
    return markdown_table(["profile", "OMG videos (train/val/test)", "utterances per video",
                           "utterance durations (x real)", "fps", "Aff-Wild2 / Aff-Wild videos"], rows)


def _manifest(root: Path) -> dict | None:
    path = Path(root) / "manifest.json"
    return json.loads(path.read_text()) if path.is_file() else None


def _not_surrogate(root: Path) -> str:
    return (f"This book was built from `{root}`, which has no `manifest.json`: real data (or not written by "
            "`omg synth`), so there are no surrogate facts to show here.\n")


def surrogate_data(root: Path) -> str:
    """The book's own surrogate: videos, utterances and frames per dataset and split, and the
    speed of the `omg synth` run that wrote it, from its manifest."""
    manifest = _manifest(root)
    if manifest is None:
        return _not_surrogate(root)
    rows = []
    for dataset, label in (("omg", "OMG-Emotion"), ("affwild2", "Aff-Wild2"), ("affwild", "Aff-Wild")):
        counts = manifest["counts"].get(dataset, {})
        for split, c in sorted(counts.items(), key=lambda item: SPLITS.index(item[0]) if item[0] in SPLITS else 9):
            rows.append([label, split, f"{c['videos']:,}", f"{c['utterances']:,}" if "utterances" in c else "",
                         f"{c['frames']:,}", f"{c['visible_frames']:,}"])
    run = manifest.get("run", {})
    width, height = manifest["synth"]["frame_size"]
    if run.get("frames_rendered"):
        speed = (f"The last `omg synth` run into this folder rendered {run['frames_rendered']:,} frames of "
                 f"{width}x{height} in {run['seconds']:,.1f} s with {run['workers']} workers "
                 f"({run['frames_per_second']:,} frames/s) on the machine that built this book.")
    else:
        speed = "The last `omg synth` run into this folder found every video complete and rendered none."
    return (f"This book's surrogate (profile `{manifest['profile']}`, seed {manifest['seed']}, generator "
            f"{manifest['generator_version']}, from `{Path(root).name}/manifest.json`):\n\n"
            + markdown_table(["dataset", "split", "videos", "utterances", "frames", "frames with the face in view"], rows)
            + f"\n{speed} `python benchmarks/synth_throughput.py --profile P` measures generation speed on yours.\n")


def label_ceiling(root: Path) -> str:
    """The CCC of a perfect model on the book's surrogate, per split (`label_ceiling_ccc`)."""
    manifest = _manifest(root)
    if manifest is None:
        return _not_surrogate(root)
    ceiling = manifest["label_ceiling_ccc"]
    pair = lambda split: f"{ceiling[split]['valence']:.3f} / {ceiling[split]['arousal']:.3f}"
    others = ", ".join(f"{pair(s)} on {s}" for s in ("validation", "train") if s in ceiling)
    return (f"For this book's data (profile `{manifest['profile']}`, seed {manifest['seed']}) it is CCC "
            f"{pair('test')} (valence / arousal) on test" + (f" ({others})" if others else "") + ".\n")


def write_record(path: str | Path, columns: list[str], rows: list[list], command: str, notes: str = "",
                 when: str | None = None, commit: str | None = None, machine: str | None = None,
                 generator: str | None = None) -> Path:
    """A benchmark's measurement with its provenance, for `record_table`: the command that made
    it, the date, the git commit and the machine (default: today, HEAD, this machine), and the
    surrogate generator's version when it measured the surrogate (``generator``)."""
    from omglib.io import write_json

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    machine = machine or f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs"
    write_json(path, {"command": command, "date": when or date.today().isoformat(), "git_commit": commit or git_commit(),
                      "machine": machine, "notes": notes, "columns": list(columns), "rows": [list(r) for r in rows],
                      **({"generator_version": generator} if generator else {})})
    return path


def record_table(name: str) -> str:
    """``benchmarks/records/<name>.json`` as a table and the line that says where it comes from."""
    path = RECORDS / f"{name}.json"
    if not path.is_file():
        raise OmgError(f"{path}: no such benchmark record (its benchmark writes it with --record)")
    record = json.loads(path.read_text())
    commit = (record.get("git_commit") or "unknown")[:8]
    notes = f" {record['notes'].rstrip('.')}." if record.get("notes") else ""
    from omglib.synth.generate import GENERATOR_VERSION

    measured = record.get("generator_version")
    stale = (f" **Measured on the surrogate of generator {measured}; this book's data are generator "
             f"{GENERATOR_VERSION}**: re-run the command for today's numbers." if measured and measured != GENERATOR_VERSION
             else "")
    return (markdown_table(record["columns"], record["rows"])
            + f"\nMeasured once, not by this book's build: `{record['command']}` on {record['date']} (commit {commit}, "
              f"{record['machine']}).{notes}{stale} Run the command to measure it on your machine.\n")


# name -> (root of the book's data) -> Markdown; each is written to <folder>/<name>.md
SNIPPETS = {
    "model_sizes": lambda root: model_sizes(),
    "model_fields": lambda root: model_fields(),
    "tap_shapes": lambda root: tap_shapes(),
    "backbone_parameters": lambda root: backbone_parameters(),
    "surrogate_profiles": lambda root: surrogate_profiles(),
    "surrogate_data": surrogate_data,
    "label_ceiling": label_ceiling,
    "cue_strength": lambda root: record_table("cue_strength"),
    "recipe_diagnosis": lambda root: record_table("recipe_diagnosis"),
    "trunk_diagnosis": lambda root: record_table("trunk_diagnosis"),
    "landmark_dropout": lambda root: record_table("landmark_dropout"),
    "arousal_cues": lambda root: record_table("arousal_cues"),
    "trunk_init": lambda root: record_table("trunk_init"),
    "seeing_trunk": lambda root: record_table("seeing_trunk"),
    "pretraining_faces": lambda root: record_table("pretraining_faces"),
}


def write(root: str | Path, folder: str | Path) -> list[Path]:
    """Every snippet for the book built from data ``root``, as ``folder``/<name>.md."""
    from omglib.io import write_text

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, make in SNIPPETS.items():
        write_text(folder / f"{name}.md", make(Path(root)))
        written.append(folder / f"{name}.md")
    return written
