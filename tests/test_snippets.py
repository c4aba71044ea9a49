"""The numbers the method pages show are generated at build time (omglib.snippets), from the
code, the data's manifest and the benchmarks' records, and the pages include every one."""

import json
import re

import pytest

from omglib import models, snippets
from omglib.config import PROFILE_NAMES, get_profile
from omglib.provenance import REPO


def _cells(table: str) -> list[list[str]]:
    rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in table.strip().splitlines()]
    assert set(rows[1]) == {"---"}
    return [rows[0], *rows[2:]]


def test_the_model_table_is_describe_at_each_profile():
    header, *rows = _cells(snippets.model_sizes(("smoke",)))
    assert header == ["model", "smoke params", "smoke GFLOPs/frame"]
    described = models.describe("smoke")
    assert [r[0] for r in rows] == [d["name"] for d in described] == models.names()
    for (name, params, gflops), expected in zip(rows, described):
        assert int(params.replace(",", "")) == expected["parameters"], name
        assert float(gflops) == pytest.approx(expected["gflops_per_frame"], abs=5e-4), name


def test_every_include_of_the_pages_is_a_snippet_and_every_snippet_is_shown():
    included = {name for page in (REPO / "book").glob("*.md")
                for name in re.findall(r"```\{include\} \.\./build/tables/(\w+)\.md", page.read_text())}
    assert included == set(snippets.SNIPPETS)


def test_model_fields_are_the_profiles_configs():
    header, *rows = _cells(snippets.model_fields())
    assert header == ["field", *PROFILE_NAMES]
    shown = {re.match(r"`(\w+)`", r[0]).group(1): r[1:] for r in rows}
    assert {"input_size", "width_divisor", "tap_pool"} <= set(shown) and "landmarks" not in shown  # the same everywhere
    for field, values in shown.items():
        configs = [getattr(get_profile(p).model, field) for p in PROFILE_NAMES]
        assert values == ["none (flattened)" if v is None else str(v) for v in configs], field


def test_backbone_counts_and_tap_shapes_are_read_from_the_built_networks():
    text = snippets.backbone_parameters()
    assert all(n in text for n in ("14,714,688", "23,508,032", "6,953,856"))  # tests/test_models.py pins these
    assert "128 x 24 x 24 = 73,728" in snippets.tap_shapes() and "512 x 3 x 3" in snippets.tap_shapes()


def test_surrogate_snippets_come_from_the_manifest(tmp_path):
    assert "no `manifest.json`" in snippets.label_ceiling(tmp_path)
    assert "no `manifest.json`" in snippets.surrogate_data(tmp_path)
    manifest = {"profile": "smoke", "seed": 3, "generator_version": "9.9", "synth": {"frame_size": [640, 360]},
                "label_ceiling_ccc": {s: {"valence": v, "arousal": v - 0.1} for s, v in
                                      (("train", 0.9111), ("validation", 0.8222), ("test", 0.7333))},
                "counts": {"omg": {"test": {"videos": 2, "utterances": 6, "frames": 1234, "visible_frames": 1200}},
                           "affwild2": {"train": {"videos": 2, "files": 2, "frames": 150, "visible_frames": 149}}},
                "run": {"workers": 2, "frames_rendered": 1384, "seconds": 12.5, "frames_per_second": 110.7}}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    ceiling = snippets.label_ceiling(tmp_path)
    assert "CCC 0.733 / 0.633 (valence / arousal) on test (0.822 / 0.722 on validation, 0.911 / 0.811 on train)" in ceiling
    data = snippets.surrogate_data(tmp_path)
    assert "| OMG-Emotion | test | 2 | 6 | 1,234 | 1,200 |" in data and "| Aff-Wild2 | train | 2 |  | 150 | 149 |" in data
    assert "1,384 frames of 640x360 in 12.5 s with 2 workers (110.7 frames/s)" in data and "generator 9.9" in data


def test_surrogate_profiles_are_the_synth_configs():
    rows = {r[0]: r for r in _cells(snippets.surrogate_profiles())[1:]}
    quick = get_profile("quick").synth
    assert rows["`quick`"][1] == f"{quick.omg_videos.train} / {quick.omg_videos.validation} / {quick.omg_videos.test}"
    assert rows["`quick`"][4] == f"{quick.fps:g}"


def test_benchmark_records_render_with_their_provenance(tmp_path, monkeypatch):
    for name in sorted(p.stem for p in snippets.RECORDS.glob("*.json")):  # every record the book shows
        record = json.loads((snippets.RECORDS / f"{name}.json").read_text())
        text = snippets.record_table(name)
        assert record["command"] in text and record["date"] in text and record["machine"] in text
        assert _cells(text.split("\n\n")[0])[1:] == [[str(c) for c in row] for row in record["rows"]]
    monkeypatch.setattr(snippets, "RECORDS", tmp_path)
    path = snippets.write_record(tmp_path / "probe.json", ["a", "b"], [[1, "x"]], "python probe.py", notes="n.")
    record = json.loads(path.read_text())
    assert record["rows"] == [[1, "x"]] and record["date"] and record["machine"]
    assert snippets.record_table("probe").startswith("| a | b |\n|---|---|\n| 1 | x |\n")
    with pytest.raises(Exception, match="no such benchmark record"):
        snippets.record_table("missing")
