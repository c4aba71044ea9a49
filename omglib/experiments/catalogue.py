"""The catalogue: every row of Tables 3-6 as a named experiment, any other one by its name,
and the paper's claims.

An experiment is a network of the registry plus a recipe: which data its CNN was pre-trained
on (Aff-Wild2 by default, as in Table 3; Aff-Wild; or none, "from scratch"), whether the
landmarks are an input (Table 6), and any training or model setting it changes from the
profile's. Its name says all of it, in one grammar (`parse`)::

    NETWORK [(TAG, TAG, ..., FIELD=VALUE, ...)]

NETWORK is any network of the registry (any tap set: "CNN-3RNN-4th-conv_last-pool_fc"), TAG is
"Aff-Wild", "from scratch" or "no landmarks", FIELD a field of `TrainConfig` or `ModelConfig`
("seq_len=40", "aggregate=mean", "loss_weights=1,0") or ``lr``, the learning rate the network
trains with on OMG whatever the strategy (`lr_field`). The paper's rows are names in it. A
profile runs a name as `as_run` spells it: one run, one folder, however a reader wrote it. Fusion
rows fuse the CNN-1RNN and CNN-3RNN of their own recipe; a decision-level fusion of any
networks is "Decision-Level Fusion [NAME; NAME; ...]". The linear probe (`omglib.probe`) is
no network of the paper: it is each table's floor.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, fields, replace
from functools import lru_cache

from omglib.config import ModelConfig, Profile, TrainConfig, get_profile, override
from omglib.errors import OmgError
from omglib.losses import check_weights
from omglib.paper import (BEST_1RNN, BEST_3RNN, DECISION_FUSION, END_TO_END_LRS, FUSION_RNN, NETWORK_TABLES,
                          SEQ_LEN)
from omglib.models import registry

LINEAR_PROBE = "Linear probe (floor)"
PRETRAIN_NAMES = {"affwild2": "Aff-Wild2", "affwild": "Aff-Wild", None: "from scratch"}
NO_LANDMARKS = "no landmarks"
CNN_OF_BACKBONE = {"vgg16": "VGG-Face", "resnet50": "ResNet-50", "densenet121": "DenseNet-121"}
# what an experiment's FIELD=VALUE may set: a recipe's own fields (landmarks and pre-training are
# tags; how seeds share a CNN, the bootstrap and the weights folder are the run's, not a recipe's)
LR = "lr"  # the learning rate of whichever layers train on OMG (`lr_field`)
SETTING_SECTIONS = {**{f.name: "train" for f in fields(TrainConfig) if f.name not in ("share_cnn", "bootstrap", "weights_dir")},
                    LR: "train", **{f.name: "model" for f in fields(ModelConfig) if f.name != "landmarks"}}


def lr_field(train: TrainConfig, frame_cnn: bool) -> str:
    """The field holding the learning rate a network trains with on OMG (Sec. 6.1): above a
    frozen CNN ``lr_frozen``; end to end ``lr_cnn`` for a frame CNN, ``lr_end_to_end`` for a
    CNN-RNN (the paper's one rate for its CNNs, so a frame CNN's ``lr`` end to end reaches its
    pre-training too). An experiment's ``lr`` means this field, so one name asks the same
    question of a frozen and an end-to-end profile."""
    if train.strategy == "frozen":
        return "lr_frozen"
    return "lr_cnn" if frame_cnn else "lr_end_to_end"


@dataclass(frozen=True)
class Experiment:
    """One row of a table: a registry network and its recipe."""

    model: str
    pretrain: str | None = "affwild2"  # "affwild2", "affwild" or None (CNN trained on OMG only)
    landmarks: bool = True
    members: tuple[str, ...] = ()  # experiments fused (decision level) or whose branches start a model-level fusion
    settings: tuple[str, ...] = ()  # "field=value" changed from the profile's, sorted (`parse` spells them)

    @property
    def name(self) -> str:
        if self.is_probe:
            return self.model
        if self.chosen_members:
            return f"{self.model} [{'; '.join(self.members)}]"
        tags = [] if self.pretrain == "affwild2" else [PRETRAIN_NAMES[self.pretrain]]
        tags += [] if self.landmarks else [NO_LANDMARKS]
        tags += list(self.settings)
        return self.model + (f" ({', '.join(tags)})" if tags else "")

    @property
    def chosen_members(self) -> bool:
        """A decision fusion of members a reader chose, not its recipe's CNN-1RNN and CNN-3RNN."""
        return self.model == DECISION_FUSION and self.members != _variant(self.model, self.pretrain, self.landmarks,
                                                                          self.settings).members

    @property
    def overrides(self) -> tuple[str, ...]:
        """Its settings as `omglib.config.override` takes them ("train.seq_len=40"); those of
        `as_run`'s spelling, which has no ``lr`` alias left."""
        return tuple(f"{SETTING_SECTIONS[s.partition('=')[0]]}.{s}" for s in self.settings)

    @property
    def slug(self) -> str:
        """Its results folder: the name in lower case and dashes, with a digest of its settings
        when it has any (``lr_cnn=1e-16`` and ``1e+16`` read alike in dashes)."""
        return slug(self.name, self.settings + (self.members if self.chosen_members else ()))

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


