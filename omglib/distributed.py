"""Data-parallel training over several processes (PyTorch DistributedDataParallel).

``torchrun --nproc_per_node N -m omglib.cli run NAME ...`` starts N processes that run the
same schedule: every training (the CNN's frame-by-frame pre-training too) goes through
`omglib.train.fit`, which gives each process its shard of the sequences, takes the loss on the
gathered batch and averages the gradients, with rank 0's validation score deciding the epoch
for all; prediction and post-processing then run in each process on the same inputs. Only rank 0 writes: checkpoints, results,
feature caches and logs (the others' `omglib.io.atomic_path` writes are discarded), and the
others wait for it wherever they read what it wrote (`main_first`, `barrier`).

NCCL with one GPU per process (``LOCAL_RANK``) when CUDA is present, gloo on CPU. The files
must be on a file system all processes see (one machine, or a cluster's shared storage).
`resolve_device` says where a run computes ("auto": CUDA when present).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import torch
import torch.distributed as dist

from omglib.errors import OmgError


def launched() -> bool:
    """Whether a launcher (torchrun, srun with its variables) started several processes."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def start(device: str = "auto") -> torch.device:
    """Join the process group the launcher describes in the environment; returns this process's
    device (its ``LOCAL_RANK``-th GPU, or the CPU)."""
    if "MASTER_ADDR" not in os.environ or "RANK" not in os.environ:
        raise OmgError("WORLD_SIZE > 1 but no MASTER_ADDR / RANK: start the processes with torchrun "
                       "(torchrun --nproc_per_node N -m omglib.cli run ...)")
    cuda = torch.cuda.is_available() and not device.startswith("cpu")
    if cuda:
        chosen = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(chosen)
    else:
        chosen = torch.device("cpu")
    if not dist.is_initialized():  # long waits are normal: rank 0 alone writes a whole result
        dist.init_process_group("nccl" if cuda else "gloo", timeout=timedelta(hours=2))
    return chosen


def stop() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def active() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    return dist.get_rank() if active() else 0


def world() -> int:
    return dist.get_world_size() if active() else 1


def is_main() -> bool:
    return rank() == 0


def barrier() -> None:
    if active():
        dist.barrier()


@contextmanager
def main_first() -> Iterator[None]:
    """Rank 0 runs the block first (and writes what it makes); the others run it afterwards and
    find it made."""
    if not is_main():
        barrier()
    yield
    if is_main():
        barrier()


def _device() -> torch.device:
    return torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")


def broadcast(values: list[float]) -> list[float]:
    """Rank 0's ``values`` in every process (e.g. a validation score only rank 0 computed)."""
    if not active():
        return values
    tensor = torch.tensor(values, dtype=torch.float64, device=_device())
    dist.broadcast(tensor, 0)
    return tensor.tolist()


def any_rank(flag: bool) -> bool:
    """Whether ``flag`` holds in any process (so all of them take the same branch)."""
    if not active():
        return flag
    tensor = torch.tensor([int(flag)], device=_device())
    dist.all_reduce(tensor, dist.ReduceOp.MAX)
    return bool(tensor.item())


def gather(tensor: torch.Tensor, differentiable: bool = False) -> torch.Tensor:
    """Every process's ``tensor`` concatenated along the first axis, in rank order.

    With ``differentiable`` the gradient flows back to each process's own part: a loss taken
    on the gathered batch (the CCC of Eq. 3 is a statistic of the whole batch, not a mean of
    per-sample terms) then gets, after DDP's gradient averaging, exactly the gradient of one
    process holding the whole batch.
    """
    if not active():
        return tensor
    if differentiable:
        return _Gather.apply(tensor)
    as_int = tensor.dtype == torch.bool
    local = tensor.to(torch.uint8) if as_int else tensor.contiguous()
    parts = [torch.empty_like(local) for _ in range(world())]
    dist.all_gather(parts, local)
    out = torch.cat(parts, 0)
    return out.bool() if as_int else out


class _Gather(torch.autograd.Function):
    """all_gather whose backward sums every process's gradient of the (identical) global loss
    and hands each process the rows of its own part."""

    @staticmethod
    def forward(ctx, tensor: torch.Tensor) -> torch.Tensor:
        parts = [torch.empty_like(tensor) for _ in range(world())]
        dist.all_gather(parts, tensor.contiguous())
        return torch.cat(parts, 0)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.contiguous()
        dist.all_reduce(grad)
        rows = grad.shape[0] // world()
        return grad[rank() * rows:(rank() + 1) * rows]


def shard(order: list[int]) -> list[int]:
    """This process's part of ``order``: every world()-th index from its rank, the list padded
    with its own start so that every process gets as many (as DistributedSampler does)."""
    n = world()
    if n == 1:
        return order
    padded = order + order[: (-len(order)) % n]
    return padded[rank()::n]


def resolve_device(device: str = "auto") -> torch.device:
    """"auto" -> cuda when available, else cpu."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)
