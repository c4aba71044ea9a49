"""Table 8: the challenge entries as the paper publishes them, with the book's rows beside them;
the figures: each a matplotlib Figure with labelled axes, and each chapter's figure cell a
captioned, numbered image with alt text."""

import ast
import json
import re
from types import SimpleNamespace

import matplotlib

import numpy as np
import pandas as pd
import pytest

from omglib import book, paper, reporting, trace
from omglib.errors import OmgError
from omglib.provenance import REPO

matplotlib.use("Agg")
BEST_3RNN, FUSION = "CNN-3RNN-2nd-pool_last-pool_fc", "Model-level Fusion + RNN"


def test_challenge_entries_are_table8_and_cited():
    entries = reporting.challenge_entries().set_index("method")
    assert len(entries) == 10
    assert tuple(entries.loc["Ensemble II", ["ccc_valence", "ccc_arousal"]]) == (0.499, 0.361)
    assert tuple(entries.loc["VNet", ["ccc_valence", "ccc_arousal"]]) == (0.438, 0.244)
    for name in (BEST_3RNN, FUSION):  # the paper's own rows agree with Tables 3-6
        assert tuple(entries.loc[name, ["ccc_valence", "ccc_arousal"]]) == paper.CCC[name]
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


# ------------------------------------------------------------------------------------ figures

def _labelled(fig, at_least: int = 1):
    """``fig`` is a Figure whose data axes (those with a visible x axis) carry x and y labels."""
    from matplotlib.figure import Figure

    assert isinstance(fig, Figure)
    data = [ax for ax in fig.axes if ax.axison and ax.get_xlabel()]
    assert len(data) >= at_least, [ax.get_title() for ax in fig.axes]
    assert all(ax.get_ylabel() for ax in data if ax.get_label() != "<colorbar>"), [ax.get_title() for ax in data]
    assert fig.get_size_inches()[0] <= 7.5, fig.get_size_inches()  # reads at phone width
    return data


def _utterances(n: int = 90):
    rng = np.random.default_rng(0)
    return pd.DataFrame({"split": rng.choice(["train", "validation", "test"], n), "video": rng.integers(0, 12, n),
                         "valence": rng.uniform(-1, 1, n), "arousal": rng.uniform(-1, 1, n), "start": 0.0,
                         "end": rng.uniform(1, 6, n)})


def test_label_figures_have_a_colour_bar_and_labelled_axes():
    fig = reporting.va_histograms(_utterances())
    _labelled(fig, 3)
    assert sum(ax.get_ylabel() == "utterances per cell" for ax in fig.axes) == 3  # one colour bar per split
    _labelled(reporting.utterance_statistics(_utterances()), 2)


def _table(names):
    k = np.arange(len(names)) / 10
    return pd.DataFrame({"experiment": names, "ccc_valence": 0.3 - k, "ccc_arousal": 0.2 - k,
                         "ci_valence": [(v - 0.1, v + 0.1) for v in 0.3 - k], "ci_arousal": [np.nan] * len(names)})


def test_rows_plot_puts_valence_arousal_seeds_and_the_paper_in_one_labelled_panel_and_the_legend_below():
    names = [BEST_3RNN, "VGG-Face", "my variant"]
    summaries = {n: SimpleNamespace(per_seed=[{"ccc_valence": 0.1 * i, "ccc_arousal": 0.05 * i} for i in range(3)])
                 for n in names}
    fig = reporting.rows_plot(_table(names), "surrogate", "Table 5", summaries)
    (ax,) = _labelled(fig)
    top_down = sorted(ax.get_yticklabels(), key=lambda t: -t.get_position()[1])
    assert [t.get_text() for t in top_down] == names  # the table's order, top to bottom
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "valence: paper (real OMG test)" in labels and "arousal: one training seed" in labels
    assert not ax.get_legend()  # the legend sits under the figure, outside the data


def test_fit_curves_tell_eight_runs_apart_and_label_the_ccc():
    epochs = np.arange(1, 5)
    histories = {f"run {i}": pd.DataFrame({"epoch": epochs, "val_ccc_valence": epochs * 0.01 * i,
                                           "val_ccc_arousal": epochs * 0.02, "train_ccc_valence": epochs * 0.03,
                                           "train_ccc_arousal": epochs * 0.04}) for i in range(8)}
    fig = reporting.fit_curves(histories)
    top, bottom = fig.axes
    assert top.get_ylabel() == "CCC, valence" and bottom.get_ylabel() == "CCC, arousal" and bottom.get_xlabel() == "epoch"
    validation = [line for line in top.get_lines() if line.get_linestyle() == "-" and line.get_label().startswith("run")]
    assert len({(line.get_color(), line.get_marker()) for line in validation}) == 8
    assert {line.get_marker() for line in validation} >= {"o", "s", "^", "D"}  # apart without colour too
    assert "training" in [t.get_text() for t in fig.legends[0].get_texts()]


