"""Profile overrides (`omg ... --set SECTION.FIELD=VALUE`, a notebook's ``overrides``)."""

import subprocess
import sys

import pytest

from omglib import book
from omglib import experiments as X
from omglib.config import SplitCounts, get_profile, override
from omglib.errors import OmgError
from omglib.experiments.pipeline import run_fingerprint, start_of
from omglib.models.weights import StartingWeights


def test_overrides_are_parsed_by_the_fields_types_and_recorded():
    p = get_profile("quick", ["train.epochs=1", "model.gru_hidden=64", "preprocess.crop_size=96", "model.tap_pool=none",
                              "synth.omg_videos=4,2,2", "train.median_windows=1,3", "train.augment=yes", "seeds=0,1",
                              "train.lr_cnn=3e-4", "train.strategy=end-to-end"])
    assert (p.train.epochs, p.model.gru_hidden, p.preprocess.crop_size, p.model.tap_pool) == (1, 64, 96, None)
    assert p.synth.omg_videos == SplitCounts(4, 2, 2) and p.train.median_windows == (1, 3) and p.train.augment is True
    assert p.seeds == (0, 1) and p.train.lr_cnn == 3e-4 and p.train.strategy == "end-to-end"
    assert "train.epochs=1" in p.overrides and "model.tap_pool=none" in p.overrides
    assert p.to_dict()["overrides"] == p.overrides  # in metrics.json's config and every fingerprint
    # a notebook's dict, with JSON values; a later setting of one name wins
    q = get_profile("smoke", {"train.loss_weights": [1, 0], "model.landmarks": False})
    assert q.train.loss_weights == (1.0, 0.0) and q.model.landmarks is False
    assert override(q, ["model.landmarks=true"]).model.landmarks is True
    assert get_profile("quick").overrides == () and get_profile("quick", {}) == get_profile("quick")


@pytest.mark.parametrize("setting, message", [
    ("train.epochs=x", "train.epochs takes an integer"),
    ("train.epochs=1.5", "takes an integer"),
    ("train.epoch=1", "no field 'epoch'; valid: seq_len, batch_size"),
    ("optim.lr=1", "SECTION one of synth, preprocess, model, train"),
    ("train.strategy=fast", "one of end-to-end, frozen"),
    ("train.precision=fp16", "one of auto, bf16, fp32"),
    ("model.tap_pool=1.5", "an integer or none"),
    ("train.loss_weights=1", "2 comma-separated values"),
    ("train.augment=maybe", "true or false"),
    ("synth.omg_videos=4,2", "3 comma-separated values (train, validation, test)"),
    ("epochs", "write SECTION.FIELD=VALUE"),
])
def test_unknown_names_and_bad_values_are_refused_with_the_choices(setting, message):
    with pytest.raises(OmgError, match=message.replace("(", r"\(").replace(")", r"\)")):
        get_profile("quick", [setting])


def test_the_command_line_refuses_a_bad_setting_in_one_line():
    done = subprocess.run([sys.executable, "-m", "omglib.cli", "models", "--set", "model.gru_hiden=8"],
                          capture_output=True, text=True)
    assert done.returncode == 2 and "no field 'gru_hiden'" in done.stderr and len(done.stderr.splitlines()) == 1


def test_overridden_runs_get_their_own_folders_and_fingerprints(smoke_frames, tmp_path):
    plain = get_profile("smoke")
    changed = get_profile("smoke", ["train.epochs=1"])
    assert plain.label() == "smoke" and changed.label().startswith("smoke+") and changed.label("synth") == "smoke"
    assert get_profile("smoke", ["synth.fps=10"]).label("synth") != "smoke"
    assert get_profile("smoke", ["seeds=0"]).label() == "smoke"  # training seeds have folders of their own
    assert get_profile("smoke", ["train.epochs=3"]).label() == "smoke"  # the profile's own value: its own folder
    a = X.Context.create(plain, smoke_frames, tmp_path, "cpu", progress=False)
    b = X.Context.create(changed, smoke_frames, tmp_path, "cpu", progress=False)
    assert a.folder != b.folder
    exp = X.get("VGG-Face")
    assert run_fingerprint(a, exp, 0, 0) != run_fingerprint(b, exp, 0, 0)
    # choosing seeds is not a change of recipe: seed 0 is the same run with or without --set seeds=0
    c = X.Context.create(get_profile("smoke", ["seeds=0"]), smoke_frames, tmp_path, "cpu", progress=False)
    assert run_fingerprint(a, exp, 0, 0) == run_fingerprint(c, exp, 0, 0)
    # the surrogate and FrameStore folders follow the data-changing overrides only
    assert book.Settings("smoke", overrides={"train.epochs": 1}).root().name == "synth-smoke"
    assert book.Settings("smoke", overrides={"synth.fps": 10}).root().name.startswith("synth-smoke+")


def test_the_paper_profile_refuses_random_vgg_weights_unless_told(smoke_frames, tmp_path):
    paper = X.Context.create(get_profile("paper", [f"train.weights_dir={tmp_path}"]), smoke_frames, tmp_path, "cpu",
                             progress=False)
    with pytest.raises(OmgError, match=r"omg weights import vgg-face .*--set train.start=random"):
        start_of(paper, "VGG-Face")
    allowed = X.Context.create(get_profile("paper", ["train.start=random"]), smoke_frames, tmp_path, "cpu", progress=False)
    assert start_of(allowed, "VGG-Face") == (None, StartingWeights("random", "VGG-Face"))
    # the record is part of the CNN's fingerprint: a changed start re-runs it
    smoke = X.Context.create(get_profile("smoke"), smoke_frames, tmp_path, "cpu", progress=False)
    assert start_of(smoke, "VGG-Face")[1].identity() == ("random", None)
