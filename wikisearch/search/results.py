"""results: what a search returns -- :class:`Hit` (one ranked document) and :class:`SearchResult`
(the hits of one search, with what was searched, how many matched and how long it took) -- and
:class:`Document`, an article read back from the index's stored text (``Searcher.doc``).

>>> result = searcher.search("swedish furniture", k=3)          # doctest: +SKIP
>>> result[0].title, result[0].text[:40]                        # doctest: +SKIP
('IKEA', 'IKEA is a Swedish-founded multinational ')
>>> result.to_pandas()                                          # doctest: +SKIP
"""
from __future__ import annotations

import re

from wikisearch.config import RankConfig
from wikisearch.errors import MissingExtraError, WikisearchError
from wikisearch.search.query import Query

NO_TEXT = ("this index stores no text (it was built with --no-store / store_text=False); "
           "rebuild it without that option to read articles")


def _stored(reader, docid: int) -> dict[str, str]:
    texts = reader.stored_text(docid) if reader is not None else None
    if texts is None:
        raise WikisearchError(NO_TEXT)
    return texts


def article_text(fields: dict[str, str]) -> str:
    """The prose of an article: its opening, then its body, as plain text."""
    return "\n\n".join(t for t in (fields.get("opening", ""), fields.get("body", "")) if t)


#: The characters ``html.escape`` (quote=True) rewrites; a text without any is its own escape.
_ESCAPED = re.compile("[&<>\"']")
_OPEN, _CLOSE = '<span class="searchmatch">', "</span>"


def _same(text: str) -> str:
    return text


class Snippet:
    """A short passage of a hit's text with the query's matches marked: ``text`` (plain text, no
    markup) and ``highlights``, sorted non-overlapping ``[start, end)`` character offsets into it.

    >>> s = Snippet("Berlin is the capital of Germany", [(0, 6), (25, 32)])
    >>> s.html()
    '<span class="searchmatch">Berlin</span> is the capital of <span class="searchmatch">Germany</span>'
    >>> s.to_json()
    {'text': 'Berlin is the capital of Germany', 'highlights': [[0, 6], [25, 32]]}
    """

    __slots__ = ("text", "highlights")

    def __init__(self, text: str, highlights):
        self.text = text
        self.highlights = [(int(a), int(b)) for a, b in highlights]

    def _parts(self):
        """(piece, highlighted) in order, covering ``text``."""
        pos = 0
        for a, b in self.highlights:
            if a > pos:
                yield self.text[pos:a], False
            yield self.text[a:b], True
            pos = b
        if pos < len(self.text):
            yield self.text[pos:], False

    def html(self) -> str:
        """The text HTML-escaped, each highlight in ``<span class="searchmatch">``: what
        :meth:`html_slow` makes (a test compares them), with the escaping skipped where the text
        has nothing to escape (most snippets) and no generator per piece."""
        text = self.text
        if _ESCAPED.search(text):
            from html import escape as esc   # (html's entity table: not imported by the CLI)
        else:
            esc = _same
        out, pos = [], 0
        for a, b in self.highlights:
            if a > pos:
                out.append(esc(text[pos:a]))
            out.append(_OPEN + esc(text[a:b]) + _CLOSE)
            pos = b
        if pos < len(text):
            out.append(esc(text[pos:]))
        return "".join(out)

    def html_slow(self) -> str:
        """The oracle of :meth:`html`: each piece escaped by ``html.escape``, highlights wrapped."""
        import html
        return "".join(f'<span class="searchmatch">{html.escape(p)}</span>' if hl else html.escape(p)
                       for p, hl in self._parts())

    def terminal(self) -> str:
        """The text with each highlight in bold (ANSI escapes); control characters of the text
        are shown as spaces, so a stored text cannot move the cursor."""
        clean = "".join(" " if ch < " " or "\x7f" <= ch <= "\x9f" else ch for ch in self.text)
        out, pos = [], 0
        for a, b in self.highlights:
            out += [clean[pos:a], "\x1b[1m", clean[a:b], "\x1b[0m"]
            pos = b
        out.append(clean[pos:])
        return "".join(out)

    def to_json(self) -> dict:
        return {"text": self.text, "highlights": [[a, b] for a, b in self.highlights]}

    def __eq__(self, other):
        return isinstance(other, Snippet) and (self.text, self.highlights) == (other.text, other.highlights)

    __hash__ = None

    def __repr__(self):
        return f"Snippet({self.text!r}, {self.highlights})"


