"""The networks of Sec. 5 under the paper's names: `names()`, `build(name, profile=...)`."""

from omglib.models.registry import build, describe, load_weights, names

__all__ = ["build", "describe", "load_weights", "names"]
