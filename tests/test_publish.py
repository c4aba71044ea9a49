"""`make publish`: the built site lands on the gh-pages branch of a (here: local bare) repository."""

import subprocess

import pytest

from omglib.errors import OmgError
from omglib.publish import publish


def _git(*args, cwd):
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout


def test_publish_pushes_the_site_to_gh_pages_and_keeps_its_history(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    remote = tmp_path / "remote.git"
    _git("init", "--quiet", "--bare", str(remote), cwd=tmp_path)
    html = tmp_path / "html"
    (html / "_static").mkdir(parents=True)
    (html / "index.html").write_text("<html>first</html>")
    (html / "_static" / "style.css").write_text("body {}")
    first = publish(html, str(remote))
    (html / "index.html").write_text("<html>second</html>")
    (html / "_static" / "style.css").unlink()
    second = publish(html, "remote.git")  # a relative path works too (run from tmp_path)
    assert _git("rev-parse", "gh-pages", cwd=remote).strip() == second
    assert _git("rev-list", "gh-pages", cwd=remote).split() == [second, first]
    assert _git("show", "gh-pages:index.html", cwd=remote) == "<html>second</html>"
    assert set(_git("ls-tree", "-r", "--name-only", "gh-pages", cwd=remote).split()) == {".nojekyll", "index.html"}


def test_publish_refuses_a_folder_without_a_site(tmp_path):
    with pytest.raises(OmgError, match="no index.html"):
        publish(tmp_path, str(tmp_path / "remote.git"))
