import numpy as np
import pandas as pd
import pytest

from omglib.data.omg import (
    SUBMISSION_COLUMNS, OmgLayout, arousal_from_omg, arousal_to_omg, read_omg_csv, summarize,
    write_missing_list, write_omg_csv,
)
from omglib.errors import DataError

HEADER = "link,start,end,video,utterance,arousal,valence,EmotionMaxVote\n"
ROW = "https://youtu.be/x,{start},{end},{video},{utt},{a},{v},{e}\n"


def _csv(tmp_path, rows, header=HEADER, name="omg_TrainVideos.csv"):
    path = tmp_path / name
    path.write_text(header + "".join(rows))
    return path


def _row(video="v1", utt="utterance_1.mp4", start=0.0, end=2.0, a=0.5, v=0.1, e=4):
    return ROW.format(video=video, utt=utt, start=start, end=end, a=a, v=v, e=e)


@pytest.mark.shared
def test_official_csvs_give_the_papers_counts(omg_labels):
    counts = {}
    for split in ("train", "validation", "test"):
        frame = OmgLayout(omg_labels).read_split(split)
        counts[split] = (frame["video"].nunique(), len(frame))
        assert frame.attrs["has_labels"]
        assert frame["arousal"].between(-1, 1).all() and frame["valence"].between(-1, 1).all()
    assert counts == {"train": (231, 2442), "validation": (60, 617), "test": (204, 2229)}


@pytest.mark.shared
def test_official_statistics_match_the_documented_ones(omg_labels):
    frame = OmgLayout(omg_labels).read_all()
    duration = frame["end"] - frame["start"]
    assert duration.mean() == pytest.approx(6.97, abs=0.05)
    assert arousal_to_omg(frame["arousal"]).mean() == pytest.approx(0.46, abs=0.01)
    assert np.corrcoef(frame["valence"], frame["arousal"])[0, 1] == pytest.approx(0.356, abs=0.01)
    assert ((duration * 25) < 80).mean() == pytest.approx(0.23, abs=0.02)


@pytest.mark.shared
def test_surrogate_duration_model_was_fitted_to_the_official_csvs(omg_labels):
    from omglib.synth.labels import DURATION_LEVELS, DURATION_QUANTILES

    duration = OmgLayout(omg_labels).read_all().eval("end - start")
    np.testing.assert_allclose(np.quantile(duration, DURATION_LEVELS), DURATION_QUANTILES, atol=0.01)


def test_arousal_is_mapped_on_read_and_back_on_write(tmp_path):
    path = _csv(tmp_path, [_row(a=0.0, v=-1.0), _row(utt="utterance_2.mp4", a=1.0, v=1.0), _row(utt="u3.mp4", a=0.25)])
    frame = read_omg_csv(path)
    assert frame["arousal"].tolist() == [-1.0, 1.0, -0.5]
    out = tmp_path / "copy.csv"
    write_omg_csv(frame, out)
    again = pd.read_csv(out)
    assert again["arousal"].tolist() == [0.0, 1.0, 0.25]
    assert read_omg_csv(out)[["valence", "arousal", "emotion"]].equals(frame[["valence", "arousal", "emotion"]])
    write_omg_csv(frame, tmp_path / "pred.csv", columns=SUBMISSION_COLUMNS)
    assert list(pd.read_csv(tmp_path / "pred.csv").columns) == ["video", "utterance", "arousal", "valence"]
    assert arousal_to_omg(arousal_from_omg(0.3)) == pytest.approx(0.3)


def test_test_file_without_labels(tmp_path):
    path = _csv(tmp_path, ["l,0,1,v,utterance_1.mp4\n"], header="link,start,end,video,utterance\n", name="omg_TestVideos_WithoutLabels.csv")
    frame = read_omg_csv(path)
    assert not frame.attrs["has_labels"] and "valence" not in frame


@pytest.mark.parametrize("header,rows,line,message", [
    ("link,start,end,video,arousal,valence,EmotionMaxVote\n", [], 1, "missing column(s) utterance"),
    ("link,start,end,video,utterance,arousal,EmotionMaxVote\n", [], 1, "missing column(s) valence"),
    (HEADER, [_row(), _row(utt="u2", a="high")], 3, "'arousal' value 'high' is not a number"),
    (HEADER, [_row(), _row(utt="u2", a=1.5)], 3, "'arousal' value 1.5 is outside [0.0, 1.0]"),
    (HEADER, [_row(v=-1.2)], 2, "'valence' value -1.2 is outside"),
    (HEADER, [_row(), _row(utt="u2"), _row()], 2, "duplicate utterance v1/utterance_1.mp4 (also on line 4)"),
    (HEADER, [_row(start=3, end=2)], 2, "end 2.0 is not after start 3.0"),
    (HEADER, [_row(e=9)], 2, "EmotionMaxVote"),
    (HEADER, [_row(e=2.5)], 2, "not an integer"),
    (HEADER, [], None, "header but no rows"),
    ("", [], None, "file is empty"),
])
def test_malformed_csv_names_file_line_and_problem(tmp_path, header, rows, line, message):
    path = _csv(tmp_path, rows, header=header)
    with pytest.raises(DataError) as caught:
        read_omg_csv(path)
    assert caught.value.line == line
    assert message in str(caught.value)
    assert str(path) in str(caught.value)


def test_missing_videos_are_counted_and_listed(tmp_path):
    _csv(tmp_path, [_row(), _row(utt="utterance_2.mp4"), _row(video="v2")])
    (tmp_path / "train" / "v1").mkdir(parents=True)
    (tmp_path / "train" / "v1" / "utterance_1.mp4").write_bytes(b"x")
    utterances = OmgLayout(tmp_path).read_all()
    table = summarize(utterances)
    assert table.loc["train"].to_dict() == {"videos": 2, "utterances": 3, "present": 1, "missing": 2,
                                         "labelled": True}
    assert write_missing_list(utterances, tmp_path / "missing.csv") == 2
    listed = pd.read_csv(tmp_path / "missing.csv")
    assert sorted(listed["utterance"]) == ["utterance_1.mp4", "utterance_2.mp4"]