def slug(text: str, settings: tuple[str, ...] = ()) -> str:
    """A folder name for ``text``: lower case and dashes, with the digest of ``settings`` when
    there are any, since settings that differ can read alike in dashes."""
    readable = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return f"{readable}-{hashlib.sha1(repr(settings).encode()).hexdigest()[:6]}" if settings else readable


def _variant(model: str, pretrain: str | None = "affwild2", landmarks: bool = True,
             settings: tuple[str, ...] = ()) -> Experiment:
    """``model`` under a recipe; fusion rows fuse the CNN-1RNN and CNN-3RNN of the same recipe."""
    members = ()
    if model in (DECISION_FUSION, *registry.FUSIONS):
        members = tuple(Experiment(m, pretrain, landmarks, (), settings).name for m in (BEST_1RNN, BEST_3RNN))
    return Experiment(model, pretrain, landmarks, members, settings)


_FLOOR = [Experiment(LINEAR_PROBE)]
TABLES: dict[int, list[Experiment]] = dict(zip(NETWORK_TABLES, (
    _FLOOR + [_variant(m) for m in ("VGG-Face", "DenseNet-121", "ResNet-50", "AffWildNet", "DenseNet-RNN", BEST_1RNN,
                                    BEST_3RNN, DECISION_FUSION, "Model-level Fusion + FC", FUSION_RNN)],
    _FLOOR + [_variant(m, p) for m in (BEST_1RNN, BEST_3RNN, FUSION_RNN) for p in (None, "affwild", "affwild2")],
    _FLOOR + [_variant(f"CNN-3RNN-{'_'.join(taps)}") for taps in registry.TABLE5_TAPS],
    _FLOOR + [_variant(m, landmarks=lm) for m in (BEST_1RNN, BEST_3RNN, FUSION_RNN) for lm in (False, True)],
), strict=True))
EXPERIMENTS: dict[str, Experiment] = {e.name: e for rows in TABLES.values() for e in rows}


TAGS = {PRETRAIN_NAMES["affwild"]: "affwild", PRETRAIN_NAMES[None]: None, PRETRAIN_NAMES["affwild2"]: "affwild2",
        NO_LANDMARKS: NO_LANDMARKS}
GRAMMAR = "NETWORK [(TAG, ..., FIELD=VALUE, ...)]"  # and "Decision-Level Fusion [NAME; NAME; ...]"
EXAMPLES = ("CNN-3RNN-4th-conv_last-pool_fc", f"{BEST_1RNN} (Aff-Wild, no landmarks, seq_len=40)",
            f"{BEST_3RNN} (aggregate=mean)", f"{BEST_3RNN} (loss_weights=1,0)", f"{BEST_3RNN} (lr=1e-4)",
            f"{FUSION_RNN} (from scratch)",
            f"{DECISION_FUSION} [{BEST_3RNN}; VGG-Face (Aff-Wild)]")


_BY_NAME = {**{e.slug: e for e in EXPERIMENTS.values()}, **EXPERIMENTS}  # a catalogue row by its name or slug


def get(name: str) -> Experiment:
    """The experiment called ``name``: a catalogue row (by its name or its slug) or any name of
    the grammar (`parse`)."""
    return _BY_NAME.get(name) or parse(name)


def parse(name: str) -> Experiment:
    """The experiment ``name`` spells (the module's grammar); a bad network, tag, field or value
    is one `OmgError` listing what is valid."""
    fused = re.fullmatch(rf"\s*{re.escape(DECISION_FUSION)}\s*\[(.*)\]\s*", name)
    if fused:
        return decision_fusion_of([part.strip() for part in fused.group(1).split(";")])
    match = re.fullmatch(r"\s*([^()]+?)\s*(?:\(([^()]*)\))?\s*", name)
    if match is None:
        raise OmgError(f"experiment {name!r}: write {GRAMMAR}, e.g. {EXAMPLES[1]!r}")
    model, inside = _network(match.group(1), name), match.group(2) or ""
    pretrain, landmarks, settings = "affwild2", True, {}
    items = _items(inside, name)
    if len([i for i in items if i in TAGS and i != NO_LANDMARKS]) > 1:
        raise OmgError(f"experiment {name!r}: one pre-training tag at most ({', '.join(t for t in TAGS if t != NO_LANDMARKS)})")
    for item in items:
        if item in TAGS:
            if item == NO_LANDMARKS:
                landmarks = False
            else:
                pretrain = TAGS[item]
        else:
            field, value = (part.strip() for part in item.split("=", 1))
            if field in settings:
                raise OmgError(f"experiment {name!r}: {field} is set twice")
            settings[field] = _setting(field, value, name)
    return _variant(model, pretrain, landmarks, tuple(f"{k}={v}" for k, v in sorted(settings.items())))


