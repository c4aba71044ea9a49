"""Which locked environment produced a result: the lock file's hash, torch's version, and the
installed packages that differ from the lock.

`make env` installs with ``pip install -c requirements/lock-linux-py311.txt``, so a result made
in that environment can be rebuilt from the same pinned versions; a result made elsewhere
says so in ``differs_from_lock`` instead of silently claiming the lock.
"""

from __future__ import annotations

import hashlib
import platform
import re
import subprocess
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LOCK = REPO / "requirements" / "lock-linux-py311.txt"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)")


def git_commit() -> str | None:
    """The checkout's HEAD commit, or None outside a git checkout (an installed copy)."""
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True,
                              cwd=REPO).stdout.strip() or None
    except (OSError, subprocess.CalledProcessError):
        return None


def locked_versions(lock: Path = LOCK) -> dict[str, str]:
    """{normalised package name: version} of every ``name==version`` line of ``lock``."""
    pins = {}
    for line in lock.read_text().splitlines():
        match = _PIN.match(line.strip())
        if match:
            pins[_normalise(match.group(1))] = match.group(2)
    return pins


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def environment_lock(lock: Path = LOCK) -> dict:
    """What every result records about its environment: the lock file's SHA-256 (None when
    omglib runs outside a checkout that has one), torch's and Python's versions, and the
    locked packages whose installed version differs (empty in a `make env` environment)."""
    import torch

    record = {"lock_file": None, "lock_sha256": None, "torch": torch.__version__, "python": platform.python_version(),
              "platform": f"{platform.system()}-{platform.machine()}", "differs_from_lock": []}
    if not lock.is_file():
        return record
    installed = {_normalise(d.metadata["Name"]): d.version for d in metadata.distributions() if d.metadata["Name"]}
    record["lock_file"] = lock.relative_to(REPO).as_posix() if lock.is_relative_to(REPO) else str(lock)
    record["lock_sha256"] = hashlib.sha256(lock.read_bytes()).hexdigest()
    record["differs_from_lock"] = sorted(f"{name}: locked {version}, installed {installed.get(name, 'none')}"
                                         for name, version in locked_versions(lock).items()
                                         if installed.get(name) != version)
    return record
