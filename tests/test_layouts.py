"""Real datasets as researchers hold them: one tiny tree per release layout, built here from the
smoke surrogate's videos (real frames with faces), read by `omg data summary --json` and
pre-processed where the layout has faces."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from omglib.config import get_profile
from omglib.data.affwild import annotation_paths, write_values
from omglib.data.affwild2 import read_va_annotation, write_va_annotation
from omglib.data.omg import CSV_NAMES, ID_COLUMNS, OmgLayout
from omglib.data.roots import find
from omglib.data.store import FrameStore
from omglib.errors import OmgError
from omglib.landmarks import detect_landmarks
from omglib.preprocess.pipeline import iter_frames
from omglib.preprocess.run import incomplete, preprocess

SMOKE = get_profile("smoke").preprocess


def omg_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "omglib.cli", *args], capture_output=True, text=True)


def summary(root: Path, *extra: str) -> dict:
    """`omg data summary --json` of ``root``, by dataset."""
    done = omg_cli("data", "summary", "--data-root", str(root), "--json", *extra)
    assert done.returncode == 0, done.stderr
    return {d["dataset"]: d for d in json.loads(done.stdout)["datasets"]}


def link(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(src, dst)


def omg_copy(smoke: Path, dst: Path, folders: dict[str, str], unlabelled_test: bool = False) -> None:
    """The smoke OMG part with its videos under ``folders[split]``/<video>/<utterance>."""
    for split, names in CSV_NAMES.items():
        src = smoke / "omg" / names[0]
        frame = pd.read_csv(src)
        dst.mkdir(parents=True, exist_ok=True)
        if split == "test" and unlabelled_test:
            frame[list(ID_COLUMNS)].to_csv(dst / "omg_TestVideos_WithoutLabels.csv", index=False)
        else:
            shutil.copy(src, dst / names[0])
        for video in (smoke / "omg" / split).iterdir():
            for clip in video.iterdir():
                link(clip, dst.parent / folders[split] / video.name / clip.name)


def aff2_annotations(smoke: Path, folder: Path, sets: dict[str, str]) -> None:
    for split, name in sets.items():
        for txt in (smoke / "affwild2" / "annotations" / "VA_Set" / {"train": "Train_Set", "validation": "Validation_Set"}[split]).glob("*.txt"):
            link(txt, folder / name / txt.name)


def aff2_videos(smoke: Path, folder: Path) -> None:
    for video in (smoke / "affwild2" / "videos").glob("*.mp4"):
        link(video, folder / video.name)


def organisers_crops(video: Path, out: Path, skip: int) -> int:
    """112x112 face crops of every frame, as the ABAW organisers' cropped_aligned/ has them
    (00001.jpg is frame 0); frame ``skip`` and frames without a face get no image."""
    written = 0
    for index, _, rgb in iter_frames(video):
        landmarks = detect_landmarks(rgb)
        if index == skip or landmarks is None:
            continue
        (x0, y0), (x1, y1) = landmarks.min(0), landmarks.max(0)
        cx, cy, half = (x0 + x1) / 2, (y0 + y1) / 2, 0.65 * max(x1 - x0, y1 - y0)
        matrix = np.float32([[112 / (2 * half), 0, 56 - cx * 112 / (2 * half)], [0, 112 / (2 * half), 56 - cy * 112 / (2 * half)]])
        crop = cv2.warpAffine(rgb, matrix, (112, 112), borderMode=cv2.BORDER_REPLICATE)
        out.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(out / f"{index + 1:05d}.jpg"), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))
        written += 1
    return written


def test_official_omg_with_the_unlabelled_test_file_and_any_split_folders(smoke_data, tmp_path):
    smoke = smoke_data[0]
    omg_copy(smoke, tmp_path / "official" / "csv", {"train": "Videos/Train", "validation": "Videos/Validation",
                                                      "test": "Videos/Test"}, unlabelled_test=True)
    omg_copy(smoke, tmp_path / "val" / "OMG", {"train": "OMG/train", "validation": "OMG/val", "test": "OMG/test"})
    expected = {s: len(pd.read_csv(smoke / "omg" / CSV_NAMES[s][0])) for s in CSV_NAMES}
    for root in (tmp_path / "official", tmp_path / "val"):
        splits = summary(root)["omg"]["splits"]
        assert {s: (c["present"], c["missing"]) for s, c in splits.items()} == {s: (n, 0) for s, n in expected.items()}
    assert summary(tmp_path / "official")["omg"]["splits"]["test"]["labelled"] is False
    # the unlabelled test split is pre-processed (labels NaN) like the others
    stores = preprocess(tmp_path / "official", tmp_path / "frames", SMOKE, workers=2, progress=False)
    assert set(stores) == {"omg/train", "omg/validation", "omg/test"}
    test = stores["omg/test"]
    assert len(test.meta.units) == expected["test"] and test.index["valence"].isna().all()
    assert stores["omg/train"].index["valence"].notna().all()
    done = omg_cli("data", "summary", "--data-root", str(tmp_path / "official"))
    assert "unlabelled: test" in done.stdout and "OMG-Emotion, official CSVs, videos" in done.stdout


@pytest.mark.parametrize("release", ["ABAW1", "ABAW3", "named AffWild_ABAW6"])
def test_every_abaw_release_of_affwild2_in_its_wrapper_folders(smoke_data, tmp_path, release):
    smoke = smoke_data[0]
    if release == "ABAW1":
        root = tmp_path / "Aff-Wild2"
        aff2_annotations(smoke, root / "annotations" / "VA_Set", {"train": "Training_Set", "validation": "Validation_Set"})
        aff2_videos(smoke, root / "videos" / "batch1")
    elif release == "ABAW3":
        root = tmp_path / "download"
        labels = root / "3rd ABAW Annotations" / "Third ABAW Annotations" / "VA_Estimation_Challenge"
        aff2_annotations(smoke, labels, {"train": "Train_Set", "validation": "Validation_Set"})
        aff2_videos(smoke, root / "batch1")
        # the EXPR set beside it has Train_Set/ too, with another header: not Aff-Wild2's VA labels
        (labels.parent / "EXPR_Classification_Challenge" / "Train_Set").mkdir(parents=True)
        (labels.parent / "EXPR_Classification_Challenge" / "Train_Set" / "t1-25-640x360.txt").write_text(
            "Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise,Other\n0\n")
    else:
        root = tmp_path / "AffWild_ABAW6"
        aff2_annotations(smoke, root / "6th_ABAW_Annotations" / "VA_Estimation_Challenge", {"train": "Train_Set"})
        aff2_videos(smoke, root / "videos")
    found = summary(root)
    assert set(found) == {"affwild2"}  # never Aff-Wild from a folder's name
    assert found["affwild2"]["root"] == str(root)
    assert found["affwild2"]["splits"]["train"] == {"annotated": 2, "present": 2, "missing": 0, "from_videos": 2,
                                                    "from_crops": 0, "two_person": 0}
    assert release.split()[-1].split("_")[-1] in found["affwild2"]["layout"]
    done = omg_cli("preprocess", "--data-root", str(root), "--out", str(tmp_path / "frames"), "--profile", "smoke",
                   "--workers", "2", "--quiet")
    assert done.returncode == 0, done.stderr
    store = FrameStore.open(tmp_path / "frames" / "affwild2" / "train")
    assert store.meta.units == ["t1-25-640x360", "t2-25-640x360"] and store.meta.detection_rate > 0.9
    assert store.meta.layout == found["affwild2"]["layout"]


def test_affwild_2017_as_released_inside_a_folder_of_datasets(smoke_data, tmp_path):
    smoke = smoke_data[0]
    omg_copy(smoke, tmp_path / "datasets" / "OMG", {s: f"OMG/{s}" for s in CSV_NAMES})
    aff2_annotations(smoke, tmp_path / "datasets" / "affwild2" / "annotations" / "VA_Set", {"train": "Train_Set"})
    aff2_videos(smoke, tmp_path / "datasets" / "affwild2" / "batch1")
    shutil.copytree(smoke / "affwild", tmp_path / "datasets" / "Aff-Wild", symlinks=True,
                    ignore=shutil.ignore_patterns("synth_truth"))
    found = summary(tmp_path / "datasets")
    assert set(found) == {"omg", "affwild2", "affwild"}
    assert found["affwild"]["root"] == str(tmp_path / "datasets" / "Aff-Wild")
    assert {s: c["present"] for s, c in found["affwild"]["splits"].items()} == {"train": 1, "validation": 1}
    assert found["affwild2"]["splits"]["train"]["present"] == 2  # each dataset's videos in its own folder
    # Aff-Wild converted to the Aff-Wild2 layout: only the user can say what it is
    converted = tmp_path / "aw-converted"
    aff2_annotations(smoke, converted / "annotations" / "VA_Set", {"train": "Train_Set"})
    aff2_videos(smoke, converted / "videos")
    assert set(summary(converted)) == {"affwild2"}
    declared = summary(converted, "--dataset", "affwild")["affwild"]
    assert "declared" in declared["layout"] and declared["splits"]["train"]["present"] == 2


def test_a_two_person_video_gives_each_annotation_its_own_face(smoke_data, smoke_frames, tmp_path):
    smoke = smoke_data[0]
    left, right = (smoke / "affwild2" / "videos" / f"{n}-25-640x360.mp4" for n in ("t1", "t2"))
    frames = [(a, b) for (_, _, a), (_, _, b) in zip(iter_frames(left), iter_frames(right))]
    root = tmp_path / "two"
    (root / "videos").mkdir(parents=True)
    writer = cv2.VideoWriter(str(root / "videos" / "duo.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 25, (1280, 360))
    for a, b in frames:
        writer.write(cv2.cvtColor(np.hstack([a, b]), cv2.COLOR_RGB2BGR))
    writer.release()
    labels = root / "annotations" / "VA_Set" / "Train_Set"
    for side in ("left", "right"):
        write_va_annotation(labels / f"duo_{side}.txt", np.zeros((len(frames), 2), np.float32))
    assert summary(root)["affwild2"]["splits"]["train"]["two_person"] == 2
    store = preprocess(root, tmp_path / "frames", SMOKE, workers=2, progress=False)["affwild2/train"]
    assert store.meta.inputs == {"duo_left": "left", "duo_right": "right"}
    alone = FrameStore.open(smoke_frames / "affwild2" / "train")
    n = len(frames)

    def faces(s: FrameStore, video: str) -> np.ndarray:
        rows = np.flatnonzero(s.index["video"].to_numpy() == video)[:n]
        return s.faces[rows].astype(np.float32), s.index["valid"].to_numpy()[rows]

    (duo_l, ok_l), (duo_r, ok_r) = faces(store, "duo_left"), faces(store, "duo_right")
    (a, ok_a), (b, ok_b) = faces(alone, "t1-25-640x360"), faces(alone, "t2-25-640x360")
    both = ok_l & ok_r & ok_a & ok_b
    assert both.mean() > 0.8

    def diff(x, y):
        return float(np.abs(x[both] - y[both]).mean())

    assert diff(duo_l, duo_r) > 20  # two different faces
    assert diff(duo_l, a) < diff(duo_l, b) / 2 and diff(duo_r, b) < diff(duo_r, a) / 2  # each one's own


def test_cropped_aligned_frames_without_videos(smoke_data, tmp_path):
    smoke = smoke_data[0]
    root = tmp_path / "abaw"
    name = "t1-25-640x360"
    annotation = smoke / "affwild2" / "annotations" / "VA_Set" / "Train_Set" / f"{name}.txt"
    aff2_annotations(smoke, root / "annotations" / "VA_Set", {"train": "Train_Set"})
    (root / "annotations" / "VA_Set" / "Train_Set" / "t2-25-640x360.txt").unlink()
    written = organisers_crops(smoke / "affwild2" / "videos" / f"{name}.mp4", root / "cropped_aligned" / name, skip=3)
    found = summary(root)["affwild2"]
    assert "cropped_aligned frames" in found["layout"]
    assert found["splits"]["train"]["from_crops"] == 1 and found["splits"]["train"]["present"] == 1
    store = preprocess(root, tmp_path / "frames", SMOKE, workers=1, progress=False)["affwild2/train"]
    labels = read_va_annotation(annotation)
    assert len(store) == len(labels) and store.meta.inputs == {name: "crops"}  # image k is annotation row k
    assert not store.index["valid"].iloc[3]  # a missing number is a frame without a face
    assert store.index["valid"].sum() >= 0.9 * written
    np.testing.assert_array_equal(store.index["valence"].to_numpy(np.float32), labels[:, 0])
    assert store.faces.shape[1:] == (SMOKE.crop_size, SMOKE.crop_size, 3)
    # where a video exists too, the video is read unless the profile says crops
    aff2_videos(smoke, root / "videos")
    assert summary(root)["affwild2"]["splits"]["train"]["from_videos"] == 1
    crops = summary(root, "--set", "preprocess.frames_from=crops")["affwild2"]
    assert crops["splits"]["train"]["from_crops"] == 1


def test_two_label_folders_for_one_dataset_are_named_in_one_line(smoke_data, tmp_path):
    smoke = smoke_data[0]
    omg_copy(smoke, tmp_path / "a" / "OMG", {s: f"OMG/{s}" for s in CSV_NAMES})
    (tmp_path / "b").mkdir()
    shutil.copy(smoke / "omg" / "omg_TrainVideos.csv", tmp_path / "b" / "omg_TrainVideos.csv")
    with pytest.raises(OmgError, match=r"two OMG-Emotion label folders, .*a/OMG and .*b"):
        find(tmp_path)
    with pytest.raises(OmgError, match="no dataset found"):
        find(tmp_path / "a" / "OMG" / "train")  # videos without their labels


def test_a_corrected_label_makes_exactly_what_used_it_stale(smoke_data, smoke_frames, tmp_path):
    from omglib import experiments as X
    from omglib.experiments.pipeline import run_fingerprint

    data, frames = tmp_path / "data", tmp_path / "frames"
    shutil.copytree(smoke_data[0], data, symlinks=True, ignore=shutil.ignore_patterns("*.mp4", "synth_truth"))
    for video in smoke_data[0].rglob("*.mp4"):
        link(video, data / video.relative_to(smoke_data[0]))
    shutil.copytree(smoke_frames, frames)
    assert incomplete(data, frames, SMOKE) == []
    profile = get_profile("smoke")

    def prints():
        ctx = X.Context.create(profile, frames, tmp_path / "results", "cpu", progress=False)
        return {"omg": run_fingerprint(ctx, X.get(X.BEST_3RNN), 0, 0),
                "cnn affwild2": X.cnn_run(ctx, "vgg16", "affwild2", 0).fingerprint,
                "cnn affwild": X.cnn_run(ctx, "vgg16", "affwild", 0).fingerprint}

    before = prints()
    csv = data / "omg" / "omg_TrainVideos.csv"
    table = pd.read_csv(csv)
    table.loc[0, "valence"] = -table.loc[0, "valence"] + 0.01
    table.to_csv(csv, index=False)
    assert incomplete(data, frames, SMOKE) == ["omg/train"]
    preprocess(data, frames, SMOKE, workers=1, progress=False)  # from the parts on disk: no video is read again
    after = prints()
    assert after["omg"] != before["omg"] and after["cnn affwild2"] == before["cnn affwild2"]
    assert after["cnn affwild"] == before["cnn affwild"]
    # an Aff-Wild annotation: its store and the CNN pre-trained on it, nothing else
    valence = annotation_paths(data / "affwild" / "annotations", "train", "awt1-25-640x360")["valence"]
    values = np.loadtxt(valence)
    valence.unlink()
    write_values(valence, np.clip(values + 0.05, -1, 1))
    assert incomplete(data, frames, SMOKE) == ["affwild/train"]
    preprocess(data, frames, SMOKE, workers=1, progress=False)
    last = prints()
    assert last["cnn affwild"] != after["cnn affwild"]
    assert last["cnn affwild2"] == after["cnn affwild2"] and last["omg"] == after["omg"]


def test_evaluate_reads_what_the_official_script_reads(tmp_path):
    truth = tmp_path / "omg_TestVideos_WithLabels.csv"
    truth.write_text("link,start,end,video,utterance,arousal,valence,EmotionMaxVote\n"
                     + "".join(f"l,{i},{i + 1},v{i % 3},utterance_{i}.mp4,{0.1 * (i % 7)},{0.2 * (i % 5) - 0.4},3\n"
                               for i in range(12)))
    rows = [(f"v{i % 3}", f"utterance_{i}.mp4", 0.1 * (i % 7) + 0.05, 0.2 * (i % 5) - 0.35) for i in range(12)]
    rows[0] = (rows[0][0], rows[0][1], 1.08, rows[0][3])  # a regressor's arousal slightly outside [0, 1]
    readme_style = tmp_path / "pred.csv"  # the official README's example: a trailing comma on every row
    readme_style.write_text("video,utterance,arousal,valence,\n" + "".join(f"{v},{u},{a},{val},\n" for v, u, a, val in rows))
    extra = tmp_path / "extra.csv"
    extra.write_text("model,video,utterance,valence,arousal\n" + "".join(f"m,{v},{u},{val},{a}\n" for v, u, a, val in rows))
    scores = []
    for path in (readme_style, extra):
        done = omg_cli("evaluate", "--predictions", str(path), "--truth", str(truth), "--json", "--bootstrap", "50")
        assert done.returncode == 0, done.stderr
        assert "1 of 12 rows have a value outside" in done.stderr
        scores.append(json.loads(done.stdout)["ccc_valence"])
    assert scores[0] == scores[1] and 0.5 < scores[0] <= 1
    dropped = tmp_path / "dropped.csv"
    dropped.write_text("\n".join(readme_style.read_text().splitlines()[:-1]) + "\n")
    done = omg_cli("evaluate", "--predictions", str(dropped), "--truth", str(truth))
    assert done.returncode == 2 and "v2/utterance_11.mp4" in done.stderr
    doubled = tmp_path / "doubled.csv"
    doubled.write_text(readme_style.read_text() + "v0,utterance_0.mp4,0.5,0.5,\n")
    done = omg_cli("evaluate", "--predictions", str(doubled), "--truth", str(truth))
    assert done.returncode == 2 and "duplicate prediction for v0/utterance_0.mp4" in done.stderr


def test_omg_layout_finds_utterances_wherever_they_lie(tmp_path):
    (tmp_path / "csv").mkdir()
    (tmp_path / "csv" / "omg_TrainVideos.csv").write_text(
        "link,start,end,video,utterance,arousal,valence,EmotionMaxVote\nl,0,1,v1,utterance_1.mp4,0.5,0,4\n"
        "l,1,2,v1,utterance_2.mp4,0.5,0,4\n")
    link(Path(os.devnull), tmp_path / "clips" / "somewhere" / "v1" / "utterance_1.mp4")
    (omg,) = find(tmp_path)
    frame = omg.layout().read_split("train")
    assert frame["present"].tolist() == [True, False]
    assert frame["path"].iloc[0] == str(tmp_path / "clips" / "somewhere" / "v1" / "utterance_1.mp4")
    assert OmgLayout(tmp_path / "csv").read_split("train")["present"].tolist() == [False, False]  # outside its own folder