def test_claims_forest_labels_its_axes_and_keeps_the_legend_outside():
    claims = pd.DataFrame({"claim": ["CNN-3RNN beats CNN-1RNN", "landmarks help"], "paper difference": [0.02, 0.01],
                           "difference": [0.03, -0.02], "low": [0.01, -0.04], "high": [0.05, -0.01],
                           "verdict": ["holds", "does not hold"]})
    fig = reporting.claims_forest(claims)
    (ax,) = _labelled(fig)
    assert fig.legends and not ax.get_legend()


def test_run_figures_label_their_axes(tmp_path, monkeypatch):
    """The figures of one stored run (history, post-processing sweep, test utterances), read
    from a fake results folder."""
    from omglib import experiments

    epochs = np.arange(1, 4)
    for name in ("VGG-Face", BEST_3RNN):
        (tmp_path / name).mkdir()
        pd.DataFrame({"epoch": epochs, "loss": 1 - epochs / 10, "val_ccc_valence": epochs / 10,
                      "val_ccc_arousal": epochs / 20}).to_csv(tmp_path / name / "history.csv", index=False)
    pd.DataFrame([{"stage": stage, "window": w, "dimension": d, "ccc": 0.1 * w}
                  for stage in ("median_window", "smoothing_window") for w in (1, 2, 4) for d in ("valence", "arousal")]
                 ).to_csv(tmp_path / BEST_3RNN / "postprocessing_sweep.csv", index=False)
    rng = np.random.default_rng(1)
    table = pd.DataFrame({"video": np.repeat(["a", "b", "c"], 4), "utterance": [f"u{i % 4}" for i in range(12)],
                          **{f"{d}{s}": rng.uniform(-1, 1, 12)
                          for d in ("valence", "arousal") for s in ("", "_true", "_raw")}})
    monkeypatch.setattr(experiments, "folder", lambda ctx, name, seed=None: experiments.RunFolder(tmp_path / name))
    monkeypatch.setattr(experiments, "utterances", lambda ctx, name, seed=None: table)
    fig = reporting.training_curves(None, ["VGG-Face", BEST_3RNN])
    assert {ax.get_ylabel() for ax in _labelled(fig, 3)} == {"loss (1 - CCC)", "CCC"}
    _labelled(reporting.postprocessing_sweep(None, BEST_3RNN), 2)
    _labelled(reporting.va_errors(None, BEST_3RNN))
    traces = _labelled(reporting.va_traces(None, BEST_3RNN), 6)
    ticks = traces[0].xaxis.get_major_locator()()
    assert all(float(t).is_integer() for t in ticks)  # utterances are counted, not measured


def test_trace_figures_stack_for_phone_width_with_labelled_axes():
    time = np.arange(50) / 25
    face = np.ones(50, bool)
    face[10:20] = False
    values = np.where(face, np.sin(time), np.nan)
    fig = trace.trace_figure(time, values, values, face, truth=np.c_[np.sin(time), np.cos(time)])
    assert {ax.get_ylabel() for ax in _labelled(fig, 3)} >= {"valence", "arousal"}
    run = {"time": time, "valence": values, "arousal": values}
    fig = trace.modes_figure(run, run)
    assert [ax.get_ylabel() for ax in _labelled(fig, 1)] == ["arousal"] and fig.axes[0].get_ylabel() == "valence"
    assert fig.legends


# Every call of these in a chapter draws a figure: its cell must show it as a captioned image.
FIGURES = {"va_histograms", "utterance_statistics", "preprocessing_steps", "training_curves", "rows_plot", "fit_curves",
           "postprocessing_sweep", "claims_forest", "va_errors", "va_traces", "surrogate_va_grid", "trace_figure",
           "modes_figure", "network_figure", "gru_figure", "subplots", "figure"}


def _calls(source: str) -> set[str]:
    return {node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Call)}


def test_every_chapter_figure_is_a_captioned_numbered_image_with_alt_text():
    names = []
    for notebook in book.notebooks():
        for cell in json.loads(notebook.read_text())["cells"]:
            source = "".join(cell["source"])
            if cell["cell_type"] != "code" or not (_calls(source) & FIGURES or "mystnb" in cell["metadata"]):
                continue
            where = f"{notebook.name}: {source[:60]!r}"
            last = ast.parse(source).body[-1]
            assert isinstance(last, ast.Expr) and ast.unparse(last.value).startswith("plots.image("), where
            assert sum(c == "image" for c in _calls(source)) == 1 and "display(" not in source, where  # one output
            figure, image = cell["metadata"]["mystnb"]["figure"], cell["metadata"]["mystnb"]["image"]
            assert figure["name"].startswith(f"fig-{notebook.name[:2]}-"), where
            assert len(figure["caption"].split()) >= 12 and "\n" not in figure["caption"], where
            assert len(image["alt"].split()) >= 12 and not re.search(r"/|\.png|\.ipynb", image["alt"]), where
            names.append(figure["name"])
    assert len(names) == len(set(names)) >= 17  # Sphinx labels are global: a repeated name would break the build


