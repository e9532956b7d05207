"""``wikisearch inspect``: look at one stage's output on its own."""
from __future__ import annotations

import textwrap

from wikisearch.config import FIELDS
from wikisearch.errors import WikisearchError


def _short(text: str, width: int = 400) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width] + " …"


def describe_page(dump_path, title: str) -> str:
    """A dump page's metadata, parsed fields and analyzed terms."""
    from wikisearch.analysis.analyzer import Analyzer
    from wikisearch.ingest.dump import Dump
    from wikisearch.ingest.parse import field_texts, parse_plaintext, parse_wikitext
    with Dump(dump_path) as dump:
        want = dump.siteinfo.normalize_title(title)
        for page in dump.pages():
            if page.title == want or page.title == title:
                break
        else:
            raise WikisearchError(f"no page titled {title!r} in {dump_path}")
        analyzer = Analyzer.for_language(dump.siteinfo.lang or "en")
        if dump.format == "mediawiki":
            fields = parse_wikitext(page.text, page.title, dump.siteinfo)
        else:
            fields = parse_plaintext(page.text, page.title)
        url = dump.siteinfo.url(page.title)
    out = [f"title      {page.title}", f"page id    {page.page_id}   namespace {page.ns}",
           f"url        {url}", f"redirect   {page.redirect or '-'}",
           f"timestamp  {page.timestamp or '-'}", f"wikitext   {len(page.text):,} characters", ""]
    if getattr(fields, "infobox_keys", None):
        out.append("infobox keys: " + ", ".join(fields.infobox_keys))
    out.append(f"categories ({len(fields.categories)}): " + "; ".join(fields.categories))
    out.append(f"links ({len(fields.links)}): " + _short("; ".join(fields.links)))
    out.append("")
    for name, text in field_texts(fields).items():
        terms = analyzer.terms(text)
        out.append(f"[{name}] {len(terms):,} terms")
        if text.strip():
            out.append(textwrap.indent(_short(text), "  text:  "))
            out.append(textwrap.indent(_short(" ".join(terms)), "  terms: "))
    return "\n".join(out)


def describe_term(index_dir, term: str, limit: int = 20) -> str:
    """A term's dictionary entry and first postings, in the human-readable debug codec."""
    from wikisearch.index.codec import get_codec
    from wikisearch.index.reader import IndexReader
    r = IndexReader(index_dir)
    analyzed = r.analyzer.terms(term)
    key = analyzed[0] if analyzed else term
    t = r.term_ordinal(key)
    if t < 0:
        return f"term {key!r} (from {term!r}) is not in the index"
    d, m, tf = r.postings(t)
    n = min(limit, len(d))
    cut = int(sum(bin(int(x)).count("1") for x in m[:n]))
    debug = get_codec("debug").encode(d[:n], m[:n], tf[:cut])
    text = debug.decode() if isinstance(debug, bytes) else str(debug)
    lines = [f"term {key!r}: document frequency {len(d):,}",
             f"fields: {', '.join(FIELDS)}", "postings (docid field=tf ...):"]
    lines += ["  " + p.strip() for p in text.split(";") if p.strip()]
    lines += [f"  {int(x)}: {r.title(int(x))}" for x in d[:min(5, n)]]
    return "\n".join(lines)


def describe_doc(index_dir, title: str) -> str:
    from wikisearch.index.reader import IndexReader
    r = IndexReader(index_dir)
    d = r.docid_for_title(title)
    if d < 0:
        raise WikisearchError(f"no document titled {title!r} in {index_dir}")
    lengths = dict(zip(FIELDS, r.field_lengths[d].tolist()))
    out = [f"docid {d}: {r.title(d)} (page id {r.page_id(d)})", f"url {r.url(d)}",
           f"redirects: {'; '.join(r.redirects(d)) or '-'}", f"in-links: {int(r.inlinks[d])}",
           "field lengths: " + ", ".join(f"{k}={v}" for k, v in lengths.items())]
    texts = r.stored_text(d)
    if texts:
        for name in FIELDS:
            if texts.get(name):
                out.append(f"[{name}] {_short(texts[name], 300)}")
    return "\n".join(out)
