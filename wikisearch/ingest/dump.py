"""dump: bytes of a Wikipedia dump -> pages, cut at page boundaries into blocks.

Reads MediaWiki XML exports (schemas 0.3-0.11) and WikiExtractor output (``<doc>`` text and
``--json`` lines), plain or compressed (bz2 incl. multistream, gzip, xz; told apart by their
magic bytes), from a file or from stdin (``"-"``)::

    with Dump("enwiki-latest-pages-articles.xml.bz2") as dump:
        for block, data in dump.blocks(64 << 20):           # in the parent: cheap cutting
            for page in pages_from_block(data, block, dump.siteinfo, dump.format):  # in workers
                ...

Offsets are bytes of the uncompressed stream (for UTF-16 input: of its UTF-8 transcoding).
Damage raises :class:`DumpFormatError` after every complete page before it was delivered.
"""
from __future__ import annotations

import codecs
import json
import os
import re
from dataclasses import dataclass
from typing import Iterator

from wikisearch.ingest.stream import Stream
from wikisearch.ingest.site import unescape_html
from wikisearch.ingest.site import (
    CANONICAL_NAMESPACES, REDIRECT_MAGIC_WORDS, SiteInfo, extractor_siteinfo, parse_siteinfo,
    redirect_target)
from wikisearch.errors import DumpFormatError

__all__ = ["SiteInfo", "Page", "Block", "Dump", "pages_from_block", "read_block", "iter_pages",
           "redirect_target", "CANONICAL_NAMESPACES", "REDIRECT_MAGIC_WORDS"]

_ENTITY_RE = re.compile(rb"&(lt|gt|quot|amp|apos|#[0-9]+|#[xX][0-9a-fA-F]+);")
_NAMED = {b"lt": b"<", b"gt": b">", b"amp": b"&", b"quot": b'"', b"apos": b"'"}
_ATTR_RE = re.compile(rb'(?<![\w:.-])([\w:.-]++)\s*+=\s*+"([^"]*+)"')   # a name is tried once
_WS_RE = re.compile(rb"\s*")
_TAGS = {"mediawiki": (b"<page>", b"</page>"), "wikiextractor": (b"<doc ", b"</doc>"),
         "wikiextractor-json": (b"{", b"\n")}
_END_MEDIAWIKI = b"</mediawiki>"
_HEAD_LIMIT = 64 << 20      # a <siteinfo> is a few kB; more means this is not a dump header
_PAGES_BLOCK = 4 << 20
#: Pages longer than this (XML bytes) are skipped with a warning: MediaWiki caps a revision's
#: wikitext at 2 MiB, so no real page of a current dump comes near it.
MAX_PAGE_BYTES = 10_000_000


@dataclass(slots=True)
class Page:
    """One ``<page>`` (or WikiExtractor ``<doc>``); ``offset`` is where it starts in the stream."""

    page_id: int
    ns: int
    title: str
    redirect: str | None
    timestamp: str | None
    text: str
    offset: int


@dataclass(frozen=True)
class Block:
    """Pages ``[start, end)`` of the uncompressed stream: from a page start to a page end."""

    index: int
    start: int
    end: int


def _unescape(raw: bytes) -> bytes:
    """Decode XML entities, on bytes before UTF-8 decoding (one regex pass: faster than a chain
    of replaces on real pages, and '&amp;lt;' correctly gives '&lt;')."""
    return _ENTITY_RE.sub(_entity, raw)


def _entity(m: re.Match, named=_NAMED.get) -> bytes:
    if (char := named(m[1])) is not None:
        return char
    try:
        return chr(int(m[1][2:], 16) if m[1][1:2] in b"xX" else int(m[1][1:])).encode()
    except (ValueError, OverflowError, UnicodeEncodeError):   # out of range or a lone surrogate
        return "\ufffd".encode()


def _decode(data: bytes, a: int, b: int, base: int, title: str | None, what: str,
            xml: bool = True) -> str:
    raw = data[a:b]
    if xml and b"\r" in raw:   # XML parsers see line ends as \n (a real CR is escaped: &#13;)
        raw = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    try:
        return (_unescape(raw) if xml and b"&" in raw else raw).decode("utf-8")
    except UnicodeDecodeError:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as err:
            a += err.start
        raise DumpFormatError(f"invalid UTF-8 in the page {what}", offset=base + a,
                              title=title) from None