@lru_cache(maxsize=4096)
def as_run(exp: Experiment, profile: Profile) -> Experiment:
    """``exp`` as ``profile`` runs it: ``lr`` spelled as the field it sets there (`lr_field`,
    under the strategy the experiment trains with) and each setting equal to the profile's own
    value left out, so that "CNN-3RNN (seq_len=40)" on a profile of 40-frame sequences is the
    run of "CNN-3RNN", not a second one. Fusions' members are spelled the same way."""
    if exp.chosen_members:
        return decision_fusion_of([as_run(get(m), profile).name for m in exp.members])
    if not exp.settings:
        return exp
    own = dict(s.split("=", 1) for s in exp.settings)
    if LR in own:
        trained = override(profile, [f"{SETTING_SECTIONS[k]}.{k}={v}" for k, v in own.items() if k != LR])
        field = lr_field(trained.train, exp.is_frame_cnn)
        if field in own:
            raise OmgError(f"experiment {exp.name!r}: lr is {field} on the {profile.name} profile, which it also "
                           "sets; keep one")
        own[field] = own.pop(LR)

    def changes(field: str, value: str) -> bool:
        section = SETTING_SECTIONS[field]
        changed = override(profile, [f"{section}.{field}={value}"])
        return getattr(getattr(changed, section), field) != getattr(getattr(profile, section), field)

    kept = tuple(f"{k}={v}" for k, v in sorted(own.items()) if changes(k, v))
    return _variant(exp.model, exp.pretrain, exp.landmarks, kept)


def decision_fusion_of(names: list[str]) -> Experiment:
    """Decision-level fusion (Eq. 1) of the experiments ``names``, any two or more networks of
    any recipe (trained with the same seeds), weighted by their validation CCC."""
    members = tuple(sorted({get(n).name for n in names if n}))  # one spelling, in any order
    if len(members) < 2 or any(not get(m).trained for m in members):
        raise OmgError(f"{DECISION_FUSION} [{'; '.join(names)}]: fuse two or more different trained networks (not "
                       f"fusions, not the floor), e.g. '{DECISION_FUSION} [{BEST_1RNN}; VGG-Face]'")
    return Experiment(DECISION_FUSION, members=members)


def _network(model: str, name: str) -> str:
    """The registry's network ``model``, a multi-RNN spelled with its taps (the default ones too)."""
    if model == DECISION_FUSION or model in registry.FRAME_CNNS or model in registry.CNN_RNNS \
            or model in registry.FUSIONS:
        return model
    try:
        if (parsed := registry.parse_multi_rnn(model)) is not None:
            return f"{parsed[0]}-{'_'.join(parsed[1])}"
    except OmgError as error:
        raise OmgError(f"experiment {name!r}: {error}") from None
    raise OmgError(f"experiment {name!r}: unknown network {model!r}; networks: {', '.join(registry.FRAME_CNNS)}, "
                   f"{', '.join(registry.CNN_RNNS)}, {', '.join(registry.MULTI_RNN)} (with taps, e.g. "
                   f"CNN-3RNN-4th-conv_last-pool_fc), {', '.join(registry.FUSIONS)}, {DECISION_FUSION} (`omg models`)")


def _items(inside: str, name: str) -> list[str]:
    """The tags and settings inside the parentheses; a value may hold commas ("loss_weights=1,0")."""
    items: list[str] = []
    for part in (p.strip() for p in inside.split(",")):
        if part in TAGS or "=" in part:
            items.append(part)
        elif part and items and "=" in items[-1]:
            items[-1] += "," + part
        elif part or inside.strip():
            raise OmgError(f"experiment {name!r}: unknown tag {part!r}; tags: {', '.join(TAGS)}; settings: "
                           f"FIELD=VALUE with FIELD one of {', '.join(SETTING_SECTIONS)}; items are separated by "
                           "', ' (no trailing comma)")
    return items


def _setting(field: str, value: str, name: str) -> str:
    """``value`` checked against ``field``'s type and spelled as the name records it."""
    if field not in SETTING_SECTIONS:
        raise OmgError(f"experiment {name!r}: unknown setting {field!r}; settings: {', '.join(SETTING_SECTIONS)} "
                       "(pre-training and landmarks are tags)")
    key = f"{SETTING_SECTIONS[field]}.{'lr_frozen' if field == LR else field}"  # lr: a float like every lr field
    try:
        changed = override(get_profile("smoke"), [f"{key}={value}"])
        if field == "loss_weights":
            check_weights(changed.train.loss_weights)
    except OmgError as error:
        raise OmgError(f"experiment {name!r}: {str(error).removeprefix('--set ')}") from None
    return changed.overrides[0].partition("=")[2]


