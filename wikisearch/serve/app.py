"""app: the Starlette application -- routes, status codes and headers around :class:`Service`.

>>> app = create_app("wikisearch-index")                         # doctest: +SKIP
>>> import uvicorn; uvicorn.run(app, host="127.0.0.1", port=8080)   # doctest: +SKIP

One :class:`~wikisearch.search.searcher.Searcher` serves every request. Searches and article reads
run on worker threads (the search kernels release the GIL; ``threads`` bounds how many run at
once); suggestions, a few microseconds of work, run on the event loop. Every response says how long
the server spent on it in a ``Server-Timing`` header (``app;dur=<ms>``). Nothing a request sends
names a file: the page and its two assets are read from the package once, at start.

Answers to the same search or suggest URL are the same bytes while the server runs (the index is
immutable under it), so they are kept in a :class:`ResponseCache` (least recently used out, bounded
in bytes; ``cache_bytes=0`` turns it off): a repeated request is answered on the event loop without
a thread hop, its ``Server-Timing`` says ``cache;desc=hit`` and its body, ``took_ms`` included, is
the first answer's. JSON is written by orjson when it is installed (the ``serve`` extra), else by
the standard library (the same JSON). ``warm=True`` loads the kernels on a background thread once
the server listens, so the first searches do not each wait for them one by one (``wikisearch
serve`` has loaded the first answers' part already, before listening: :func:`warm_up`).
"""
from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from importlib import resources
from urllib.parse import parse_qsl, urlencode

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from wikisearch.errors import WikisearchError
from wikisearch.serve import mediawiki
from wikisearch.serve.api import BadRequest, Limits, NotFound, Service, int_param, one_line, text_param
from wikisearch.serve.openapi import openapi_spec

#: The page's assets: name -> media type. Only these names are served under /static/.
ASSETS = {"app.js": "text/javascript; charset=utf-8", "style.css": "text/css; charset=utf-8"}
_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
MAX_FORM_BYTES = 16_384
_COMMON = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


def _asset(name: str) -> bytes:
    return resources.files("wikisearch.serve").joinpath("static", name).read_bytes()


#: Default bound on the bytes of cached response bodies (a search answer with snippets is ~5 kB).
CACHE_BYTES = 64 << 20


def dumps_std(data) -> bytes:
    """JSON as UTF-8 bytes, by the standard library: the oracle of :func:`dumps`."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


try:
    import orjson

    def dumps(data) -> bytes:
        """JSON as UTF-8 bytes (orjson: ~10x the standard library's speed, the same JSON)."""
        return orjson.dumps(data, option=orjson.OPT_SERIALIZE_NUMPY)
except ImportError:                           # the serve extra brings orjson; without it, the same JSON
    dumps = dumps_std


class ResponseCache:
    """Response bodies by request URL (path and query string), least recently used out once the
    bodies pass ``max_bytes``; only successful answers are kept. Used from the event loop only.
    ``generation()``, where given: the answers change when its value does (the spelling
    dictionary was loaded: did-you-mean is on): the cache empties then, and an answer begun
    under an older :attr:`epoch` (``put(..., epoch)``) is not kept."""

    def __init__(self, max_bytes: int, generation=None):
        self.max_bytes = max_bytes
        self.bytes = 0
        self.hits = self.misses = 0
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._generation = generation
        self.epoch = generation() if generation is not None else 0

    def __len__(self) -> int:
        return len(self._items)

    def _sync(self) -> None:
        if self._generation is not None:
            e = self._generation()
            if e != self.epoch:
                self._items.clear()
                self.bytes = 0
                self.epoch = e

    def get(self, key: str) -> bytes | None:
        self._sync()
        body = self._items.get(key)
        if body is None:
            self.misses += 1
            return None
        self._items.move_to_end(key)
        self.hits += 1
        return body

    def put(self, key: str, body: bytes, epoch: int | None = None) -> None:
        self._sync()
        if len(body) > self.max_bytes // 8 or key in self._items:   # one answer never fills it
            return
        if epoch is not None and epoch != self.epoch:                # begun before the change
            return
        self._items[key] = body
        self.bytes += len(body)
        while self.bytes > self.max_bytes:
            _, old = self._items.popitem(last=False)
            self.bytes -= len(old)

    def stats(self) -> dict:
        return {"entries": len(self._items), "bytes": self.bytes, "max_bytes": self.max_bytes,
                "hits": self.hits, "misses": self.misses}


def _timing(t0: float, extra: str = "") -> str:
    return f"app;dur={(time.perf_counter() - t0) * 1000:.3f}{extra}"


#: The headers of a JSON answer, as Starlette's ``Response`` writes them for :func:`_json`: the
#: common ones, Server-Timing, then content-length and content-type (what the fast path sends).
_COMMON_RAW = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in _COMMON.items()]
_JSON_TYPE = (b"content-type", b"application/json")


