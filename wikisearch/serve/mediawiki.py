"""mediawiki: ``/w/api.php`` as MediaWiki answers it, for programs that already speak it.

Supported: ``action=query&list=search`` (srsearch, srlimit, sroffset, srwhat=text|title, srprop,
srinfo; continuation as MediaWiki 1.21+ sends it), ``action=opensearch`` (search, limit) and
``action=query&meta=siteinfo|userinfo`` (what client libraries such as mwclient ask on connect).
Errors follow MediaWiki: HTTP 200 with ``{"error": {"code", "info"}}`` and a
``MediaWiki-API-Error`` header, so clients raise their own API error; parameter names and result
fields are MediaWiki's (https://www.mediawiki.org/wiki/API:Search).

>>> api_php(service, {"action": "query", "list": "search", "srsearch": "ikea"})  # doctest: +SKIP
{'batchcomplete': '', 'query': {'searchinfo': {'totalhits': 3}, 'search': [...]}}
"""
from __future__ import annotations

import html

from wikisearch.serve.api import BadRequest, Service, choice_param, int_param, text_param

#: The MediaWiki version whose API shape this follows (clients check it is >= 1.16).
GENERATOR = "MediaWiki 1.39.0"
SRPROP_DEFAULT = "size|wordcount|timestamp|snippet"
SRINFO_DEFAULT = "totalhits|suggestion|rewrittenquery"
_SRPROP = {"size", "wordcount", "timestamp", "snippet", "titlesnippet", "redirecttitle",
           "redirectsnippet", "sectiontitle", "sectionsnippet", "categorysnippet", "isfilematch",
           "extensiondata", "score", "hasrelated"}
_SRINFO = {"totalhits", "suggestion", "rewrittenquery"}


class ApiError(BadRequest):
    """A MediaWiki API error: ``code`` (e.g. "missingparam") and the one-line message."""

    def __init__(self, code: str, info: str):
        super().__init__(info)
        self.code = code


def _flags(params, name: str, default: str, known: set[str]) -> set[str]:
    raw = params.get(name)
    values = {v for v in (default if raw is None else raw).split("|") if v}
    unknown = values - known
    if unknown:
        raise ApiError("badvalue", f'Unrecognized value for parameter "{name}": {sorted(unknown)[0][:40]}.')
    return values


def api_php(service: Service, params) -> dict | list:
    """The answer to one ``/w/api.php`` request (``params``: the query string or form, a mapping)."""
    fmt = params.get("format", "json")
    if fmt not in ("json", "jsonfm"):
        raise ApiError("badvalue", f'Unrecognized value for parameter "format": {fmt[:40]}; this server speaks json.')
    action = params.get("action")
    if not action:
        raise ApiError("missingparam", 'The "action" parameter must be set.')
    try:
        if action == "opensearch":
            return service.suggest(params, q_name="search", limit_name="limit")
        if action == "query":
            return _query(service, params)
    except ApiError:
        raise
    except BadRequest as e:
        raise ApiError("invalidparammix" if "mode" in str(e) else "badvalue", str(e)) from None
    raise ApiError("badvalue", f'Unrecognized value for parameter "action": {action[:40]}; '
                               "this server answers query (list=search, meta=siteinfo) and opensearch.")


def _query(service: Service, params) -> dict:
    out: dict = {"batchcomplete": "", "query": {}}
    lists = [x for x in params.get("list", "").split("|") if x]
    metas = [x for x in params.get("meta", "").split("|") if x]
    if not lists and not metas:
        raise ApiError("missingparam", 'Give "list=search" or "meta=siteinfo".')
    for name in lists:
        if name != "search":
            raise ApiError("badvalue", f'Unrecognized value for parameter "list": {name[:40]}.')
        _list_search(service, params, out)
    for name in metas:
        if name == "siteinfo":
            out["query"].update(_siteinfo(service))
        elif name == "userinfo":
            out["query"]["userinfo"] = {"id": 0, "name": "127.0.0.1", "anon": "", "groups": ["*"],
                                        "rights": ["read"]}
        else:
            raise ApiError("badvalue", f'Unrecognized value for parameter "meta": {name[:40]}.')
    return out


def _list_search(service: Service, params, out: dict) -> None:
    lim = service.limits
    q = text_param(params, "srsearch", lim.query_chars)
    limit = params.get("srlimit")          # as MediaWiki: "max", or over the maximum, is the maximum
    limit = lim.search_limit if limit == "max" else int_param(params, "srlimit", 10, 1, 1 << 31)
    if limit > lim.search_limit:
        out.setdefault("warnings", {})["search"] = {"*": f"srlimit may not be over {lim.search_limit} (set to {lim.search_limit})."}
        limit = lim.search_limit
    offset = int_param(params, "sroffset", 0, 0, lim.offset)
    what = choice_param(params, "srwhat", ("text", "title"), "text")
    namespace = params.get("srnamespace", "0")
    if any(ns not in ("0", "*") for ns in namespace.split("|")):
        raise ApiError("badvalue", "this index holds articles only: srnamespace must be 0.")
    props = _flags(params, "srprop", SRPROP_DEFAULT, _SRPROP)
    info = _flags(params, "srinfo", SRINFO_DEFAULT, _SRINFO)
    found = service.run_search(q, limit, offset, fields=["title"] if what == "title" else None,
                               snippets="snippet" in props)
    rows = []
    for hit in found["hits"]:
        row = {"ns": 0, "title": hit["title"], "pageid": hit["pageid"]}
        if "size" in props or "wordcount" in props:
            size, words = service.text_size(hit["docid"])
            if "size" in props:
                row["size"] = size
            if "wordcount" in props:
                row["wordcount"] = words
        if "snippet" in props:
            row["snippet"] = hit["snippet"]["html"] if hit["snippet"] else ""
        for name in ("redirecttitle", "sectiontitle", "categorysnippet"):
            if name in props and hit[name]:
                row[name] = html.escape(hit[name]) if name == "categorysnippet" else hit[name]
        if "score" in props:
            row["score"] = hit["score"]
        rows.append(row)
    searchinfo = {}
    si = found["searchinfo"]
    if "totalhits" in info:
        searchinfo["totalhits"] = si["totalhits"]
    if "suggestion" in info and si["suggestion"]:
        searchinfo["suggestion"] = si["suggestion"]
    if "rewrittenquery" in info and si["rewrittenquery"]:
        searchinfo["rewrittenquery"] = si["rewrittenquery"]
    out["query"]["searchinfo"] = searchinfo
    out["query"]["search"] = rows
    if offset + len(rows) < si["totalhits"] and rows and offset + len(rows) <= lim.offset:
        out["continue"] = {"sroffset": offset + len(rows), "continue": "-||"}
        del out["batchcomplete"]


def _siteinfo(service: Service) -> dict:
    from wikisearch import __version__
    site = service.reader.siteinfo
    general = {"sitename": site.sitename, "dbname": site.dbname, "lang": site.lang,
               "base": site.base_url, "case": site.case, "generator": GENERATOR,
               "wikisearch": __version__, "articlepath": "/wiki/$1", "server": "", "script": "/w/index.php"}
    spaces = {0: "", **site.namespaces}
    namespaces = {str(k): {"id": int(k), "case": site.case, "*": name} for k, name in sorted(spaces.items())}
    return {"general": general, "namespaces": namespaces}
