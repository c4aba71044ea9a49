"""Atomic file writes: a crash or kill never leaves a half-written result behind.

Under torchrun only rank 0 writes (`omglib.distributed`): the other processes compute the
same files and `atomic_path` discards them.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
import tempfile
import types
import typing
from collections.abc import Iterator
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds.

    The temporary name keeps the final suffix, so writers that choose a format by
    extension (OpenCV, pandas) behave as for the final file.
    """
    path = Path(path)
    if not _writer():
        with tempfile.TemporaryDirectory(prefix="omg-discarded-") as scratch:
            yield Path(scratch) / path.name
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)


def _writer() -> bool:
    """False in the processes of a torchrun job other than rank 0 (a process that never
    imported `omglib.distributed` is not in one, and need not import torch to know it)."""
    distributed = sys.modules.get("omglib.distributed")
    return distributed is None or distributed.is_main()


def discard(*paths: Path) -> None:
    """Delete ``paths`` (checkpoints a finished run no longer needs); only rank 0 does."""
    if _writer():
        for path in paths:
            Path(path).unlink(missing_ok=True)


def remove_stale_temporaries(folder: str | Path) -> None:
    """Delete the temporary files `atomic_path` leaves behind when a process is killed mid-write
    (complete files were already renamed into place)."""
    folder = Path(folder)
    if folder.is_dir():
        for stale in folder.rglob(".*.tmp*"):
            stale.unlink()


def write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json(path: str | Path, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def from_json(cls, data: dict):
    """The dataclass ``cls`` from the JSON dict ``dataclasses.asdict`` wrote: every field made
    its declared type again (nested records, tuples, optional records), so a record read back
    is the one written (NaN fields aside: NaN equals nothing). Keys ``cls`` does not declare
    are ignored (an older file's extras); dict fields come back as JSON has them."""
    hints = _fields_of(cls)
    return cls(**{k: _typed(hints[k], v) for k, v in data.items() if k in hints})


@functools.lru_cache(maxsize=None)
def _fields_of(cls) -> dict:
    """The declared type of each field of the dataclass ``cls``, resolved once (records are
    read in loops: every run's status)."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in fields(cls)}


def _typed(hint, value):
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if value is None:
        return None
    if origin in (typing.Union, types.UnionType):
        kinds = [a for a in args if a is not type(None)]
        return _typed(kinds[0], value) if len(kinds) == 1 else value
    if is_dataclass(hint):
        return from_json(hint, value)
    if origin is tuple:
        kinds = [args[0]] * len(value) if len(args) == 2 and args[1] is Ellipsis else list(args) or [Any] * len(value)
        return tuple(_typed(k, v) for k, v in zip(kinds, value))
    if origin is list and args:
        return [_typed(args[0], v) for v in value]
    return value
