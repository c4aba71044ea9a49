"""`omg preprocess`: every video of an OMG or Aff-Wild2 root into one FrameStore per split.

    OMG root        -> <out>/<split>/            (train, validation, test)
    Aff-Wild2 root  -> <out>/<split>/            (train, validation)
    folder of roots -> <out>/<child>/<split>/    (e.g. the output of `omg synth`: omg, affwild2, affwild)
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from omglib.config import PreprocessConfig
from omglib.data.affwild2 import SPLIT_DIRS, AffWild2Layout, read_va_annotation
from omglib.data.omg import CSV_NAMES, OmgLayout
from omglib.data.store import FrameStore, Unit, build_store
from omglib.errors import OmgError

log = logging.getLogger(__name__)


def omg_units(layout: OmgLayout, split: str) -> tuple[list[Unit], list[str]]:
    """Units for the split's present utterance videos, and the missing ones (video/utterance)."""
    utterances = layout.read_split(split)
    labelled = utterances.attrs["has_labels"]
    units = [Unit(key=f"{r.video}__{Path(r.utterance).stem}", path=Path(r.path), video=r.video, utterance=r.utterance,
                  valence=r.valence if labelled else np.nan, arousal=r.arousal if labelled else np.nan)
             for r in utterances[utterances["present"]].itertuples()]
    missing = [f"{r.video}/{r.utterance}" for r in utterances[~utterances["present"]].itertuples()]
    return units, missing


def affwild_units(layout: AffWild2Layout, split: str) -> tuple[list[Unit], list[str]]:
    """Units for the split's annotated videos that are present (per-frame labels attached)."""
    entries = layout.read_split(split)
    units = []
    for r in entries[entries["present"]].itertuples():
        va = read_va_annotation(r.annotation)
        units.append(Unit(key=r.name, path=Path(r.path), video=r.name, utterance="", valence=va[:, 0], arousal=va[:, 1]))
    return units, entries.loc[~entries["present"], "name"].tolist()


def _splits(root: Path) -> list[tuple[str, list[Unit], list[str], str]]:
    if OmgLayout.is_omg_root(root):
        layout = OmgLayout(root)
        return [(s, *omg_units(layout, s), "omg") for s in CSV_NAMES if any((root / n).is_file() for n in CSV_NAMES[s])]
    if AffWild2Layout.is_affwild2_root(root):
        layout = AffWild2Layout(root)
        found = [(s, *affwild_units(layout, s), "affwild2") for s in SPLIT_DIRS]
        return [f for f in found if f[1] or f[2]]
    return []


def preprocess(data_root: str | Path, out: str | Path, config: PreprocessConfig, workers: int | None = None,
               progress: bool = True) -> dict[str, FrameStore]:
    """Build (or resume) the FrameStores of every split under ``data_root``; keys like "omg/train"."""
    data_root, out = Path(data_root), Path(out)
    if not data_root.is_dir():
        raise OmgError(f"{data_root}: no such folder (pass --data-root an OMG or Aff-Wild2 root, or a folder of them)")
    # Each root's splits are read once (CSVs, and every Aff-Wild2 annotation file).
    found = _splits(data_root)
    if found:
        targets = [(data_root, out, "", found)]
    else:
        children = [(child, _splits(child)) for child in sorted(data_root.iterdir()) if child.is_dir()]
        targets = [(child, out / child.name, f"{child.name}/", splits) for child, splits in children if splits]
    if not targets:
        raise OmgError(f"{data_root}: neither an OMG root (omg_TrainVideos.csv ...) nor an Aff-Wild2 root "
                       "(annotations/VA_Set/Train_Set), nor a folder of them")
    stores = {}
    for root, target, prefix, splits in targets:
        for split, units, missing, layout in splits:
            if missing:
                log.warning("%s %s: %d videos missing (skipped), e.g. %s", root, split, len(missing), missing[0])
            if not units:
                log.warning("%s %s: no video present, nothing to pre-process", root, split)
                continue
            stores[f"{prefix}{split}"] = build_store(
                units, target / split, config.to_dict(), workers=workers, progress=progress,
                extra_meta={"data_root": str(root.resolve()), "layout": layout, "split": split,
                            "missing_videos": missing})
    return stores
