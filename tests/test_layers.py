"""The import layers of ARCHITECTURE.md: no upward import, no cycle, every module placed
(imports read by `omglib.provenance.imports_of`, the reader the code fingerprints use)."""

from __future__ import annotations

import graphlib
import subprocess
import sys
from pathlib import Path

from omglib.provenance import imports_of

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "omglib"


def layers() -> dict[str, int]:
    """Module (dotted, e.g. omglib.data.store) -> its layer's rank, from ARCHITECTURE.md's block."""
    text = (REPO / "ARCHITECTURE.md").read_text()
    block = text.split("## Layers", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    rank = {}
    for i, line in enumerate(l for l in block.splitlines() if l.strip()):
        for name in line.split()[1:]:  # the layer's name, then its modules
            dotted = "omglib" if name == "__init__" else "omglib." + name.replace("/", ".")
            assert dotted not in rank, f"{name} is in two layers"
            rank[dotted] = i
    return rank


def modules() -> list[str]:
    """Every module of the package, dotted."""
    found = []
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(REPO).with_suffix("").parts
        found.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return found


def test_every_module_has_a_layer_and_imports_only_its_own_or_lower_ones():
    rank, found = layers(), modules()
    assert set(found) == set(rank), (f"not in ARCHITECTURE.md's layers: {sorted(set(found) - set(rank))}; "
                                     f"listed but absent: {sorted(set(rank) - set(found))}")
    upward = [f"{name} ({rank[name]}) imports {target} ({rank[target]})" for name in found
              for target in imports_of(name) if rank[target] > rank[name]]
    assert not upward, "upward imports:\n" + "\n".join(sorted(upward))


def test_no_import_cycle():
    graph = {name: imports_of(name) for name in modules()}
    graphlib.TopologicalSorter(graph).prepare()  # raises CycleError naming the cycle


def test_every_module_imports_first_or_last():
    """Each module imported in a fresh interpreter, highest layer first and then lowest first."""
    ordered = sorted(layers().items(), key=lambda kv: kv[1])
    for order in (ordered[::-1], ordered):
        code = "import importlib\n" + "".join(f"importlib.import_module({name!r})\n" for name, _ in order)
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
        assert done.returncode == 0, done.stderr[-2000:]
