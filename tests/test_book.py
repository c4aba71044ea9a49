"""The smoke build of the whole book: every notebook executed, the site rendered strictly,
and every page checked in headless Chromium."""

import json

import pytest

from omglib import book


@pytest.fixture(scope="module")
def site(smoke_data, smoke_frames, tmp_path_factory):
    out = tmp_path_factory.mktemp("book")
    settings = book.Settings("smoke", smoke_data[0], smoke_frames, out / "results", "cpu", progress=False)
    run = book.build(settings, out / "site")
    return run


def test_every_notebook_is_executed_and_rendered(site):
    html = site.html
    assert (html / "index.html").is_file()
    for notebook in book.notebooks():
        page = html / "notebooks" / f"{notebook.stem}.html"
        assert page.is_file(), page
        executed = json.loads((html.parents[1] / "_source" / "notebooks" / notebook.name).read_text())
        outputs = [o for c in executed["cells"] for o in c.get("outputs", [])]
        assert outputs and not any(o["output_type"] == "error" for o in outputs)
        assert any("injected-parameters" in c["metadata"].get("tags", []) for c in executed["cells"])
    assert set(site.seconds) >= {"experiments", "jupyter-book"}


def test_the_training_choices_chapter_judges_each_of_sec_6_1s_statements(site):
    import html

    page = html.unescape((site.html / "notebooks" / "11_training_choices.html").read_text())
    for statement in ("a sequence's median beats its mean", "multi-task beats valence-only, on valence",
                      "CNN-3RNN beats CNN2-to-1RNN (the paper: 4-5% lower)"):
        assert statement in page, statement
    assert "Holm" in page and "detectable" in page


def test_notebook_sources_carry_no_outputs_and_one_parameters_cell():
    for notebook in book.notebooks():
        cells = json.loads(notebook.read_text())["cells"]
        assert not any(c.get("outputs") or c.get("execution_count") for c in cells if c["cell_type"] == "code"), notebook
        assert sum("parameters" in c["metadata"].get("tags", []) for c in cells) == 1, notebook


def test_every_chapter_defines_every_parameter_the_book_passes(smoke_frames, tmp_path):
    """papermill injects what `chapter_parameters` gives; a chapter without one of them (e.g.
    ``overrides``) would silently run another profile than the book's."""
    import ast

    from omglib import experiments as X
    from omglib.config import get_profile

    ctx = X.Context.create(get_profile("smoke", ["train.epochs=2"]), smoke_frames, tmp_path, "cpu", progress=False)
    passed = book.chapter_parameters(ctx, None)
    assert passed["overrides"] == {"train.epochs": "2"}
    for notebook in book.notebooks():
        cell = next(c for c in json.loads(notebook.read_text())["cells"] if "parameters" in c["metadata"].get("tags", []))
        defined = {t.id for node in ast.parse("".join(cell["source"])).body if isinstance(node, ast.Assign)
                   for t in node.targets}
        assert set(passed) <= defined, (notebook.name, set(passed) - defined)
        assert "book.chapter(globals()" in notebook.read_text(), notebook.name  # the one setup call reads them all


def test_every_page_loads_in_headless_chromium(site, tmp_path):
    if book.chromium() is None:
        pytest.skip("Debian's chromium is not installed (make browser)")
    shot = tmp_path / "results.png"
    problems = book.check_site(site.html, shot, repository=bool(site.repository))
    assert problems == {}
    assert shot.is_file() and shot.stat().st_size > 10_000
    results_page = (site.html / "notebooks" / "12_results.html").read_text()
    assert "surrogate" in results_page and "paper, real OMG" in results_page and "<img" in results_page


def test_no_page_has_a_serious_or_critical_accessibility_violation(site, tmp_path):
    """The axe-core gate (tests/site/axe.mjs) on the smoke book, as pydata-sphinx-theme gates its pull requests."""
    import shutil
    import subprocess

    node = shutil.which("node")
    if node is None or book.chromium() is None or not (book.REPO / "node_modules" / "axe-core").is_dir():
        pytest.skip("the accessibility gate's tools are not installed (make site-checks)")
    done = subprocess.run([node, "tests/site/axe.mjs", str(site.html), "--json", str(tmp_path / "axe.json")],
                          cwd=book.REPO, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "0 serious or critical" in done.stdout


def _rerun(chapter_prefix: str, site, smoke_data, smoke_frames, tmp_path, **asked) -> str:
    """A chapter executed again with papermill and a reader's own parameters ``asked``, on the
    smoke book's results: the text of what it showed (plain and HTML, unescaped)."""
    import html

    chapter = next(n for n in book.notebooks() if n.name.startswith(chapter_prefix))
    parameters = {"profile": "smoke", "data_root": str(smoke_data[0]), "frames": str(smoke_frames),
                  "results": str(site.html.parents[2] / "results"), "device": "cpu", **asked}
    book.execute(chapter, tmp_path / chapter.name, parameters, progress=False)
    return html.unescape("".join(str(o.get("data", {}).get("text/plain", "")) + str(o.get("data", {}).get("text/html", ""))
                                 for c in json.loads((tmp_path / chapter.name).read_text())["cells"]
                                 for o in c.get("outputs", [])))


def test_chapter_06_takes_a_readers_tap_set_and_judges_it_against_the_papers_best(site, smoke_data, smoke_frames,
                                                                                   tmp_path):
    """papermill -p tap_sets: the new row is trained (the paper's are re-used), tabled, plotted
    and given its claim and its diagnosis."""
    shown = _rerun("06_", site, smoke_data, smoke_frames, tmp_path, tap_sets=[["4th-conv", "last-pool", "fc"]])
    assert "4th-conv_last-pool_fc" in shown  # its row and its tap diagnosis
    assert "the paper's best beats CNN-3RNN-4th-conv_last-pool_fc" in shown


def test_chapter_10_chooses_again_from_a_readers_grids_without_training(site, smoke_data, smoke_frames, tmp_path):
    shown = _rerun("10_", site, smoke_data, smoke_frames, tmp_path, median_windows=[1, 3], smoothing=[1])
    assert "V, this grid" in shown and "A, profile's grid" in shown


def test_chapter_09_fuses_a_readers_members(site, smoke_data, smoke_frames, tmp_path):
    shown = _rerun("09_", site, smoke_data, smoke_frames, tmp_path, fusions=[["CNN-1RNN", "VGG-Face"]])
    assert "Decision-Level Fusion [CNN-1RNN-2nd-pool_last-pool_fc; VGG-Face]" in shown
    assert "beats Decision-Level Fusion [CNN-1RNN-2nd-pool_last-pool_fc; VGG-Face]" in shown  # its claim
