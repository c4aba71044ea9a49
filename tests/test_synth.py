import json
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from omglib.config import SplitCounts, get_profile
from omglib.data.roots import find
from omglib.data.omg import OmgLayout
from omglib.landmarks import detect_landmarks
from omglib.synth.generate import generate


def _frames(path):
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            return frames, capture.get(cv2.CAP_PROP_FPS)
        frames.append(frame)


def test_omg_layout_csvs_and_frame_counts(smoke_data):
    out, manifest = smoke_data
    utterances = OmgLayout(out / "omg").read_all()
    assert utterances["present"].all()
    cfg = get_profile("smoke").synth
    for split, count in cfg.omg_videos.items():
        assert utterances.query("split == @split")["video"].nunique() == count
        assert manifest["counts"]["omg"][split]["utterances"] == (utterances["split"] == split).sum()
    for row in utterances.itertuples():
        frames, fps = _frames(row.path)
        assert fps == cfg.fps
        assert len(frames) == round((row.end - row.start) * cfg.fps), row.path
        assert frames[0].shape == (cfg.frame_size[1], cfg.frame_size[0], 3)
    durations = utterances.eval("end - start") / cfg.duration_scale
    assert 3.0 < durations.mean() < 12.0


def test_dlib_finds_the_face_where_it_is_meant_to_be_visible(smoke_data):
    out, _ = smoke_data
    found = visible = 0
    for truth_path in sorted((out / "omg" / "synth_truth").rglob("*.npz")):
        truth = np.load(truth_path)
        split, video = truth_path.parent.name, truth_path.stem
        for index, name in enumerate(truth["files"]):
            frames, _ = _frames(out / "omg" / split / video / name)
            flags = truth["visible"][truth["segment"] == index]
            for frame, flag in list(zip(frames, flags))[::3]:
                if flag:
                    visible += 1
                    found += detect_landmarks(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)) is not None
    assert visible > 200
    assert found / visible >= 0.95, f"dlib found {found} of {visible} visible faces"


def test_truth_landmarks_agree_with_dlib(smoke_data):
    out, _ = smoke_data
    truth_path = sorted((out / "omg" / "synth_truth" / "train").glob("*.npz"))[0]
    truth = np.load(truth_path)
    frames, _ = _frames(out / "omg" / "train" / truth_path.stem / truth["files"][0])
    errors = []
    for i in range(0, len(frames), 5):
        found = detect_landmarks(cv2.cvtColor(frames[i], cv2.COLOR_BGR2RGB))
        if found is not None and truth["visible"][i]:
            iod = np.linalg.norm(truth["landmarks"][i][36:42].mean(0) - truth["landmarks"][i][42:48].mean(0))
            errors.append(np.linalg.norm(found - truth["landmarks"][i], axis=1).mean() / iod)
    assert errors and np.median(errors) < 0.15  # dlib and the renderer agree to ~a tenth of the eye distance


def test_affwild2_layout_and_unannotated_frames(smoke_data):
    out, manifest = smoke_data
    layouts = {found.dataset: found.layout() for found in find(out)}
    assert (out / "affwild" / "annotations" / "train" / "valence").is_dir()  # Aff-Wild in its own layout
    for dataset in ("affwild2", "affwild"):
        entries = layouts[dataset].read_all()
        assert entries["present"].all() and len(entries) == sum(manifest["counts"][dataset][s]["videos"] for s in manifest["counts"][dataset])
        for row in entries.itertuples():
            va = layouts[dataset].read_labels(row)
            frames, _ = _frames(row.path)
            assert len(va) == len(frames)
            truth = np.load(out / dataset / "synth_truth" / row.split / f"{row.name}.npz")
            assert np.isnan(va[~truth["visible"]]).all()  # no face, no label (-5 on disk)
            assert np.isfinite(va).mean() > 0.5


def test_identities_never_cross_splits(smoke_data):
    out, _ = smoke_data
    utterances = OmgLayout(out / "omg").read_all()
    assert utterances.groupby("video")["split"].nunique().max() == 1
    names = [p.stem for p in (out / "affwild2" / "synth_truth").rglob("*.npz")]
    assert len(names) == len(set(names))


def test_rerun_skips_complete_videos_and_repairs_damaged_ones(smoke_data, tmp_path):
    out, manifest = smoke_data
    again = generate(get_profile("smoke"), out, workers=1, progress=False)
    assert again["run"]["frames_rendered"] == 0
    assert again["checksums"] == manifest["checksums"]
    victim = sorted((out / "omg" / "test").rglob("*.mp4"))[0]
    victim.write_bytes(victim.read_bytes()[:1000])  # a truncated file, as after a crash
    (out / "affwild" / "synth_truth" / "train").joinpath(
        sorted((out / "affwild" / "synth_truth" / "train").glob("*.npz"))[0].name).unlink()
    repaired = generate(get_profile("smoke"), out, workers=1, progress=False)
    assert 0 < repaired["run"]["frames_rendered"] < sum(c["frames"] for d in manifest["counts"].values() for c in d.values())
    assert repaired["checksums"] == manifest["checksums"]  # deterministic: the same bytes again


