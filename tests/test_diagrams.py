"""Figs. 4-7 are read from the built networks: a changed network changes its drawing."""

from dataclasses import replace

import matplotlib
import pytest
from matplotlib.text import Text

from omglib import diagrams
from omglib.config import get_profile
from omglib.errors import OmgError

matplotlib.use("Agg")
BEST_3RNN = "CNN-3RNN-2nd-pool_last-pool_fc"


def _texts(fig) -> str:
    return "\n".join(t.get_text() for t in fig.findobj(Text))


def test_the_walk_follows_the_network():
    boxes = diagrams.labels(BEST_3RNN, "paper")
    assert [k for k in boxes if k.startswith("rnn")] == ["rnn1", "rnn2", "rnn3"]
    assert "128x24x24" in boxes["vgg9"][1] and boxes["rnn1"][0].inputs == ("vgg9",)  # 2nd pool: 128 x 24 x 24
    assert "input 73,728" in boxes["rnn1"][1] and "FC 4,096 units" in boxes["fc"][1]
    one = diagrams.labels("CNN-1RNN-2nd-pool_last-pool_fc", "paper")
    assert "= 82,432" in one["concat"][1] and "input 82,432" in one["rnn"][1]  # 73,728 + 4,608 + 4,096
    assert "[flatten, join:\n4,608 (no landmarks)]" in diagrams.labels("VGG-Face", replace(get_profile("paper").model, landmarks=False))["join"][1]
    with pytest.raises(OmgError, match="model-level fusion"):
        diagrams.walk("Model-level Fusion + RNN")


def test_a_different_model_config_changes_the_figures_labels():
    quick = get_profile("quick").model
    changed = replace(quick, vgg_fc=123, gru_hidden=7)
    before, after = _texts(diagrams.network_figure(BEST_3RNN, quick)), _texts(diagrams.network_figure(BEST_3RNN, changed))
    assert "FC 4,096 [256] units" in before and "FC 4,096 [123] units" in after
    assert "128 [7] units" in after and "[7]" not in before
    assert "128 [7] units" in _texts(diagrams.gru_figure(BEST_3RNN, changed))
    assert set(diagrams.paper_figures("smoke")) == set(diagrams.FIGURES)
