"""Self-describing model files: the weights plus everything needed to rebuild and use them.

A ``model.pt`` is a torch zip file holding one dict of plain types: ``format`` and
``version`` (strings/ints), ``meta`` (a JSON string: registry name, `ModelConfig`,
experiment, recipe, the pre-processing it expects, training data, seed, code version,
scores, the run's `UtteranceEstimate`) and ``state_dict`` (tensors). Model files get shared, so `load` reads it with
``torch.load(weights_only=True)``: a file that needs any other Python object (a pickle that
would run code when opened) is refused before anything in it runs.

`load` rebuilds the network from the metadata alone (``registry.build(meta["model"],
ModelConfig(**meta["model_config"]))``), so no profile has to be named. `write_model_card`
writes the human-readable ``MODEL_CARD.md`` beside the file.
"""

from __future__ import annotations

import json
import pickle
from dataclasses import asdict, fields
from pathlib import Path

import torch
from torch import nn

from omglib.config import ModelConfig, PreprocessConfig
from omglib.errors import OmgError
from omglib.io import atomic_path, from_json, write_text
from omglib.postprocess import UtteranceEstimate

FORMAT = "omglib-model"
VERSION = 1


def save(model: nn.Module, path: str | Path, *, experiment: str | None = None, recipe: dict | None = None,
         preprocess: PreprocessConfig | dict | None = None, training_data: dict | str | None = None,
         seed: int | None = None, code_version: str | None = None, scores: dict | None = None,
         utterance_estimate: UtteranceEstimate | None = None) -> dict:
    """Write ``model`` (built by `omglib.models.build`) and its metadata to ``path`` atomically,
    and `write_model_card` beside it. Returns the metadata. ``utterance_estimate``: how its run
    turned frames into utterance estimates (`omg predict --segments` does the same)."""
    if not hasattr(model, "name") or not isinstance(getattr(model, "config", None), ModelConfig):
        raise TypeError("save() needs a network built by omglib.models.build (it carries .name and .config)")
    if isinstance(preprocess, PreprocessConfig):
        preprocess = preprocess.to_dict()
    meta = {"model": model.name, "model_config": asdict(model.config), "experiment": experiment,
            "recipe": recipe or {}, "preprocess": preprocess or asdict(PreprocessConfig()),
            "training_data": training_data, "seed": seed, "code_version": code_version, "scores": scores or {},
            "utterance_estimate": None if utterance_estimate is None else utterance_estimate.to_dict()}
    text = json.dumps(meta, sort_keys=True, allow_nan=True)  # fails here, not at load, on a non-JSON value
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save({"format": FORMAT, "version": VERSION, "meta": text, "state_dict": state}, tmp)
    write_model_card(path, meta)
    return json.loads(text)


def read(path: str | Path) -> tuple[dict, dict]:
    """(metadata, state_dict) of a model file, without building the network. Every problem is
    an `OmgError` naming the file and the fix."""
    path = Path(path)
    if not path.is_file():
        raise OmgError(f"{path}: model file not found (pass a model.pt or an experiment name that `omg run` trained)")
    if path.stat().st_size == 0:
        raise OmgError(f"{path}: model file is empty (re-run `omg run` to write it again)")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        first = str(error).strip().splitlines()[0][:160]
        raise OmgError(f"{path}: refused: the file needs Python objects other than tensors to load, and loading "
                       f"them could run code ({first}); only load model files whose origin you trust, "
                       "and re-save them with omglib.models.save") from None
    except Exception as error:  # noqa: BLE001 - a truncated zip, a text file, ...: the same user mistake
        raise OmgError(f"{path}: not a model file ({error.__class__.__name__}: {str(error)[:120]})") from None
    if isinstance(blob, dict) and blob.get("format") == FORMAT:
        if blob.get("version") != VERSION:
            raise OmgError(f"{path}: model file version {blob.get('version')} is not supported by this omglib "
                           f"(reads version {VERSION}); upgrade omglib or re-run `omg run`")
        return json.loads(blob["meta"]), blob["state_dict"]
    if isinstance(blob, dict) and isinstance(blob.get("model"), dict):
        raise OmgError(f"{path}: an older omglib checkpoint holding weights only (no model name or settings); "
                       "re-run `omg run` for this experiment to write a self-describing model.pt")
    raise OmgError(f"{path}: not an omglib model file (expected the {FORMAT!r} format written by omglib.models.save)")


