"""Process pools for the per-video jobs (`omg synth`, `omg preprocess`).

Workers come from a "forkserver": a clean process that has imported omglib but run no
OpenCV, BLAS or dlib work. Plain `fork` deadlocks when the parent has used OpenCV's thread
pool first (a notebook or a test easily has), because the children inherit its locked state.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def _init_worker() -> None:
    import cv2

    cv2.setNumThreads(1)  # one process per core already; OpenCV threads would only contend


@contextmanager
def process_pool(workers: int, preload: tuple[str, ...] = (), initializer: Callable[[], None] | None = None) -> Iterator:
    """A forkserver ``multiprocessing.Pool`` of ``workers`` processes that is terminated at once
    when the block is left by an exception (an error, Ctrl-C), and closed and joined otherwise."""
    context = multiprocessing.get_context("forkserver")
    if preload:
        context.set_forkserver_preload(list(preload))
    pool = context.Pool(workers, initializer=initializer)
    try:
        yield pool
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.close()
        pool.join()


def imap_unordered(func: Callable[[T], R], jobs: Iterable[T], workers: int | None = None) -> Iterator[R]:
    """Results of ``func`` over ``jobs`` as they finish, in ``workers`` processes (1: in this process).

    If the consumer stops early (an exception, Ctrl-C), the workers are terminated at once.
    """
    jobs = list(jobs)
    workers = max(1, min(workers or os.cpu_count() or 1, len(jobs) or 1))
    if workers == 1:
        _init_worker()
        yield from map(func, jobs)
        return
    with process_pool(workers, ("omglib.synth.generate", "omglib.data.store"), _init_worker) as pool:
        yield from pool.imap_unordered(func, jobs)
