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
        _page(html, f"notebooks/{name}", body='<img src="../_images/a.png">')
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