def tap_set(asked: str | list[str] | tuple[str, ...]) -> Experiment:
    """A CNN-3RNN reading the taps ``asked`` (["4th-conv", "last-pool", "fc"]), or the
    experiment a whole name ``asked`` spells (any network, any recipe)."""
    return get(asked if isinstance(asked, str) else f"CNN-3RNN-{'_'.join(asked)}")


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
    is then the same experiment's raw estimates). ``dimension`` compares one dimension's CCC
    instead of their mean (a network trained for valence only is judged on valence).
    """

    claim: str
    better: str
    than: str
    source: str  # where the paper makes it
    post_processing: bool = False
    diagnostic: str = ""  # where the book computes why its verdict or size may depart from the paper's
    dimension: str | None = None  # "valence" or "arousal"; None: (V + A) / 2


def against_best(asked, source: str) -> tuple[Claim, ...]:
    """The claims a reader's rows ``asked`` (experiments) of table ``source`` make: the paper's
    best network (CNN-3RNN) scores above each (the best itself makes none)."""
    return tuple(Claim(f"the paper's best beats {e.name}", BEST_3RNN, e.name, source) for e in asked
                 if e.name != BEST_3RNN)


_LOW, _MID = "CNN-3RNN-3rd-conv_4th-conv_5th-conv", "CNN-3RNN-7th-conv_8th-conv_9th-conv"
_TRUNK = "chapter 05, experiments.trunk_diagnosis"  # probes of the trunks and of the landmarks
_TAPS = "chapter 06, experiments.tap_diagnosis"  # probes of each tap set
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


# ---------------------------------------------------------------- Sec. 6.1: the training choices

VARIANTS = ("CNN-2RNN", "CNN-2RNN-1FC", "CNN2-to-1RNN", "CNN-3RNN-1FC")  # Sec. 5.3: "around 4-5% lower"


def sequence_lengths(seq_len: int) -> tuple[int, ...]:
    """The paper's 40, 60, 80 and 100 frames at a profile whose ``seq_len`` spans the paper's 80
    (the quick surrogate's 40 frames at 12.5 fps are the same 3.2 s)."""
    return tuple(round(seq_len * n / SEQ_LEN) for n in (40, 60, 80, 100))


def training_choices(train: TrainConfig) -> tuple[list[Experiment], tuple[Claim, ...]]:
    """The rows and claims of Sec. 6.1's training choices against the paper's best CNN-3RNN, at
    a profile's sequence length and training strategy: the other sequence lengths, the mean of a
    sequence for its median, valence-only and arousal-only training, the four variants, and,
    where the profile trains end to end itself (the paper's), the same network above a frozen
    CNN (the paper found end to end best) and at the paper's other end-to-end learning rate. A
    CPU profile freezes its CNN because one end-to-end CNN-3RNN costs minutes per seed there
    (quick: about 8 on a 2-core machine), so it leaves those rows out."""
    s61, best, seq_len = "Sec. 6.1", BEST_3RNN, train.seq_len
    lengths = [n for n in sequence_lengths(seq_len) if n != seq_len]
    claims = [Claim(f"{seq_len} frames (the paper's {SEQ_LEN}) beat {n}", best, f"{best} (seq_len={n})", s61)
              for n in lengths]
    claims += [Claim("a sequence's median beats its mean", best, f"{best} (aggregate=mean)", s61),
               Claim("multi-task beats valence-only, on valence", best, f"{best} (loss_weights=1,0)", s61,
                     dimension="valence"),
               Claim("multi-task beats arousal-only, on arousal", best, f"{best} (loss_weights=0,1)", s61,
                     dimension="arousal")]
    claims += [Claim(f"CNN-3RNN beats {v} (the paper: 4-5% lower)", best, v, "Sec. 5.3") for v in VARIANTS]
    if train.strategy == "end-to-end":
        other = END_TO_END_LRS[END_TO_END_LRS[0] == train.lr_end_to_end]
        claims += [Claim("end to end beats a frozen CNN", best, f"{best} (strategy=frozen)", s61),
                   Claim(f"end to end at lr {train.lr_end_to_end:g} beats {other:g} (the paper: "
                         f"{END_TO_END_LRS[0]:g} best)", best, f"{best} ({LR}={other:g})", s61)]
    claims = [replace(c, better=get(c.better).name, than=get(c.than).name) for c in claims]  # each name spelled one way
    rows = list(dict.fromkeys(get(n) for c in claims for n in (c.better, c.than)))
    return rows, tuple(claims)
