import signal
import subprocess
import sys
import time

import cv2
import numpy as np
import pandas as pd
import pytest

from omglib.config import PreprocessConfig, get_profile
from omglib.data.store import FrameStore, Unit, build_store
from omglib.preprocess.pipeline import process_unit
from omglib.errors import DataError, OmgError
from omglib.preprocess.align import align, procrustes, template
from omglib.preprocess.pipeline import FaceTracker, iter_frames, process_video
from omglib.preprocess.run import preprocess
from omglib.synth.face import TILE, Identity, build_assets, render_face
from omglib.synth.video import _composite


@pytest.fixture(scope="module")
def face():
    assets = build_assets(Identity.draw(np.random.default_rng(0)))
    rgb, landmarks = render_face(assets, np.zeros(6, np.float32), np.zeros(4, np.float32))
    return assets, rgb, landmarks


def frame_with(faces, size=(640, 360)):
    """A grey frame with the neutral face placed at each (angle deg, scale, centre x, centre y)."""
    assets, rgb, landmarks = faces[0]
    frame = np.full((size[1], size[0], 3), 120, np.float32)
    placed = []
    for angle, scale, cx, cy in faces[1]:
        theta = np.deg2rad(angle)
        rot = scale * np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
        offset = np.array([cx, cy]) - rot @ [TILE / 2, TILE / 2]
        _composite(frame, rgb, assets.alpha, rot, offset)
        placed.append(landmarks @ rot.T + offset)
    return frame.astype(np.uint8), placed


def test_procrustes_recovers_a_known_similarity():
    rng = np.random.default_rng(0)
    for _ in range(20):
        theta, scale, shift = rng.uniform(-np.pi, np.pi), rng.uniform(0.2, 5), rng.uniform(-200, 200, 2)
        rotation = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
        src = template(96) + rng.normal(0, 3, (5, 2))
        matrix = procrustes(src, src @ (scale * rotation).T + shift)
        np.testing.assert_allclose(matrix[:, :2], scale * rotation, atol=1e-6)
        np.testing.assert_allclose(matrix[:, 2], shift, atol=1e-6)


@pytest.mark.parametrize("angle,scale,cx,cy", [(-30, 1.0, 320, 180), (30, 0.8, 440, 140), (-15, 1.3, 220, 210),
                                               (0, 0.9, 320, 180), (20, 1.2, 400, 200), (30, 1.3, 250, 190)])
def test_aligned_eyes_land_on_the_template(face, angle, scale, cx, cy):
    frame, _ = frame_with((face, [(angle, scale, cx, cy)]))
    landmarks = FaceTracker(PreprocessConfig())(frame)
    assert landmarks is not None
    _, moved, _ = align(frame, landmarks, 96)
    assert np.linalg.norm(moved[36:42].mean(0) - template(96)[0]) < 2.0
    assert np.linalg.norm(moved[42:48].mean(0) - template(96)[1]) < 2.0


def test_no_face_half_face_and_two_faces(face):
    empty, _ = frame_with((face, []))
    assert FaceTracker(PreprocessConfig())(empty) is None
    half, truth = frame_with((face, [(0, 1.0, 640, 180)]))  # the face cut by the right edge
    found = FaceTracker(PreprocessConfig())(half)
    if found is not None:  # a detector may still take it; then the landmarks must be on that face
        assert np.abs(found[:8] - truth[0][:8]).mean() < 10
    two, truth = frame_with((face, [(0, 0.7, 170, 180), (0, 1.2, 450, 180)]))
    big = FaceTracker(PreprocessConfig())(two)
    assert np.abs(big - truth[1]).mean() < 5  # the largest face, not whichever comes first
    tracker = FaceTracker(PreprocessConfig(detect_every=1))
    tracker.previous = truth[0]  # the subject so far was the small face
    assert np.abs(tracker(two) - truth[0]).mean() < 5  # consistency with previous frames wins


def test_frame_folder_and_unreadable_inputs(tmp_path, face):
    frames = tmp_path / "frames"
    frames.mkdir()
    for i, angle in enumerate((0, 5, 10)):
        cv2.imwrite(str(frames / f"{i:05d}.png"), frame_with((face, [(angle, 1.0, 320, 180)]))[0])
    result = process_video(frames, PreprocessConfig(crop_size=64))
    assert result.faces.shape == (3, 64, 64, 3) and result.valid.all()
    (tmp_path / "broken.mp4").write_bytes(b"not a video at all")
    with pytest.raises(DataError, match="broken.mp4"):
        list(iter_frames(tmp_path / "broken.mp4"))
    with pytest.raises(DataError, match="not found"):
        list(iter_frames(tmp_path / "gone.mp4"))


def test_truncated_video_keeps_what_was_read(tmp_path, face):
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (640, 360))
    for angle in range(30):
        writer.write(frame_with((face, [(angle - 15, 1.0, 320, 180)]))[0])
    writer.release()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    result = process_video(path, PreprocessConfig(crop_size=64))
    assert 0 < result.stats["frames"] < 30 and result.stats["truncated"]["expected"] == 30


