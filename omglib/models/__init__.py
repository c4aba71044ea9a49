"""The networks of Sec. 5 under the paper's names: `names()`, `build(name, profile=...)`;
self-describing model files: `save(model, path, ...)`, `load(path)`."""

from omglib.models.checkpoint import load, save, write_model_card
from omglib.models.registry import build, describe, load_weights, names

__all__ = ["build", "describe", "load", "load_weights", "names", "save", "write_model_card"]
