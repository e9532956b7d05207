"""openapi: the OpenAPI 3.1 description of the server's endpoints (served at ``/openapi.json``)."""
from __future__ import annotations

from wikisearch.serve.api import MODES, Limits


def _param(name: str, schema: dict, description: str, required: bool = False, where: str = "query") -> dict:
    return {"name": name, "in": where, "required": required or where == "path",
            "description": description, "schema": schema}


def _get(summary: str, params: list, ok: dict, errors=(400,), description: str = "") -> dict:
    responses = {"200": {"description": "OK", "content": {"application/json": {"schema": ok}}}}
    for code in errors:
        responses[str(code)] = {"description": {400: "Bad parameter", 404: "No such article"}[code],
                                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    op = {"summary": summary, "parameters": params, "responses": responses}
    if description:
        op["description"] = description
    return {"get": op}


def openapi_spec(limits: Limits = Limits()) -> dict:
    """The description, with the server's bounds on query length, limit and offset."""
    from wikisearch import __version__
    q = {"type": "string", "minLength": 1, "maxLength": limits.query_chars}
    limit = {"type": "integer", "minimum": 1, "maximum": limits.search_limit, "default": 10}
    slimit = {"type": "integer", "minimum": 1, "maximum": limits.suggest_limit, "default": 10}
    offset = {"type": "integer", "minimum": 0, "maximum": limits.offset, "default": 0}
    ref = {"$ref": "#/components/schemas/SearchResponse"}
    opensearch = {"$ref": "#/components/schemas/OpenSearch"}
    nullable_str = {"type": ["string", "null"]}
    schemas = {
        "Error": {"type": "object", "required": ["error", "status"],
                  "properties": {"error": {"type": "string", "description": "one line"},
                                 "status": {"type": "integer"}}},
        "Snippet": {"type": ["object", "null"], "properties": {
            "text": {"type": "string"},
            "highlights": {"type": "array", "items": {"type": "array", "items": {"type": "integer"},
                                                      "minItems": 2, "maxItems": 2},
                           "description": "[start, end) character offsets into text"},
            "html": {"type": "string", "description": "text HTML-escaped, highlights in <span class=searchmatch>"}}},
        "Hit": {"type": "object", "required": ["rank", "title", "pageid", "url", "score"], "properties": {
            "rank": {"type": "integer"}, "docid": {"type": "integer"}, "title": {"type": "string"},
            "pageid": {"type": "integer"}, "url": {"type": "string"}, "score": {"type": "number"},
            "matched_fields": {"type": "array", "items": {"type": "string"}},
            "snippet": {"$ref": "#/components/schemas/Snippet"},
            "matched_via": {"type": ["object", "null"], "properties": {
                "kind": {"type": "string", "enum": ["title", "redirect", "heading", "category"]},
                "text": {"type": "string"}, "anchor": nullable_str}},
            "redirecttitle": nullable_str, "sectiontitle": nullable_str, "sectionanchor": nullable_str,
            "categorysnippet": nullable_str, "wordcount": {"type": ["integer", "null"]}}},
        "SearchResponse": {"type": "object", "required": ["query", "hits", "searchinfo", "took_ms"], "properties": {
            "query": {"type": "string"}, "mode": {"type": "string", "enum": list(MODES)},
            "rerank": {"type": "boolean"}, "offset": {"type": "integer"}, "limit": {"type": "integer"},
            "searchinfo": {"type": "object", "properties": {
                "totalhits": {"type": "integer"}, "totalhits_relation": {"type": "string", "enum": ["eq", "gte"]},
                "suggestion": nullable_str, "rewrittenquery": nullable_str}},
            "exact": {"type": ["object", "null"], "description": "the article titled exactly so (go to)",
                      "properties": {"title": {"type": "string"}, "pageid": {"type": "integer"},
                                     "url": {"type": "string"}}},
            "hits": {"type": "array", "items": {"$ref": "#/components/schemas/Hit"}},
            "warnings": {"type": "array", "items": {"type": "string"}},
            "took_ms": {"type": "number"}}},
        "OpenSearch": {"type": "array", "minItems": 4, "maxItems": 4,
                       "description": "[query, [titles], [descriptions], [urls]]",
                       "prefixItems": [{"type": "string"}] + [{"type": "array", "items": {"type": "string"}}] * 3},
        "Page": {"type": "object", "required": ["title", "pageid", "url"], "properties": {
            "title": {"type": "string"}, "pageid": {"type": "integer"}, "url": {"type": "string"},
            "redirects": {"type": "array", "items": {"type": "string"}}, "requested": {"type": "string"},
            "redirected": {"type": "boolean"}, "opening": {"type": "string"}, "body": {"type": "string"},
            "sections": {"type": "array", "items": {"type": "string"}},
            "infobox": {"type": "object", "additionalProperties": {"type": "string"}},
            "categories": {"type": "array", "items": {"type": "string"}}}},
    }
    paths = {
        "/api/search": _get("Full-text search", [
            _param("q", q, "the query (wikisearch syntax: words, \"phrases\", AND/OR/-, t: c: intitle: ...)", True),
            _param("limit", limit, "hits per page"), _param("offset", offset, "hits to skip (paging)"),
            _param("mode", {"type": "string", "enum": list(MODES), "default": "lexical"},
                   "dense and hybrid need a server started with --dense; hybrid re-ranks the "
                   "lexical top 100 with the learned model and dense similarity (as `query --mode hybrid`)"),
            _param("snippets", {"type": "string", "enum": ["0", "1"], "default": "1"},
                   "a highlighted passage per hit"),
            _param("correct", {"type": "string", "enum": ["0", "1"], "default": "1"},
                   "did-you-mean; 0: search exactly what was typed"),
            _param("rerank", {"type": "string", "enum": ["0", "1"], "default": "0"},
                   "lexical: re-order the top 100 with the learned model (as `query --rerank`)")], ref),
        "/api/suggest": _get("Title completion (OpenSearch)", [
            _param("q", q, "the typed prefix", True), _param("limit", slimit, "titles")], opensearch),
        "/api/page/{title}": _get("An article's stored text (a redirect's title gives its target)", [
            _param("title", {"type": "string", "maxLength": limits.title_chars}, "the title", where="path")],
            {"$ref": "#/components/schemas/Page"}, errors=(400, 404)),
        "/api/info": _get("What this server serves", [], {"type": "object"}, errors=()),
        "/search": _get("Kiwix-style search (format=json: the /api/search answer; html: the page)", [
            _param("pattern", q, "the query", True), _param("format", {"type": "string", "enum": ["json", "html"]}, ""),
            _param("start", offset, "hits to skip"), _param("pageLength", limit, "hits per page")], ref),
        "/suggest": _get("Kiwix-style suggestions", [
            _param("term", q, "the typed prefix", True), _param("count", slimit, "titles")],
            {"type": "array", "items": {"type": "object", "properties": {
                "value": {"type": "string"}, "label": {"type": "string"},
                "kind": {"type": "string", "enum": ["path", "pattern"]}, "path": {"type": "string"}}}}),
        "/w/api.php": _get("MediaWiki's API: action=query&list=search, action=opensearch, meta=siteinfo", [
            _param("action", {"type": "string", "enum": ["query", "opensearch"]}, "", True),
            _param("list", {"type": "string", "enum": ["search"]}, ""),
            _param("meta", {"type": "string"}, "siteinfo|userinfo"),
            _param("srsearch", q, "list=search: the query"), _param("srlimit", limit, "list=search"),
            _param("sroffset", offset, "list=search"),
            _param("srwhat", {"type": "string", "enum": ["text", "title"]}, "list=search"),
            _param("srprop", {"type": "string"}, "list=search: size|wordcount|timestamp|snippet|..."),
            _param("srinfo", {"type": "string"}, "list=search: totalhits|suggestion|rewrittenquery"),
            _param("search", q, "action=opensearch: the prefix"), _param("limit", slimit, "action=opensearch"),
            _param("format", {"type": "string", "enum": ["json"]}, "")],
            {"type": ["object", "array"]}, errors=(),
            description="Errors come as MediaWiki sends them: HTTP 200, {\"error\": {\"code\", \"info\"}} "
                        "and a MediaWiki-API-Error header."),
        "/openapi.json": _get("This description", [], {"type": "object"}, errors=()),
    }
    return {"openapi": "3.1.0",
            "info": {"title": "wikisearch", "version": __version__,
                     "description": "Search an offline Wikipedia index: JSON API, Kiwix and MediaWiki "
                                    "compatible endpoints. The search page is at /."},
            "paths": paths, "components": {"schemas": schemas}}
