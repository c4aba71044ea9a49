import subprocess
import sys

import pytest


def omg(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "omglib.cli", *args], capture_output=True, text=True, cwd=cwd)


def test_help_lists_the_subcommands():
    result = omg("--help")
    assert result.returncode == 0
    for command in ("synth", "data", "preprocess", "models", "figure"):
        assert command in result.stdout


@pytest.mark.parametrize("args,message", [
    (["synth", "--profile", "huge", "--out", "x"], "invalid choice: 'huge'"),
    (["data", "summary", "--data-root", "/nonexistent/omg"], "/nonexistent/omg: no such folder"),
    (["figure", "va-grid", "--out", "grid.txt"], "use a .png, .pdf or .svg"),
    (["run", "CNN-3RNN (sq_len=40)"], "unknown setting 'sq_len'; settings: seq_len, batch_size"),
    (["run", "CNN-3RNN-99th-conv_last-pool_fc"], "unknown VGG tap '99th-conv': use e.g. 3rd-conv"),
    (["run", "CNN-3RNN (Aff Wild)"], "unknown tag 'Aff Wild'; tags: Aff-Wild, from scratch"),
])
def test_user_mistakes_exit_2_with_one_line(args, message, tmp_path):
    result = omg(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_malformed_csv_names_file_and_line(tmp_path):
    (tmp_path / "omg_TrainVideos.csv").write_text("link,start,end,video,utterance,arousal,valence,EmotionMaxVote\n"
                                                  "l,0,1,v,u1,0.5,0.1,4\nl,0,1,v,u2,7,0.1,4\n")
    result = omg("data", "summary", "--data-root", str(tmp_path))
    assert result.returncode == 2
    assert f"{tmp_path / 'omg_TrainVideos.csv'}:3: column 'arousal' value 7.0 is outside" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_data_summary_of_the_surrogate(smoke_data, tmp_path):
    out, manifest = smoke_data
    result = omg("data", "summary", "--data-root", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "OMG-Emotion, official CSVs, videos" in result.stdout and "Aff-Wild2, ABAW2 annotations, videos" in result.stdout
    assert "Aff-Wild, 2017 release layout, videos" in result.stdout
    train = manifest["counts"]["omg"]["train"]
    assert any(line.split()[:5] == ["train", str(train["videos"]), str(train["utterances"]), str(train["utterances"]), "0"]
               for line in result.stdout.splitlines())


def test_data_summary_lists_missing_videos(tmp_path):
    (tmp_path / "omg_ValidationVideos.csv").write_text("link,start,end,video,utterance\nl,0,1,v,u1.mp4\nl,1,2,v,u2.mp4\n")
    result = omg("data", "summary", "--data-root", str(tmp_path), "--missing-list", str(tmp_path / "gone.csv"))
    assert result.returncode == 0, result.stderr
    assert "2 utterance videos are missing" in result.stdout
    assert len((tmp_path / "gone.csv").read_text().splitlines()) == 3
    (tmp_path / "work").mkdir()
    quiet = omg("data", "summary", "--data-root", str(tmp_path), cwd=tmp_path / "work")
    assert quiet.returncode == 0, quiet.stderr
    assert "2 utterance videos are missing" in quiet.stdout and "--missing-list" in quiet.stdout
    assert not list((tmp_path / "work").iterdir())  # nothing written where it was not asked for


def test_va_grid_figure(tmp_path):
    result = omg("figure", "va-grid", "--out", str(tmp_path / "grid.png"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "grid.png").stat().st_size > 50_000


def test_models_lists_every_network_with_its_size():
    from omglib.models import names

    result = omg("models", "--profile", "smoke")
    assert result.returncode == 0, result.stderr
    listed = {line[:42].strip() for line in result.stdout.splitlines()[2:]}
    assert listed == set(names())
    assert "tap_pool=2" in result.stdout.splitlines()[0]
