"""cluster: a dask.distributed cluster as the executor a build or an embedding run uses.

The build is a pool of independent tasks (one per dump block, then one per term range of the
merge), each a pure function of files and settings; any ``concurrent.futures.Executor`` runs
them. :class:`ClusterExecutor` is that executor over a Dask scheduler: tasks go to the cluster's
workers, a worker that dies has its running tasks retried elsewhere by the scheduler, and the
files the tasks read and write (the dump, the index's work directory) must be on storage that
every worker sees under the same path (NFS, a cluster file system). ``dask.distributed`` is an
optional extra (``pip install wikisearch[cluster]``), imported only here and only when asked for.

>>> with connect("tcp://10.0.0.1:8786") as ex:                          # doctest: +SKIP
...     build_index(["enwiki.xml"], "/shared/wikisearch-index", executor=ex)
"""
from __future__ import annotations

import concurrent.futures as cf
import threading

from wikisearch.errors import MissingExtraError, WikisearchError

INSTALL_HINT = 'pip install "wikisearch[cluster]"'


def _distributed():
    try:
        import distributed
    except ImportError as e:
        raise MissingExtraError(f"--scheduler needs the cluster extra (dask.distributed is not "
                                f"installed: {type(e).__name__}); install it with: {INSTALL_HINT}") from None
    return distributed


class ClusterExecutor(cf.Executor):
    """Runs ``fn(*args)`` as tasks of a Dask cluster, returning ``concurrent.futures`` futures
    (so ``wait`` and ``as_completed`` work as with a process pool). Every task is impure (never
    deduplicated with another of the same arguments). ``workers`` is the number of tasks the
    cluster runs at once (its worker threads), how many a caller keeps in flight."""

    def __init__(self, client, *, owns_client: bool = False):
        self.client = client
        self.owns_client = owns_client
        self._futures: set = set()        # (done callbacks run on Dask's threads: under _lock)
        self._lock = threading.Lock()
        self._closed = False

    def _workers(self) -> dict:
        info = self.client.scheduler_info(n_workers=-1) if _takes_n_workers(self.client) else \
            self.client.scheduler_info()
        return info["workers"]

    @property
    def workers(self) -> int:
        return max(1, sum(int(w.get("nthreads", 1)) for w in self._workers().values()))

    @property
    def threads_per_worker(self) -> int:
        """The most tasks one worker process runs at once (each holds a block in its memory)."""
        return max([int(w.get("nthreads", 1)) for w in self._workers().values()] or [1])

    def worker_addresses(self) -> list[str]:
        """The address of each worker process, sorted."""
        return sorted(self._workers())

    def submit(self, fn, /, *args, **kwargs) -> cf.Future:
        if self._closed:
            raise RuntimeError("cannot submit to a closed ClusterExecutor")
        future = self.client.submit(fn, *args, pure=False, **kwargs)
        with self._lock:
            self._futures.add(future)
        out: cf.Future = cf.Future()
        out.add_done_callback(lambda f: future.cancel() if f.cancelled() else None)
        future.add_done_callback(lambda f: self._settle(f, out))
        return out

    def _settle(self, future, out: cf.Future) -> None:
        with self._lock:
            self._futures.discard(future)
        if out.done():
            return
        if future.status == "finished":
            try:
                out.set_result(future.result())
            except BaseException as e:          # (the result could not be fetched)
                out.set_exception(e)
        elif future.status == "cancelled":
            out.cancel()
            out.set_running_or_notify_cancel()
        else:
            out.set_exception(future.exception())

    def scatter(self, data):
        """Put ``data`` (a block's bytes) in a worker's memory; pass the result to :meth:`submit`
        (inside a tuple is fine) and the task receives the data itself."""
        return self.client.scatter(data, hash=False)

    def cancel_all(self) -> None:
        """Drop every queued or running task of this executor (Ctrl-C): nothing waits for them."""
        with self._lock:
            futures = list(self._futures)
            self._futures.clear()
        if futures:
            self.client.cancel(futures, force=True)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        if cancel_futures:
            self.cancel_all()
        elif wait:
            with self._lock:
                futures = list(self._futures)
            self.client.gather(futures, errors="skip")
        self._closed = True
        if self.owns_client:
            self.client.close()


def _takes_n_workers(client) -> bool:
    import inspect
    return "n_workers" in inspect.signature(client.scheduler_info).parameters


def connect(scheduler, *, timeout: float = 30) -> ClusterExecutor:
    """A :class:`ClusterExecutor` on ``scheduler``: an address (``tcp://host:8786``, as the
    ``dask scheduler`` command prints it), a ``distributed.Client`` or a ``LocalCluster``.

    >>> ex = connect("tcp://10.0.0.1:8786")                                 # doctest: +SKIP
    """
    distributed = _distributed()
    if isinstance(scheduler, distributed.Client):
        return ClusterExecutor(scheduler)
    try:
        client = distributed.Client(scheduler, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError) as e:
        raise WikisearchError(f"cannot reach the Dask scheduler at {scheduler}: {e}") from None
    if not client.scheduler_info()["workers"]:
        try:
            client.wait_for_workers(1, timeout=timeout)
        except (OSError, TimeoutError):
            client.close()
            raise WikisearchError(f"the Dask scheduler at {scheduler} has no workers "
                                  f"(start some: dask worker {scheduler})") from None
    return ClusterExecutor(client, owns_client=True)


def killed_worker_error(exc: BaseException) -> WikisearchError | None:
    """A one-line error for a task the scheduler gave up on (its workers kept dying), else None."""
    try:
        from distributed import KilledWorker
    except ImportError:
        return None
    if isinstance(exc, KilledWorker):
        return WikisearchError(f"cluster workers died running one task ({exc}); out of memory? "
                               "finished blocks are kept: run the same command again to resume")
    return None
