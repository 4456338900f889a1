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

Failures are translated into :mod:`monitor.errors` at this boundary, in the terms of the
pool's :class:`PoolErrors` (extraction's by default; the daemon's feed-parsing pool passes
:data:`monitor.errors.ParseError`'s):

=========================  =========================================================
worker outcome             raised from the future (extraction / feed parsing)
=========================  =========================================================
deadline passed            ExtractTimeoutError ``extract_timeout`` / ``parse_timeout``;
                           the worker is killed
MemoryError in the task    ExtractError ``memory_limit`` / ParseError ``too_complex``
worker died (signal, OOM)  ExtractError ``worker_died`` / ParseError ``too_complex``
pool stopped meanwhile     ``pool_closed``
other foreign exception    ExtractError ``extract_failed`` / ParseError ``parse_error``
MonitorError               passed through unchanged
=========================  =========================================================

The pool is generic (any picklable function): it lives in the extract stage because extraction
was its first user, and the daemon, which may import every stage, hands it the feed parser
too (the feeds and extract stages never import each other).

This is the only module that imports pebble.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
import multiprocessing
import platform
import resource
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import CancelledError, Future, InvalidStateError
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from pebble import ProcessExpired, ProcessPool

from monitor.errors import ExtractError, ExtractTimeoutError, MonitorError

T = TypeVar("T")
log = logging.getLogger(__name__)


def _limit_memory(limit: int) -> None:
    """Worker initializer: cap this process's address space at ``limit`` bytes.

    Also freezes the objects inherited from the fork server: the garbage collector then never
    writes to their headers, so their pages stay shared with the fork server and the other
    workers instead of being copied into each worker (~20 MB each).
    """
    gc.freeze()
    if limit <= 0:
        return
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    # Only the soft limit: the worker could raise it again, but it runs only our code.
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


@dataclass(frozen=True)
class PoolErrors:
    """How a pool names its failures: the error classes and codes its futures raise."""

    what: str  # "extraction", "feed parsing": the start of each message
    error: type[MonitorError]  # the base class of every failure
    timeout: type[MonitorError]  # the deadline passed (its own code)
    memory_code: str  # MemoryError in the task
    died_code: str  # the worker was killed by a signal or died
    failed_code: str  # any other foreign exception


EXTRACT_ERRORS = PoolErrors("extraction", ExtractError, ExtractTimeoutError, "memory_limit",
                            "worker_died", "extract_failed")

# Module-wide: the fork server is shared by every pool of the process and reads the preload
# list once, when it starts (at the first task of any pool), so every pool adds its modules.
_PRELOAD: list[str] = []


def _call_in_worker(function: Callable[..., T], args: tuple[Any, ...],
                    kwargs: dict[str, Any], release_memory: bool) -> T:
    """Run ``function`` in the worker; what a failure held is let go before the next task.

    pebble keeps each task's outcome, exception and all, until the next task has finished: a
    traceback would keep every frame of the failed task alive meanwhile (the parse tree of the
    page that hit the memory cap, which then fails the next page too). The parent never sees
    a traceback (pickling drops it), so dropping them loses nothing.

    ``release_memory``: give the freed heap back to the system after every task. glibc keeps
    freed memory for reuse: a worker that once parsed a 50,000-entry feed would otherwise hold
    ~100 MB until it is recycled. Costs a garbage collection per task, so only pools of rare,
    memory-hungry tasks (feed parsing) ask for it; after a MemoryError every pool does.
    """
    try:
        result = function(*args, **kwargs)
    except BaseException as exc:
        seen: set[int] = set()
        link: BaseException | None = exc
        while link is not None and id(link) not in seen:
            seen.add(id(link))
            link.__traceback__ = None
            link = link.__cause__ or link.__context__
        if release_memory or isinstance(exc, MemoryError):
            release_free_memory()
        raise  # the chain is kept, its frames are not
    if release_memory:
        release_free_memory()
    return result


def _libc() -> ctypes.CDLL | None:
    if platform.libc_ver()[0] != "glibc":
        return None
    try:
        return ctypes.CDLL(None)
    except OSError:
        return None


_LIBC = _libc()


def release_free_memory() -> None:
    """Collect garbage and return free heap pages to the system (glibc ``malloc_trim``).

    The workers call it after each memory-hungry task; the daemon after start-up and after
    a feed that listed tens of thousands of entries (the process tree's peak is what counts).
    """
    gc.collect()
    if _LIBC is not None:
        with contextlib.suppress(AttributeError, OSError):
            _LIBC.malloc_trim(0)


