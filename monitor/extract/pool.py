"""A process pool whose tasks can be killed: a wall-clock limit and an address-space cap.

The standard library's ProcessPoolExecutor cannot stop a running task, so a runaway parse
would hold a worker (and the cycle waiting on it) for as long as it likes. pebble's pool
terminates the worker at the task's deadline and starts a fresh one. Each worker also caps
its own address space with ``RLIMIT_AS`` so a page that would need gigabytes fails with a
MemoryError inside the worker instead of swapping the host or waking the OOM killer; the
parent process never holds the parse tree, so its memory is unaffected.

Workers are started from a *forkserver* that has imported the modules named in ``preload``:
a fork of that small, single-threaded process starts in milliseconds (no re-import of
trafilatura after every kill) and does not inherit the parent's threads, locks or its large
virtual address space (which would count against ``RLIMIT_AS``).

Failures are translated into :mod:`monitor.errors` at this boundary:

=========================  =========================================================
worker outcome             raised from the future
=========================  =========================================================
deadline passed            ExtractTimeoutError (``extract_timeout``), worker killed
MemoryError in the task    ExtractError ``memory_limit``
worker died (signal, OOM)  ExtractError ``worker_died``
pool stopped meanwhile     ExtractError ``pool_closed``
other foreign exception    ExtractError ``extract_failed``
MonitorError               passed through unchanged
=========================  =========================================================

This is the only module that imports pebble.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import resource
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import CancelledError, Future, InvalidStateError
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar, cast

from pebble import ProcessExpired, ProcessPool

from monitor.errors import ExtractError, ExtractTimeoutError, MonitorError

T = TypeVar("T")


def _limit_memory(limit: int) -> None:
    """Worker initializer: cap this process's address space at ``limit`` bytes."""
    if limit <= 0:
        return
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    # Only the soft limit: the worker could raise it again, but it runs only our code.
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _error(message: str, code: str) -> ExtractError:
    err = ExtractError(message)
    err.code = code
    return err


def translate(exc: BaseException, timeout: float) -> BaseException:
    """The :mod:`monitor.errors` exception for what a worker future failed with."""
    if isinstance(exc, MonitorError):
        return exc
    if isinstance(exc, TimeoutError):  # concurrent.futures.TimeoutError is this on 3.11+
        return ExtractTimeoutError(f"extraction killed after {timeout:g} s")
    if isinstance(exc, MemoryError):
        return _error("extraction exceeded the worker memory limit", "memory_limit")
    if isinstance(exc, BrokenProcessPool | CancelledError):  # the pool was stopped under it
        return _error("extraction pool stopped", "pool_closed")
    if isinstance(exc, ProcessExpired):
        return _error(f"extraction worker died (exit code {exc.exitcode})", "worker_died")
    return _error(f"extraction failed: {type(exc).__name__}: {exc}", "extract_failed")


class KillablePool:
    """Run picklable functions in worker processes killed at ``timeout`` seconds.

    ``submit`` returns a standard :class:`concurrent.futures.Future`; cancelling it kills
    the task's worker if the task is already running.
    """

    def __init__(
        self,
        *,
        workers: int,
        timeout: float,
        memory_limit: int,
        max_tasks: int,
        preload: Sequence[str] = (),
    ) -> None:
        self.timeout = timeout
        context = multiprocessing.get_context("forkserver")
        if preload:
            # Process-wide setting, read when the fork server first starts.
            context.set_forkserver_preload(list(preload))
        self._lock = threading.Lock()
        self._pending: set[Future[Any]] = set()
        self._pool = ProcessPool(
            max_workers=workers,
            max_tasks=max_tasks,
            initializer=_limit_memory,
            initargs=(memory_limit,),
            context=context,
        )

    def submit(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> Future[T]:
        """Schedule ``function(*args, **kwargs)`` in a worker; the future carries translated
        errors."""
        outer: Future[T] = Future()
        try:
            # Typed as the standard Future it subclasses: pebble's own overrides are untyped.
            inner: Future[T] = self._pool.schedule(function, args=args, kwargs=kwargs,
                                                  timeout=self.timeout)
        except RuntimeError as exc:  # pool closed or broken
            outer.set_exception(_error(f"extraction pool unavailable: {exc}", "pool_closed"))
            return outer
        with self._lock:
            self._pending.add(outer)

        def settle(done: Future[T]) -> None:
            # Runs on pebble's result thread: must be quick and must not raise.
            if done.cancelled():
                outer.cancel()
                return
            exc = done.exception()
            if exc is None:
                _resolve(outer, result=done.result())
            else:
                _resolve(outer, error=translate(exc, self.timeout))

        def finished(done: Future[T]) -> None:
            with self._lock:
                self._pending.discard(outer)
            if done.cancelled():
                inner.cancel()  # kills the worker if the task is running

        outer.add_done_callback(finished)
        inner.add_done_callback(settle)
        return outer

    def close(self) -> None:
        """Kill the workers and wait for them; every unsettled future fails ``pool_closed``."""
        self._pool.stop()  # type: ignore[no-untyped-call]  # pebble leaves it unannotated
        with contextlib.suppress(CancelledError, TimeoutError):
            self._pool.join(timeout=10)
        # pebble settles the tasks that had reached a worker; those still queued would wait
        # forever, and with them the threads blocked on their results.
        with self._lock:
            pending = list(self._pending)
        for outer in pending:
            _resolve(outer, error=_error("extraction pool stopped", "pool_closed"))


def _resolve(outer: Future[T], *, result: T | None = None,
             error: BaseException | None = None) -> None:
    """Settle ``outer`` unless it already is (cancelled by its caller, or failed by close)."""
    try:
        if error is not None:
            outer.set_exception(error)
        else:
            outer.set_result(cast(T, result))
    except InvalidStateError:
        pass
