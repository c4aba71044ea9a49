"""Every row of Tables 3-6 as a named experiment, run over seeds, and the results they write.

- `catalogue`: the experiments (names, tables, members; any other by its name, `parse`) and the paper's claims;
- `results`: the results store (layout, fingerprints, the typed `SeedResult`, `CNNResult` and `Summary`);
- `pipeline`: one experiment for one seed (CNN pre-training, weight transfer, staged fit, evaluation);
- `schedule`: every seed of many experiments, in dependency order, in parallel processes;
- `analysis`: Tables 3-6 and the claims table from the stored results.
"""

from __future__ import annotations


import pandas as pd

from omglib.experiments.analysis import (claims, compare, floor_penalties, rows, table, tap_diagnosis, trunk_diagnosis,
                                         verdict)
from omglib.experiments.catalogue import (BEST_1RNN, BEST_3RNN, CLAIMS, DECISION_FUSION, EXPERIMENTS, FUSION_RNN,
                                          LINEAR_PROBE, PRETRAIN_NAMES, TABLES, Claim, Experiment, against_best,
                                          decision_fusion_of, get,
                                          parse, table_order, tap_set, training_choices, with_members)
from omglib.experiments.pipeline import cnn_run, pretrained_cnn, run_seed, status, trunk_probe
from omglib.experiments.results import (CNNResult, Context, RunFolder, Scores, SeedResult, Summary, Training,
                                        UtteranceTable, load, load_summary, seed_folder as folder)
from omglib.experiments.schedule import run


def utterances(ctx: Context, name: str, seed: int | None = None, split: str = "test") -> pd.DataFrame:
    """The utterance table (truth, raw and post-processed estimates) of ``name``'s run with
    ``seed`` (default: the context's first seed)."""
    return UtteranceTable.read(folder(ctx, name, seed), split)


def history(ctx: Context, name: str, seed: int | None = None) -> pd.DataFrame:
    """The OMG-stage training history (per epoch: loss, training and validation CCC) of one run."""
    return pd.read_csv(folder(ctx, name, seed).history)


def cnn_history(ctx: Context, backbone: str, pretrain: str | None, seed: int | None = None,
                landmarks: bool = True) -> pd.DataFrame:
    """The history of a CNN's frame-by-frame pre-training (default: the shared CNN's seed)."""
    seed = ctx.cnn_seed if seed is None else seed
    return pd.read_csv(cnn_run(ctx, backbone, pretrain, seed, landmarks).folder.history)


__all__ = ["BEST_1RNN", "BEST_3RNN", "CLAIMS", "DECISION_FUSION", "EXPERIMENTS", "FUSION_RNN", "LINEAR_PROBE",
           "PRETRAIN_NAMES", "TABLES",
           "CNNResult", "Claim", "Context", "against_best", "decision_fusion_of", "Experiment", "RunFolder", "Scores", "SeedResult", "Summary", "Training",
           "UtteranceTable", "claims", "cnn_history", "compare", "floor_penalties", "folder",
           "get", "history", "parse",
           "load", "load_summary", "pretrained_cnn", "rows", "run", "run_seed", "status", "table", "table_order", "tap_set", "training_choices",
           "tap_diagnosis", "trunk_diagnosis", "trunk_probe",
           "utterances",
           "verdict", "with_members"]