def _between(data: bytes, open_tag: bytes, close_tag: bytes, a: int, b: int) -> tuple[int, int]:
    i = data.find(open_tag, a, b)
    if i < 0:
        return -1, -1
    i += len(open_tag)
    return i, data.find(close_tag, i, b)


def _page_error(message: str, data: bytes, s: int, base: int, title=None) -> DumpFormatError:
    return DumpFormatError(message, offset=base + s, title=title or _peek_title(data, s))


def _peek_title(data, s: int) -> str | None:
    """Best-effort title of a (possibly broken) page starting at ``s``, for error messages."""
    stop = data.find(b"<page", s + 5, s + 4096)     # never the next page's title
    stop = s + 4096 if stop < 0 else stop
    a, b = _between(data, b"<title>", b"</title>", s, stop)
    if a < 0 or b < 0:
        m = re.search(rb'title="([^"]*)"', data[s:stop]) if data[s:s + 5] == b"<doc " else None
        return unescape_html(m.group(1).decode(errors="replace")) if m else None
    return _unescape(bytes(data[a:b])).decode(errors="replace")


def _check_gap(data: bytes, a: int, b: int, base: int) -> None:
    if b > a and data[a:b].strip():
        raise DumpFormatError("unexpected content between pages", offset=base + a
                              + len(data[a:b]) - len(data[a:b].lstrip()))


def _last_revision(data: bytes, s: int, t: int, base: int, title: str):
    """Spans of the last revision's text and timestamp, and the page end (``<text`` is at t)."""
    find, head = data.find, s
    while True:
        stamp = _between(data, b"<timestamp>", b"</timestamp>", head, t)
        gt = find(b">", t)
        if gt > 0 and data[gt - 1] == 0x2F:       # <text bytes="0" />: empty or deleted
            body = (gt + 1, gt + 1)
            after = gt + 1
        else:
            # A text holds no raw '<' (it is escaped), so a memchr finds </text> and also
            # catches a page cut short and run into the next one.
            end = find(b"<", gt + 1)
            if gt < 0 or not data.startswith(b"</text>", end):
                raise _page_error("malformed <text> (page cut short?)", data, s, base, title)
            body, after = (gt + 1, end), end + 7
        r_end = find(b"</revision>", after)
        if r_end < 0 or find(b"<page>", after, r_end) >= 0:
            break
        k = _WS_RE.match(data, r_end + 11).end()
        if not data.startswith(b"<revision", k) or (t := find(b"<text", k)) < 0:
            break
        head = k
    e = find(b"</page>", after)
    if e < 0 or find(b"<page>", after, e) >= 0:
        raise _page_error("page without </page>", data, s, base, title)
    return body, stamp, e + 7


def _mediawiki_page(data: bytes, s: int, base: int, site: SiteInfo, old_schema: bool):
    find = data.find
    t = find(b"<text", s)
    stop = find(b"</page>", s, t if t >= 0 else len(data))   # a page without any text
    head_end = stop if stop >= 0 else t
    if head_end < 0 or find(b"<page>", s + 6, head_end) >= 0:
        raise _page_error("page without </page>", data, s, base)
    a, b = _between(data, b"<title>", b"</title>", s, head_end)
    if b < 0:
        raise _page_error("page without <title>", data, s, base)
    title = _decode(data, a, b, base, None, "title")
    a, b = _between(data, b"<id>", b"</id>", s, head_end)
    if b < 0 or not data[a:b].strip().isdigit():
        raise _page_error("page without a numeric <id>", data, s, base, title)
    page_id = int(data[a:b])
    if stop >= 0:
        body, stamp, end = (0, 0), (-1, -1), stop + 7
    else:
        body, stamp, end = _last_revision(data, s, t, base, title)
    text = _decode(data, body[0], body[1], base, title, "text")
    a, b = _between(data, b"<ns>", b"</ns>", s, head_end)
    if b >= 0 and not data[a:b].strip().lstrip(b"-").isdigit():
        raise _page_error("page with a non-numeric <ns>", data, s, base, title)
    ns = int(data[a:b]) if b >= 0 else site.split_namespace(title)[0]
    redirect, r = None, find(b"<redirect", s, head_end)
    m = _ATTR_RE.search(data, r, find(b">", r, head_end)) if r >= 0 else None
    if m and m.group(1) == b"title":
        redirect = site.normalize_title(_unescape(m.group(2)).decode(errors="replace")) or None
    elif r >= 0 or old_schema:   # <redirect /> without title (0.4, 0.5) or none at all (0.3)
        redirect = redirect_target(text, site)
    timestamp = data[stamp[0]:stamp[1]].decode() if stamp[1] >= 0 else None
    return Page(page_id, ns, title, redirect, timestamp, text, base + s), end


