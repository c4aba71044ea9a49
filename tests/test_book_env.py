"""The book renders the same whatever the user's shell sets: the kernels' backend, locale and
config folders are fixed, and the site check catches a chapter that lost its figures."""

import json
import os

import pytest

from omglib import book


def _notebook(path, images: int):
    outputs = [{"output_type": "display_data", "data": {"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"},
                "metadata": {}}] * images
    cells = [{"cell_type": "code", "metadata": {}, "source": "plot()", "outputs": outputs, "execution_count": 1}]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))


def _page(html, name: str, downloads: tuple[str, ...] = (".ipynb", ".md"), repository: bool = True,
          body: str = "") -> None:
    """A page as sphinx-book-theme writes it: the repository button and the download menu."""
    page = html / f"{name}.html"
    page.parent.mkdir(parents=True, exist_ok=True)
    links = ['<a href="https://github.com/omglib/omglib" class="btn btn-sm btn-source-repository-button"></a>'] * repository
    for suffix in downloads:
        kind = "markdown" if suffix == ".md" and ".ipynb" in downloads else "source"  # a chapter's .md is the extra one
        links.append(f'<a href="../_sources/{name}{suffix}" class="btn btn-sm btn-download-{kind}-button"></a>')
    page.write_text(f"<html><body>{''.join(links)}{body}</body></html>")