class MatchedVia:
    """Why a hit matched when it was not (only) its text, in CirrusSearch's order: ``kind`` is
    "title", "redirect" (``text``: the redirect title), "heading" (``text``: the section heading,
    ``anchor``: its link fragment as MediaWiki makes it) or "category" (``text``: the category)."""

    __slots__ = ("kind", "text", "anchor")

    KINDS = ("title", "redirect", "heading", "category")

    def __init__(self, kind: str, text: str, anchor: str | None = None):
        if kind not in self.KINDS:
            raise ValueError(f"kind must be one of {self.KINDS}, not {kind!r}")
        self.kind = kind
        self.text = text
        self.anchor = anchor

    def to_json(self) -> dict:
        return {"kind": self.kind, "text": self.text, "anchor": self.anchor}

    def __str__(self) -> str:
        return {"title": "title", "redirect": "redirect from", "heading": "section",
                "category": "category"}[self.kind] + f" {self.text}"

    def __eq__(self, other):
        return isinstance(other, MatchedVia) and self.to_json() == other.to_json()

    __hash__ = None

    def __repr__(self):
        return f"MatchedVia({self.kind!r}, {self.text!r}, {self.anchor!r})"


class Hit:
    """One ranked document: ``Hit(docid, page_id, title, url, score, matched_fields, rank)``.

    A hit made by a search reads its ``title`` and ``url`` from the index on first access, so
    ranking ten hits does not pay for ten URL encodings nobody looks at. ``snippet``: a
    :class:`Snippet` when the search was asked for snippets, else None. ``matched_via``: a
    :class:`MatchedVia` when the query matched the title, a redirect, a heading or a category
    (worked out on first access), else None.
    """

    __slots__ = ("docid", "page_id", "score", "matched_fields", "rank", "_title", "_url", "_reader",
                 "snippet", "_via", "_explain")

    def __init__(self, docid: int, page_id: int, title: str | None, url: str | None, score: float,
                 matched_fields: list[str], rank: int, *, reader=None):
        self.docid = docid
        self.page_id = page_id
        self.score = score
        self.matched_fields = matched_fields
        self.rank = rank
        self._title = title
        self._url = url
        self._reader = reader
        self.snippet: Snippet | None = None
        self._via = None
        self._explain = None               # (hit -> MatchedVia | None), set by the searcher

    @property
    def matched_via(self) -> MatchedVia | None:
        if self._explain is not None:
            self._via = self._explain(self)
            self._explain = None
        return self._via

    @property
    def title(self) -> str:
        if self._title is None:
            self._title = self._reader.title(self.docid)
        return self._title

    @property
    def url(self) -> str:
        if self._url is None:
            self._url = self._reader.siteinfo.url(self.title)
        return self._url

    @property
    def fields(self) -> dict[str, str]:
        """The document's stored text by field (``config.FIELDS``: title, redirect, opening,
        heading, body, infobox, category, link, reference), read from the index when asked for.
        Raises :class:`~wikisearch.errors.WikisearchError` if the index stores no text."""
        return _stored(self._reader, self.docid)

    @property
    def text(self) -> str:
        """The article's plain text (opening, then body), read from the index when asked for."""
        return article_text(self.fields)

    def _key(self):
        return (self.docid, self.page_id, self.title, self.url, self.score, self.matched_fields, self.rank)

    def __eq__(self, other):
        return isinstance(other, Hit) and self._key() == other._key()

    __hash__ = None

    def __repr__(self):
        return (f"Hit(rank={self.rank}, docid={self.docid}, page_id={self.page_id}, "
                f"title={self.title!r}, score={self.score:.4f}, matched_fields={self.matched_fields})")

    def to_json(self) -> dict:
        via = self.matched_via
        return {"rank": self.rank, "docid": self.docid, "page_id": self.page_id, "title": self.title,
                "url": self.url, "score": self.score, "matched_fields": list(self.matched_fields),
                "snippet": self.snippet.to_json() if self.snippet is not None else None,
                "matched_via": via.to_json() if via is not None else None}


