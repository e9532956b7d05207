"""server: run the application under uvicorn (``wikisearch serve``)."""
from __future__ import annotations

import ipaddress
import os
import sys


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(index, *, host: str = "127.0.0.1", port: int = 8080, threads: int | None = None,
          dense_dir=None, access_log: bool = False) -> None:
    """Serve ``index`` until interrupted: open it (mmapped; one Searcher for every request), then
    listen on ``host:port``. ``threads``: searches run at once (default: one per core)."""
    from wikisearch.serve import require
    require()
    import uvicorn

    from wikisearch.search.searcher import Searcher, fast_start
    from wikisearch.serve.app import create_app
    fast_start()
    if threads is None:
        try:
            threads = len(os.sched_getaffinity(0))
        except AttributeError:                  # not Linux
            threads = os.cpu_count() or 1
    searcher = Searcher(index)
    app = create_app(searcher, dense_dir=dense_dir, threads=threads)
    where = f"http://{'[' + host + ']' if ':' in host else host}:{port}/"
    print(f"Serving {searcher.n_docs:,} documents of {index} at {where} (Ctrl-C to stop)", flush=True)
    if not is_loopback(host):
        print(f"Warning: listening on {host}: anyone who can reach this machine can search the index", file=sys.stderr)
    uvicorn.run(app, host=host, port=port, access_log=access_log, log_level="warning",
                server_header=False, date_header=False)
