"""snippets: why a hit matched, for people -- a short passage of its text with the query's words
marked (:func:`make_snippet`), and whether the match came through its title, a redirect, a
section heading or a category (:func:`matched_via`).

>>> from wikisearch.analysis.analyzer import Analyzer
>>> terms = SnippetTerms.of(Analyzer(), ["run", "fast"], [])
>>> make_snippet(Analyzer(), {"body": "Dogs like to run. A dog runs fast. Cats sleep all day."}, terms, 25)
Snippet('run. A dog runs fast.', [(0, 3), (11, 15), (16, 20)])

The window is CirrusSearch's: the one showing the most *distinct* query terms (an occurrence of a
term already shown adds 0.05, discounted by 1.1 per repeat), then the earliest; a quoted phrase
counts once more and is marked as one span. Matching is on analyzed terms, so the stemmed forms
of a query word are marked (``running`` marks ``runs``). With no match in the text the snippet is
the opening. Offsets are characters (code points) of ``Snippet.text``, which is the stored text
with line breaks as spaces; it starts and ends at word boundaries (a sentence start when one is
near) and never splits a letter from its combining marks.
"""
from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from dataclasses import dataclass
from itertools import accumulate

import numpy as np

from wikisearch.config import FIELDS
from wikisearch.index.store import PREFIX_CHARS, SEP_FIELD
from wikisearch.search import _snippet_kernels as K
from wikisearch.search.query import Query
from wikisearch.search.results import MatchedVia, Snippet, article_text

#: Default snippet length in characters (CirrusSearch's).
SNIPPET_CHARS = 150
#: Fields whose words a snippet may show (prose), and the fields that mark a query as matching
#: "via" something, in CirrusSearch's order.
_TEXT_FIELDS = ("opening", "body")
VIA_ORDER = ("title", "redirect", "heading", "category")
#: Characters of an article's prose searched for the window (its beginning): the time of a
#: snippet is bounded on the longest articles, and early text is preferred anyway. The store keeps
#: each document's prose up to there at the front of its block (``store.PREFIX_CHARS``), so a
#: search reads that part of its hits only (:func:`snippet_sources`). 20,000 until session 13:
#: on the 30k articles' bench queries 4,000 keeps 52.7 % of query stems visible (6,000: 54.2 %,
#: 10,000: 56.2 %, 20,000: 58.6 %; tantivy's SnippetGenerator over the whole text 46.4 %), and
#: a query's 10 snippets cost ~0.6x what they do at 6,000 (benchmarks/results/snippets.md).
SCAN_CHARS = PREFIX_CHARS
#: Matches looked at per document (the earliest): enough for any window, bounded time.
MAX_MATCHES = 2000
_REPEAT = 0.05        # what a repeated term adds, discounted by 1.1 per repeat
_PHRASE = 0.5         # what a whole phrase adds
_EARLY = 0.3          # the penalty for a window at the very end of the text
_SENTENCE = re.compile(r"[.!?\u3002\uff01\uff1f]\s")
_SPACES = str.maketrans("\n\t\r", "   ")     # (the oracle of _spaces)
_OPENING, _BODY = FIELDS.index("opening"), FIELDS.index("body")
_SEP = SEP_FIELD.encode()                    # between a stored document's fields


def _spaces(text: str) -> str:
    """``text.translate(_SPACES)``: line breaks and tabs as spaces (three C-speed replaces, not a
    per-character translation)."""
    return text.replace("\n", " ").replace("\t", " ").replace("\r", " ")


@dataclass(frozen=True)
class SnippetTerms:
    """The query's terms a snippet marks: ``terms`` (distinct analyzed terms of the positive
    words that may match prose) and ``phrases`` (each a tuple of indexes into ``terms``)."""

    terms: tuple[str, ...]
    phrases: tuple[tuple[int, ...], ...]

    @classmethod
    def of(cls, analyzer, words, phrases) -> "SnippetTerms":
        """From terms (``words``) and phrases (tuples of terms)."""
        terms = list(dict.fromkeys(list(words) + [t for p in phrases for t in p]))
        index = {t: i for i, t in enumerate(terms)}
        return cls(tuple(terms), tuple(tuple(index[t] for t in p) for p in phrases if len(p) > 1))

    @classmethod
    def from_query(cls, q: Query) -> "SnippetTerms":
        words, phrases = [], []
        for lit in q.literals + list(q.filters):
            if lit.fields is not None and not set(lit.fields) & set(_TEXT_FIELDS):
                continue
            words.extend(lit.terms)
            if lit.phrase:
                phrases.append(lit.terms)
        return cls.of(None, words, phrases)