def _raw_json_headers(body: bytes, timing: str) -> list:
    return [*_COMMON_RAW, (b"server-timing", timing.encode("latin-1")),
            (b"content-length", str(len(body)).encode("latin-1")), _JSON_TYPE]


def _error_answer(e: WikisearchError) -> tuple[dict, int]:
    """The JSON and status of a request the service refused: 400, 404, or 500 (e.g. a damaged
    index: say what, one line)."""
    status = 400 if isinstance(e, BadRequest) else 404 if isinstance(e, NotFound) else 500
    return {"error": one_line(str(e)), "status": status}, status


def _json(data, t0: float, status: int = 200, headers: dict | None = None) -> Response:
    h = {**_COMMON, "Server-Timing": _timing(t0), **(headers or {})}
    return Response(dumps(data), status_code=status, media_type="application/json", headers=h)


def _error(message: str, status: int, t0: float) -> Response:
    return _json({"error": one_line(message), "status": status}, t0, status)


class Activity:
    """Requests in flight, and when the last one ended: the background warm-up runs its steps
    while the process is idle (:meth:`wait_idle`), so that the first answers, which come as the
    server starts, do not share the process (and its GIL) with it."""

    #: Idle this long (no request in flight) before a warm-up step; at most :data:`MAX_WAIT_S`
    #: of waiting in all, so that a server busy from its first moment still warms up.
    IDLE_S = 0.05
    MAX_WAIT_S = 2.0

    def __init__(self) -> None:
        self.in_flight = 0
        self.last = time.monotonic()
        self.waited = 0.0

    def begin(self) -> None:
        self.in_flight += 1

    def end(self) -> None:
        self.in_flight -= 1
        self.last = time.monotonic()

    def wait_idle(self) -> None:
        """Return once no request has been in flight for :data:`IDLE_S` (or the waits so far
        reach :data:`MAX_WAIT_S`)."""
        while self.waited < self.MAX_WAIT_S:
            quiet = time.monotonic() - self.last
            if self.in_flight == 0 and quiet >= self.IDLE_S:
                return
            step = self.IDLE_S if self.in_flight else max(0.005, self.IDLE_S - quiet)
            time.sleep(step)
            self.waited += step


class _App(Starlette):
    """Starlette, with a direct path for the answers typed and searched most: a GET of
    ``/api/suggest`` or ``/api/search`` goes straight to its handler (``fast``: path -> handler
    of the scope and send), not through Starlette's middleware, routing, Request and Response
    objects -- about a third of a suggestion's CPU. Everything else, HEAD and other methods
    included, is Starlette's; the answers are the same bytes (a test compares them)."""

    def __init__(self, *args, fast: dict, **kwargs):
        super().__init__(*args, **kwargs)
        self.fast = fast
        self.activity = Activity()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        activity = self.activity
        activity.begin()
        try:
            if scope["method"] == "GET" and not scope.get("root_path"):
                handler = self.fast.get(scope["path"])
                if handler is not None:
                    await handler(scope, send)
                    return
            await super().__call__(scope, receive, send)
        finally:
            activity.end()


