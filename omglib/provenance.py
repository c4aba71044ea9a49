"""What produced a result: the lock file's hash, torch's version and the installed packages
that differ from the lock; the git commit; and the digest of the omglib code it ran.

`code_digest` follows a module's omglib imports (anywhere in its files, found by reading
them, not typed by hand) and hashes their code without docstrings, so a result is stale
exactly when code it runs changes, and a change elsewhere or in a docstring leaves it current.

`make env` installs with ``pip install -c requirements/lock-linux-py311.txt``, so a result made
in that environment can be rebuilt from the same pinned versions; a result made elsewhere
says so in ``differs_from_lock`` instead of silently claiming the lock.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import platform
import re
import subprocess
from importlib import metadata
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
REPO = PACKAGE.parent
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


def module_file(module: str) -> Path:
    """The source file of an omglib module (dotted name, e.g. ``omglib.data.store``)."""
    path = PACKAGE.parent.joinpath(*module.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


@functools.cache
def imports_of(module: str) -> frozenset[str]:
    """The omglib modules ``module`` imports, at any depth of its file (inside functions too);
    ``from omglib.x import y`` names ``omglib.x.y`` when that is a module."""
    path = module_file(module)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            target = ".".join([*base, node.module] if node.module else base) if node.level else node.module or ""
            if target.split(".")[0] == "omglib":
                found |= {f"{target}.{a.name}" if module_file(f"{target}.{a.name}").is_file() else target
                          for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "omglib"}
    return frozenset(found - {module})


def dependencies(*modules: str) -> list[str]:
    """``modules`` and every omglib module they import, directly or not, sorted."""
    seen, todo = set(), list(modules)
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(imports_of(module))
    return sorted(seen)


def _code(module: str) -> str:
    """A module's code without its docstrings (a reworded docstring changes no result)."""
    tree = ast.parse(module_file(module).read_text())
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree)


@functools.cache
def code_digest(*modules: str) -> str:
    """Digest of the code of ``modules`` and everything they import (`dependencies`)."""
    digest = hashlib.sha1()
    for module in dependencies(*modules):
        digest.update(f"{module}\n{_code(module)}\n".encode())
    return digest.hexdigest()[:12]