def _is_mark(ch: str) -> bool:
    return unicodedata.category(ch)[0] == "M" or ch in "\u200c\u200d"


def _start_at(text: str, lo: int, spare: int) -> int:
    """Where a window showing ``text[lo:]`` starts: the latest sentence start in
    [lo - spare, lo] if there is one, else a word start a little before ``lo``."""
    if lo <= 0:
        return 0
    best = None
    for m in _SENTENCE.finditer(text, max(0, lo - spare - 2), lo + 1):
        if m.end() <= lo:
            best = m.end()
    if best is not None and best >= lo - spare:
        return best
    i = max(0, lo - min(spare // 3, 40))
    if i == 0 or text[i - 1].isspace():
        return i
    j = i
    while j < lo and not text[j].isspace():
        j += 1
    if j < lo:
        return j + 1
    while i < lo and _is_mark(text[i]):     # no space near (CJK): keep marks whole
        i += 1
    return i


def _end_at(text: str, i: int, need: int) -> int:
    """An end at or before ``i`` and not before ``need``: a word end if one is near."""
    if i >= len(text):
        return len(text)
    if text[i].isspace():
        return i
    j = i
    while j > need and i - j < 20 and not text[j - 1].isspace():
        j -= 1
    if j > need and i - j < 20:
        return j - 1 if text[j - 1].isspace() else j
    while i < len(text) and _is_mark(text[i]):
        i += 1
    return i


def _repeat_table(n: int) -> np.ndarray:
    """What the c-th repeat of a term adds (index c <= n; 0 unused), as Python's floats compute it."""
    return np.array([0.0] + [_REPEAT * 1.1 ** -(c - 1) for c in range(1, n + 1)])


_REPEATS = _repeat_table(MAX_MATCHES)
_NO_RUNS = np.zeros(0, np.int64)


def window(starts, ends, which, n_terms: int, phrase_at: dict, width: int, n_chars: int):
    """The best run of matches fitting in ``width`` characters: (first, last) match indexes
    (``starts``, ``ends``, ``which``: int64 arrays; ``phrase_at``: :func:`_phrase_runs`)."""
    if phrase_at:
        first = np.fromiter(phrase_at.keys(), np.int64, len(phrase_at))
        last = np.fromiter((b for b, _ in phrase_at.values()), np.int64, len(phrase_at))
    else:
        first = last = _NO_RUNS
    repeats = _REPEATS if len(starts) <= MAX_MATCHES else _repeat_table(len(starts))
    i, j = K.best_window(starts, ends, which, n_terms, first, last, width, n_chars,
                         repeats, _PHRASE, _EARLY)
    return int(i), int(j)


def _phrase_runs(which, position, phrases) -> dict:
    """{first match index: (last match index, phrase)} for every phrase occurrence."""
    out = {}
    if not phrases:
        return out
    m = len(which)
    for p in phrases:
        n = len(p)
        for i in range(m - n + 1):
            if all(which[i + k] == p[k] and position[i + k] == position[i] + k for k in range(n)):
                out[i] = (i + n - 1, p)
    return out


def scan_length(chars: int = SNIPPET_CHARS, scan_chars: int | None = None) -> int:
    """Characters of a text's prose :func:`make_snippets` scans for snippets of ``chars``
    characters (``scan_chars``: asked for; default :data:`SCAN_CHARS`; at least 4 snippets' worth)."""
    return max(SCAN_CHARS if scan_chars is None else int(scan_chars), 4 * max(int(chars), 1))


def snippet_sources(reader, docids, chars: int = SNIPPET_CHARS, scan_chars: int | None = None) -> list:
    """What :func:`make_snippets` reads of each document: its stored bytes as far as its scanned
    prose goes (``reader.stored_prefix``; only the store blocks' prefixes are decompressed when
    they hold it), None where it has no stored text."""
    scan = scan_length(chars, scan_chars)
    return [reader.stored_prefix(d, scan) for d in docids]


def make_snippet(analyzer, fields: dict[str, str], terms: SnippetTerms,
                 chars: int = SNIPPET_CHARS, scan_chars: int | None = None) -> Snippet:
    """The snippet of a document's stored ``fields`` for ``terms`` (see the module's doc)."""
    return make_snippets(analyzer, [fields], terms, chars, scan_chars)[0]


def _article(doc, scan_chars: int) -> bytes:
    """The first ``scan_chars`` characters of a document's prose (:func:`article_text`), UTF-8:
    ``doc`` is its stored fields or its stored bytes (``index.store.encode_doc``: the fields in
    ``config.FIELDS`` order joined by ``SEP_FIELD``, which no field holds); only the bytes kept are
    read."""
    return b"".join(_article_parts(doc, scan_chars))


def _article_parts(doc, scan_chars: int) -> list:
    """:func:`_article`'s bytes in pieces (bytes-like: views of ``doc`` where it is bytes), not
    copied before the caller joins them."""
    if isinstance(doc, dict):
        text = article_text({f: doc.get(f, "")[:scan_chars] for f in _TEXT_FIELDS})[:scan_chars]
        return [text.encode("utf-8", "surrogatepass")]
    bounds, p = [0], -1                     # where fields start (after the separator), to the body's
    while len(bounds) <= _BODY:
        p = doc.find(_SEP, p + 1)
        if p < 0:
            break
        bounds.append(p + 1)
    view = None
    whole = memoryview(doc)
    out, left = [], scan_chars
    for f in (_OPENING, _BODY):
        if f >= len(bounds):                # no such field
            break
        a = bounds[f]
        if f == _BODY:                      # (its end is looked for below, only as far as needed)
            if a >= len(doc) or doc[a] == 0x1F:
                continue
        else:
            z = bounds[f + 1] - 1 if f + 1 < len(bounds) else len(doc)
            if a >= z:
                continue
        if out:                             # article_text's "\n\n" between them
            out.append(b"\n\n"[:left])
            left -= min(left, 2)
        if view is None:
            view = np.frombuffer(doc, np.uint8)
        if f != _BODY:
            cut, chars = K.char_cut(view, a, z, left)
            out.append(whole[a:cut])
            left -= chars
            continue
        # the body, the last field read: if it ends within ``left`` bytes it is whole (a character
        # takes a byte at least); else its first ``left`` characters end at ``cut`` >= a + left,
        # sooner if it ends before (its separator after a + left)
        cut = doc.find(_SEP, a, a + left)
        if cut < 0:
            if a + left >= len(doc):
                cut = len(doc)
            else:
                cut, _ = K.char_cut(view, a, len(doc), left)
                end = doc.find(_SEP, a + left, cut)
                cut = cut if end < 0 else end
        out.append(whole[a:cut])
    return out


def prose_buffer(docs: list, scan_chars: int) -> tuple[bytes, np.ndarray]:
    """The first ``scan_chars`` characters of each document's prose (:func:`_article`) joined in
    one UTF-8 buffer, and where each ends (int64): what the tokenizer reads in one pass
    (``Analyzer.find_terms_encoded``); each document's bytes are copied once.

    >>> prose_buffer([{"opening": "One.", "body": "Two"}, {"body": "Three"}], 100)
    (b'One.\\n\\nTwoThree', array([ 9, 14]))
    """
    parts = [_article_parts(d, scan_chars) for d in docs]
    ends = np.fromiter(accumulate(sum(map(len, p)) for p in parts), np.int64, len(parts))
    return b"".join([x for p in parts for x in p]), ends


def make_snippets(analyzer, docs: list, terms: SnippetTerms,
                  chars: int = SNIPPET_CHARS, scan_chars: int | None = None) -> list[Snippet]:
    """:func:`make_snippet` of each of ``docs`` (each its stored fields, or its stored bytes as
    the store keeps them, which are not decoded whole: all of them, or their first bytes up to
    the end of the scanned prose at least, :func:`snippet_sources`), the same snippets made
    together: the texts are tokenized in one pass and their words analyzed once."""
    width = max(int(chars), 1)
    scan_chars = scan_length(width, scan_chars)
    # long articles: the window is in the first part (cut before anything is decoded)
    # the texts' bytes copied once, into the one buffer the tokenizer reads; each text a view of it
    joined, ends = prose_buffer(docs, scan_chars)
    buf = np.frombuffer(joined, np.uint8)
    view = memoryview(joined)
    arts = [view[a:z] for a, z in zip([0] + ends[:-1].tolist(), ends.tolist())]
    if terms.phrases:
        found, n_chars = analyzer.find_terms_encoded(buf, ends, terms.terms, positions=True)
        return [_snippet(art, matches, terms, width, n)
                for art, matches, n in zip(arts, found, n_chars.tolist())]
    # no phrase: every text's window found in one kernel call (:func:`window` of each)
    (starts, stops, which, _, cuts), n_chars = analyzer.find_terms_encoded(
        buf, ends, terms.terms, positions=None, flat=True)
    wins = K.best_windows(starts, stops, which, cuts, len(terms.terms), width, n_chars, MAX_MATCHES,
                          _REPEATS, _EARLY).tolist()
    out, a = [], 0
    starts, stops = starts.tolist(), stops.tolist()     # (all the texts' matches, as Python ints)
    for art, b, n, (first, last) in zip(arts, cuts.tolist(), n_chars.tolist(), wins):
        out.append(_marked_plain(art, starts, stops, a, min(b, a + MAX_MATCHES), first, last, width, n))
        a = b
    return out


#: Characters decoded beyond the last one a snippet can end at (a run of combining marks longer
#: than this makes the whole text decoded).
_LOOK = 64


def _decoded(art, n_chars: int, chars: int) -> str:
    """The UTF-8 text ``art`` (``n_chars`` characters) decoded up to its ``chars``-th character at
    least: a prefix cut at a character's start (character c starts at byte c plus the
    continuation bytes before it, at most ``len(art) - n_chars`` of them), or all of it."""
    end = chars + len(art) - n_chars
    if chars >= n_chars or end >= len(art):
        return str(art, "utf-8", "surrogatepass")
    while end < len(art) and (art[end] & 0xC0) == 0x80:
        end += 1
    return str(art[:end], "utf-8", "surrogatepass")


def _bounds(text: str, n_chars: int, lo: int, hi: int | None, width: int):
    """(a, b): where a snippet of ``text`` (the first characters of a text ``n_chars`` long)
    starts and ends, showing ``[lo, hi)`` (``hi`` None: no match, the opening); None when
    ``text`` is too short a prefix to tell (every index looked at is below ``len(text) - 1``
    otherwise, so the bounds are those of the whole text)."""
    short = len(text) < n_chars
    if short and hi is not None and hi + 1 >= len(text):
        return None
    if hi is None:
        a = 0
        while a < len(text) and text[a].isspace():
            a += 1
        need = a + 1
    else:
        a = _start_at(text, lo, max(0, width - (hi - lo)))
        need = hi
    i = min(n_chars, a + width)
    if short and i + 1 >= len(text):
        return None
    b = _end_at(text, i, need)
    if short and b + 1 >= len(text):         # (a run of marks up to the prefix's end)
        return None
    return a, b


def _text_and_bounds(art, n_chars: int, lo: int, hi: int | None, width: int):
    """(text, (a, b)): ``art`` decoded as far as the snippet showing ``[lo, hi)`` (``hi`` None:
    the opening) can reach, and that snippet's :func:`_bounds`; the whole text where the prefix
    cannot tell."""
    text = _decoded(art, n_chars, (width if hi is None else hi + width) + _LOOK)
    ab = _bounds(text, n_chars, lo, hi, width)
    if ab is None:
        text = str(art, "utf-8", "surrogatepass")
        ab = _bounds(text, n_chars, lo, hi, width)
    return text, ab


def _snippet(art, matches, terms: SnippetTerms, width: int, n_chars: int) -> Snippet:
    # ``art`` (UTF-8, ``n_chars`` characters) is decoded only as far as the snippet needs.
    # Its line breaks and tabs become spaces in the snippet: every test here treats them
    # as it treats a space (they are whitespace and separate tokens)
    starts, ends, which, position = matches
    if len(starts) > MAX_MATCHES:
        starts, ends, which, position = (a[:MAX_MATCHES] for a in (starts, ends, which, position))
    if not len(starts):
        return _marked(art, starts, ends, None, -1, -1, width, n_chars)
    runs = _phrase_runs(which.tolist(), position.tolist(), terms.phrases) if terms.phrases else {}
    first, last = window(starts, ends, which, len(terms.terms), runs, width, n_chars)
    return _marked(art, starts, ends, runs, first, last, width, n_chars)


def _marked_plain(art, starts: list, ends: list, i0: int, i1: int, first: int, last: int, width: int,
                  n_chars: int) -> Snippet:
    """:func:`_marked` without phrases, the text's matches ``starts[i0:i1]``, ``ends[i0:i1]`` of
    lists that hold several texts' (``first``, ``last``: indexes from ``i0``)."""
    if first < 0:
        return _marked(art, None, None, None, -1, -1, width, n_chars)
    lo, hi = starts[i0 + first], ends[i0 + last]
    text, (a, b) = _text_and_bounds(art, n_chars, lo, hi, width)
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    marks = []                              # the matches starting inside, in order (starts are sorted)
    for k in range(bisect_left(starts, a, i0, i1), bisect_left(starts, b, i0, i1)):
        s, e = starts[k], ends[k]
        if e <= b and not (marks and s < marks[-1][1]):
            marks.append((s - a, e - a))
    return Snippet(_spaces(text[a:b]), marks)


def _marked(art, starts, ends, runs, first: int, last: int, width: int, n_chars: int) -> Snippet:
    """The snippet showing the text's matches ``[first, last]`` (-1: none; the opening), its
    matches (``starts``, ``ends``; ``runs``: :func:`_phrase_runs`, None or empty without
    phrases) marked."""
    if first < 0:                           # no match in the text: its opening
        text, (a, b) = _text_and_bounds(art, n_chars, 0, None, width)
        return Snippet(_spaces(text[a:b].rstrip()), [])
    lo, hi = int(starts[first]), int(ends[last])
    text, (a, b) = _text_and_bounds(art, n_chars, lo, hi, width)
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    marks = []
    if not runs:                            # no phrase: the matches starting inside, in order
        i, j = starts.searchsorted((a, b)).tolist()         # (starts are sorted)
        for s, e in zip(starts[i:j].tolist(), ends[i:j].tolist()):
            if e <= b and not (marks and s < marks[-1][1]):
                marks.append((s - a, e - a))
        return Snippet(_spaces(text[a:b]), marks)
    starts, ends = starts.tolist(), ends.tolist()
    m = len(starts)
    i = 0
    while i < m:
        run = runs.get(i)
        s, e = starts[i], (ends[run[0]] if run else ends[i])
        if s >= a and e <= b:
            if marks and s < marks[-1][1]:
                i += 1
                continue
            marks.append((s - a, e - a))
        i = run[0] + 1 if run else i + 1
    return Snippet(_spaces(text[a:b]), marks)


def heading_anchor(heading: str) -> str:
    """A section's link fragment as MediaWiki makes it (HTML5 ids): spaces become underscores.

    >>> heading_anchor("History of  the city")
    'History_of_the_city'
    """
    return "_".join(heading.split())


def _best_lines(analyzer, texts: list[str], terms: set) -> list[tuple[str, int]]:
    """For each of ``texts`` (lines joined by "\\n"), the line showing the most of ``terms``
    (the first such), stripped, and how many it shows ("", 0 when none does). All the texts are
    searched in one call ("\\n" never joins two words), and only the words that may be query
    terms analyzed; a line is looked at only where a term matched (each match's line found
    around it), not line by line."""
    if not terms:
        return [("", 0)] * len(texts)
    out = []
    found = analyzer.find_terms_many(texts, sorted(terms), positions=False)
    for text, (starts, _, which, _) in zip(texts, found):
        if not len(starts):
            out.append(("", 0))
            continue
        shown: dict[int, set] = {}          # a line's start -> the terms it shows
        for s, w in zip(starts.tolist(), which.tolist()):
            shown.setdefault(text.rfind("\n", 0, s) + 1, set()).add(w)
        best = min(shown, key=lambda a: (-len(shown[a]), a))     # the first line with the most
        end = text.find("\n", best)
        out.append((text[best:end if end >= 0 else len(text)].strip(), len(shown[best])))
    return out


def matched_via(analyzer, reader, docid: int, title: str, matched_fields, terms,
                stored: dict[str, str] | None = None) -> MatchedVia | None:
    """How a hit's ``matched_fields`` (for the query's ``terms``, a set of analyzed terms) reached
    it, in CirrusSearch's order: its title, else the redirect title, section heading or category
    showing the most of the terms; None when only the text (or other fields) matched.
    ``stored``: the document's stored fields (or its stored bytes) when the caller has them
    already (its snippet's), else they are read when a heading or a category has to be looked at."""
    return matched_via_many(analyzer, reader, [(docid, title, matched_fields, stored)], terms)[0]


def _fields_of(reader, docid: int, raw: bytes, wanted=FIELDS, prefix: bool = False) -> dict[str, str] | None:
    """The ``wanted`` fields of a document's stored bytes, decoded (as ``reader.stored_text``
    decodes them: the separator is ASCII, so a field's bytes decode alone to the same text), the
    others not; the redirects are not looked at here. ``prefix``: ``raw`` may be the document's
    first bytes only (``reader.stored_prefix``): None when it ends before a wanted field's end."""
    out, a = {}, 0
    try:
        for name in FIELDS:
            z = raw.find(_SEP, a)
            if z < 0:
                if prefix and name in wanted and name != FIELDS[-1]:
                    return None
                z = len(raw)
            if name in wanted:
                out[name] = raw[a:z].decode("utf-8", "surrogatepass")
            a = z + 1
            if a > len(raw):
                break
        return None if prefix and len(out) < len(set(wanted)) else out
    except UnicodeDecodeError:
        return reader.stored_text(docid)    # raises CorruptIndexError, naming the document


def matched_via_many(analyzer, reader, hits, terms) -> list[MatchedVia | None]:
    """:func:`matched_via` of each of ``hits`` (``(docid, title, matched_fields, stored)``), the
    lines of all of them searched together."""
    out: list[MatchedVia | None] = [None] * len(hits)
    groups, where = [], []                  # texts (lines) to search; (hit, kind) of each
    for k, (docid, title, matched_fields, stored) in enumerate(hits):
        fields = set(matched_fields)
        if "title" in fields:
            out[k] = MatchedVia("title", title)
            continue
        if not fields & {"redirect", "heading", "category"} or not terms:
            continue
        if "redirect" in fields:
            groups.append("\n".join(reader.redirects(docid)))
            where.append((k, "redirect"))
        if fields & {"heading", "category"} and not isinstance(stored, dict):
            wanted = fields & {"heading", "category"}
            got = None if stored is None else _fields_of(reader, docid, stored, wanted, prefix=True)
            if got is None and stored is not None:  # a prefix, without its category (or heading)
                whole = reader.stored_doc(docid)
                got = None if whole is None else _fields_of(reader, docid, whole, wanted)
            stored = reader.stored_text(docid) if got is None else got
        if stored is None:
            continue
        for kind in ("heading", "category"):
            if kind in fields:
                groups.append(stored.get(kind, ""))
                where.append((k, kind))
    for (k, kind), (line, n) in zip(where, _best_lines(analyzer, groups, terms) if groups else []):
        if n and out[k] is None:            # the first kind in VIA_ORDER that shows a term
            out[k] = MatchedVia(kind, line, heading_anchor(line) if kind == "heading" else None)
    return out