def test_manifest_and_label_ceiling(smoke_data):
    out, manifest = smoke_data
    on_disk = json.loads((out / "manifest.json").read_text())
    assert on_disk["checksums"] == manifest["checksums"] and on_disk["seed"] == 0
    assert on_disk["profile"] == "smoke" and on_disk["synth"]["fps"] == 25.0 and on_disk["generator_version"]
    for split, ceiling in on_disk["label_ceiling_ccc"].items():
        assert -1 < ceiling["valence"] < 1 and -1 < ceiling["arousal"] < 1


def test_other_profile_in_same_folder_is_refused(smoke_data):
    from omglib.errors import OmgError

    out, _ = smoke_data
    with pytest.raises(OmgError, match="different seed"):
        generate(get_profile("smoke"), out, seed=7, progress=False)


def test_labels_from_official_csvs(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    header = "link,start,end,video,utterance,arousal,valence,EmotionMaxVote\n"
    for name, video in (("omg_TrainVideos.csv", "aaa"), ("omg_ValidationVideos.csv", "bbb"), ("omg_TestVideos_WithLabels.csv", "ccc")):
        (real / name).write_text(header + f"l,10.0,12.0,{video},utterance_3.mp4,0.8,-0.6,0\n"
                                          f"l,12.5,15.5,{video},utterance_4.mp4,0.2,0.7,3\n")
    smoke = get_profile("smoke")
    tiny = replace(smoke, synth=replace(smoke.synth, omg_videos=SplitCounts(1, 1, 1),
                                        affwild2_videos=SplitCounts(0, 0, 0), affwild_videos=SplitCounts(0, 0, 0)))
    out = tmp_path / "out"
    generate(tiny, out, workers=1, labels_from=real, progress=False)
    train = OmgLayout(out / "omg").read_split("train")
    assert train["video"].tolist() == ["aaa", "aaa"] and train["utterance"].tolist() == ["utterance_3.mp4", "utterance_4.mp4"]
    assert train["valence"].tolist() == pytest.approx([-0.6, 0.7]) and train["arousal"].tolist() == pytest.approx([0.6, -0.6])
    assert train["start"].tolist() == pytest.approx([10.0, 10.0 + 2.5 * smoke.synth.duration_scale])
    truth = np.load(out / "omg" / "synth_truth" / "train" / "aaa.npz")
    means = pd.DataFrame(truth["latent"]).groupby(truth["segment"]).mean().to_numpy()
    np.testing.assert_allclose(means, [[-0.6, 0.6], [0.7, -0.6]], atol=0.05)  # the faces follow the real labels


def test_killed_run_resumes_to_the_same_bytes(smoke_data, tmp_path):
    _, clean = smoke_data
    out = tmp_path / "killed"
    job = subprocess.Popen([sys.executable, "-m", "omglib.cli", "synth", "--profile", "smoke", "--out", str(out),
                            "--workers", "1", "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    def finished() -> list[Path]:  # truth files renamed into place, not temporaries still being written
        return [p for p in out.rglob("synth_truth/*/*.npz") if not p.name.startswith(".")]

    while not finished() and time.time() < deadline:
        time.sleep(0.05)
    job.send_signal(signal.SIGKILL)
    job.wait()
    assert not (out / "manifest.json").exists()  # it really died mid-run
    resumed = generate(get_profile("smoke"), out, workers=2, progress=False)
    assert 0 < resumed["run"]["frames_rendered"] < sum(c["frames"] for d in clean["counts"].values() for c in d.values())
    assert resumed["checksums"] == clean["checksums"]
    assert not list(out.rglob(".*.tmp*"))


def test_out_must_be_a_folder(tmp_path):
    from omglib.errors import OmgError

    (tmp_path / "file").write_text("x")
    with pytest.raises(OmgError, match="is a file"):
        generate(get_profile("smoke"), tmp_path / "file", progress=False)


def test_a_surrogate_of_aff_wild2_alone(tmp_path):
    """benchmarks/pretraining_faces.py generates Aff-Wild2 sets without OMG videos."""
    smoke = get_profile("smoke")
    alone = replace(smoke, synth=replace(smoke.synth, omg_videos=SplitCounts(0, 0, 0), affwild_videos=SplitCounts(0, 0, 0),
                                         affwild2_videos=SplitCounts(2, 0, 0), affwild2_frames=(5, 6)))
    manifest = generate(alone, tmp_path, workers=1, progress=False)
    assert list(manifest["counts"]) == ["affwild2"] and manifest["counts"]["affwild2"]["train"]["videos"] == 2
    assert 10 <= manifest["counts"]["affwild2"]["train"]["frames"] <= 12
    assert not (tmp_path / "omg").exists() and len(list((tmp_path / "affwild2" / "videos").glob("*.mp4"))) == 2