def test_store_interface_and_detection_rate(smoke_data, smoke_stores):
    out, stores = smoke_stores
    store = FrameStore.open(out / "omg" / "train")
    size = get_profile("smoke").preprocess.crop_size
    assert store.faces.dtype == np.uint8 and store.faces.shape[1:] == (size, size, 3)
    assert store.landmarks.dtype == np.float32 and store.landmarks.shape[1:] == (68, 2)
    assert {"video", "utterance", "frame", "valid", "valence", "arousal"} <= set(store.index.columns)
    faces, _ = store.load(np.flatnonzero(store.index["valid"])[:5])
    assert faces.dtype == np.float32 and faces.min() >= -1 and faces.max() <= 1
    visible, valid = [], []
    for name, s in stores.items():
        split = name.split("/")[1]
        for truth_path in sorted((smoke_data[0] / "omg" / "synth_truth" / split).glob("*.npz")):
            truth = np.load(truth_path)
            for i, name in enumerate(truth["files"]):
                rows = s.index[(s.index["video"] == truth_path.stem) & (s.index["utterance"] == name)]
                visible.append(truth["visible"][truth["segment"] == i])
                valid.append(rows["valid"].to_numpy())
    visible, valid = np.concatenate(visible), np.concatenate(valid)
    assert valid[visible].mean() >= 0.95
    assert s.meta.detection_rate_per_video and 0 <= s.meta.detection_rate <= 1


def test_missing_and_corrupt_videos_are_reported_not_fatal(smoke_data, tmp_path):
    src = smoke_data[0] / "omg"
    root = tmp_path / "omg"
    utterances = pd.read_csv(src / "omg_TestVideos_WithLabels.csv")
    utterances.to_csv(root.mkdir() or root / "omg_TestVideos_WithLabels.csv", index=False)
    rows = list(utterances.itertuples())
    good, corrupt = rows[0], rows[1]  # the rest stay missing
    for row in (good, corrupt):
        (root / "test" / row.video).mkdir(parents=True, exist_ok=True)
    (root / "test" / good.video / good.utterance).write_bytes((src / "test" / good.video / good.utterance).read_bytes())
    (root / "test" / corrupt.video / corrupt.utterance).write_bytes(b"garbage")
    store = preprocess(root, tmp_path / "pre", get_profile("smoke").preprocess, workers=1, progress=False)["omg/test"]
    assert store.meta.units == [f"{good.video}__{good.utterance[:-4]}"]
    assert len(store.meta.failed) == 1 and "OpenCV cannot open" in next(iter(store.meta.failed.values()))
    assert len(store.meta.missing_videos) == len(rows) - 2