def test_check_site_fails_a_page_with_fewer_images_than_its_notebook(tmp_path):
    if book.chromium() is None:
        pytest.skip("Debian's chromium is not installed (make browser)")
    html = tmp_path / "html"
    (html / "_images").mkdir(parents=True)
    (html / "_images" / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    for name, images in (("full", 1), ("lost", 2)):
        _page(html, f"notebooks/{name}", body='<img src="../_images/a.png" alt="A chart of one run per epoch.">')
        _notebook(html / "_sources" / "notebooks" / f"{name}.ipynb", images)
        (html / "_sources" / "notebooks" / f"{name}.md").write_text("# chapter")
    assert book.image_outputs(html / "_sources" / "notebooks" / "lost.ipynb") == 2
    problems = book.check_site(html)
    assert problems == {"notebooks/lost.html": ["shows 1 images, its notebook has 2 image outputs"]}


def test_check_site_fails_a_page_without_its_downloads_or_the_repository_link(tmp_path):
    if book.chromium() is None:
        pytest.skip("Debian's chromium is not installed (make browser)")
    html = tmp_path / "html"
    sources = html / "_sources"
    _page(html, "notebooks/complete")
    _page(html, "notebooks/no_md", downloads=(".ipynb",), repository=False)
    _page(html, "book/method", downloads=(".md",))
    _page(html, "book/lost_source", downloads=(".md",))
    for name in ("notebooks/complete", "notebooks/no_md"):
        _notebook(sources / f"{name}.ipynb", 0)
    (sources / "notebooks" / "complete.md").write_text("# chapter")
    (sources / "book").mkdir()
    (sources / "book" / "method.md").write_text("# method")
    assert book.check_site(html) == {
        "notebooks/no_md.html": ["no link to the repository", "no .md download"],
        "book/lost_source.html": ["its .md download ../_sources/book/lost_source.md is missing"]}


def test_figures_survive_mplbackend_agg_a_read_only_home_and_another_locale(smoke_data, smoke_frames, tmp_path,
                                                                             monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    home.chmod(0o555)
    for name, value in {"MPLBACKEND": "Agg", "HOME": str(home), "LANG": "de_DE.UTF-8", "DISPLAY": ":99"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    target = tmp_path / "01.ipynb"
    parameters = {"profile": "smoke", "data_root": str(smoke_data[0]), "frames": str(smoke_frames),
                  "results": str(tmp_path / "results"), "device": "cpu", "seed": 0, "force": False}
    book.execute(book.notebooks()[0], target, parameters)
    assert book.image_outputs(target) >= 2  # Fig. 3 and the utterance statistics
    assert os.environ["MPLBACKEND"] == "Agg"  # the user's environment is left as it was


def test_check_site_fails_a_figure_repr_a_text_table_an_image_without_words_and_the_builders_path(tmp_path):
    if book.chromium() is None:
        pytest.skip("Debian's chromium is not installed (make browser)")
    html = tmp_path / "book" / "_build" / "html"
    (html / "_images").mkdir(parents=True)
    (html / "_images" / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    described = '<img src="../_images/a.png" alt="A line chart of the validation CCC per epoch.">'
    bodies = {"described": described, "repr": "<pre>&lt;Figure size 1100x420 with 4 Axes&gt;</pre>",
              "pipes": f"{described}<p>| CNN recipe | trunk probe |\n|—|—|\n| frames | 0.1 |</p>",  # as Sphinx typesets it
              "no_alt": '<img src="../_images/a.png">', "path_alt": '<img src="../_images/a.png" alt="_images/a.png">',
              "leaked": f"{described}<p>frames = {tmp_path}/data/frames-quick</p>"}
    for name, body in bodies.items():
        _page(html, f"notebooks/{name}", body=body)
        _notebook(html / "_sources" / "notebooks" / f"{name}.ipynb", 0)
        (html / "_sources" / "notebooks" / f"{name}.md").write_text("# chapter")
    (html / "_sources" / "notebooks" / "described.ipynb").write_text(json.dumps({"cells": [
        {"cell_type": "code", "metadata": {}, "outputs": [], "source": f"results = '{tmp_path}/results'"}]}))
    problems = book.check_site(html, private=(tmp_path,))
    assert set(problems) == {"notebooks/repr.html", "notebooks/no_alt.html", "notebooks/path_alt.html",
                             "notebooks/leaked.html", "notebooks/pipes.html", "_sources/notebooks/described.ipynb"}
    assert "Markdown table as text" in problems["notebooks/pipes.html"][0]
    assert "figure's repr" in problems["notebooks/repr.html"][0]
    assert all("no alt text" in problems[f"notebooks/{n}.html"][0] for n in ("no_alt", "path_alt"))
    assert all(f"builder's path {tmp_path}" in problems[n][0] for n in ("notebooks/leaked.html", "_sources/notebooks/described.ipynb"))


def test_a_downloaded_chapter_names_its_folders_as_a_reader_types_them(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    cells = [{"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": "frames = ''"},
             {"cell_type": "code", "metadata": {"tags": ["injected-parameters"]}, "source": "frames = '/abs'"},
             {"cell_type": "code", "metadata": {}, "source": "setup()"}]
    parameters = {"profile": "quick", "frames": str(tmp_path / "data" / "frames-quick"), "data_root": "",
                  "results": "/elsewhere/run/results", "seeds": [0]}
    book._tidy(cells, parameters)
    assert cells[1]["source"] == ("# Parameters\nprofile = 'quick'\nframes = 'data/frames-quick'\ndata_root = ''\n"
                                  "results = 'results'\nseeds = [0]\n")
    assert [c["metadata"]["tags"][-1] for c in cells] == ["remove-cell", "remove-cell", "hide-input"]


def test_the_staged_book_links_the_configured_repository_or_shows_no_button(tmp_path, monkeypatch):
    import yaml

    monkeypatch.delenv("OMG_REPOSITORY_URL", raising=False)
    assert book._stage_sources(tmp_path / "a", "quick profile, commit abc") == ""  # _config.yml leaves it empty
    config = yaml.safe_load((tmp_path / "a" / "_config.yml").read_text())
    assert config["html"]["use_repository_button"] is False and config["html"]["announcement"] == "quick profile, commit abc"
    monkeypatch.setenv("OMG_REPOSITORY_URL", "https://github.com/someone/omglib")
    assert book._stage_sources(tmp_path / "b") == "https://github.com/someone/omglib"
    config = yaml.safe_load((tmp_path / "b" / "_config.yml").read_text())
    assert config["repository"]["url"] == "https://github.com/someone/omglib" and config["html"]["use_repository_button"]
    assert "announcement" not in config["html"]