class SearchResult(list):
    """The hits of one search (a list of :class:`Hit`) plus what was searched and how.

    ``total_matches`` is counted on first access (it may cost as much as the search itself);
    ``total_relation`` is "eq", or "gte" when counting stopped early. ``suggestion``: a corrected
    query ("did you mean"), or None; ``rewritten_query``: the corrected query whose hits these
    are, when the query as typed found nothing ("showing results for"), else None.
    """

    def __init__(self, hits, *, query: str, parsed: Query | None, rank_config: RankConfig,
                 warnings: list[str], counter, took_ms: float, flags: dict | None = None,
                 suggestion: str | None = None, rewritten_query: str | None = None):
        super().__init__(hits)
        self.suggestion = suggestion
        self.rewritten_query = rewritten_query
        self.query = query
        self.parsed = parsed
        self.rank_config = rank_config
        self.warnings = warnings
        self.took_ms = took_ms
        self.flags = flags or {}
        self._counter = counter
        self._total: tuple[int, str] | None = None
        #: ``(docids, scores, field masks)`` of a result made without hits (``Searcher.first_stage``),
        #: else None
        self.top: tuple | None = None

    def _count(self) -> tuple[int, str]:
        if self._total is None:
            self._total = self._counter()
            self._counter = None
        return self._total

    @property
    def total_matches(self) -> int:
        return self._count()[0]

    @property
    def total_relation(self) -> str:
        return self._count()[1]

    def __getitem__(self, i):
        """A hit, or for a slice (``result[10:20]``) a :class:`SearchResult` of those hits with
        the same query, totals and warnings (hits keep their ranks)."""
        if not isinstance(i, slice):
            return super().__getitem__(i)
        return SearchResult(super().__getitem__(i), query=self.query, parsed=self.parsed,
                            rank_config=self.rank_config, warnings=self.warnings,
                            counter=self._count, took_ms=self.took_ms, flags=self.flags,
                            suggestion=self.suggestion, rewritten_query=self.rewritten_query)

    def to_records(self, text: bool = False) -> list[dict]:
        """One dict per hit (rank, title, score, url, page_id, docid, matched_fields), for
        ``pandas.DataFrame(...)``, JSON or CSV writers; ``text=True`` adds each article's text."""
        rows = []
        for h in self:
            row = {"rank": h.rank, "title": h.title, "score": h.score, "url": h.url,
                   "page_id": h.page_id, "docid": h.docid, "matched_fields": list(h.matched_fields)}
            if text:
                row["text"] = h.text
            rows.append(row)
        return rows

    def to_pandas(self, text: bool = False):
        """The hits as a ``pandas.DataFrame``, one row per hit (see :meth:`to_records`).

        >>> searcher.search("berlin").to_pandas()[["rank", "title", "score"]]   # doctest: +SKIP
        """
        try:
            import pandas
        except ImportError:
            raise MissingExtraError("to_pandas needs pandas (pip install pandas); "
                                    "to_records() gives the same rows as dicts") from None
        columns = ["rank", "title", "score", "url", "page_id", "docid", "matched_fields"]
        return pandas.DataFrame(self.to_records(text=text), columns=columns + (["text"] if text else []))

    def to_json(self) -> dict:
        return {"query": self.query, "parsed": str(self.parsed) if self.parsed else None,
                "total_matches": self.total_matches, "total_relation": self.total_relation,
                "took_ms": round(self.took_ms, 3), "warnings": list(self.warnings),
                "flags": dict(self.flags), "rank_config": self.rank_config.to_json(),
                "suggestion": self.suggestion, "rewritten_query": self.rewritten_query,
                "hits": [h.to_json() for h in self]}