def create_app(index, *, dense_dir=None, limits: Limits = Limits(), threads: int | None = None,
               cache_bytes: int = CACHE_BYTES, warm: bool = False, fast: bool = True,
               spelling=None, rerank_model=None) -> Starlette:
    """The ASGI application serving ``index`` (a directory, or an open ``Searcher``).

    ``threads``: at most this many searches or article reads at once (default: anyio's 40); the
    direct GET /api/search path has a pool of its own of that size (asyncio's executor: half the
    hand-off's CPU), the other threaded answers share anyio's.
    ``cache_bytes``: bound on the cached answers (0: no cache). ``warm``: load the kernels on a
    background thread once the server has started (answers do not wait for it). ``fast``: answer
    GET /api/suggest and /api/search without Starlette's routing (the same bytes; False: through
    Starlette's routes, the oracle of the tests). ``spelling``: a
    :class:`~wikisearch.serve.spelling_build.SpellingBuild` (``wikisearch serve``): did-you-mean's
    dictionary comes from it, loaded on a background thread once its builder is done; until then
    searches are answered without corrections (None: made or read on first need, in a request).
    ``rerank_model``: a model file (or a loaded ``TreeModel``) that ``rerank=1``
    (a lexical model) or ``mode=hybrid`` (one that reads dense similarity) re-ranks with instead
    of the shipped one.
    """
    from wikisearch.search.searcher import Searcher
    searcher = index if isinstance(index, Searcher) else Searcher(index)
    if rerank_model is not None and not hasattr(rerank_model, "predict"):
        from wikisearch.search.rerank import load_model
        rerank_model = load_model(rerank_model)
    service = Service(searcher, limits=limits, dense_dir=dense_dir, rerank_model=rerank_model)
    page = _asset("index.html")
    assets = {name: _asset(name) for name in ASSETS}
    spec = openapi_spec(limits)
    if spelling is not None:
        searcher.spelling_source = spelling
    cache = ResponseCache(cache_bytes, None if spelling is None else lambda: spelling.generation) \
        if cache_bytes > 0 else None

    def guarded(handler, cached: bool = False):
        async def endpoint(request: Request) -> Response:
            t0 = time.perf_counter()
            key = None
            epoch = None
            if cached and cache is not None and request.method == "GET":
                scope = request.scope
                key = scope["path"] + "?" + scope["query_string"].decode("latin-1")
                body = cache.get(key)
                epoch = cache.epoch
                if body is not None:
                    return Response(body, media_type="application/json",
                                    headers={**_COMMON, "Server-Timing": _timing(t0, ", cache;desc=hit")})
            try:
                response = await handler(request, t0)
            except WikisearchError as e:             # 400, 404, or 500 (e.g. a damaged index)
                data, status = _error_answer(e)
                return _json(data, t0, status)
            if key is not None and response.status_code == 200 and "mediawiki-api-error" not in response.headers:
                cache.put(key, response.body, epoch)
            return response
        return endpoint

    async def home(request: Request, t0: float) -> Response:
        return Response(page, media_type="text/html; charset=utf-8",
                        headers={**_COMMON, "Content-Security-Policy": _CSP})

    async def static(request: Request, t0: float) -> Response:
        name = request.path_params["name"]
        if name not in assets:
            raise NotFound(f"no asset {name[:60]!r}")
        return Response(assets[name], media_type=ASSETS[name],
                        headers={**_COMMON, "Cache-Control": "public, max-age=3600"})

    async def api_search(request: Request, t0: float) -> Response:
        return _json(await run_in_threadpool(service.search, request.query_params), t0)

    async def api_suggest(request: Request, t0: float) -> Response:
        return _json(service.suggest(request.query_params), t0)

    async def api_page(request: Request, t0: float) -> Response:
        return _json(await run_in_threadpool(service.page, request.path_params["title"]), t0)

    async def api_info(request: Request, t0: float) -> Response:
        return _json({**service.info(), "spelling": spelling.state() if spelling is not None else "on first need",
                      "cache": cache.stats() if cache is not None else None}, t0)

    async def kiwix_search(request: Request, t0: float) -> Response:
        params = request.query_params
        fmt = params.get("format", "html")
        if fmt == "html":                             # a browser: the search page shows the results
            q = text_param(params, "pattern", limits.query_chars)
            return RedirectResponse("/?" + urlencode({"q": q}), status_code=302)
        if fmt != "json":
            raise BadRequest(f"format must be json or html, not {fmt[:40]!r}")
        q = text_param(params, "pattern", limits.query_chars)
        offset = int_param(params, "start", 0, 0, limits.offset)
        limit = int_param(params, "pageLength", 10, 1, limits.search_limit)
        return _json(await run_in_threadpool(service.run_search, q, limit, offset), t0)

    async def kiwix_suggest(request: Request, t0: float) -> Response:
        params = request.query_params
        q = text_param(params, "term", limits.query_chars)
        count = int_param(params, "count", 10, 1, limits.suggest_limit)
        rows = [{"value": s.title, "label": s.title if not s.redirect else f"{s.redirect} \u2192 {s.title}",
                 "kind": "path", "path": s.title} for s in service.suggestions(q, count)]
        rows.append({"value": q, "label": f"containing '{q}'...", "kind": "pattern"})
        return _json(rows, t0)

    async def api_php(request: Request, t0: float) -> Response:
        params = request.query_params
        if request.method == "POST":              # as MediaWiki's clients send it: a urlencoded form
            if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
                raise BadRequest("POST a form as application/x-www-form-urlencoded")
            body = b""
            async for chunk in request.stream():  # read no more than the bound
                body += chunk
                if len(body) > MAX_FORM_BYTES:
                    raise BadRequest(f"the form is over {MAX_FORM_BYTES} bytes")
            form = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
            params = {**dict(params), **dict(form)}
        try:
            return _json(await run_in_threadpool(mediawiki.api_php, service, params), t0)
        except mediawiki.ApiError as e:
            return _json({"error": {"code": e.code, "info": one_line(str(e))}}, t0,
                         headers={"MediaWiki-API-Error": e.code})

    async def openapi(request: Request, t0: float) -> Response:
        return _json(spec, t0)

    async def favicon(request: Request, t0: float) -> Response:
        return Response(status_code=204)

    routes = [
        Route("/", guarded(home)),
        Route("/static/{name}", guarded(static)),
        Route("/api/search", guarded(api_search, cached=True)),
        Route("/api/suggest", guarded(api_suggest, cached=True)),
        Route("/api/page/{title:path}", guarded(api_page)),
        Route("/api/info", guarded(api_info)),
        Route("/search", guarded(kiwix_search, cached=True)),
        Route("/suggest", guarded(kiwix_suggest, cached=True)),
        Route("/w/api.php", guarded(api_php, cached=True), methods=["GET", "POST"]),
        Route("/openapi.json", guarded(openapi)),
        Route("/favicon.ico", guarded(favicon)),
    ]

    executor: list = []              # the fast path's worker threads: made in the serving process

    def pool() -> ThreadPoolExecutor:
        """The threads of the direct searches (at most ``threads``, else anyio's default of 40, at
        once): asyncio's executor hand-off costs ~80 us of CPU per search where Starlette's
        ``run_in_threadpool`` (anyio: cancel scope, limiter, backend look-ups) costs 160-330 us."""
        if not executor:
            executor.append(ThreadPoolExecutor(threads or 40, thread_name_prefix="wikisearch-search"))
        return executor[0]

    def direct(answer, threaded: bool):
        """The handler of ``answer(params)`` for ``_App.fast``: what ``guarded(..., cached=True)``
        around a route does, on the ASGI scope -- the cache, the query string parsed as
        Starlette's ``QueryParams`` parses it (the last of a repeated name counts), errors as
        JSON -- and the same response bytes, headers included."""
        async def handler(scope, send) -> None:
            t0 = time.perf_counter()
            qs = scope["query_string"].decode("latin-1")
            key = None
            epoch = None
            if cache is not None:
                key = scope["path"] + "?" + qs
                body = cache.get(key)
                epoch = cache.epoch
                if body is not None:
                    await send({"type": "http.response.start", "status": 200,
                                "headers": _raw_json_headers(body, _timing(t0, ", cache;desc=hit"))})
                    await send({"type": "http.response.body", "body": body})
                    return
            params = dict(parse_qsl(qs, keep_blank_values=True))
            try:
                if threaded:
                    data = await asyncio.get_running_loop().run_in_executor(pool(), answer, params)
                else:
                    data = answer(params)
                status = 200
            except WikisearchError as e:
                data, status = _error_answer(e)
            timing = _timing(t0)
            body = dumps(data)
            if key is not None and status == 200:
                cache.put(key, body, epoch)
            await send({"type": "http.response.start", "status": status, "headers": _raw_json_headers(body, timing)})
            await send({"type": "http.response.body", "body": body})
        return handler

    async def not_found(request: Request, exc) -> Response:
        status = exc.status_code
        return _error("no such endpoint (see /openapi.json)" if status == 404 else
                      f"method {request.method} not allowed here", status, time.perf_counter())

    @asynccontextmanager
    async def lifespan(_app):
        if threads is not None:
            import anyio.to_thread
            anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        if warm or spelling is not None:
            threading.Thread(target=_background, args=(service, warm, spelling, app.activity.wait_idle),
                             name="wikisearch-warm-up", daemon=True).start()
        try:
            yield
        finally:
            if executor:
                executor.pop().shutdown(wait=False)

    shortcuts = {"/api/search": direct(service.search, threaded=True),
                 "/api/suggest": direct(service.suggest, threaded=False)} if fast else {}
    app = _App(routes=routes, exception_handlers={404: not_found, 405: not_found}, lifespan=lifespan,
               fast=shortcuts)
    app.state.service = service
    app.state.cache = cache
    return app


