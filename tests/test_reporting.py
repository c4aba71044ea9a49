"""Table 8: the challenge entries as the paper publishes them, with the book's rows beside them."""

import re

import numpy as np
import pandas as pd
import pytest

from omglib import reporting
from omglib.errors import OmgError
from omglib.provenance import REPO

BEST_3RNN, FUSION = "CNN-3RNN-2nd-pool_last-pool_fc", "Model-level Fusion + RNN"


def test_challenge_entries_are_table8_and_cited():
    entries = reporting.challenge_entries().set_index("method")
    assert len(entries) == 10
    assert tuple(entries.loc["Ensemble II", ["ccc_valence", "ccc_arousal"]]) == (0.499, 0.361)
    assert tuple(entries.loc["VNet", ["ccc_valence", "ccc_arousal"]]) == (0.438, 0.244)
    for name in (BEST_3RNN, FUSION):  # the paper's own rows agree with Tables 3-6
        assert tuple(entries.loc[name, ["ccc_valence", "ccc_arousal"]]) == reporting.PAPER_CCC[name]
    keys = set(re.findall(r"@\w+\{([^,]+),", (REPO / "book" / "references.bib").read_text()))
    assert set(entries["bibkey"]) <= keys


def test_table8_puts_the_books_rows_in_their_own_labelled_columns():
    best = pd.DataFrame({"experiment": [BEST_3RNN, "VGG-Face", "my variant"], "ccc_valence": [0.31, 0.12, 0.2],
                         "ccc_arousal": [0.21, 0.11, 0.1]})
    table = reporting.table8(best, "surrogate")
    assert list(table.columns) == ["modality", "V (Table 8, real OMG test)", "A (Table 8, real OMG test)",
                                   "V (surrogate)", "A (surrogate)", "reference"]
    assert table.loc[BEST_3RNN, "V (Table 8, real OMG test)"] == 0.472
    assert table.loc[BEST_3RNN, "V (surrogate)"] == 0.31
    assert np.isnan(table.loc[FUSION, "V (surrogate)"]) and np.isnan(table.loc["VNet", "A (surrogate)"])
    assert table.loc["VGG-Face", "V (Table 8, real OMG test)"] == 0.378 and table.loc["VGG-Face", "A (surrogate)"] == 0.11
    assert np.isnan(table.loc["my variant", "V (Table 8, real OMG test)"])
    assert len(table) == 12


def test_table8_names_missing_columns():
    with pytest.raises(OmgError, match="ccc_arousal"):
        reporting.table8(pd.DataFrame({"experiment": ["VNet"], "ccc_valence": [0.1]}))


def test_p_values_below_the_bootstrap_resolution_read_as_less_than():
    from omglib.reporting import p_value

    assert p_value(0.0) == "< 0.001" and p_value(0.0004) == "< 0.001" and p_value(0.44) == "0.440"
