"""Shared fixtures: the official OMG label CSVs (optional) and one smoke surrogate dataset."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
OMG_LABELS = Path(os.environ.get("OMG_LABELS", REPO.parent / "shared" / "omg-labels"))


@pytest.fixture(scope="session")
def omg_labels() -> Path:
    """Folder with the official OMG CSVs; tests that need it skip when it is absent."""
    if not (OMG_LABELS / "omg_TrainVideos.csv").is_file():
        pytest.skip(f"official OMG CSVs not found at {OMG_LABELS} (set OMG_LABELS to their folder)")
    return OMG_LABELS


@pytest.fixture(scope="session")
def smoke_data(tmp_path_factory) -> tuple[Path, dict]:
    """`omg synth --profile smoke` output, generated once for the session, with its manifest."""
    from omglib.config import get_profile
    from omglib.synth.generate import generate

    out = tmp_path_factory.mktemp("synth")
    manifest = generate(get_profile("smoke"), out, workers=2, progress=False)
    return out, manifest


@pytest.fixture(scope="session")
def smoke_stores(smoke_data, tmp_path_factory):
    """The smoke surrogate's OMG part pre-processed (clean, uninterrupted run)."""
    from omglib.config import get_profile
    from omglib.preprocess.run import preprocess

    out = tmp_path_factory.mktemp("pre")
    return out, preprocess(smoke_data[0] / "omg", out, get_profile("smoke").preprocess, workers=2, progress=False)


@pytest.fixture(scope="session")
def smoke_frames(smoke_data, tmp_path_factory) -> Path:
    """All of the smoke surrogate (OMG, Aff-Wild2, Aff-Wild) pre-processed: a FrameStore root."""
    from omglib.config import get_profile
    from omglib.preprocess.run import preprocess

    out = tmp_path_factory.mktemp("frames")
    preprocess(smoke_data[0], out, get_profile("smoke").preprocess, workers=2, progress=False)
    return out


@pytest.fixture(scope="session")
def smoke_run(smoke_frames, tmp_path_factory):
    """The paper's best CNN-3RNN trained at the smoke profile (both seeds): (context, summary)."""
    from omglib import experiments as X
    from omglib.config import get_profile

    ctx = X.Context.create(get_profile("smoke"), smoke_frames, tmp_path_factory.mktemp("results"), device="cpu",
                           progress=False, workers=2)
    return ctx, X.run(ctx, [X.BEST_3RNN])[X.BEST_3RNN]
