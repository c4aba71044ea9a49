"""A frozen CNN's features, computed once per store and re-used by every head trained above it.

With ``TrainConfig.strategy = "frozen"`` (Sec. 6.1: "with the CNN frozen, lr 1e-3") the
trunk's outputs depend only on the pre-trained weights and the frame, so `cache_features`
writes them to ``<folder>/<name>.npy`` (float16, one row per store row) and
`precomputed_trunks` swaps the model's trunks for a pass-through while the head trains.
Table 5's eight tap choices then cost one CNN pass per store, not eight trainings of the CNN.
"""

from __future__ import annotations

import json
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
from torch import nn

from omglib.data.store import FrameStore, normalise
from omglib.io import atomic_path, write_json
from omglib.models.networks import FC_INPUT, Trunk


class Precomputed(nn.Module):
    """Stands in for a trunk: its input already is the trunk's output (a dict of features)."""

    def __init__(self, names: tuple[str, ...]):
        super().__init__()
        self.names = names

    def forward(self, features: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {name: features[name] for name in self.names}  # a copy: heads add their own keys


@contextmanager
def precomputed_trunks(model: nn.Module) -> Iterator[None]:
    """Swap every trunk of ``model`` for `Precomputed` and put the real trunks back
    afterwards, so that saved weights stay whole."""
    parents = [(parent, name, child) for parent in model.modules() for name, child in parent.named_children()
               if isinstance(child, Trunk)]
    for parent, name, child in parents:
        setattr(parent, name, Precomputed(child.names))
    try:
        yield
    finally:
        for parent, name, child in parents:
            setattr(parent, name, child)


def cache_features(trunk: Trunk, store: FrameStore, folder: str | Path, fingerprint: str, names: tuple[str, ...],
                   device: torch.device, batch: int = 256, progress: bool = True) -> dict[str, np.ndarray]:
    """``names`` of the trunk's outputs for every row of ``store``, memory-mapped; computes
    (in one pass) only those missing or made with other weights (``fingerprint``)."""
    from tqdm import tqdm

    folder = Path(folder)
    stamp = folder / "fingerprint.json"
    if stamp.is_file() and json.loads(stamp.read_text()).get("fingerprint") != fingerprint:
        for old in folder.glob("*.npy"):
            old.unlink()
    write_json(stamp, {"fingerprint": fingerprint, "store": str(store.path)})
    missing = [n for n in names if not (folder / f"{n}.npy").is_file()]
    if missing:
        taps = tuple("fc" if n == FC_INPUT else n for n in missing)
        worker = Trunk(trunk.backbone, taps, trunk.config)
        worker.load_state_dict(trunk.state_dict(), strict=False)  # a shallower trunk holds a subset of the weights
        worker.to(device).eval()
        sizes = worker.sizes()
        with _memmaps(folder, {n: (len(store), sizes[n]) for n in missing}) as out, torch.no_grad():
            for start in tqdm(range(0, len(store), batch), desc=f"CNN features {store.path.parent.name}/{store.path.name}",
                              unit="batch", disable=not progress):
                rows = np.arange(start, min(start + batch, len(store)))
                faces = torch.from_numpy(normalise(store.faces[rows]).transpose(0, 3, 1, 2)).to(device)
                for name, value in worker(faces[None]).items():
                    out[name][rows] = value[0].float().cpu().numpy()
    return {n: np.load(folder / f"{n}.npy", mmap_mode="r") for n in names}


@contextmanager
def _memmaps(folder: Path, shapes: dict[str, tuple[int, int]]) -> Iterator[dict[str, np.ndarray]]:
    """float16 .npy files written to temporaries and renamed only when all are complete."""
    with ExitStack() as stack:
        arrays = {n: np.lib.format.open_memmap(stack.enter_context(atomic_path(folder / f"{n}.npy")), mode="w+",
                                               dtype=np.float16, shape=shape) for n, shape in shapes.items()}
        yield arrays
        for a in arrays.values():
            a.flush()
