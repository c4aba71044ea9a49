import numpy as np
import pytest

from omglib.data.affwild2 import read_va_annotation, summarize, write_va_annotation
from omglib.data.roots import find
from omglib.errors import DataError, OmgError


def test_roundtrip_with_unannotated_frames(tmp_path):
    va = np.array([[0.1, -0.2], [np.nan, np.nan], [-1.0, 1.0]], dtype=np.float32)
    write_va_annotation(tmp_path / "a.txt", va)
    assert (tmp_path / "a.txt").read_text().splitlines()[:3] == ["valence,arousal", "0.100000,-0.200000", "-5,-5"]
    np.testing.assert_array_equal(read_va_annotation(tmp_path / "a.txt"), va)


@pytest.mark.parametrize("text,line,message", [
    ("", None, "file is empty"),
    ("arousal,valence\n0,0\n", 1, "header"),
    ("valence,arousal\n", None, "no frame rows"),
    ("valence,arousal\n0.1,0.2\n0.3\n", 3, "expected 2 values"),
    ("valence,arousal\n0.1,abc\n", 2, "not a number"),
    ("valence,arousal\n0.1,0.2\n1.5,0\n", 3, "outside [-1, 1]"),
])
def test_malformed_annotation(tmp_path, text, line, message):
    path = tmp_path / "video.txt"
    path.write_text(text)
    with pytest.raises(DataError) as caught:
        read_va_annotation(path)
    assert caught.value.line == line and message in str(caught.value) and str(path) in str(caught.value)


def test_layout_finds_videos_in_any_folder_and_two_subject_files(tmp_path):
    train = tmp_path / "annotations" / "VA_Set" / "Train_Set"
    train.mkdir(parents=True)
    for name in ("1-30-1280x720", "video10_left", "video10_right", "gone"):
        (train / f"{name}.txt").write_text("valence,arousal\n0,0\n")
    (tmp_path / "batch1").mkdir()
    (tmp_path / "batch2").mkdir()
    (tmp_path / "batch1" / "1-30-1280x720.mp4").write_bytes(b"x")
    (tmp_path / "batch2" / "video10.avi").write_bytes(b"x")
    (found,) = find(tmp_path)
    entries = found.layout().read_split("train").set_index("name")
    assert entries.loc["video10_left", "video"] == "video10" and entries.loc["video10_right", "present"]
    assert entries.loc["1-30-1280x720", "path"].endswith("batch1/1-30-1280x720.mp4")
    assert not entries.loc["gone", "present"]
    assert entries.loc["video10_left", "side"] == "left" and entries.loc["1-30-1280x720", "side"] == ""
    assert summarize(found.layout().read_all()).loc["train"].to_dict() == {
        "annotated": 4, "present": 3, "missing": 1, "from_videos": 3, "from_crops": 0, "two_person": 2}
    assert found.dataset == "affwild2" and found.area == tmp_path
    with pytest.raises(OmgError, match="no dataset found"):
        find(tmp_path / "batch1")