def test_killed_preprocess_resumes_to_the_same_store(smoke_data, smoke_stores, tmp_path):
    clean_out, _ = smoke_stores
    out = tmp_path / "killed"
    job = subprocess.Popen([sys.executable, "-m", "omglib.cli", "preprocess", "--data-root", str(smoke_data[0] / "omg"),
                            "--out", str(out), "--profile", "smoke", "--workers", "1", "--quiet"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while len(list(out.rglob("parts/*/*.npz"))) < 3 and time.time() < deadline:
        time.sleep(0.05)
    job.send_signal(signal.SIGKILL)
    job.wait()
    assert not (out / "omg" / "test" / "meta.json").exists()  # killed before the end
    preprocess(smoke_data[0] / "omg", out, get_profile("smoke").preprocess, workers=2, progress=False)
    for split in ("train", "validation", "test"):
        a, b = FrameStore.open(clean_out / "omg" / split), FrameStore.open(out / "omg" / split)
        np.testing.assert_array_equal(a.faces, b.faces)
        np.testing.assert_array_equal(a.landmarks, b.landmarks)
        pd.testing.assert_frame_equal(a.index, b.index)


def test_unknown_root_and_incomplete_store(tmp_path):
    with pytest.raises(OmgError, match="no dataset found"):
        preprocess(tmp_path, tmp_path / "out", PreprocessConfig())
    with pytest.raises(OmgError, match="not a complete FrameStore"):
        FrameStore.open(tmp_path)
    with pytest.raises(OmgError, match="no video could be pre-processed"):
        build_store([Unit("x", tmp_path / "none.mp4", "x", "", np.nan, np.nan)], tmp_path / "s", PreprocessConfig().to_dict(),
                    process_unit, progress=False)


def assert_same_store(a: FrameStore, b: FrameStore) -> None:
    np.testing.assert_array_equal(a.faces, b.faces)
    np.testing.assert_array_equal(a.landmarks, b.landmarks)
    pd.testing.assert_frame_equal(a.index, b.index)
    same = ("config", "units", "frames", "valid_frames", "detection_rate_per_video", "failed", "searches", "missing_videos")
    assert {k: getattr(a.meta, k) for k in same} == {k: getattr(b.meta, k) for k in same}


def test_two_shards_then_a_merge_equal_one_run(smoke_data, smoke_stores, tmp_path):
    from omglib.preprocess.run import merge, preprocess_shard

    _, clean = smoke_stores
    root, out, config = smoke_data[0] / "omg", tmp_path / "sharded", get_profile("smoke").preprocess
    first = subprocess.run([sys.executable, "-m", "omglib.cli", "preprocess", "--data-root", str(root), "--out", str(out),
                            "--profile", "smoke", "--workers", "1", "--quiet", "--shard", "1/2"], capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    assert "--merge" in first.stdout and not list(out.rglob("meta.json"))
    after_first = {p.name for p in out.rglob("parts/*/*.npz")}
    with pytest.raises(OmgError, match=r"videos have no part yet .* --shard I/N"):
        merge(root, out, config)
    done = preprocess_shard(root, out, config, (2, 2), workers=2, progress=False)
    after_second = {p.name for p in out.rglob("parts/*/*.npz")}
    assert after_first and after_first < after_second  # each shard did a part of the work
    assert sum(ok for ok, _, _ in done.values()) == len(after_second) - len(after_first)
    merged = merge(root, out, config)
    assert set(merged) == set(clean) == {"omg/train", "omg/validation", "omg/test"}
    for name in merged:
        assert_same_store(clean[name], FrameStore.open(out / name))
    with pytest.raises(OmgError, match="--shard 3/2: write I/N"):
        from omglib.preprocess.run import parse_shard

        parse_shard("3/2")


def tiny_roots(smoke_data, folder):
    """One utterance video per OMG split and one Aff-Wild train video (its 2017 layout), copied
    out of the smoke surrogate."""
    import shutil

    from omglib.data.affwild import annotation_paths

    src = smoke_data[0]
    omg = folder / "OMG-Emotion"
    omg.mkdir(parents=True)
    for csv in sorted((src / "omg").glob("omg_*.csv")):
        rows = pd.read_csv(csv).head(1)
        rows.to_csv(omg / csv.name, index=False)
        split = {"omg_TrainVideos.csv": "train", "omg_ValidationVideos.csv": "validation"}.get(csv.name, "test")
        video = omg / split / rows.video[0] / rows.utterance[0]
        video.parent.mkdir(parents=True)
        shutil.copy(src / "omg" / split / rows.video[0] / rows.utterance[0], video)
    aff = folder / "aw"
    name = min(p.stem for p in (src / "affwild" / "annotations" / "train" / "valence").glob("*.txt"))
    for dimension, path in annotation_paths(aff / "annotations", "train", name).items():
        path.parent.mkdir(parents=True)
        shutil.copy(annotation_paths(src / "affwild" / "annotations", "train", name)[dimension], path)
    (aff / "videos" / "train").mkdir(parents=True)
    shutil.copy(src / "affwild" / "videos" / "train" / f"{name}.mp4", aff / "videos" / "train" / f"{name}.mp4")
    return omg, aff


def test_every_form_of_data_root_lands_in_dataset_split(smoke_data, tmp_path):
    from omglib.book import Settings, context, omg_layout
    from omglib.data.roots import find

    omg, aff = tiny_roots(smoke_data, tmp_path / "data")
    config, frames = get_profile("smoke").preprocess, tmp_path / "frames"
    # an OMG root, through `omg run`'s path: pre-processed into <frames>/omg/<split>, found there
    ctx = context(Settings("smoke", omg, frames, tmp_path / "results", "cpu", progress=False))
    assert ctx.store("omg", "test").meta.units and not (frames / "test").exists()
    # an Aff-Wild root, recognised by its files: its name says nothing (renamed Aff-Wild2, still Aff-Wild)
    assert set(preprocess(aff, frames, config, workers=1, progress=False)) == {"affwild/train"}
    assert ctx.store("affwild", "train").meta.layout == "Aff-Wild, 2017 release layout, videos"
    renamed = aff.rename(tmp_path / "data" / "Aff-Wild2")
    assert [f.dataset for f in find(renamed)] == ["affwild"]
    # a folder of roots: each dataset under its own name (the stores are complete already)
    stores = preprocess(tmp_path / "data", frames, config, workers=1, progress=False)
    assert set(stores) == {"omg/train", "omg/validation", "omg/test", "affwild/train"}
    assert omg_layout(tmp_path / "data").root == omg == omg_layout(omg).root  # the book's figures find the videos too


def test_two_roots_of_one_dataset_are_refused(smoke_data, tmp_path):
    from omglib.data.roots import find

    omg, _ = tiny_roots(smoke_data, tmp_path)
    (tmp_path / "copy").mkdir()
    (tmp_path / "copy" / "omg_TestVideos_WithLabels.csv").write_bytes((omg / "omg_TestVideos_WithLabels.csv").read_bytes())
    with pytest.raises(OmgError, match="two OMG-Emotion label folders, .*OMG-Emotion and .*copy"):
        find(tmp_path)
