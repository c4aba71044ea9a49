"""Self-describing model files, `omg predict` on a video omglib did not make, bad inputs, exports."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys

import cv2
import numpy as np
import pandas as pd
import pytest
import torch

from omglib.config import get_profile
from omglib.errors import OmgError
from omglib.models import build, load, save

MODEL = "CNN-3RNN-2nd-pool_last-pool_fc"
FRAMES = 30
SEQ_LEN = 8


def omg(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "omglib.cli", *args], capture_output=True, text=True, cwd=cwd)


@pytest.fixture(scope="module")
def smoke_model(tmp_path_factory):
    """A smoke-size CNN-3RNN with random weights, saved as `omg run` saves one."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("model") / "model.pt"
    save(build(MODEL, "smoke"), path, experiment=MODEL, recipe={"pretrain": "affwild2", "seq_len": SEQ_LEN},
         preprocess=get_profile("smoke").preprocess, training_data="surrogate (omg synth --profile smoke)", seed=0,
         code_version="test", scores={"test": {"valence": 0.1, "arousal": 0.2, "ci_valence": [0.0, 0.2]}})
    return path


@pytest.fixture(scope="module")
def portrait_video(tmp_path_factory):
    """A real public-domain photograph (scikit-image's astronaut, Eileen Collins) moved along an
    affine path (drift, rotation, zoom) over a grey background, written by OpenCV; the face
    leaves the frame for the last 5 frames."""
    from skimage import data

    face = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)[20:260, 120:330]  # head and shoulders
    path = tmp_path_factory.mktemp("video") / "astronaut.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25, (640, 360))
    for i in range(FRAMES):
        angle, scale = 8 * np.sin(i / 5), 1.1 + 0.1 * np.cos(i / 7)
        cx = 320 + 60 * np.sin(i / 9) if i < FRAMES - 5 else 2000  # out of view at the end
        matrix = cv2.getRotationMatrix2D((105, 120), angle, scale)
        matrix[:, 2] += (cx - 105, 180 - 120)
        frame = cv2.warpAffine(face, matrix, (640, 360), borderValue=(110, 110, 110))
        writer.write(frame)
    writer.release()
    return path


def test_save_load_roundtrip_and_model_card(smoke_model):
    model = load(smoke_model)
    assert model.name == MODEL and model.config == get_profile("smoke").model
    assert model.meta["experiment"] == MODEL and model.meta["preprocess"]["crop_size"] == 64
    reference = build(MODEL, "smoke")
    reference.load_state_dict(torch.load(smoke_model, weights_only=True)["state_dict"])
    faces, landmarks = torch.rand(1, 4, 3, 64, 64) * 2 - 1, torch.zeros(1, 4, 136)
    with torch.no_grad():
        assert torch.equal(model(faces, landmarks), reference.eval()(faces, landmarks))
    card = (smoke_model.parent / "MODEL_CARD.md").read_text()
    assert MODEL in card and "surrogate" in card.lower() and "valence CCC 0.100 [95% CI 0.000, 0.200]" in card


def test_legacy_and_foreign_files_are_refused(tmp_path):
    torch.save({"model": build(MODEL, "smoke").state_dict()}, tmp_path / "old.pt")
    with pytest.raises(OmgError, match="re-run `omg run`"):
        load(tmp_path / "old.pt")
    (tmp_path / "empty.pt").write_bytes(b"")
    with pytest.raises(OmgError, match="empty"):
        load(tmp_path / "empty.pt")
    (tmp_path / "text.pt").write_text("hello")
    with pytest.raises(OmgError, match="not a model file"):
        load(tmp_path / "text.pt")


