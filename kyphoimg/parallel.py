"""Executors for per-film work: serial, local processes, or a Dask distributed cluster.

All three yield ``(index, result)`` pairs as the work completes; callers sort by index,
so the output does not depend on which executor ran or in what order films finished.
:func:`ordered_map` yields results in task order instead, with a bounded window of tasks
in flight (the cohort index uses it).
"""

from __future__ import annotations

import multiprocessing
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from multiprocessing.context import BaseContext
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

__all__ = ["executor_name", "ordered_map", "run_tasks"]


def executor_name(jobs: int, scheduler: str | None) -> str:
    """Describe the executor for the run summary."""
    if scheduler:
        return f"dask:{scheduler}"
    return "serial" if jobs <= 1 else f"processes:{jobs}"


def run_tasks(
    fn: Callable[[T], R],
    tasks: Sequence[T],
    *,
    jobs: int = 1,
    scheduler: str | None = None,
) -> Iterator[tuple[int, R]]:
    """Apply ``fn`` to every task, yielding ``(position, result)`` as results arrive.

    Parameters
    ----------
    fn : callable
        A picklable top-level function; it must not raise (return failures as values).
    tasks : sequence
        Picklable task descriptions.
    jobs : int
        Worker processes (1: in this process).
    scheduler : str, optional
        Address of a Dask distributed scheduler (``tcp://host:port``); overrides ``jobs``.
    """
    if not tasks:
        return
    if scheduler:
        yield from _dask(fn, tasks, scheduler)
    elif jobs <= 1:
        for i, task in enumerate(tasks):
            yield i, fn(task)
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = {pool.submit(fn, task): i for i, task in enumerate(tasks)}
            for fut in as_completed(futures):
                yield futures[fut], fut.result()


def _dask(
    fn: Callable[[Any], Any], tasks: Sequence[Any], address: str
) -> Iterator[tuple[int, Any]]:
    from dask.distributed import Client
    from dask.distributed import as_completed as dask_completed

    # as_completed looks up the default client, so this one is the default while it runs.
    with Client(address, set_as_default=True) as client:
        futures = client.map(fn, list(tasks), pure=False)
        position = {f.key: i for i, f in enumerate(futures)}
        for fut in dask_completed(futures):
            yield position[fut.key], fut.result()
            fut.release()  # results leave the cluster as soon as they are taken


def ordered_map(
    fn: Callable[[T], R], tasks: Iterable[T], *, jobs: int, ahead: int = 2
) -> Iterator[R]:
    """Apply ``fn`` to every task in ``jobs`` worker processes, yielding results in order.

    Unlike :meth:`concurrent.futures.Executor.map`, tasks are drawn from ``tasks`` lazily:
    at most ``ahead * jobs`` are in flight, so memory stays flat for any number of tasks.

    Parameters
    ----------
    fn : callable
        A picklable top-level function.
    tasks : iterable
        Picklable task descriptions (may be a generator).
    jobs : int
        Worker processes (at least 1).
    ahead : int, optional
        Tasks in flight per worker (default 2).

    Yields
    ------
    object
        ``fn(task)`` for each task, in the order of ``tasks``.

    Raises
    ------
    Exception
        Whatever ``fn`` raised for a task, when its result is reached (the tasks still
        queued are cancelled).
    """
    window: deque[Future[R]] = deque()
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=_context())
    try:
        for task in tasks:
            window.append(pool.submit(fn, task))
            if len(window) >= ahead * jobs:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()
    finally:  # stopped early or failed: do not wait for work nobody will take
        pool.shutdown(wait=True, cancel_futures=True)


#: What a worker runs (a preload that cannot be imported is skipped without a word, so
#: tests/test_parallel.py imports each of them).
_WORKER_MODULES = ["kyphoimg.batch", "kyphoimg.dicom._scan"]


def _context() -> BaseContext:
    """How to start workers: fork a single-threaded caller, else fork a clean server.

    Forking copies the caller as it is, which is fast and needs no ``__main__`` guard in a
    plain script, but copies other threads' locks too (a GUI's, a progress bar's) and may
    deadlock a worker; so a caller running threads gets workers forked from a clean server
    process instead (``forkserver``, which imports the workers' modules once, so that a
    worker is ready at once and a Ctrl+C cannot catch it importing; its scripts need the
    usual ``if __name__ == "__main__":`` guard).
    """
    methods = multiprocessing.get_all_start_methods()
    if threading.active_count() == 1 and "fork" in methods:
        return multiprocessing.get_context("fork")
    if "forkserver" in methods:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(_WORKER_MODULES)
        return context
    return multiprocessing.get_context("spawn")