def test_chapters_close_with_glued_findings_and_show_no_absolute_paths():
    for notebook in book.notebooks():
        cells = json.loads(notebook.read_text())["cells"]
        text = "\n".join("".join(c["source"]) for c in cells)
        glued, used = set(re.findall(r'glue\("(\w+)"', text)), set(re.findall(r"\{glue:\w+\}`(\w+)`", text))
        glued |= set(reporting.FINDINGS) if "reporting.table_findings(" in text else set()
        assert used <= glued, (notebook.name, used - glued)  # a missing key fails the strict Sphinx build
        assert "(`{root}`)" not in text, notebook.name  # no builder's absolute path: `book.shown` writes paths
        assert "book.chapter(globals()" in text, notebook.name  # and the banner (`Chapter.banner` uses it)
        found = [i for i, c in enumerate(cells) if "".join(c["source"]).startswith("## What this chapter found")]
        assert found and found[0] >= len(cells) - 3 and "{glue:text}" in "".join(cells[found[0]]["source"]), notebook.name
    assert "## Conclusion: what held, what did not" in next(n for n in book.notebooks() if n.name.startswith("12_results")).read_text()


def test_claims_table_reads_with_short_names_and_v_a_side_by_side():
    from omglib.experiments import CLAIMS

    names = {n for c in CLAIMS for n in (c.better, c.than)}
    assert len({reporting.short_name(n) for n in names}) == len(names)  # no two experiments share a short name
    assert reporting.short_name("CNN-3RNN-2nd-pool_last-pool_fc (Aff-Wild)") == "3RNN P2-P5-FC (Aff-Wild)"
    assert max(len(reporting.short_name(n)) for n in names) <= 32
    claims = pd.DataFrame([{"claim": "CNN-3RNN beats CNN-1RNN", "comparison": f"{BEST_3RNN} vs CNN-1RNN-2nd-pool_last-pool_fc",
                            "better": BEST_3RNN, "than": "CNN-1RNN-2nd-pool_last-pool_fc", "post_processing": False,
                            "paper difference V": 0.02, "paper difference A": 0.01, "paper difference": 0.015,
                            "difference V": -0.05, "difference A": 0.03, "difference": -0.01, "low": -0.04, "high": 0.02,
                            "p_value": 0.0, "verdict": "cannot tell at this size", "p_holm": 0.0,
                            "verdict_holm": "cannot tell at this size", "detectable": 0.05, "videos for the paper's": 1200.0},
                           {"claim": "post-processing helps", "comparison": f"{BEST_3RNN} vs {BEST_3RNN} without post-processing",
                            "better": BEST_3RNN, "than": BEST_3RNN, "post_processing": True,
                            "paper difference V": 0.03, "paper difference A": 0.02, "paper difference": 0.025,
                            "difference V": 0.01, "difference A": 0.02, "difference": 0.015, "low": 0.01, "high": 0.02,
                            "p_value": 0.04, "verdict": "holds", "p_holm": 0.08, "verdict_holm": "cannot tell at this size",
                            "detectable": 0.01, "videos for the paper's": np.nan}])
    shown, tests = reporting.claims_display(claims), reporting.claims_tests(claims)
    row, tested = shown.loc["CNN-3RNN beats CNN-1RNN"], tests.loc["CNN-3RNN beats CNN-1RNN"]
    assert list(shown.columns) == ["verdict", "book mean [95% interval]", "paper mean",  # fits a desktop column
                                   "book V", "paper V", "book A", "paper A"]
    assert (row["book V"], row["paper V"], row["book A"], row["paper A"]) == ("-0.050", "+0.020", "+0.030", "+0.010")
    assert tested["better vs worse"] == "3RNN P2-P5-FC vs 1RNN P2-P5-FC"
    assert tested["p"] == "< 0.001" and tests.loc["post-processing helps", "better vs worse"].endswith("(raw)")
    judged = shown.loc["post-processing helps"]  # alone it holds; judged with the page's other claims it cannot tell
    assert (judged["verdict"], tests.loc["post-processing helps", "alone"]) == ("cannot tell at this size", "holds")
    assert tests.loc["post-processing helps", "p (Holm)"] == "0.080"
    assert (tested["detectable"], tested["videos for the paper's"]) == ("0.050", "1,200")
    assert tests.loc["post-processing helps", "videos for the paper's"] == "–"
    cells = [*shown.to_numpy().ravel(), *tests.to_numpy().ravel(), *(c.diagnostic for c in CLAIMS if c.diagnostic)]
    assert max(map(len, cells)) <= pd.get_option("display.max_colwidth")  # no cell cut to "..." on the page
    assert reporting.verdicts(claims) == "CNN-3RNN beats CNN-1RNN: cannot tell at this size; post-processing helps: cannot tell at this size"
    legend = reporting.claims_legend(claims)
    assert "**3RNN P2-P5-FC** = CNN-3RNN-2nd-pool_last-pool_fc" in legend and "**1RNN P2-P5-FC**" in legend


