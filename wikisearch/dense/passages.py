"""passages: "here is an article, give me its passages" (no extra needed).

An article is cut into sections (the lead, then each heading's text; reference sections such as
References and External links are left out), and each section into passages of at most
``max_words`` words (~1.3 WordPiece tokens a word: 150 words is about 200 tokens), packing whole
paragraphs, splitting a long paragraph at sentence ends and a long sentence at ``max_words``.
A passage never runs across two sections. Each passage is prefixed with the article title and the
section's heading path (``"Berlin — History › Prussia\\n..."``), so it stands on its own.

Passages depend on the text and :class:`PassageConfig` only, not on the model: the same cut serves
any model. Offsets (``start``, ``end``) are character offsets in :func:`article_text`, the
article's sections joined by newlines.

Sources: :class:`DumpSource` (MediaWiki XML, whose headings give real sections, or WikiExtractor
text, whose heading lines do) and :class:`IndexSource` (a wikisearch index's stored text: the lead
and the body, whose section boundaries the index does not keep, so its passages are cut by
paragraph only).
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator

#: Articles are the pages of these namespaces that are not redirects (what `wikisearch index`
#: indexes by default).
NAMESPACES = (0,)

_WORD = re.compile(r"\S+")
_SENTENCE_END = re.compile(r"[.!?][\"')\]]*$")
_HEADING_LINE = re.compile(r"^(={1,6})[ \t]*(.+?)[ \t]*\1[ \t]*$", re.M)


@dataclass(frozen=True)
class PassageConfig:
    """How articles are cut. ``lead_only``: one passage per article, the start of the lead."""

    max_words: int = 150
    min_words: int = 24
    lead_only: bool = False

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> "PassageConfig":
        return cls(**{k: d[k] for k in ("max_words", "min_words", "lead_only") if k in d})


@dataclass
class Article:
    """One article: ``ordinal`` counts articles from 0 in source order."""

    ordinal: int
    page_id: int
    title: str
    sections: list[tuple[str, str]]      # (heading path, text); the lead first, heading ""


@dataclass(frozen=True)
class Passage:
    text: str          # what is embedded: title (and heading path) prefix + passage text
    no: int            # passage number within the article, from 0
    start: int         # character offsets of the passage text in article_text()
    end: int


def article_text(article: Article) -> str:
    """The sections' texts joined by newlines: what passage offsets point into."""
    return "\n".join(text for _, text in article.sections)


def cut(article: Article, config: PassageConfig = PassageConfig()) -> list[Passage]:
    """The passages of one article.

    >>> a = Article(0, 1, "Ulm", [("", "Ulm is a city."), ("History", "Old town.")])
    >>> [p.text for p in cut(a)]
    ['Ulm\\nUlm is a city.', 'Ulm — History\\nOld town.']
    """
    out: list[Passage] = []
    base = 0
    for heading, text in article.sections:
        prefix = f"{article.title} — {heading}\n" if heading else f"{article.title}\n"
        for lo, hi in _chunks(text, config):
            out.append(Passage(prefix + text[lo:hi], len(out), base + lo, base + hi))
            if config.lead_only:
                return out
        base += len(text) + 1
    if not out and config.lead_only:     # an article with no text: still findable by title
        out.append(Passage(article.title, 0, 0, 0))
    return out


def _chunks(text: str, config: PassageConfig) -> list[tuple[int, int]]:
    """Character spans of the passages of one section's text."""
    words = [(m.start(), m.end()) for m in _WORD.finditer(text)]
    if not words:
        return []
    units = []                      # word-index ranges: paragraphs, or pieces of long ones
    line_of = _line_numbers(text, words)
    i = 0
    while i < len(words):
        j = i
        while j < len(words) and line_of[j] == line_of[i]:
            j += 1
        units.extend(_split_paragraph(text, words, i, j, config.max_words))
        i = j
    chunks: list[list[int]] = []
    for lo, hi in units:
        if chunks and chunks[-1][1] == lo and hi - chunks[-1][0] <= config.max_words:
            chunks[-1][1] = hi
        else:
            chunks.append([lo, hi])
    if len(chunks) > 1 and chunks[-1][1] - chunks[-1][0] < config.min_words \
            and chunks[-1][1] - chunks[-2][0] <= config.max_words + config.min_words:
        tail = chunks.pop()                 # fold a short tail into the passage before it
        chunks[-1][1] = tail[1]
    return [(words[lo][0], words[hi - 1][1]) for lo, hi in chunks]


def _line_numbers(text: str, words) -> list[int]:
    out, line, pos = [], 0, 0
    for start, _ in words:
        line += text.count("\n", pos, start)
        pos = start
        out.append(line)
    return out


def _split_paragraph(text, words, i: int, j: int, max_words: int) -> list[tuple[int, int]]:
    if j - i <= max_words:
        return [(i, j)]
    out, lo, last_end = [], i, None
    for w in range(i, j):
        if _SENTENCE_END.search(text[words[w][0]:words[w][1]]):
            last_end = w + 1
        if w + 1 - lo >= max_words:
            cut_at = last_end if last_end and last_end > lo else w + 1
            out.append((lo, cut_at))
            lo, last_end = cut_at, None
    if lo < j:
        out.append((lo, j))
    return out


# --- sections of a page ---------------------------------------------------------------------

