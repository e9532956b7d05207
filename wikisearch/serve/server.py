"""server: run the application under uvicorn (``wikisearch serve``).

One process by default; ``processes=N`` starts N uvicorn worker processes on one listening socket,
each with its own :class:`~wikisearch.search.searcher.Searcher` over the same mmapped index files
(the page cache holds them once), so that N requests run Python at once (one process holds one GIL).
The workers learn what to serve from the ``WIKISEARCH_SERVE`` environment variable (JSON), which
:func:`serve` sets and :func:`app_from_env` reads.
"""
from __future__ import annotations

import ipaddress
import json
import os
import sys

ENV = "WIKISEARCH_SERVE"


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


def app_from_env():
    """The application a worker process serves, from ``$WIKISEARCH_SERVE`` (set by :func:`serve`)."""
    from wikisearch.search.startup import fast_start
    from wikisearch.serve.app import create_app
    fast_start()
    from wikisearch.search.searcher import Searcher
    config = json.loads(os.environ[ENV])
    searcher = Searcher(config["index"])
    searcher.on_slow_start = lambda message: print(message, file=sys.stderr, flush=True)
    return create_app(searcher, dense_dir=config["dense_dir"], threads=config["threads"],
                      cache_bytes=config["cache_bytes"], warm=True)


def serve(index, *, host: str = "127.0.0.1", port: int = 8080, threads: int | None = None,
          processes: int = 1, dense_dir=None, access_log: bool = False, cache_bytes: int | None = None) -> None:
    """Serve ``index`` until interrupted: open it (mmapped; one Searcher for every request of a
    process), then listen on ``host:port``; the kernels load on a background thread meanwhile.
    ``threads``: searches run at once per process (default: one per core); ``processes``: uvicorn
    worker processes; ``cache_bytes``: bound on cached answers per process (0: none)."""
    from wikisearch.serve import require
    require()
    import uvicorn

    from wikisearch.serve.app import CACHE_BYTES
    threads = threads or default_threads()
    cache_bytes = CACHE_BYTES if cache_bytes is None else cache_bytes
    where = f"http://{'[' + host + ']' if ':' in host else host}:{port}/"
    run = dict(host=host, port=port, access_log=access_log, log_level="warning", server_header=False,
               date_header=False)
    if processes > 1:
        from wikisearch.index.manifest import read_manifest
        manifest = read_manifest(index)          # a missing or damaged index: one line, before forking
        os.environ[ENV] = json.dumps({"index": str(index), "dense_dir": None if dense_dir is None else str(dense_dir),
                                      "threads": threads, "cache_bytes": cache_bytes})
        n = int(manifest["stats"]["n_docs"])
        print(f"Serving {n:,} documents of {index} at {where} "
              f"({processes} processes; Ctrl-C to stop)", flush=True)
        _warn_if_open(host)
        uvicorn.run("wikisearch.serve.server:app_from_env", factory=True, workers=processes, **run)
        return
    from wikisearch.search.searcher import Searcher, fast_start
    from wikisearch.serve.app import create_app
    fast_start()
    searcher = Searcher(index)
    searcher.on_slow_start = lambda message: print(message, file=sys.stderr, flush=True)
    app = create_app(searcher, dense_dir=dense_dir, threads=threads, cache_bytes=cache_bytes, warm=True)
    print(f"Serving {searcher.n_docs:,} documents of {index} at {where} (Ctrl-C to stop)", flush=True)
    _warn_if_open(host)
    uvicorn.run(app, **run)


def _warn_if_open(host: str) -> None:
    if not is_loopback(host):
        print(f"Warning: listening on {host}: anyone who can reach this machine can search the index", file=sys.stderr)

