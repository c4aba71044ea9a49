"""The catalogue: every row of Tables 3-6 as a named experiment, and the paper's claims.

An experiment is a network of the registry plus a recipe: which data its CNN was pre-trained
on (Aff-Wild2 by default, as in Table 3; Aff-Wild; or none, "from scratch") and whether the
landmarks are an input (Table 6). Fusion rows name the experiments they fuse. The linear
probe (`omglib.probe`) is no network of the paper: it is each table's floor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from omglib.errors import OmgError
from omglib.paper import BEST_1RNN, BEST_3RNN, DECISION_FUSION, FUSION_RNN, NETWORK_TABLES
from omglib.models import registry

LINEAR_PROBE = "Linear probe (floor)"
PRETRAIN_NAMES = {"affwild2": "Aff-Wild2", "affwild": "Aff-Wild", None: "from scratch"}
CNN_OF_BACKBONE = {"vgg16": "VGG-Face", "resnet50": "ResNet-50", "densenet121": "DenseNet-121"}


@dataclass(frozen=True)
class Experiment:
    """One row of a table: a registry network and its recipe."""

    model: str
    pretrain: str | None = "affwild2"  # "affwild2", "affwild" or None (CNN trained on OMG only)
    landmarks: bool = True
    members: tuple[str, ...] = ()  # experiments fused (decision level) or whose branches start a model-level fusion

    @property
    def name(self) -> str:
        if self.is_probe:
            return self.model
        tags = [] if self.pretrain == "affwild2" else [PRETRAIN_NAMES[self.pretrain]]
        tags += [] if self.landmarks else ["no landmarks"]
        return self.model + (f" ({', '.join(tags)})" if tags else "")

    @property
    def slug(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-")

    @property
    def backbone(self) -> str | None:
        if self.model in (DECISION_FUSION, LINEAR_PROBE):
            return None
        return registry.FRAME_CNNS.get(self.model) or registry.CNN_RNNS.get(self.model) or "vgg16"

    @property
    def is_frame_cnn(self) -> bool:
        return self.model in registry.FRAME_CNNS

    @property
    def is_probe(self) -> bool:
        """The linear floor: fitted in closed form on the FrameStore's inputs, no CNN, no seed."""
        return self.model == LINEAR_PROBE

    @property
    def trained(self) -> bool:
        """Whether it trains a network on a CNN: not decision fusion (it combines its members'
        estimates), not the linear probe."""
        return self.model not in (DECISION_FUSION, LINEAR_PROBE)


def _variant(model: str, pretrain: str | None = "affwild2", landmarks: bool = True) -> Experiment:
    """``model`` under a recipe; fusion rows fuse the CNN-1RNN and CNN-3RNN of the same recipe."""
    members = ()
    if model in (DECISION_FUSION, *registry.FUSIONS):
        members = tuple(Experiment(m, pretrain, landmarks).name for m in (BEST_1RNN, BEST_3RNN))
    return Experiment(model, pretrain, landmarks, members)


_FLOOR = [Experiment(LINEAR_PROBE)]
TABLES: dict[int, list[Experiment]] = dict(zip(NETWORK_TABLES, (
    _FLOOR + [_variant(m) for m in ("VGG-Face", "DenseNet-121", "ResNet-50", "AffWildNet", "DenseNet-RNN", BEST_1RNN,
                                    BEST_3RNN, DECISION_FUSION, "Model-level Fusion + FC", FUSION_RNN)],
    _FLOOR + [_variant(m, p) for m in (BEST_1RNN, BEST_3RNN, FUSION_RNN) for p in (None, "affwild", "affwild2")],
    _FLOOR + [_variant(f"CNN-3RNN-{'_'.join(taps)}") for taps in registry.TABLE5_TAPS],
    _FLOOR + [_variant(m, landmarks=lm) for m in (BEST_1RNN, BEST_3RNN, FUSION_RNN) for lm in (False, True)],
), strict=True))
EXPERIMENTS: dict[str, Experiment] = {e.name: e for rows in TABLES.values() for e in rows}


def get(name: str) -> Experiment:
    """The experiment called ``name`` (its name or its slug)."""
    for e in EXPERIMENTS.values():
        if name in (e.name, e.slug):
            return e
    raise OmgError(f"unknown experiment {name!r}: `omg run --list` shows them (e.g. {BEST_3RNN!r}, "
                   f"'{BEST_3RNN} (Aff-Wild)', '{FUSION_RNN} (no landmarks)')")


def table_order(tables: list[int]) -> list[Experiment]:
    """The experiments of ``tables``, each once, members before the fusions that need them."""
    for t in tables:
        if t not in TABLES:
            raise OmgError(f"no table {t}: experiments fill Tables {', '.join(map(str, TABLES))} (Table 7 is read from Table 3's CNN-3RNN)")
    return with_members([e for t in tables for e in TABLES[t]])


def with_members(chosen: list[Experiment]) -> list[Experiment]:
    """``chosen``, each once, with every member placed before the fusion that needs it."""
    ordered: dict[str, Experiment] = {}

    def add(e: Experiment) -> None:
        for member in e.members:
            add(get(member))
        ordered.setdefault(e.name, e)

    for e in chosen:
        add(e)
    return list(ordered.values())


@dataclass(frozen=True)
class Claim:
    """A claim of the paper: experiment ``better`` scores above ``than``.

    ``post_processing`` compares one experiment with and without post-processing (``than``
    is then the same experiment's raw estimates).
    """

    claim: str
    better: str
    than: str
    source: str  # where the paper makes it
    post_processing: bool = False
    diagnostic: str = ""  # where the book computes why its verdict or size may depart from the paper's


_LOW, _MID = "CNN-3RNN-3rd-conv_4th-conv_5th-conv", "CNN-3RNN-7th-conv_8th-conv_9th-conv"
_TRUNK = "chapter 05: probes of the trunks and of the landmarks (experiments.trunk_diagnosis)"
_TAPS = "chapter 06: probes of each tap set (experiments.tap_diagnosis)"
CLAIMS: tuple[Claim, ...] = (
    Claim("multi-RNN beats its frame CNN", BEST_3RNN, "VGG-Face", "Table 3"),
    Claim("CNN-3RNN beats CNN-1RNN", BEST_3RNN, BEST_1RNN, "Table 3", diagnostic=_TRUNK),
    Claim("model-level fusion beats the best single network", FUSION_RNN, BEST_3RNN, "Table 3"),
    Claim("decision fusion helps", DECISION_FUSION, BEST_3RNN, "Table 3"),
    Claim("pre-training on Aff-Wild2 beats Aff-Wild", BEST_3RNN, f"{BEST_3RNN} (Aff-Wild)", "Table 4"),
    Claim("pre-training on Aff-Wild beats from scratch", f"{BEST_3RNN} (Aff-Wild)", f"{BEST_3RNN} (from scratch)", "Table 4"),
    Claim("landmarks help", BEST_3RNN, f"{BEST_3RNN} (no landmarks)", "Table 6", diagnostic=_TRUNK),
    Claim("mid+high taps beat all-low taps", BEST_3RNN, _LOW, "Table 5", diagnostic=_TAPS),
    Claim("mid+high taps beat all-mid taps", BEST_3RNN, _MID, "Table 5", diagnostic=_TAPS),
    Claim("post-processing helps", BEST_3RNN, BEST_3RNN, "Table 3", post_processing=True),
)