def load(path: str | Path) -> nn.Module:
    """The network saved at ``path``, in eval mode, with ``.name``, ``.config`` and ``.meta``."""
    from omglib.models.registry import build

    meta, state = read(path)
    known = {f.name for f in fields(ModelConfig)}
    unknown = sorted(set(meta["model_config"]) - known)
    if unknown:
        raise OmgError(f"{path}: model settings {unknown} are unknown to this omglib (saved by a newer version; upgrade)")
    model = build(meta["model"], ModelConfig(**meta["model_config"]))
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise OmgError(f"{path}: weights do not fit {meta['model']} ({str(error).splitlines()[0]}); "
                       "the file is damaged or from an incompatible omglib") from None
    model.meta = meta
    return model.eval()


def _scores_lines(scores: dict) -> list[str]:
    lines = []
    for split in sorted(scores):
        value = scores[split]
        if isinstance(value, dict):
            parts = []
            for d in ("valence", "arousal"):
                if d in value:
                    ci = value.get(f"ci_{d}")
                    parts.append(f"{d} CCC {value[d]:.3f}" + (f" [95% CI {ci[0]:.3f}, {ci[1]:.3f}]" if ci else ""))
            lines.append(f"- {split}: " + (", ".join(parts) if parts else json.dumps(value, sort_keys=True)))
        else:
            lines.append(f"- {split}: {value}")
    return lines or ["- none recorded (a model saved outside `omg run`)"]


def _estimate_line(recorded: dict | None) -> str:
    if recorded is None:
        return "not recorded (each sequence's median, averaged over the utterance, no post-processing)"
    e = from_json(UtteranceEstimate, recorded)
    return (f"each sequence's {e.aggregate}, averaged over the utterance; median filter {e.choice.median_window}, "
            f"smoothing over neighbouring utterances {e.choice.smoothing_window} (valence, arousal; chosen on "
            f"validation); an utterance without a face gets the training mean {tuple(round(v, 4) for v in e.fallback)}")


def write_model_card(path: str | Path, meta: dict | None = None) -> Path:
    """Write ``MODEL_CARD.md`` beside the model file ``path`` (metadata read from it unless given)."""
    path = Path(path)
    meta = meta if meta is not None else read(path)[0]
    data = meta.get("training_data")
    data_text = json.dumps(data, sort_keys=True) if isinstance(data, dict) else (data or "not recorded")
    surrogate = "surrogate" in data_text.lower() or "synth" in data_text.lower()
    pre = meta.get("preprocess") or {}
    config = ", ".join(f"{k}={v}" for k, v in meta["model_config"].items())
    lines = [
        f"# Model card: {meta.get('experiment') or meta['model']}",
        "",
        f"- Architecture: `{meta['model']}` (Kollias & Zafeiriou, OMG-Emotion CNN-RNNs), built by "
        "`omglib.models.build`; settings: " + config,
        f"- Recipe: {json.dumps(meta.get('recipe') or {}, sort_keys=True)}",
        f"- Expects faces pre-processed as `omg preprocess` does: detector {pre.get('detector')}, "
        f"Procrustes alignment onto the 5-point template, {pre.get('crop_size')}x{pre.get('crop_size')} crops",
        f"- Training data: {data_text}",
        f"- Seed: {meta.get('seed')}; code version: {meta.get('code_version') or 'not recorded'}",
        f"- Utterance estimate (`omg predict --segments`): {_estimate_line(meta.get('utterance_estimate'))}",
        "",
        "## Scores (CCC, utterance level)",
        "",
        *_scores_lines(meta.get("scores") or {}),
        "",
        "## Intended use and limits",
        "",
        "- Research on dimensional emotion recognition: per-frame valence and arousal in [-1, 1] "
        "(arousal on the official OMG files' [0, 1] scale with `omg predict --arousal-scale omg`) from one "
        "visible, roughly frontal face per frame. `omg predict` applies it to any video.",
        "- Not for decisions about people: the estimates are noisy, and an affect label is not a fact "
        "about what someone feels.",
    ]
    if surrogate:
        lines.append("- **Trained on omglib's surrogate dataset** (synthetic faces): its scores say nothing "
                     "about real faces, and on real video it is a demonstration, not a predictor.")
    else:
        lines.append("- Trained on in-the-wild data of limited size and demographics; expect lower accuracy "
                     "on faces, lighting and cultures it did not see.")
    card = path.with_name("MODEL_CARD.md")
    write_text(card, "\n".join(lines) + "\n")
    return card