class Document:
    """One article of the index, as :meth:`Searcher.doc <wikisearch.search.searcher.Searcher.doc>`
    returns it: identity (docid, page id, title, url, redirect titles) and, when the index stores
    text, its fields (``fields``) and what is made of them: ``text`` (opening, then body),
    ``opening``, ``sections`` (headings), ``infobox`` ({name: value}), ``categories``, ``links``.

    >>> doc = searcher.doc("Berlin")                                # doctest: +SKIP
    >>> doc.categories[:2], doc.infobox["name"]                     # doctest: +SKIP
    (['Berlin', 'German state capitals'], 'Berlin')
    """

    def __init__(self, docid: int, page_id: int, title: str, url: str, redirects: list[str],
                 fields: dict[str, str] | None):
        self.docid = docid
        self.page_id = page_id
        self.title = title
        self.url = url
        self.redirects = redirects
        self._fields = fields

    @property
    def has_text(self) -> bool:
        return self._fields is not None

    @property
    def fields(self) -> dict[str, str]:
        if self._fields is None:
            raise WikisearchError(NO_TEXT)
        return self._fields

    def _lines(self, name: str) -> list[str]:
        return [line for line in self.fields.get(name, "").split("\n") if line.strip()]

    @property
    def text(self) -> str:
        return article_text(self.fields)

    @property
    def opening(self) -> str:
        return self.fields.get("opening", "")

    @property
    def sections(self) -> list[str]:
        return self._lines("heading")

    @property
    def categories(self) -> list[str]:
        return self._lines("category")

    @property
    def links(self) -> list[str]:
        return self._lines("link")

    @property
    def infobox(self) -> dict[str, str]:
        """The infobox's parameters in order, ``{name: value}`` (the stored field holds one
        ``name value`` line per parameter)."""
        out: dict[str, str] = {}
        for line in self._lines("infobox"):
            name, _, value = line.partition(" ")
            if name not in out:
                out[name] = value.strip()
        return out

    def __repr__(self):
        return f"Document(docid={self.docid}, page_id={self.page_id}, title={self.title!r})"

    def to_json(self) -> dict:
        out = {"docid": self.docid, "page_id": self.page_id, "title": self.title, "url": self.url,
               "redirects": list(self.redirects)}
        if self.has_text:
            out.update({"opening": self.opening, "sections": self.sections, "infobox": self.infobox,
                        "categories": self.categories, "links": self.links, "text": self.text})
        return out

    def describe(self, text: bool = False, width: int = 100) -> str:
        """A plain-text view for a terminal (``wikisearch show``): title, url, redirects, the
        opening, the infobox, the sections and the categories; ``text=True``: the body too."""
        import textwrap
        out = [self.title, f"{self.url}  (page id {self.page_id})"]
        if self.redirects:
            out.append("Redirects: " + "; ".join(self.redirects))
        if not self.has_text:
            out += ["", f"({NO_TEXT})"]
            return "\n".join(out)
        if self.opening:
            out += [""] + textwrap.wrap(self.opening, width)
        if self.infobox:
            out += ["", "Infobox:"]
            out += [f"  {name}: {textwrap.shorten(value, max(20, width - 4 - len(name))) if value else ''}"
                    for name, value in self.infobox.items()]
        if self.sections:
            out += ["", f"Sections ({len(self.sections)}):"] + [f"  {s}" for s in self.sections]
        if self.categories:
            out += ["", f"Categories ({len(self.categories)}): " + "; ".join(self.categories)]
        if text and self.fields.get("body"):
            out += [""] + textwrap.wrap(self.fields["body"], width)
        return "\n".join(out)