def _background(service: Service, warm: bool, spelling, idle) -> None:
    """A serving process's background thread: the warm-up (``warm``), then the spelling
    dictionary from ``spelling`` once it is there, and a corrected query to load its kernels."""
    if warm:
        warm_up(service, idle=idle)
    if spelling is not None:
        def ready() -> None:
            try:
                title = service.reader.title(0) if service.searcher.n_docs else "warmup"
                idle()
                service.run_search(title + "zq", 10, 0)      # the corrector's kernels, loaded
            except Exception:                                  # noqa: BLE001  (best effort)
                pass
        spelling.watch(idle=idle, ready=ready)


def warm_up(service: Service, *, rest: bool = True, idle=None) -> None:
    """Load what requests need, in the order a user needs it -- suggestions (the suggester), a
    search with snippets and, with ``rest``, did-you-mean (the spelling dictionary: read from
    spelling.bin, or made, a minute for 30k articles) and the kernels of the other query shapes
    -- so that the first answers do not each wait for some: real requests over words of the
    index's first title (what is loaded already costs a few ms). Without ``rest`` (before
    serving), only the first answers' part: a query that needs a correction is rare among the
    first ones, and reading the dictionary (~0.2 s of CPU for 30k articles) would delay them all.
    ``idle()``, where given, is called before each step and returns when the process may run it
    (:meth:`Activity.wait_idle`: no request in flight). Best effort: a request says what is wrong
    with a damaged index."""
    idle = idle or (lambda: None)
    try:
        searcher = service.searcher
        title = service.reader.title(0) if searcher.n_docs else "warmup"
        idle()
        service.opensearch(title[:2], 10)
        idle()
        service.run_search(title, 10, 0)
        if rest:
            idle()
            service.run_search(title + "zq", 10, 0)      # a word no index holds: the corrector runs
            idle()
            searcher.warmup()
    except Exception:                                 # noqa: BLE001
        pass