def wikitext_sections(text: str, title: str, siteinfo=None) -> list[tuple[str, str]]:
    """(heading path, readable text) of a page's wikitext, reference sections left out.

    The wikitext is split at its heading lines and each piece parsed by ``parse_wikitext``
    (which sends References/External links sections to ``references``, not ``body``).
    """
    from wikisearch.ingest.parse import parse_wikitext
    heads = list(_HEADING_LINE.finditer(text))
    bounds = [0] + [m.start() for m in heads] + [len(text)]
    lead = parse_wikitext(text[:bounds[1]], title, siteinfo).opening
    out = [("", lead)] if lead else []
    path: list[tuple[int, str]] = []
    for i, m in enumerate(heads):
        fields = parse_wikitext(text[bounds[i + 1]:bounds[i + 2]], title, siteinfo)
        name = fields.headings[0] if fields.headings else m.group(2).strip()
        level = len(m.group(1))
        while path and path[-1][0] >= level:
            path.pop()
        path.append((level, name))
        if fields.body:
            out.append((" › ".join(n for _, n in path), fields.body))
    return out


def plaintext_sections(text: str, title: str) -> list[tuple[str, str]]:
    """(heading, text) of a WikiExtractor document, with ``parse_plaintext``'s headings."""
    from wikisearch.ingest.parse import parse_plaintext
    fields = parse_plaintext(text, title)
    heads = list(fields.headings)
    out: list[tuple[str, list[str]]] = [("", [])]
    lines = [line.strip() for line in text.split("\n")]
    lines = [line for line in lines if line]
    if lines and lines[0] == title.strip():
        lines = lines[1:]
    h = 0
    for line in lines:
        if h < len(heads) and line.endswith(".") and line[:-1].strip() == heads[h]:
            out.append((heads[h], []))
            h += 1
        else:
            out[-1][1].append(line)
    body = set(fields.body.split("\n")) if fields.body else set()
    return [(head, "\n".join(ls)) for i, (head, ls) in enumerate(out)
            if ls and (i == 0 or ls[0] in body)]


# --- sources --------------------------------------------------------------------------------

class DumpSource:
    """Articles of one or more dump files, in order (``page.ns`` in NAMESPACES, no redirect)."""

    kind = "dump"

    def __init__(self, paths):
        self.paths = [str(p) for p in paths]
        self.n_articles = None          # known only at the end of the input
        from wikisearch.ingest.dump import Dump
        with Dump(self.paths[0]) as d:
            self.siteinfo = d.siteinfo

    def describe(self) -> dict:
        return {"kind": self.kind, "inputs": [{"name": Path(p).name, "bytes": _size(p)}
                                              for p in self.paths]}

    def scan(self, wanted) -> Iterator[Article | int]:
        """Each article in order: an :class:`Article` where ``wanted(ordinal)``, else its ordinal
        (skipped without parsing)."""
        from wikisearch.ingest.dump import Dump
        n = 0
        for path in self.paths:
            with Dump(path) as dump:
                plain = dump.format != "mediawiki"
                for page in dump.pages():
                    if page.ns not in NAMESPACES or page.redirect:
                        continue
                    if not wanted(n):
                        yield n
                    elif plain:
                        yield Article(n, page.page_id, page.title, plaintext_sections(page.text, page.title))
                    else:
                        yield Article(n, page.page_id, page.title,
                                      _safe_sections(page.text, page.title, dump.siteinfo))
                    n += 1
        self.n_articles = n


def _safe_sections(text, title, siteinfo):
    try:
        return wikitext_sections(text, title, siteinfo)
    except RecursionError:              # pathological nesting: the title alone
        return []


class IndexSource:
    """Documents of a wikisearch index (docid order), from its stored text."""

    kind = "index"

    def __init__(self, path):
        from wikisearch.index.reader import IndexReader
        self.path = str(path)
        self.reader = IndexReader(path)
        self.n_articles = int(self.reader.n_docs)
        self.siteinfo = self.reader.siteinfo
        if self.n_articles and self.reader.stored_text(0) is None:
            from wikisearch.errors import WikisearchError
            raise WikisearchError(f"index {path} stores no text (built with --no-store): "
                                  "embed the dump instead, or rebuild the index without --no-store")

    def describe(self) -> dict:
        return {"kind": self.kind, "inputs": [{"name": Path(self.path).name,
                                               "checksum": self.reader.manifest.get("checksum")}]}

    def scan(self, wanted) -> Iterator[Article | int]:
        r = self.reader
        for d in range(self.n_articles):
            if not wanted(d):
                yield d
                continue
            texts = r.stored_text(d) or {}
            sections = [("", texts.get("opening", ""))]
            sections += [("", texts.get("body", ""))]
            yield Article(d, r.page_id(d), r.title(d), [s for s in sections if s[1]])


def open_source(inputs) -> DumpSource | IndexSource:
    """An index directory (holding manifest.json) or dump files."""
    inputs = [str(p) for p in ([inputs] if isinstance(inputs, (str, Path)) else inputs)]
    if len(inputs) == 1 and (Path(inputs[0]) / "manifest.json").exists():
        return IndexSource(inputs[0])
    return DumpSource(inputs)


def _size(path: str) -> int | None:
    try:
        return Path(path).stat().st_size
    except OSError:
        return None