def test_tables_show_a_dash_not_nan():
    best = pd.DataFrame({"experiment": [BEST_3RNN], "ccc_valence": [0.31], "ccc_arousal": [0.21]})
    shown = reporting.dashed(reporting.table8(best, "surrogate"))
    assert shown.loc["VNet", "V (surrogate)"] == "–" and shown.loc[BEST_3RNN, "V (surrogate)"] == "0.310"
    assert "nan" not in shown.to_string().lower()


def test_table_findings_name_the_best_and_weakest_rows_and_count_those_above_the_floor():
    table = pd.DataFrame({"experiment": ["Linear probe (floor)", BEST_3RNN, "VGG-Face"], "ccc_valence": [0.5, 0.6, 0.2],
                          "ccc_arousal": [0.4, 0.5, 0.1], "ccc_mean": [0.45, 0.55, 0.15]})
    found = reporting.table_findings(table)
    assert set(found) == set(reporting.FINDINGS)
    assert (found["top"], found["top_ccc"], found["bottom"]) == (BEST_3RNN, "0.600 / 0.500", "VGG-Face")
    assert found["floor"] == "1 of the 2 networks beat the linear floor (mean CCC 0.450)"
    assert found["paper_top"].startswith(BEST_3RNN) and found["agree"] == "the same row"


def test_claims_judged_together_and_the_size_that_would_tell():
    from omglib.experiments.analysis import detectable, holm, videos_needed

    np.testing.assert_allclose(holm([0.01, 0.04, 0.03]), [0.03, 0.06, 0.06])  # step-down: 3p, then 2p, then p, monotone
    np.testing.assert_allclose(holm([0.2]), [0.2])
    assert detectable(0.01) == pytest.approx(0.028, abs=1e-3)  # (1.96 + 0.84) standard errors
    assert videos_needed(100, 0.01, detectable(0.01)) == 100  # detectable now: this size
    assert videos_needed(100, 0.01, detectable(0.01) / 2) == 400  # half the difference: four times the videos
    assert np.isnan(videos_needed(100, 0.01, float("nan")))
    note = reporting.size_note({"detectable": 0.0456, "videos for the paper's": 1200.0})
    assert note == "this size detects 0.046; the paper's difference would need 1,200 test videos"


def test_a_tables_caption_describes_only_the_columns_it_prints():
    from omglib.config import get_profile

    ctx = SimpleNamespace(profile=get_profile("quick"), cnn_seed=0, label_ceiling=lambda split: None)
    summary = SimpleNamespace(split="test", seeds=[0, 1, 2], n_test_videos=44, n_test_utterances=239)
    frame_cnn = pd.DataFrame({"experiment": ["VGG-Face"], "ccc_valence": [0.5], "ccc_arousal": [0.3], "sd_valence": [0.01],
                              "sd_arousal": [0.02], "ci_valence": [(0.4, 0.6)], "ci_arousal": [(0.2, 0.4)], "seeds": [3],
                              "sd_mean_cnn_seeds": [0.03], "ccc_mean_cnn_seeds": [0.41]})
    network = frame_cnn.assign(experiment=BEST_3RNN, sd_mean_cnn_seeds=np.nan, ccc_mean_cnn_seeds=np.nan)
    with_column, without = reporting.comparison(frame_cnn), reporting.comparison(network)
    assert f"{reporting.CNN_SEEDS_COLUMN} (surrogate)" in with_column and with_column.shape[1] == without.shape[1] + 1
    said = "a further column seeds the pre-training too"
    assert said in reporting.caption(ctx, {"VGG-Face": summary}, with_column)
    assert said not in reporting.caption(ctx, {"VGG-Face": summary}, without)  # e.g. a chapter of CNN-RNNs
    assert said not in reporting.caption(ctx, {"VGG-Face": summary})  # the claims table: no such column