def _mediawiki_pages(data: bytes, block: Block, site: SiteInfo) -> Iterator[Page]:
    version = tuple(int(x) for x in re.findall(r"\d+", site.schema)) or (0, 0)
    old_schema = version < (0, 4)
    pos, n = 0, len(data)
    while (s := data.find(b"<page>", pos)) >= 0:
        _check_gap(data, pos, s, block.start)
        page, pos = _mediawiki_page(data, s, block.start, site, old_schema)
        yield page
    _check_gap(data, pos, n, block.start)


def _strip_title_line(body: str, titles: tuple[str, ...]) -> str:
    first, newline, rest = body.lstrip("\n").partition("\n")
    return (rest if first.strip() in titles else body).strip("\n")


def _wikiextractor_pages(data: bytes, block: Block) -> Iterator[Page]:
    pos, base = 0, block.start
    while (s := data.find(b"<doc ", pos)) >= 0:
        _check_gap(data, pos, s, base)
        hl = data.find(b"\n", s)
        e = data.find(b"</doc>", hl)
        if hl < 0 or e < 0:
            raise _page_error("<doc> without </doc>", data, s, base)
        attrs = {k.decode(): v.decode("utf-8", "replace") for k, v in _ATTR_RE.findall(data, s, hl)}
        raw_title = attrs.get("title", "")
        title = unescape_html(raw_title)
        if not attrs.get("id", "").isdigit():
            raise _page_error("<doc> without a numeric id", data, s, base, title)
        body = _decode(data, hl + 1, e, base, title, "text", xml=False)   # plain, unescaped
        text = _strip_title_line(body, (title, raw_title))
        yield Page(int(attrs["id"]), 0, title, None, None, text, base + s)
        pos = e + 6
    _check_gap(data, pos, len(data), base)


def _json_pages(data: bytes, block: Block) -> Iterator[Page]:
    pos, n = 0, len(data)
    while pos < n:
        e = data.find(b"\n", pos)
        e = n if e < 0 else e
        if data[pos:e].strip():
            try:
                doc = json.loads(data[pos:e])
                title = doc["title"]
                page = Page(int(doc["id"]), 0, title, None, None,
                            _strip_title_line(doc["text"], (title,)), block.start + pos)
            except (ValueError, KeyError, TypeError, AttributeError) as err:   # bad UTF-8 too
                raise DumpFormatError(f"bad WikiExtractor JSON line ({err})",
                                      offset=block.start + pos) from None
            yield page
        pos = e + 1


def pages_from_block(data: bytes, block: Block, siteinfo: SiteInfo,
                     format: str = "mediawiki") -> Iterator[Page]:
    """The pages in one block's bytes. A pure function: this is what worker processes run.

    >>> data = b"<page><title>A</title><ns>0</ns><id>7</id><revision><text>x &amp; y</text>"
    >>> data += b"</revision></page>"
    >>> [(p.page_id, p.title, p.text) for p in pages_from_block(
    ...     data, Block(0, 0, len(data)), SiteInfo.synthesize("en", "0.10"))]
    [(7, 'A', 'x & y')]
    """
    if format == "mediawiki":
        return _mediawiki_pages(data, block, siteinfo)
    if format == "wikiextractor":
        return _wikiextractor_pages(data, block)
    if format == "wikiextractor-json":
        return _json_pages(data, block)
    raise ValueError(f"unknown dump format {format!r}")


