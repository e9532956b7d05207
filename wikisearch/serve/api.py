"""api: what the server answers, as plain dicts and lists -- no HTTP in here.

A :class:`Service` wraps one :class:`~wikisearch.search.searcher.Searcher` (shared by every
request) and turns request parameters (strings, as they come off a query string) into the JSON of
``/api/search``, ``/api/suggest`` (OpenSearch), ``/api/page/{title}`` and the Kiwix and MediaWiki
shapes built on them (``serve.mediawiki``). Every parameter is checked here, once: a bad one raises
:class:`BadRequest` (HTTP 400) with a one-line message; an unknown title raises :class:`NotFound`.

>>> svc = Service(wikisearch.open("idx"))                        # doctest: +SKIP
>>> svc.search({"q": "swedish furniture", "limit": "1"})["hits"][0]["title"]   # doctest: +SKIP
'IKEA'
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from wikisearch.errors import InvalidQueryError, WikisearchError
from wikisearch.search.results import article_text

MODES = ("lexical", "dense", "hybrid")


class BadRequest(WikisearchError):
    """A request the server will not answer (HTTP 400); the message is one line."""


class NotFound(WikisearchError):
    """No such article (HTTP 404)."""


@dataclass(frozen=True)
class Limits:
    """Bounds on what one request may ask for (MediaWiki caps srsearch at 300 characters)."""

    query_chars: int = 300
    title_chars: int = 512
    search_limit: int = 100
    suggest_limit: int = 50
    offset: int = 10_000


def one_line(message: str) -> str:
    """A message as one line (an error's text may quote a multi-line query)."""
    return " ".join(str(message).split())


def text_param(params, name: str, max_chars: int, *, required: bool = True, default: str = "") -> str:
    value = params.get(name)
    if value is None or not value.strip():
        if required:
            raise BadRequest(f"missing parameter {name!r}")
        return default
    if len(value) > max_chars:
        raise BadRequest(f"parameter {name!r} is {len(value)} characters long; at most {max_chars}")
    if "\x00" in value:
        raise BadRequest(f"parameter {name!r} contains a NUL character")
    return value


def int_param(params, name: str, default: int, lo: int, hi: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"parameter {name!r} must be an integer, not {raw[:40]!r}") from None
    if not lo <= value <= hi:
        raise BadRequest(f"parameter {name!r} must be between {lo} and {hi}, not {value}")
    return value


def choice_param(params, name: str, choices, default: str) -> str:
    value = params.get(name) or default
    if value not in choices:
        raise BadRequest(f"parameter {name!r} must be one of {', '.join(choices)}, not {value[:40]!r}")
    return value


class Service:
    """The answers of one server over one index.

    ``searcher``: the shared :class:`~wikisearch.search.searcher.Searcher`; ``dense_dir``: a
    dense directory (``wikisearch embed``) for ``mode=dense|hybrid``, opened on first use;
    ``rerank_model``: a :class:`~wikisearch.search.rerank.TreeModel` that replaces the shipped
    one, for ``rerank=1`` if it is lexical, for ``mode=hybrid`` if it reads dense similarity.
    """

    def __init__(self, searcher, *, limits: Limits = Limits(), dense_dir=None, rerank_model=None):
        self.searcher = searcher
        self.reader = searcher.reader
        self.limits = limits
        self.dense_dir = dense_dir
        self._dense = None
        dense = rerank_model is not None and rerank_model.dense
        self.lexical_model = None if dense else rerank_model        # None: the shipped ones
        self.hybrid_model = rerank_model if dense else None

    # --- /api/search ---------------------------------------------------------------------------
    def search(self, params) -> dict:
        """``/api/search?q=&limit=&offset=&mode=&snippets=&correct=&rerank=``: hits, searchinfo
        and took_ms."""
        lim = self.limits
        q = text_param(params, "q", lim.query_chars)
        limit = int_param(params, "limit", 10, 1, lim.search_limit)
        offset = int_param(params, "offset", 0, 0, lim.offset)
        mode = choice_param(params, "mode", MODES, "lexical")
        snippets = choice_param(params, "snippets", ("0", "1"), "1") == "1"
        correct = choice_param(params, "correct", ("0", "1"), "1") == "1"
        rerank = choice_param(params, "rerank", ("0", "1"), "0") == "1"
        return self.run_search(q, limit, offset, mode, snippets=snippets, correct=correct, rerank=rerank)

    def run_search(self, q: str, limit: int, offset: int, mode: str = "lexical", fields=None, *,
                   snippets: bool = True, correct: bool = True, rerank: bool = False) -> dict:
        """Hits ``offset`` to ``offset + limit`` of ``q``; ``snippets``: a highlighted passage per
        hit; ``correct``: did-you-mean (``suggestion``), and the corrected query's hits when ``q``
        has none (``rewrittenquery``); ``rerank``: the lexical top 100 re-ordered by the learned
        model (``search.rerank``)."""
        t0 = time.perf_counter()
        result = self._search(q, limit, offset, mode, fields, snippets, correct, rerank)
        hits = [self.hit_json(h) for h in result]
        total, relation = result.total_matches, result.total_relation
        return {
            "query": q, "mode": mode, "rerank": rerank, "offset": offset, "limit": limit,
            "searchinfo": {"totalhits": total, "totalhits_relation": relation,
                           "suggestion": result.suggestion, "rewrittenquery": result.rewritten_query},
            "exact": self.exact_title(q) if offset == 0 else None,
            "hits": hits, "warnings": list(result.warnings),
            "took_ms": round((time.perf_counter() - t0) * 1000, 3),
        }

    def _search(self, q: str, limit: int, offset: int, mode: str, fields, snippets: bool, correct: bool,
                rerank: bool = False):
        if rerank and mode != "lexical":
            raise BadRequest(f"rerank=1 re-ranks lexical results; mode={mode} "
                             + ("re-ranks by default" if mode == "hybrid" else "has no first stage to re-rank"))
        try:
            if rerank:
                from wikisearch.search.rerank import rerank as rerank_search
                return rerank_search(self.searcher, q, k=limit, offset=offset, fields=fields,
                                     snippets=snippets, correct=correct, model=self.lexical_model)
            if mode == "lexical":
                return self.searcher.search(q, k=limit, offset=offset, fields=fields, snippets=snippets,
                                            correct=correct)
            result = self._dense_search(q, limit + offset, mode)
            return result[offset:]
        except InvalidQueryError as e:
            raise BadRequest(one_line(e)) from None

    def _dense_search(self, q: str, k: int, mode: str):
        if self.dense_dir is None:
            raise BadRequest(f"mode={mode} needs a dense index: start the server with --dense DIR "
                             "(made by `wikisearch embed`)")
        if self._dense is None:
            from wikisearch.dense.search import open_dense
            self._dense = open_dense(self.dense_dir, lexical=self.searcher)
        if mode == "dense":
            return self._dense.search(q, k=k)
        from wikisearch.dense.search import HybridSearcher      # as `query --mode hybrid`: the
        return HybridSearcher(self.searcher, self._dense).search(q, k=k, rerank=self.hybrid_model or True)

    def hit_json(self, hit) -> dict:
        """One hit in the API's shape, with MediaWiki's names (pageid, redirecttitle, sectiontitle,
        categorysnippet: from what the hit matched through). ``wordcount`` is null here: counting
        words needs the whole stored text (``/w/api.php`` counts them when asked)."""
        snip = hit.snippet
        via = hit.matched_via
        kind = via.kind if via is not None else None
        return {"rank": hit.rank, "docid": hit.docid, "title": hit.title, "pageid": hit.page_id, "url": hit.url,
                "score": round(float(hit.score), 6), "matched_fields": list(hit.matched_fields),
                "snippet": {**snip.to_json(), "html": snip.html()} if snip is not None else None,
                "matched_via": via.to_json() if via is not None else None,
                "redirecttitle": via.text if kind == "redirect" else None,
                "sectiontitle": via.text if kind == "heading" else None,
                "sectionanchor": via.anchor if kind == "heading" else None,
                "categorysnippet": via.text if kind == "category" else None,
                "wordcount": None}

    def exact_title(self, q: str) -> dict | None:
        """The article titled ``q`` (or a redirect so titled): what the page offers as "go to"."""
        names = list(dict.fromkeys([q.strip(), self.reader.siteinfo.normalize_title(q)]))
        for d in self.reader.docids_for_titles([n for n in names if n], redirects=True).tolist():
            if d >= 0:
                return {"title": self.reader.title(d), "pageid": int(self.reader.page_id(d)),
                        "url": self.reader.url(d)}
        return None

    def text_size(self, docid: int) -> tuple[int, int]:
        """(bytes, words) of a document's stored plain text (opening and body): MediaWiki's
        ``size`` counts wikitext bytes, which the index does not keep. (0, 0) without stored text."""
        fields = self.reader.stored_text(docid)
        if fields is None:
            return 0, 0
        text = article_text(fields)
        return len(text.encode("utf-8")), len(text.split())

    # --- /api/suggest --------------------------------------------------------------------------
    def suggest(self, params, *, q_name: str = "q", limit_name: str = "limit") -> list:
        """``/api/suggest?q=&limit=`` in the OpenSearch shape ``[q, [titles], [descriptions],
        [urls]]``; a description names the redirect that matched ("redirect from Lata")."""
        q = text_param(params, q_name, self.limits.query_chars)
        limit = int_param(params, limit_name, 10, 1, self.limits.suggest_limit)
        return self.opensearch(q, limit)

    def suggestions(self, q: str, limit: int):
        try:
            return self.searcher.suggest(q, limit)
        except InvalidQueryError as e:
            raise BadRequest(one_line(e)) from None

    def opensearch(self, q: str, limit: int) -> list:
        got = self.suggestions(q, limit)
        return [q, [s.title for s in got],
                [f"redirect from {s.redirect}" if s.redirect else "" for s in got],
                [self.reader.url(s.docid) for s in got]]

    # --- /api/page/{title} ---------------------------------------------------------------------
    def page(self, title: str) -> dict:
        """The stored article titled ``title`` (a redirect's title gives its target), or NotFound."""
        if not title.strip():
            raise BadRequest("give a title: /api/page/{title}")
        if len(title) > self.limits.title_chars:
            raise BadRequest(f"the title is {len(title)} characters long; at most {self.limits.title_chars}")
        if "\x00" in title:
            raise BadRequest("the title contains a NUL character")
        try:
            doc = self.searcher.doc(title)
        except InvalidQueryError as e:
            raise BadRequest(one_line(e)) from None
        except WikisearchError as e:          # no such title (the message names close ones)
            raise NotFound(one_line(e)) from None
        out = {"title": doc.title, "pageid": doc.page_id, "url": doc.url, "redirects": list(doc.redirects),
               "requested": title,
               "redirected": self.reader.siteinfo.normalize_title(title) in doc.redirects}
        if doc.has_text:
            fields = doc.fields
            out.update({"opening": doc.opening, "body": fields.get("body", ""), "sections": doc.sections,
                        "infobox": doc.infobox, "categories": doc.categories})
        else:
            out["note"] = "this index stores no text (built with --no-store)"
        return out

    # --- what the server is serving ---------------------------------------------------------------
    def info(self) -> dict:
        from wikisearch import __version__
        site = self.reader.siteinfo
        return {"wikisearch": __version__, "documents": int(self.searcher.n_docs),
                "sitename": site.sitename, "lang": site.lang, "base_url": site.base_url,
                "dense": self.dense_dir is not None, "limits": self.limits.__dict__}
