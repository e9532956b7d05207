"""server: run the application under uvicorn (``wikisearch serve``).

A start does each thing once, in this order: import, open the index (mmapped), bind the socket
(from then on connections wait in its backlog), load what the first answers need -- the
suggester and the kernels of a search with snippets (``app.warm_up``) -- and only then serve;
the rest (the spelling dictionary, the kernels of other query shapes) loads on a background
thread of each serving process. A missing or stale ``spelling.bin`` is built by one process of its
own, started after that warm-up and before the workers (:mod:`~wikisearch.serve.spelling_build`):
no request waits for it. ``processes=N`` (N > 1) forks N worker processes from that ready
process, each running uvicorn on the one listening socket: the workers share the parent's pages
(the loaded kernels, the suggester's arrays, the mmapped index), so N processes start in the time
of one and every request runs Python in parallel (one process holds one GIL). The parent only
supervises: SIGINT or SIGTERM stops the workers gracefully, a worker that dies is forked again.
Where ``os.fork`` does not exist, uvicorn's own (spawned) workers serve instead, each opening the
index itself from ``$WIKISEARCH_SERVE`` (:func:`app_from_env`).
"""
from __future__ import annotations

import ipaddress
import json
import os
import signal
import sys
import threading
import time

ENV = "WIKISEARCH_SERVE"
#: Workers that may end within a minute, each forked again, before the server gives up and stops
#: (a worker that fails at its start, or always, would only fail again).
MAX_RESTARTS_PER_MINUTE = 10


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def default_threads() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:                  # not Linux
        return os.cpu_count() or 1


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def app_from_env():
    """The application a spawned worker serves, from ``$WIKISEARCH_SERVE`` (set by :func:`serve`
    where ``os.fork`` does not exist)."""
    from wikisearch.search.startup import fast_start
    from wikisearch.serve.app import create_app
    fast_start()
    from wikisearch.search.searcher import Searcher
    config = json.loads(os.environ[ENV])
    searcher = Searcher(config["index"])
    searcher.on_slow_start = _say
    return create_app(searcher, dense_dir=config["dense_dir"], threads=config["threads"],
                      cache_bytes=config["cache_bytes"], warm=True, rerank_model=config.get("rerank_model"))


def serve(index, *, host: str = "127.0.0.1", port: int = 8080, threads: int | None = None,
          processes: int = 1, dense_dir=None, access_log: bool = False, cache_bytes: int | None = None,
          rerank_model=None) -> None:
    """Serve ``index`` until interrupted: open it (mmapped; one Searcher for every request of a
    process), listen on ``host:port``, load what the first answers need, then answer (the other
    kernels load on a background thread meanwhile). ``threads``: searches run at once per
    process (default: one per core); ``processes``: worker processes forked from this one, ready;
    ``cache_bytes``: bound on cached answers per process (0: none); ``rerank_model``: a model file
    that ``rerank=1`` (a lexical model) or ``mode=hybrid`` (one that reads dense similarity)
    re-ranks with instead of the shipped one."""
    from wikisearch.search import startup
    if dense_dir is None:
        startup.no_blas_threads()                # lexical only: no linear algebra in this server
    startup.pause_collections()                  # importing and loading: resumed before serving
    try:
        _serve(index, host=host, port=port, threads=threads, processes=processes, dense_dir=dense_dir,
               access_log=access_log, cache_bytes=cache_bytes, rerank_model=rerank_model)
    finally:
        startup.resume_collections()             # (never left off: also after a failed start)


def _serve(index, *, host, port, threads, processes, dense_dir, access_log, cache_bytes, rerank_model=None) -> None:
    from wikisearch.search import startup
    from wikisearch.serve import require
    require()
    import uvicorn

    startup.fast_start()
    from wikisearch.search.searcher import Searcher
    from wikisearch.serve.app import CACHE_BYTES, create_app, warm_up
    threads = threads or default_threads()
    cache_bytes = CACHE_BYTES if cache_bytes is None else cache_bytes
    where = f"http://{'[' + host + ']' if ':' in host else host}:{port}/"
    run = dict(host=host, port=port, access_log=access_log, log_level="warning", server_header=False,
               date_header=False)
    forking = processes > 1 and hasattr(os, "fork")
    if processes > 1 and not forking:
        startup.resume_collections()
        _serve_spawned(index, uvicorn, run, where, processes=processes, threads=threads,
                       dense_dir=dense_dir, cache_bytes=cache_bytes, rerank_model=rerank_model)
        return
    searcher = Searcher(index)                   # a missing or damaged index: one line, before binding
    searcher.on_slow_start = _say
    from wikisearch.serve.spelling_build import SpellingBuild
    spelling = SpellingBuild.for_searcher(searcher, _say)
    app = create_app(searcher, dense_dir=dense_dir, threads=threads, cache_bytes=cache_bytes, warm=True,
                     spelling=spelling, rerank_model=rerank_model)
    from wikisearch.serve.protocol import http_protocol
    config = uvicorn.Config(app, http=http_protocol(), **run)   # each answer in one write
    config.load()                                # uvicorn's protocol classes and app wrapping, once
    sock = config.bind_socket()
    sock.listen(config.backlog)                  # connections wait in the backlog while we get ready
    many = f"{processes} processes; " if forking else ""
    print(f"Serving {searcher.n_docs:,} documents of {index} at {where} ({many}Ctrl-C to stop)", flush=True)
    _warn_if_open(host)
    try:
        warm_up(app.state.service, rest=False)   # the first answers' path, before any fork: shared
        startup.resume_collections()             # what is loaded now stays: frozen, then collections
        if spelling is not None:                 # then (not sharing the cores with that warm-up) one
            spelling.start()                     # builder, a process of its own, if spelling.bin is not usable
        if forking:
            _import_worker_start(config)         # what every worker's start imports, imported once
            _prefork(config, sock, processes, spelling)
        else:
            previous = None
            if spelling is not None:
                spelling.reap_in_thread()
                previous = signal.signal(signal.SIGTERM, _close_then_die(spelling))
            try:
                uvicorn.Server(config).run(sockets=[sock])
            except KeyboardInterrupt:            # Ctrl-C: uvicorn stopped gracefully, then raised it
                pass
            finally:
                if previous is not None:
                    signal.signal(signal.SIGTERM, previous)
    finally:
        if spelling is not None:
            spelling.close()