class Dump:
    """An open dump: ``format`` and ``siteinfo`` are read at open, pages are streamed.

    >>> with Dump("enwiki-latest-pages-articles.xml.bz2") as dump:     # doctest: +SKIP
    ...     dump.siteinfo.lang, sum(1 for page in dump.pages() if page.redirect is None)
    ('en', 106)

    ``lang`` overrides the language (WikiExtractor output does not say; "en" by default).
    ``blocks()``/``pages()`` may be called again on a file (the input is re-read), not on stdin.
    """

    def __init__(self, path: str | os.PathLike, *, threads: int | None = None,
                 lang: str | None = None):
        self.path = "-" if str(path) == "-" else os.fspath(path)
        self.threads, self._lang = threads, lang
        self._open()

    def _open(self) -> None:
        self._stream = Stream(self.path, self.threads)
        self.input_bytes: int | None = self._stream.input_bytes
        self._buf, self._base, self._started = bytearray(), 0, False
        self.skipped: list[str] = []     # pages over the size limit, said in words
        try:
            self.format, self.siteinfo = self._read_head()
        except BaseException:
            self._stream.close()
            raise

    def _error(self, message: str, offset: int | None = None, title=None) -> DumpFormatError:
        return DumpFormatError(message, offset=offset, title=title, path=self.path)

    def _more(self) -> bool:
        chunk = self._stream.read()
        self._buf += chunk
        return bool(chunk)

    def _consume(self, n: int) -> None:
        del self._buf[:n]          # cheap: bytearray drops its head without moving the rest
        self._base += n

    def _find(self, needle: bytes, pos: int, eof_ok: bool = False) -> int:
        """Position of ``needle`` in the header, reading on as needed."""
        while (i := self._buf.find(needle, pos)) < 0:
            if len(self._buf) > _HEAD_LIMIT:
                raise self._error("not a dump: no end to its header in the first 64 MB", pos)
            if not self._more():
                if eof_ok:
                    return len(self._buf)
                raise self._error(f"dump ends inside its header (no {needle.decode()})",
                                  self._base + len(self._buf))
        return i

    def _skip_prolog(self) -> int:
        """Offset of the root element, past a BOM, whitespace, ``<?xml?>``, comments, doctype."""
        buf, pos = self._buf, 0
        while True:
            while len(buf) < pos + 64 and self._more():
                pass
            if pos == 0 and buf.startswith(codecs.BOM_UTF8):
                pos = 3
            pos = _WS_RE.match(buf, pos).end()
            if pos >= len(buf):
                raise self._error("empty input" if self.path == "-" else "empty file")
            for opener, closer in ((b"<?", b"?>"), (b"<!--", b"-->"), (b"<!", b">")):
                if buf.startswith(opener, pos):
                    pos = self._find(closer, pos) + len(closer)
                    break
            else:
                return pos

    def _read_head(self) -> tuple[str, SiteInfo]:
        pos, buf = self._skip_prolog(), self._buf
        if buf.startswith(b"<mediawiki", pos):
            gt = self._find(b">", pos)
            while len(buf) < gt + 64 and self._more():
                pass
            root, k, info = bytes(buf[pos:gt]), _WS_RE.match(buf, gt + 1).end(), b""
            if buf.startswith(b"<siteinfo", k):
                end = self._find(b"</siteinfo>", k) + 11
                info, k = bytes(buf[k:end]), end
            self._consume(k)
            return "mediawiki", parse_siteinfo(root, info, self._lang)
        if buf.startswith(b"<doc ", pos):
            header = bytes(buf[pos:self._find(b"\n", pos, eof_ok=True)])
            url = dict(_ATTR_RE.findall(header)).get(b"url", b"").decode(errors="replace")
            self._consume(pos)
            return "wikiextractor", extractor_siteinfo(unescape_html(url), self._lang,
                                                        "wikiextractor")
        if buf.startswith(b"{", pos):
            try:
                first = json.loads(bytes(buf[pos:self._find(b"\n", pos, eof_ok=True)]))
                url = str(first.get("url", "")) if "title" in first and "text" in first else None
            except (ValueError, AttributeError):
                url = None
            if url is None:
                raise self._error('not WikiExtractor JSON lines (one {"id", "url", "title", '
                                  '"text"} object per line)', pos)
            self._consume(pos)
            return "wikiextractor-json", extractor_siteinfo(url, self._lang, "wikiextractor-json")
        m = re.match(rb"<([\w:.-]+)", buf[pos:pos + 256])
        what = (f"its root element is <{m.group(1).decode(errors='replace')}>" if m
                else f"it starts with {bytes(buf[pos:pos + 16])!r}")
        raise self._error(f"not a MediaWiki XML export or WikiExtractor output: {what}", pos)

    @property
    def blocks_are_file_ranges(self) -> bool:
        """Whether a block's bytes are the file's bytes ``[block.start, block.end)`` (a plain,
        uncompressed UTF-8 file), so that a worker can read its block itself."""
        s = self._stream
        return self.path != "-" and s.kind == "plain" and s._transcoder is None

    def compressed_position(self) -> int | None:
        """Bytes of the input consumed so far, for progress bars (``input_bytes`` is the total)."""
        return self._stream.compressed_position()

    def blocks(self, block_bytes: int, max_page_bytes: int = MAX_PAGE_BYTES) -> Iterator[tuple[Block, bytes]]:
        """Cut the stream into blocks of whole pages: each ends at the first page end at or
        past ``block_bytes`` from its start, so the cut depends on the input alone.

        A page longer than ``max_page_bytes`` (0: no limit) is skipped while it streams past,
        never held whole (an unterminated or hostile page would otherwise grow the buffer
        without bound); ``skipped`` says which, and a page that never ends is an error.

        >>> [(b.index, b.start, b.end) for b, _ in Dump(path).blocks(1 << 20)]   # doctest: +SKIP
        [(0, 2391, 1049193), (1, 1049196, 2097847), ...]
        """
        if block_bytes < 1:
            raise ValueError(f"block_bytes must be positive, not {block_bytes}")
        if self._started:
            if self.path == "-":
                raise self._error("stdin can be read only once")
            self.close()
            self._open()
        self._started = True
        self.skipped = []
        return self._cut(block_bytes, max_page_bytes)

    def _cut(self, block_bytes: int, max_page: int) -> Iterator[tuple[Block, bytes]]:
        start_tag, end_tag = _TAGS[self.format]
        buf, index, search, eof, error = self._buf, 0, 0, False, None
        while True:
            p = _WS_RE.match(buf).end()
            if buf.startswith(start_tag, p):
                q = buf.find(end_tag, max(search, p + block_bytes - len(end_tag)))
                if q < 0 and eof:
                    q = buf.rfind(end_tag, p)   # the last block may be short
                if q >= 0:
                    end = q + len(end_tag)
                    yield Block(index, self._base + p, self._base + end), bytes(memoryview(buf)[p:end])
                    index, search = index + 1, 0
                    self._consume(end)
                    continue
                search = max(p, len(buf) - len(end_tag) + 1)   # do not scan these bytes again
                if max_page and not eof and len(buf) - p > max_page and start_tag != b"{":
                    ps = buf.rfind(start_tag, p)            # the page being read
                    if len(buf) - ps > max_page:
                        q = buf.rfind(end_tag, p, ps)
                        if q >= 0:                          # the pages before it: a block
                            end = q + len(end_tag)
                            yield Block(index, self._base + p, self._base + end), bytes(memoryview(buf)[p:end])
                            index, search = index + 1, 0
                            self._consume(end)
                            continue
                        self._skip_page(p, end_tag, max_page)
                        search = 0
                        continue
            elif len(buf) - p >= 4096 or (len(buf) - p >= 12
                                          and not buf.startswith(_END_MEDIAWIKI, p)):
                eof = True                  # not a page: no need to read on to say so
            if eof:
                return self._finish(p, error)
            try:
                eof = not self._more()
            except DumpFormatError as err:  # deliver the whole pages before the damage first
                eof, error = True, err
            if eof and error is None and self.format == "wikiextractor-json" and buf.strip() \
                    and not buf.endswith(b"\n"):
                buf += b"\n"                # the last JSON line may lack its newline

    def _skip_page(self, p: int, end_tag: bytes, max_page: int) -> None:
        """Drop the page at ``p`` up to its end tag, reading on but holding only a few bytes."""
        buf = self._buf
        title, offset = _peek_title(buf, p), self._base + p
        self._consume(p)
        while (q := buf.find(end_tag)) < 0:
            if len(buf) >= len(end_tag):
                self._consume(len(buf) - len(end_tag) + 1)
            if not self._more():
                raise self._error(f"dump ends inside a page larger than the page size limit "
                                  f"({max_page / 1e6:,.1f} MB; no {end_tag.decode()}: truncated?)",
                                  offset, title)
        self._consume(q + len(end_tag))
        self.skipped.append(f"skipped page {title!r} at byte {offset:,}: {self._base - offset:,} bytes, "
                            f"more than the page size limit ({max_page / 1e6:,.1f} MB; --max-page-size)")

    def _finish(self, p: int, error: DumpFormatError | None) -> None:
        """Check what follows the last whole page; raise if it is damage."""
        buf, (start_tag, end_tag) = self._buf, _TAGS[self.format]
        in_page = buf.startswith(start_tag[:5], p)    # b"<page" too: cut inside the tag
        title = _peek_title(buf, p) if in_page else None
        if error is not None:
            raise DumpFormatError(error.reason, offset=error.offset, title=title, path=self.path)
        if in_page:
            raise self._error(f"dump ends inside a page (no {end_tag.decode()}; truncated?)",
                              self._base + p, title)
        if self.format != "mediawiki":
            if p < len(buf):
                raise self._error("unexpected content between pages", self._base + p)
        elif p >= len(buf):
            raise self._error("dump ends without </mediawiki> (truncated?)", self._base + p)
        elif not buf.startswith(_END_MEDIAWIKI, p):
            raise self._error("unexpected content between pages", self._base + p)
        elif buf[p + len(_END_MEDIAWIKI):].strip():
            raise self._error("unexpected content after </mediawiki>",
                              self._base + p + len(_END_MEDIAWIKI))

    def pages(self) -> Iterator[Page]:
        """Every page of every namespace, in dump order (filtering is the caller's choice)."""
        try:
            for block, data in self.blocks(_PAGES_BLOCK):
                yield from pages_from_block(data, block, self.siteinfo, self.format)
        except DumpFormatError as err:
            if err.path:
                raise
            raise DumpFormatError(err.reason, offset=err.offset, title=err.title,
                                  path=self.path) from None

    def close(self) -> None:
        self._stream.close()

    def __enter__(self) -> "Dump":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_block(path: str | os.PathLike, block: Block, *, threads: int | None = None) -> bytes:
    """Read one block's bytes again from the dump file (resume, executors reading their own).

    bz2 files seek through indexed_bzip2 and plain files seek directly; gzip and xz are
    decompressed from the start and skipped forward.

    >>> block, data = next(Dump(path).blocks(1 << 20))          # doctest: +SKIP
    >>> read_block(path, block) == data                          # doctest: +SKIP
    True
    """
    path = "-" if str(path) == "-" else os.fspath(path)
    if path == "-":
        raise DumpFormatError("cannot re-read a block from stdin", path=path)
    with Stream(path, threads) as stream:
        data = stream.read_range(block.start, block.end)
    tags = [t for t in _TAGS.values() if data.startswith(t[0]) and data.endswith(t[1])]
    if len(data) != block.end - block.start or not tags:
        raise DumpFormatError(f"block {block.index} is not whole pages of this file "
                              "(did the file change?)", offset=block.start, path=path)
    return data


def iter_pages(path: str | os.PathLike, **kw) -> Iterator[Page]:
    """Every page of a dump: ``for page in iter_pages("enwiki.xml.bz2"): ...``."""
    with Dump(path, **kw) as dump:
        yield from dump.pages()
