"""The locked environment: its hash and differences are recorded, and `make env` installs from it."""

import hashlib
import subprocess
from importlib import metadata

from omglib.provenance import LOCK, REPO, environment_lock, locked_versions


def test_the_lock_pins_the_projects_dependencies():
    pins = locked_versions()
    for name in ("torch", "torchvision", "numpy", "jupyter-book", "papermill", "pytest", "onnxruntime"):
        assert name in pins, name
    assert not any(name == "omglib" for name in pins)


def test_environment_lock_records_hash_and_differences(tmp_path):
    record = environment_lock()
    assert record["lock_sha256"] == hashlib.sha256(LOCK.read_bytes()).hexdigest()
    assert record["torch"].split("+")[0] == metadata.version("torch")
    lock = tmp_path / "lock.txt"
    lock.write_text(f"# a comment\nnumpy=={metadata.version('numpy')}\nnot-installed-package==1.0\nTorch_Vision==0.0.1\n")
    record = environment_lock(lock)
    assert record["lock_sha256"] == hashlib.sha256(lock.read_bytes()).hexdigest()
    assert record["differs_from_lock"] == ["not-installed-package: locked 1.0, installed none",
                                           "torch-vision: locked 0.0.1, installed none"]
    assert environment_lock(tmp_path / "absent.txt")["lock_sha256"] is None


def test_make_env_installs_with_the_lock_and_rebuilds_when_it_changes(tmp_path):
    plan = subprocess.run(["make", "-n", "env", f"VENV={tmp_path / 'venv'}"], cwd=REPO, capture_output=True,
                          text=True, check=True).stdout
    assert f'pip install --quiet -c {LOCK.relative_to(REPO)} ".[book,test]"' in plan
    rules = (REPO / "Makefile").read_text()
    assert "$(DEPS_STAMP): pyproject.toml $(LOCK)" in rules and "cat pyproject.toml $(LOCK) | sha1sum" in rules
