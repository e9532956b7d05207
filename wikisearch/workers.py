"""workers: the processes a build runs on, and how blocks reach them.

A pool of spawned worker processes that import only wikisearch (never the caller's ``__main__``,
so a script, ``python -c`` or a notebook needs no ``if __name__ == "__main__"`` guard), ignore
Ctrl-C and die with the main process; stopping it at once (:func:`kill_pool`); SIGTERM turned
into the same interrupt as Ctrl-C while a build runs (:class:`StopOnSignals`); and the transport
of a block's bytes to a worker (a byte range of the input file, shared memory, or pickled).
Knows nothing of what the workers compute: ``build.py`` hands them their jobs.
"""
from __future__ import annotations

import os
import signal
import sys
import threading
import types
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.context import SpawnContext, SpawnProcess

from wikisearch.errors import WikisearchError


# How a block's bytes reach a worker: the pipe of a process pool moves ~300 MB/s and a worker
# waits for it between blocks, so workers read plain input files themselves, and other blocks
# (decompressed by the main process) pass through shared memory when /dev/shm has room.
def share_block(data: bytes, block, dump, room: bool):
    if dump.blocks_are_file_ranges:
        return ("file", os.path.abspath(dump.path), block.start, block.end)
    if room:
        from multiprocessing import shared_memory
        shm = shared_memory.SharedMemory(create=True, size=max(1, len(data)))
        shm.buf[:len(data)] = data
        shm.close()                     # lives on until the worker (or _drop_shared) unlinks it
        return ("shm", shm.name, len(data))
    return ("bytes", data)


def take_block(src) -> bytes:
    kind = src[0]
    if kind == "file":
        path, start, end = src[1:]
        with open(path, "rb") as f:
            f.seek(start)
            data = f.read(end - start)
        if len(data) != end - start:
            raise WikisearchError(f"{path} changed during the build (rerun to start over)")
        return data
    if kind == "shm":
        from multiprocessing import shared_memory
        shm = shared_memory.SharedMemory(name=src[1])
        try:
            return bytes(shm.buf[:src[2]])
        finally:
            shm.close()
            shm.unlink()
    return src[1]


def drop_shared(src) -> None:
    if src[0] == "shm":
        from multiprocessing import shared_memory
        try:
            shm = shared_memory.SharedMemory(name=src[1])
        except FileNotFoundError:
            return
        shm.close()
        shm.unlink()


def shm_room(need: int) -> bool:
    try:
        st = os.statvfs("/dev/shm")
    except OSError:
        return False
    return st.f_bavail * st.f_frsize > need


def _worker_init(parent: int) -> None:
    """Set up a worker process.

    It skips the interpreter's teardown when it exits (numba and LLVM make it take ~0.3 s, which
    the build would wait for): atexit runs this last-registered handler first, after
    multiprocessing has flushed the worker's queues; every file is closed by then.

    It leaves Ctrl-C to the main process (a terminal sends SIGINT to the whole process group; the
    main process stops the workers itself, and tracebacks of every worker would bury its message),
    and on Linux it dies with the main process, however that one ends (even by SIGKILL).
    """
    import atexit
    atexit.register(os._exit, 0)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            PR_SET_PDEATHSIG = 1
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:              # the main process died while this one started
        os._exit(1)


# Spawned workers import what they run (wikisearch modules), never the caller's ``__main__``: the
# standard spawn start method would run the caller's script again in every worker (building again,
# unless guarded by ``if __name__ == "__main__"``), and a notebook's or ``python -c``'s main module
# cannot be imported at all. multiprocessing puts the main module's path or name in what it sends a
# new process only when ``sys.modules["__main__"]`` has a ``__file__`` or ``__spec__``, so while a
# worker is started the main module is shown as a bare one.
_BARE_MAIN = types.ModuleType("__main__")


class _WorkerProcess(SpawnProcess):
    @staticmethod
    def _Popen(process_obj):
        main = sys.modules.get("__main__")
        sys.modules["__main__"] = _BARE_MAIN
        try:
            return SpawnProcess._Popen(process_obj)
        finally:
            if main is None:
                sys.modules.pop("__main__", None)
            else:
                sys.modules["__main__"] = main


class _WorkerContext(SpawnContext):
    """The spawn start method, with workers that do not import the caller's main module."""

    Process = _WorkerProcess


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of ``workers`` spawned processes that import only wikisearch (no ``if __name__ ==
    "__main__"`` guard needed in the caller's script), ignore Ctrl-C and die with this process."""
    return ProcessPoolExecutor(workers, mp_context=_WorkerContext(), initializer=_worker_init,
                               initargs=(os.getpid(),))


def kill_pool(pool: ProcessPoolExecutor) -> None:
    """Stop a pool now: kill its workers (a block half done is redone on resume) and drop its
    queued jobs, without waiting for running ones as ``shutdown`` would."""
    kill = getattr(pool, "kill_workers", None)           # Python 3.14+
    if kill is not None:
        kill()
    else:
        for p in list((getattr(pool, "_processes", None) or {}).values()):
            try:
                p.kill()
            except (OSError, ValueError):
                pass
    pool.shutdown(wait=True, cancel_futures=True)


class BuildInterrupted(KeyboardInterrupt):
    """A build stopped by Ctrl-C or SIGTERM: its workers are gone, its finished blocks are kept,
    and the message says how to resume. ``signum`` is the signal's number."""

    def __init__(self, message: str, signum: int = signal.SIGINT):
        super().__init__(message)
        self.signum = int(signum)


class _Signalled(KeyboardInterrupt):
    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class StopOnSignals:
    """While a build runs in the main thread, SIGTERM stops it like Ctrl-C does (by default it
    would end the process at once, leaving the workers behind). Handlers a caller installed are
    left alone. After :meth:`defer`, a signal waits until the context exits, so that publishing
    the index (two renames) is never cut in half; it is then delivered to the old handler."""

    def __init__(self):
        self.old: dict = {}
        self.deferred = False
        self.pending: int | None = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                handler = signal.getsignal(sig)
                if handler in (signal.SIG_DFL, signal.default_int_handler):
                    self.old[sig] = handler
                    signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.deferred:
            self.pending = signum
            return
        raise _Signalled(signum)

    def defer(self) -> None:
        self.deferred = True

    def __exit__(self, *exc):
        for sig, handler in self.old.items():
            signal.signal(sig, handler)
        if self.pending is not None and exc[0] is None:
            signal.raise_signal(self.pending)
        return False


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, which containers and ``taskset``
    narrow), the default number of build workers of ``wikisearch index``."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:                     # not Linux
        return max(1, os.cpu_count() or 1)