def _serve_spawned(index, uvicorn, run, where, *, processes, threads, dense_dir, cache_bytes,
                   rerank_model=None) -> None:
    """``processes`` uvicorn workers started by spawning (no ``os.fork`` here): each imports,
    opens and warms up on its own."""
    from wikisearch.index.manifest import read_manifest
    manifest = read_manifest(index)              # a missing or damaged index: one line, before starting
    os.environ[ENV] = json.dumps({"index": str(index), "dense_dir": None if dense_dir is None else str(dense_dir),
                                  "threads": threads, "cache_bytes": cache_bytes,
                                  "rerank_model": None if rerank_model is None else str(rerank_model)})
    n = int(manifest["stats"]["n_docs"])
    print(f"Serving {n:,} documents of {index} at {where} ({processes} processes; Ctrl-C to stop)", flush=True)
    _warn_if_open(run["host"])
    uvicorn.run("wikisearch.serve.server:app_from_env", factory=True, workers=processes, **run)


def _prefork(config, sock, processes: int, spelling=None) -> None:
    """Fork ``processes`` workers serving ``config``'s app on ``sock``; supervise them until
    SIGINT or SIGTERM (passed on to them as SIGTERM: uvicorn's graceful stop), forking a new
    worker for one that ends (unless it failed at its start, or too many did: then stop all).
    ``spelling``'s builder, a child of this process too, is reaped here (:meth:`SpellingBuild.ended`)."""
    import gc
    gc.collect()
    gc.freeze()                       # the workers' collections leave the parent's objects (and pages) alone
    workers: dict[int, int] = {}      # pid -> its slot in balance
    from wikisearch.serve import protocol
    balance = protocol.Balance(processes)     # open connections per worker: bursts spread evenly
    stopping = []
    stop_signals = {signal.SIGINT, signal.SIGTERM}

    def stop(signum, _frame) -> None:
        if not stopping:
            stopping.append(signum)
        for pid in list(workers):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    def fork_worker(slot: int) -> None:
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)   # no stop between fork and record
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                balance.join(slot)
                protocol.BALANCE = balance
                for s in stop_signals:
                    signal.signal(s, signal.SIG_DFL)                     # uvicorn installs its own
                signal.pthread_sigmask(signal.SIG_SETMASK, mask)
                _end_with_parent(os.getppid())
                import uvicorn
                uvicorn.Server(config).run(sockets=[sock])
            except SystemExit as e:                                      # uvicorn's startup failure: 3
                code = e.code if isinstance(e.code, int) else 1
            except BaseException:                                        # noqa: BLE001
                import traceback
                traceback.print_exc()
                code = 1
            finally:
                os._exit(code)
        workers[pid] = slot
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)

    from uvicorn.config import STARTUP_FAILURE
    ended: list[float] = []
    previous = {s: signal.signal(s, stop) for s in stop_signals}
    try:
        for slot in range(processes):
            fork_worker(slot)
        while workers:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            if spelling is not None and pid == spelling.pid:
                spelling.ended(os.waitstatus_to_exitcode(status))
                continue
            slot = workers.pop(pid, None)
            if slot is None or stopping:
                continue
            code = os.waitstatus_to_exitcode(status)
            now = time.monotonic()
            ended[:] = [t for t in ended if t > now - 60] + [now]
            if code == STARTUP_FAILURE or len(ended) > MAX_RESTARTS_PER_MINUTE:
                _say(f"Error: a server process ended (exit status {code}) "
                     f"{'at its start' if code == STARTUP_FAILURE else 'too often'}; stopping")
                stop(signal.SIGTERM, None)
                continue
            _say(f"a server process ended (exit status {code}); starting another")
            fork_worker(slot)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        sock.close()


def _close_then_die(spelling):
    """A SIGTERM handler: uvicorn stops gracefully on SIGTERM, then raises it again, to end the
    process with it; before that, stop the spelling builder (and remove its temporary directory)."""
    def handler(signum, _frame) -> None:
        spelling.close()
        signal.signal(signum, signal.SIG_DFL)
        signal.raise_signal(signum)
    return handler


def _import_worker_start(config) -> None:
    """Import, before forking, what a worker's uvicorn start imports (the event loop's module,
    anyio's asyncio backend for the lifespan and the threads): ~0.03 s of each worker's start,
    before its first answer, done once for all of them."""
    try:
        import anyio._backends._asyncio  # noqa: F401
    except ImportError:                          # another anyio: the workers import what it needs
        pass
    try:
        config.get_loop_factory()                # imports uvloop where uvicorn picks it (uvicorn >= 0.36)
    except Exception:                            # noqa: BLE001  (another uvicorn: the workers do it)
        pass


def _end_with_parent(parent: int) -> None:
    """In a worker: stop (SIGTERM, gracefully) once the parent is gone, so that a killed parent
    leaves no server behind."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="wikisearch-parent-watch", daemon=True).start()


def _warn_if_open(host: str) -> None:
    if not is_loopback(host):
        print(f"Warning: listening on {host}: anyone who can reach this machine can search the index", file=sys.stderr)