class _Payload:
    """Unpickling this runs code: it writes the marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return exec, (f"open({self.marker!r}, 'w').write('pwned')",)


@pytest.mark.parametrize("how", ["pickle", "torch.save"])
def test_a_pickle_that_runs_code_is_refused(tmp_path, how, smoke_model, portrait_video):
    marker = tmp_path / "marker"
    evil = tmp_path / "model.pt"
    if how == "pickle":
        evil.write_bytes(pickle.dumps({"model": _Payload(marker)}))
    else:
        torch.save({"format": "omglib-model", "version": 1, "meta": _Payload(marker)}, evil)
    with pytest.raises(OmgError, match="refused"):
        load(evil)
    result = omg("predict", str(portrait_video), "--model", str(evil), "--out", str(tmp_path / "out"), "--quiet")
    assert result.returncode == 2 and "refused" in result.stderr and "Traceback" not in result.stderr
    assert not marker.exists() and not (tmp_path / "out").exists()
    if how == "pickle":  # the payload is live: a plain unpickling does run it
        pickle.loads(evil.read_bytes())
        assert marker.read_text() == "pwned"


def test_predict_on_a_real_portrait_video(smoke_model, portrait_video, tmp_path):
    segments = tmp_path / "segments.csv"
    segments.write_text("start,end,name\n0,0.6,first\n0.6,2,second\n")
    out = tmp_path / "out"
    result = omg("predict", str(portrait_video), "--model", str(smoke_model), "--out", str(out), "--segments",
                 str(segments), "--overlay", "--arousal-scale", "omg", "--quiet")
    assert result.returncode == 0, result.stderr
    frames = pd.read_csv(out / "frames.csv")
    assert list(frames["frame"]) == list(range(FRAMES))
    assert frames["face_found"].iloc[:10].all() and not frames["face_found"].iloc[-5:].any()
    found = frames[frames["face_found"] == 1]
    assert found[["valence", "arousal"]].notna().all().all() and frames.iloc[-5:][["valence", "arousal"]].isna().all().all()
    assert found["arousal"].between(0, 1).all() and found["valence"].between(-1, 1).all()
    assert set(frames["window"]) == set(range(-(-FRAMES // SEQ_LEN)))
    first = found[found["window"] == 0]
    assert np.allclose(first["window_valence"], np.median(first["valence"]), atol=1e-4)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["arousal_scale"].startswith("[0, 1]") and summary["frames"] == FRAMES
    utterances = pd.read_csv(out / "utterances.csv")
    assert list(utterances["utterance"]) == ["first", "second"] and utterances["frames"].tolist() == [15, 15]
    assert (out / "trace.png").stat().st_size > 20_000
    overlay = cv2.VideoCapture(str(out / "overlay.mp4"))
    assert int(overlay.get(cv2.CAP_PROP_FRAME_COUNT)) == FRAMES


def test_stream_mode_equals_one_window(smoke_model, portrait_video, tmp_path):
    """Causal frame-by-frame inference with the carried GRU state gives the outputs of one
    window run over the same frames (checked up to the first frame without a face)."""
    from omglib.export import open_network
    from omglib.predict import PredictOptions, predict_video

    network = open_network(smoke_model)
    stream = predict_video(portrait_video, network, tmp_path / "s", PredictOptions("stream", progress=False))
    assert stream.latency_ms.mean > 0
    network.meta = {**network.meta, "recipe": {"seq_len": FRAMES}}
    predict_video(portrait_video, network, tmp_path / "w", PredictOptions("window", progress=False))
    s, w = pd.read_csv(tmp_path / "s" / "frames.csv"), pd.read_csv(tmp_path / "w" / "frames.csv")
    head = slice(0, int(np.argmin(s["face_found"])))  # up to the first frame without a face: the same inputs
    assert head.stop >= 10
    assert np.abs(s[["valence", "arousal"]].iloc[head].to_numpy() - w[["valence", "arousal"]].iloc[head].to_numpy()).max() < 1e-4


@pytest.mark.parametrize("content,message", [
    (None, "input not found"),
    (b"", "file is empty (0 bytes)"),
    (b"this is a text file, not a video\n" * 10, "OpenCV cannot open this video"),
])
def test_bad_inputs_exit_2_naming_the_file(smoke_model, tmp_path, content, message):
    path = tmp_path / "clip.mp4"
    if content is not None:
        path.write_bytes(content)
    result = omg("predict", str(path), "--model", str(smoke_model), "--out", str(tmp_path / "out"), "--quiet")
    lines = result.stderr.strip().splitlines()  # FFmpeg may log its own line before ours
    assert result.returncode == 2 and lines[-1].startswith(f"omg: error: {path}: {message}")
    assert "Traceback" not in result.stderr and not (tmp_path / "out").exists()


def test_truncated_video_and_folder_of_videos_on_onnxruntime(smoke_model, portrait_video, tmp_path):
    folder = tmp_path / "videos"
    folder.mkdir()
    (folder / "a.mp4").write_bytes(portrait_video.read_bytes())
    # An mp4 cut short loses its index (moov atom, written last) and cannot be opened at all;
    # an AVI cut short keeps its first frames.
    reader, truncated = cv2.VideoCapture(str(portrait_video)), folder / "b.avi"
    writer = cv2.VideoWriter(str(truncated), cv2.VideoWriter_fourcc(*"MJPG"), 25, (640, 360))
    while (read := reader.read())[0]:
        writer.write(read[1])
    writer.release()
    data = truncated.read_bytes()
    truncated.write_bytes(data[: len(data) * 2 // 3])
    (folder / "c.mp4").write_bytes(b"")
    result = omg("predict", str(folder), "--model", str(smoke_model), "--out", str(tmp_path / "out"), "--quiet",
                 "--mode", "stream", "--backend", "onnxruntime")
    assert result.returncode == 2, result.stderr
    assert "c.mp4: file is empty" in result.stderr and "1 of 3 inputs failed" in result.stderr
    assert "truncated" in result.stdout
    assert len(pd.read_csv(tmp_path / "out" / "a" / "frames.csv")) == FRAMES
    assert 0 < len(pd.read_csv(tmp_path / "out" / "b" / "frames.csv")) < FRAMES


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_export_parity(smoke_model, portrait_video, tmp_path, fmt):
    """The exported file gives PyTorch's outputs and states (max abs difference <= 1e-4) at
    batch and sequence lengths other than the export's, on random faces and on real aligned ones,
    as one window and frame by frame with the state fed back."""
    from omglib.export import OnnxRunner, TorchRunner, TorchScriptRunner
    from omglib.predict import _inputs
    from omglib.preprocess.pipeline import aligned_frames

    out = tmp_path / ("m.onnx" if fmt == "onnx" else "m.ts.pt")
    result = omg("export", str(smoke_model), "--format", fmt, "--out", str(out))
    assert result.returncode == 0, result.stderr
    reference = TorchRunner(load(smoke_model))
    exported = (OnnxRunner if fmt == "onnx" else TorchScriptRunner)(out, reference.state_size)
    rng = np.random.default_rng(0)
    random = (rng.uniform(-1, 1, (3, 11, 3, 64, 64)).astype(np.float32), rng.uniform(-1, 1, (3, 11, 136)).astype(np.float32))
    real = [f for f in aligned_frames(portrait_video, get_profile("smoke").preprocess) if f.crop is not None][:12]
    for faces, landmarks in (random, _inputs(real, 64)):
        state = rng.uniform(-0.5, 0.5, (len(faces), reference.state_size)).astype(np.float32)
        want, want_state = reference(faces, landmarks, state)
        got, got_state = exported(faces, landmarks, state)
        assert np.abs(got - want).max() <= 1e-4 and np.abs(got_state - want_state).max() <= 1e-4
        steps = []
        for t in range(faces.shape[1]):
            step, state = exported(faces[:, t : t + 1], landmarks[:, t : t + 1], state)
            steps.append(step)
        assert np.abs(np.concatenate(steps, 1) - want).max() <= 1e-4


def test_predict_on_a_video_cut_into_utterances_answers_as_omg_run(smoke_run, smoke_data, tmp_path):
    """`omg predict --segments` estimates an utterance as the experiment did: one test video's
    utterance clips as one video (their frames in a folder, lossless) with the utterances as
    segments reproduces that video's rows of the run's predictions.csv."""
    from omglib import experiments as X
    from omglib.data.omg import OmgLayout
    from omglib.data.sequences import _natural
    from omglib.preprocess.pipeline import FRAME_FOLDER_FPS, iter_frames

    ctx, _ = smoke_run
    run = X.folder(ctx, X.BEST_3RNN, 0).path
    assert get_profile("smoke").synth.fps == FRAME_FOLDER_FPS  # the folder's frame times are the clips'
    test = OmgLayout(smoke_data[0] / "omg").read_split("test")
    video = test["video"].iloc[0]
    clips = sorted(test[test["video"] == video].itertuples(), key=lambda r: _natural(r.utterance))
    frames, rows, n = tmp_path / video, [], 0
    frames.mkdir()
    for clip in clips:
        start = n
        for _, _, rgb in iter_frames(clip.path):
            cv2.imwrite(str(frames / f"{n:06d}.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
            n += 1
        rows.append({"utterance": clip.utterance, "start": start / FRAME_FOLDER_FPS, "end": n / FRAME_FOLDER_FPS})
    pd.DataFrame(rows).to_csv(tmp_path / "segments.csv", index=False)
    result = omg("predict", str(frames), "--model", str(run / "model.pt"), "--segments", str(tmp_path / "segments.csv"),
                 "--arousal-scale", "omg", "--out", str(tmp_path / "out"), "--quiet")
    assert result.returncode == 0, result.stderr
    got = pd.read_csv(tmp_path / "out" / "utterances.csv", dtype={"utterance": str})
    expected = pd.read_csv(run / "predictions.csv", dtype={"video": str, "utterance": str})
    expected = expected[expected["video"] == video].set_index("utterance").loc[got["utterance"]]
    assert (got["face_frames"] > 0).all() and len(got) == len(clips) > 1
    np.testing.assert_allclose(got[["valence", "arousal"]].to_numpy(), expected[["valence", "arousal"]].to_numpy(),
                               rtol=0, atol=1e-5)
    chosen = json.loads((tmp_path / "out" / "summary.json").read_text())["utterance_estimate"]
    recorded = X.load(ctx, X.BEST_3RNN, 0).postprocessing
    assert chosen["choice"] == {"median_window": list(recorded.median_window), "smoothing_window": list(recorded.smoothing_window)}


def test_an_experiment_name_finds_the_model_of_its_first_seed(smoke_run):
    from omglib import experiments as X
    from omglib.predict import resolve_model

    ctx, _ = smoke_run
    assert resolve_model(X.BEST_3RNN, ctx.results, ctx.profile.label()) == X.folder(ctx, X.BEST_3RNN, 0).model
    with pytest.raises(OmgError, match="no trained model of 'Decision-Level Fusion'"):
        resolve_model(X.DECISION_FUSION, ctx.results, "paper")
