"""Where a dataset's frames are: video files and the organisers' crop folders, by name.

`omglib.data.roots` finds them (one walk of the data root); the readers look subjects up here.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from omglib.errors import OmgError

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv")
CROP_FOLDERS = ("cropped_aligned", "cropped")  # the ABAW organisers' face crops, one folder per video
SKIPPED = ("__MACOSX",)


def walk(root: Path) -> Iterator[tuple[Path, list[str], list[str]]]:
    """``os.walk`` of ``root`` (sorted, links followed) without hidden folders, that lists a crop
    folder's subfolders but never enters them (Aff-Wild2 has 2.8 million crops)."""
    for top, subfolders, files in os.walk(root, followlinks=True):
        subfolders[:] = sorted(s for s in subfolders if not s.startswith(".") and s not in SKIPPED)
        here = Path(top)
        if here.name in CROP_FOLDERS:
            yield here, list(subfolders), []
            subfolders[:] = []
        else:
            yield here, subfolders, sorted(files)


def collect(root: Path, visit=None) -> Media:
    """Every video file and crop folder under ``root``; ``visit(folder, subfolders, files)`` sees
    each folder of the same walk (how `omglib.data.roots` finds label folders)."""
    videos, crops = [], []
    for here, subfolders, files in walk(root):
        if visit is not None:
            visit(here, subfolders, files)
        if here.name in CROP_FOLDERS:
            crops += [here / s for s in subfolders]
        videos += [here / f for f in files if f.lower().endswith(VIDEO_SUFFIXES) and not f.startswith(".")]
    return Media(tuple(videos), tuple(crops))


@dataclass(frozen=True)
class Media:
    """The video files and the organisers' crop folders found in one area."""

    videos: tuple[Path, ...] = ()
    crops: tuple[Path, ...] = ()  # <area>/.../cropped_aligned/<name>/ (or cropped/<name>/)

    def within(self, area: Path) -> Media:
        return Media(tuple(p for p in self.videos if p.is_relative_to(area)),
                     tuple(p for p in self.crops if p.is_relative_to(area)))

    def by_stem(self) -> dict[str, Path]:
        """Video files by name without suffix; two files for one name are refused."""
        return _unique((p.stem, p) for p in self.videos)

    def crops_by_name(self) -> dict[str, Path]:
        """Crop folders by video name: cropped_aligned/ before cropped/ when a copy has both."""
        chosen: dict[str, Path] = {}
        for kind in CROP_FOLDERS:
            chosen.update({k: v for k, v in _unique((p.name, p) for p in self.crops if p.parent.name == kind).items()
                           if k not in chosen})
        return chosen


def _unique(pairs) -> dict:
    out: dict = {}
    for key, path in pairs:
        if key in out:
            raise OmgError(f"two files for {key!r}: {out[key]} and {path}; keep one (or point --data-root at one copy)")
        out[key] = path
    return out