def translate(exc: BaseException, timeout: float,
              errors: PoolErrors = EXTRACT_ERRORS) -> BaseException:
    """The :mod:`monitor.errors` exception for what a worker future failed with."""
    what = errors.what
    if isinstance(exc, MonitorError):
        return exc
    if isinstance(exc, TimeoutError):  # concurrent.futures.TimeoutError is this on 3.11+
        return errors.timeout(f"{what} killed after {timeout:g} s")
    if isinstance(exc, MemoryError):
        return errors.error.coded(f"{what} exceeded the worker memory limit", errors.memory_code)
    if isinstance(exc, BrokenProcessPool | CancelledError):  # the pool was stopped under it
        return errors.error.coded(f"{what} pool stopped", "pool_closed")
    if isinstance(exc, ProcessExpired):
        return errors.error.coded(f"{what} worker died (exit code {exc.exitcode})",
                                  errors.died_code)
    return errors.error.coded(f"{what} failed: {type(exc).__name__}: {exc}", errors.failed_code)


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
        errors: PoolErrors = EXTRACT_ERRORS,
        release_memory: bool = False,
    ) -> None:
        """``release_memory``: return each task's freed heap to the system when it ends."""
        self.timeout = timeout
        self.errors = errors
        self._release_memory = release_memory
        context = multiprocessing.get_context("forkserver")
        if preload:
            # Process-wide setting, read when the fork server first starts.
            _PRELOAD.extend(m for m in preload if m not in _PRELOAD)
            context.set_forkserver_preload(list(_PRELOAD))
        self._lock = threading.Lock()
        self._pending: set[Future[Any]] = set()
        self._closed = False

        def new_pool() -> ProcessPool:
            return ProcessPool(max_workers=workers, max_tasks=max_tasks,
                               initializer=_limit_memory, initargs=(memory_limit,),
                               context=context)

        self._new_pool = new_pool
        self._pool = new_pool()

    def submit(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> Future[T]:
        """Schedule ``function(*args, **kwargs)`` in a worker; the future carries translated
        errors."""
        outer: Future[T] = Future()
        try:
            # Typed as the standard Future it subclasses: pebble's own overrides are untyped.
            inner: Future[T] = self._schedule(
                _call_in_worker, (function, args, kwargs, self._release_memory), {})
        except RuntimeError as exc:  # pool closed or broken
            outer.set_exception(self.errors.error.coded(
                f"{self.errors.what} pool unavailable: {exc}", "pool_closed"))
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
            elif self._closed and not isinstance(exc, MonitorError):
                # Stopping the pool under a running task fails it in pebble's own ways (a
                # TypeError now and then): whatever it is, the pool was closed.
                _resolve(outer, error=self.errors.error.coded(
                    f"{self.errors.what} pool stopped", "pool_closed"))
            else:
                _resolve(outer, error=translate(exc, self.timeout, self.errors))

        def finished(done: Future[T]) -> None:
            with self._lock:
                self._pending.discard(outer)
            if done.cancelled():
                inner.cancel()  # kills the worker if the task is running

        outer.add_done_callback(finished)
        inner.add_done_callback(settle)
        return outer

    def _schedule(self, function: Callable[..., T], args: tuple[Any, ...],
                  kwargs: dict[str, Any]) -> Future[T]:
        """pebble's schedule; a pool that broke (a worker that failed outside its task, e.g.
        a MemoryError while receiving it) is replaced once instead of failing every task."""
        try:
            return self._pool.schedule(function, args=args, kwargs=kwargs, timeout=self.timeout)
        except RuntimeError:
            with self._lock:
                if self._closed:
                    raise
                broken, self._pool = self._pool, self._new_pool()
            log.warning("%s pool broke; starting a new one", self.errors.what)
            broken.stop()  # type: ignore[no-untyped-call]
            return self._pool.schedule(function, args=args, kwargs=kwargs, timeout=self.timeout)

    def close(self) -> None:
        """Kill the workers and wait for them; every unsettled future fails ``pool_closed``."""
        with self._lock:
            self._closed = True
        self._pool.stop()  # type: ignore[no-untyped-call]  # pebble leaves it unannotated
        with contextlib.suppress(CancelledError, TimeoutError):
            self._pool.join(timeout=10)
        # pebble settles the tasks that had reached a worker; those still queued would wait
        # forever, and with them the threads blocked on their results.
        with self._lock:
            pending = list(self._pending)
        for outer in pending:
            _resolve(outer, error=self.errors.error.coded(
                f"{self.errors.what} pool stopped", "pool_closed"))


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
