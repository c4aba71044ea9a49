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


def test_check_site_fails_a_page_with_fewer_images_than_its_notebook(tmp_path):
    if book.chromium() is None:
        pytest.skip("Debian's chromium is not installed (make browser)")
    html = tmp_path / "html"
    (html / "_images").mkdir(parents=True)
    (html / "_images" / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    page = '<html><body><img src="../_images/a.png"></body></html>'
    for name, images in (("full", 1), ("lost", 2)):
        (html / "notebooks").mkdir(exist_ok=True)
        (html / "notebooks" / f"{name}.html").write_text(page)
        _notebook(html / "_sources" / "notebooks" / f"{name}.ipynb", images)
    assert book.image_outputs(html / "_sources" / "notebooks" / "lost.ipynb") == 2
    problems = book.check_site(html)
    assert problems == {"notebooks/lost.html": ["shows 1 images, its notebook has 2 image outputs"]}


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
