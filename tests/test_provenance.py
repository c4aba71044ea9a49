"""The locked environment: its hash and differences are recorded, and `make env` installs from it."""

import hashlib
import shutil
import subprocess
from importlib import metadata

import pytest

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


@pytest.fixture
def package_copy(tmp_path, monkeypatch):
    """A copy of the omglib sources that `omglib.provenance` reads instead of the real ones."""
    from omglib import provenance

    copy = tmp_path / "omglib"
    shutil.copytree(provenance.PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(provenance, "PACKAGE", copy)
    for cached in (provenance.imports_of, provenance.code_digest):
        cached.cache_clear()
    yield copy
    monkeypatch.undo()
    for cached in (provenance.imports_of, provenance.code_digest):
        cached.cache_clear()


def test_a_result_is_stale_exactly_when_code_it_runs_changes(smoke_run, package_copy):
    from omglib import experiments as X
    from omglib import provenance

    ctx, _ = smoke_run
    exp = X.get(X.BEST_3RNN)

    def touched(module: str, text: str | tuple) -> str:
        path = package_copy / module
        path.write_text(path.read_text().replace(*text) if isinstance(text, tuple) else path.read_text() + text)
        for cached in (provenance.imports_of, provenance.code_digest):
            cached.cache_clear()
        return X.status(ctx, exp, 0)

    assert X.status(ctx, exp, 0) == "current"
    assert touched("trace.py", "\n\ndef unused():\n    return 1\n") == "current"  # a result never runs trace.py
    assert touched("train.py", ('"""', '"""A reworded docstring. ', 1)) == "current"  # docstrings decide nothing
    assert touched("data/omg.py", "\n\nEXTRA = 1\n") == "stale"  # imported by the results layer: found, not listed


def test_a_store_records_the_code_that_made_it(package_copy):
    from omglib import provenance
    from omglib.data.store import code_of
    from omglib.preprocess.pipeline import process_unit

    before = code_of(process_unit)
    (package_copy / "experiments" / "pipeline.py").write_text("# not pre-processing\n")
    provenance.code_digest.cache_clear()
    assert code_of(process_unit) == before
    align = package_copy / "preprocess" / "align.py"
    align.write_text(align.read_text() + "\n\nEXTRA = 1\n")
    provenance.code_digest.cache_clear()
    assert code_of(process_unit) != before
