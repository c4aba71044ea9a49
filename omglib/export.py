"""`omg export`: a saved network as ONNX or TorchScript, and the runners `omg predict` uses.

Both formats hold `StreamingNetwork`'s signature: inputs ``faces`` (B, T, 3, S, S) in [-1, 1],
``landmarks`` (B, T, 136) and ``state`` (B, state size); outputs ``va`` (B, T, 2) and
``state_out``, so one file serves the paper's windowed inference (zero state, T = the window)
and the streaming form (state fed back). The batch is dynamic in both. TorchScript keeps T
dynamic too. The ONNX graph is one time step (T = 1): torch's maintained exporter
(`torch.export`) unrolls a GRU over the example's time steps, which would fix T; `OnnxRunner`
runs T frames by feeding the state back, the same computation, since the GRUs are causal and
the CNN sees one frame at a time. The
model's metadata (`omglib.models.checkpoint`, plus the state size) travels inside the file as JSON: ONNX metadata
property ``omglib``, TorchScript extra file ``omglib.json``. So `omg predict --model
model.onnx` needs neither the .pt nor torch to run the network.

A runner is ``runner(faces, landmarks, state) -> (va, state)`` on float32 numpy arrays.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from omglib.errors import OmgError
from omglib.io import atomic_path

FORMATS = {"onnx": ".onnx", "torchscript": ".ts.pt"}
INPUTS = ("faces", "landmarks", "state")
OUTPUTS = ("va", "state_out")
META_KEY = "omglib"
ONNX_OPSET = 18


def _example(net, meta: dict, batch: int = 2, frames: int = 3):
    import torch

    size = meta["preprocess"]["crop_size"]
    generator = torch.Generator().manual_seed(0)
    return (torch.rand(batch, frames, 3, size, size, generator=generator) * 2 - 1,
            torch.rand(batch, frames, 136, generator=generator) * 2 - 1,
            torch.rand(batch, net.state_size, generator=generator) * 0.2 - 0.1)


def export(model_path: str | Path, fmt: str, out: str | Path | None = None) -> Path:
    """Write the model at ``model_path`` in ``fmt`` ("onnx" or "torchscript"); returns the file
    (default: beside the model, ``model.onnx`` / ``model.ts.pt``)."""
    import torch

    from omglib.models.checkpoint import load
    from omglib.models.streaming import StreamingNetwork

    if fmt not in FORMATS:
        raise OmgError(f"unknown export format {fmt!r}: choose one of {', '.join(FORMATS)}")
    model = load(model_path)
    net = StreamingNetwork(model)
    out = Path(out) if out else Path(model_path).with_name(Path(model_path).name.split(".")[0] + FORMATS[fmt])
    example = _example(net, model.meta)
    text = json.dumps({**model.meta, "state_size": net.state_size}, sort_keys=True)
    with atomic_path(out) as tmp, torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes on shape arithmetic that is constant for a given model
        if fmt == "onnx":
            import onnx

            batch = torch.export.Dim("batch", min=1, max=1024)
            step = tuple(x[:, :1] for x in example[:2]) + example[2:]
            torch.onnx.export(net, step, str(tmp), input_names=list(INPUTS), output_names=list(OUTPUTS),
                              dynamic_shapes=({0: batch}, {0: batch}, {0: batch}),
                              opset_version=ONNX_OPSET, dynamo=True, external_data=False, verbose=False)
            graph = onnx.load(str(tmp))
            for output in graph.graph.output:
                output.type.tensor_type.shape.dim[0].dim_param = "batch"  # the exporter may record the example's batch
            graph.metadata_props.add(key=META_KEY, value=text)
            onnx.save(graph, str(tmp))
        else:
            traced = torch.jit.trace(net, example, check_trace=False)
            torch.jit.save(traced, str(tmp), _extra_files={f"{META_KEY}.json": text})
    return out


class TorchRunner:
    """A `StreamingNetwork` in eval mode under ``torch.no_grad``."""

    def __init__(self, model):
        from omglib.models.streaming import StreamingNetwork

        self.net = StreamingNetwork(model)
        self.state_size = self.net.state_size

    def __call__(self, faces: np.ndarray, landmarks: np.ndarray, state: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        import torch

        with torch.inference_mode():
            va, state = self.net(torch.from_numpy(faces), torch.from_numpy(landmarks), torch.from_numpy(state))
        return va.numpy(), state.numpy()


class TorchScriptRunner(TorchRunner):
    """An exported TorchScript file (no omglib model classes needed to run it)."""

    def __init__(self, path: str | Path, state_size: int):
        import torch

        self.net = torch.jit.load(str(path), map_location="cpu").eval()
        self.state_size = state_size


class OnnxRunner:
    """An exported ONNX file on onnxruntime's CPU provider."""

    def __init__(self, path: str | Path, state_size: int, threads: int = 0):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads  # 0: onnxruntime's default (one per core)
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.state_size = state_size

    def __call__(self, faces: np.ndarray, landmarks: np.ndarray, state: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        steps = []
        for t in range(faces.shape[1]):  # the graph is one time step (see the module docstring)
            va, state = self.session.run(list(OUTPUTS), dict(zip(INPUTS, (faces[:, t : t + 1], landmarks[:, t : t + 1], state))))
            steps.append(va)
        return np.concatenate(steps, 1), state


@dataclass
class Network:
    """What `omg predict` needs: a runner and the model's metadata."""

    runner: TorchRunner | OnnxRunner
    meta: dict
    backend: str


def _onnx_meta(path: Path) -> dict:
    import onnx

    try:
        props = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
    except Exception as error:  # noqa: BLE001 - any unreadable file is the same user mistake
        raise OmgError(f"{path}: not an ONNX file ({error.__class__.__name__})") from None
    if META_KEY not in props:
        raise OmgError(f"{path}: ONNX file without omglib metadata (export it with `omg export`)")
    return json.loads(props[META_KEY])


def open_network(path: str | Path, backend: str = "torch", scratch: str | Path | None = None, threads: int = 0) -> Network:
    """The network in ``path`` (a model.pt, a .onnx or a TorchScript export) on ``backend``:
    "torch" or "onnxruntime". A model.pt asked to run on onnxruntime is exported to ONNX first
    (into ``scratch``, a folder the caller cleans up). ``threads``: onnxruntime's intra-op
    threads (0: its default; torch's are set with `torch.set_num_threads`)."""
    path = Path(path)
    if not path.is_file():
        raise OmgError(f"{path}: model file not found")
    if path.suffix == ".onnx":
        meta = _onnx_meta(path)
        return Network(OnnxRunner(path, meta["state_size"], threads), meta, "onnxruntime")
    if path.name.endswith(FORMATS["torchscript"]):
        import torch

        extra = {f"{META_KEY}.json": ""}
        try:
            torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
        except Exception as error:  # noqa: BLE001
            raise OmgError(f"{path}: not a TorchScript export ({error.__class__.__name__})") from None
        meta = json.loads(extra[f"{META_KEY}.json"])
        return Network(TorchScriptRunner(path, meta["state_size"]), meta, "torchscript")
    from omglib.models.checkpoint import load

    model = load(path)
    if backend == "onnxruntime":
        if scratch is None:
            raise ValueError("onnxruntime on a model.pt needs a scratch folder for the export")
        onnx_path = export(path, "onnx", Path(scratch) / "model.onnx")
        return Network(OnnxRunner(onnx_path, _onnx_meta(onnx_path)["state_size"], threads), model.meta, "onnxruntime")
    if backend != "torch":
        raise OmgError(f"unknown backend {backend!r}: choose torch or onnxruntime")
    return Network(TorchRunner(model), model.meta, "torch")
