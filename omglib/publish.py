"""`omg book --publish REMOTE` (and `make publish`): the built site onto a ``gh-pages`` branch.

Plain git in a temporary repository, so the user's checkout, index and branches are never
touched: the site is committed as the whole tree of the branch, on top of the branch's
history when the remote has it, and pushed. ``.nojekyll`` is added so that GitHub Pages
serves Sphinx's ``_static/`` and ``_images/`` folders (Jekyll hides names starting with _).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from omglib.errors import OmgError

REPO = Path(__file__).resolve().parents[1]


def _git(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if check and done.returncode != 0:
        raise OmgError(f"git {args[0]} failed: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}")
    return done


def publish(html: Path, remote: str, branch: str = "gh-pages") -> str:
    """Push the site in ``html`` to ``branch`` of ``remote`` (a URL, a path, or a remote name of
    this checkout); returns the new commit's id."""
    html = Path(html)
    if not (html / "index.html").is_file():
        raise OmgError(f"{html}: no index.html to publish (build the site first: omg book, or make book)")
    if shutil.which("git") is None:
        raise OmgError("git not found: install git to publish the site")
    source = _git("rev-parse", "--short", "HEAD", cwd=REPO, check=False).stdout.strip() or "unknown commit"
    if Path(remote).exists():  # a local repository: git runs elsewhere, so make the path absolute
        remote = str(Path(remote).resolve())
    elif not any(sep in remote for sep in ("/", ":", "\\")):  # a remote name of this checkout
        remote = _git("remote", "get-url", remote, cwd=REPO).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="omglib-publish-") as tmp:
        work = Path(tmp) / "site"
        shutil.copytree(html, work)
        (work / ".nojekyll").touch()
        _git("init", "--quiet", cwd=work)
        if _git("var", "GIT_COMMITTER_IDENT", cwd=work, check=False).returncode != 0:  # no identity configured
            _git("config", "user.name", "omglib", cwd=work)
            _git("config", "user.email", "omglib@localhost", cwd=work)
        if _git("fetch", "--quiet", "--depth", "1", remote, branch, cwd=work, check=False).returncode == 0:
            _git("reset", "--soft", "FETCH_HEAD", cwd=work)  # the new tree on top of the published history
        _git("add", "--all", ".", cwd=work)
        _git("commit", "--quiet", "--allow-empty", "-m", f"Publish the book (built from {source})", cwd=work)
        _git("push", "--quiet", remote, f"HEAD:refs/heads/{branch}", cwd=work)
        return _git("rev-parse", "HEAD", cwd=work).stdout.strip()
