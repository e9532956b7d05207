"""An enwiki-shaped MediaWiki XML stream made from real articles, at any size up to full scale.

Real enwiki (the figures cited in benchmarks/README.md, "The full-scale corpus"): about 6.9M articles,
11M redirects (1.6 per article), a mean of ~700 words per article with many stubs, 95 GB of XML.
The project holds 30,729 real articles (WikiExtractor text, 411 MB) and a few real XML dumps
(379 articles with their wikitext). This script makes a corpus of any chosen size from them:

- **articles**: each real article is cut at line boundaries into pieces whose target lengths are
  drawn from a log-normal (median 2,000 bytes, sigma 1.2: mean ~4.1 KB, ~700 words), so most
  articles are short and a few are long; a piece is an article. Titles: the real title for the
  first piece, ``"Title (part k)"`` for the others; copy c > 1 of the whole set appends
  ``" (copy c)"`` -- titles are unique by construction (checked on the copy-1 forms).
- **redirects**: per article a geometric number with mean 1.6, each a real kind of variant of its
  title (capitalisation, "The ...", plural, "Last, First", acronym, a letter swap, without
  diacritics); a variant that equals any title already used is skipped.
- **links and categories**: the real XML dumps give the rates (links per KB of wikitext,
  categories per article) and the pool of real category names. A chosen share of words become
  ``[[Target|word]]`` links (the word itself when it is a title, else a title drawn with a skew
  towards the first real articles, as in-links are skewed); each article gets a Poisson number
  of real categories drawn with a Zipf-like skew. Measured against the real enwiki slices
  (``bench_link_stats.py``, session 20): 6.3 links per KB of plain text against their 10.0-11.6
  per KB of prose, 7 % of targets equal to the anchor against 70-80 %, and 5.6 categories on
  every piece where real articles of a piece's length have ~2; the stored link field costs what a
  real one does per KB of text, the category field 3.6-9x (``results/store-frontier.md``).
- **vocabulary**: copy c > 1 rewrites the rare words of the real text (at most ``--rare-max``
  occurrences in the source) whose hash falls below ``c**beta - (c-1)**beta`` with a per-copy
  suffix, so the number of distinct words grows as Heaps' law ``V ~ C**beta`` with the copies.

Everything is a pure function of (source files, seed, options): the same command writes the same
bytes. It streams: memory holds the source's word counts and titles (bounded by the source, not by
the output).

    python benchmarks/synth_corpus.py -o synth.xml --scale 1          # one pass over the 30k articles
    python benchmarks/synth_corpus.py -o synth.xml.bz2 --articles 2000 --source-docs 500
    python benchmarks/synth_corpus.py -o synth.xml --scale 1 --plain synth-text.txt --stats stats.json
"""
from __future__ import annotations

import argparse
import bisect
import bz2
import collections
import hashlib
import html
import json
import math
import re
import sys
import time
import unicodedata
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import DATA, TEXT_NAME, TEXT_PARTS, read_wikiextractor  # noqa: E402

#: Real enwiki figures the defaults aim at (sources in benchmarks/README.md).
ENWIKI_ARTICLES = 6_900_000
REDIRECTS_PER_ARTICLE = 1.6          # ~11M redirects / 6.9M articles
MEDIAN_BYTES = 2_000                 # piece length: log-normal median and sigma (mean ~4.1 KB)
SIGMA = 1.2
XML_SAMPLES = ("enwiki-xml/enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2",
               "enwiki-xml/enwik8-head-4MB.xml.bz2",
               "enwiki-xml/enwiki-minidump-dbpedia-extraction-framework.xml.bz2")
#: Bump when the written bytes change for the same options.
GENERATOR_VERSION = 1

_WORD_SPLIT = re.compile(r"(\w+)")
_WORD_RE = re.compile(r"\w+")
_LETTERS = re.compile(r"^[^\W\d_]{4,}$")
_LINK_RE = re.compile(r"\[\[(?!(?:Category|File|Image|Template|wikt|:)[^\]]*)[^\]|#]+(?:#[^\]|]*)?(?:\|[^\]]*)?\]\]")
_CAT_RE = re.compile(r"\[\[Category:([^\]|]+)")
_TEXT_RE = re.compile(r"<text[^>]*>(.*?)</text>", re.S)
_COPY_RE = re.compile(r" \(copy \d+\)$")


@dataclass(frozen=True)
class Options:
    articles: int = ENWIKI_ARTICLES
    seed: int = 13
    source_docs: int | None = None       # use only the first N real articles
    data_dir: str = str(DATA)
    #: exponent of the copies' new words: 1x has 470k terms and 404k rare word types, so at 53.2
    #: copies (6.9M articles) 0.47M + 0.40M * (53.2**0.85 - 1) ~ 12M terms, a real dump's 10M+
    beta: float = 0.85
    rare_max: int = 3                    # a word seen at most this often in the source is rare
    redirects: float = REDIRECTS_PER_ARTICLE
    median_bytes: int = MEDIAN_BYTES
    sigma: float = SIGMA


def _h(*parts) -> int:
    """A stable 64-bit hash (Python's hash() is salted per process)."""
    d = hashlib.blake2b("\x1f".join(map(str, parts)).encode("utf-8", "surrogatepass"), digest_size=8)
    return int.from_bytes(d.digest(), "little")


def _unit(*parts) -> float:
    return _h(*parts) / 2.0**64


def copy_suffix(copy: int) -> str:
    return "" if copy == 1 else f" (copy {copy})"


def word_suffix(copy: int) -> str:
    """Letters only (base 26 of the copy), so the rewritten word stays one word."""
    s, n = "", copy
    while n:
        n, r = divmod(n, 26)
        s = chr(97 + r) + s
    return "q" + s


def heaps_share(copy: int, beta: float) -> float:
    """Share of the rare words that copy ``copy`` rewrites: new words then total ~ C**beta."""
    return 0.0 if copy == 1 else copy ** beta - (copy - 1) ** beta


# --------------------------------------------------------------------------------------------
# source: the real articles, cut into pieces
# --------------------------------------------------------------------------------------------
_SOURCE_CACHE: dict[str, Path] = {}


def source_articles(opts: Options) -> Iterator:
    """(index, Doc) of the real articles; from the decompressed copy in the cache when there is
    one (xz decoding is most of a pass otherwise)."""
    n = 0
    cached = _SOURCE_CACHE.get(opts.data_dir)
    files = [cached] if cached else [Path(opts.data_dir) / TEXT_NAME.format(p) for p in TEXT_PARTS]
    for path in files:
        for doc in read_wikiextractor(path):
            if opts.source_docs is not None and n >= opts.source_docs:
                return
            yield n, doc
            n += 1


def cache_source(opts: Options, cache_dir: str) -> None:
    """Decompress the source once into ``cache_dir`` (checked by size) and read it from there."""
    import lzma
    files = [Path(opts.data_dir) / TEXT_NAME.format(p) for p in TEXT_PARTS]
    target = Path(cache_dir) / "source-30k.txt"
    sizes = Path(cache_dir) / "source-30k.sizes"
    want = json.dumps([f.stat().st_size for f in files])
    if not (target.exists() and sizes.exists() and sizes.read_text() == want):
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".tmp")
        with open(tmp, "wb") as out:
            for f in files:
                with lzma.open(f, "rb") as src:
                    while chunk := src.read(1 << 22):
                        out.write(chunk)
        tmp.replace(target)
        sizes.write_text(want)
    _SOURCE_CACHE[opts.data_dir] = target


def cut_spans(doc_index: int, text: str, opts: Options) -> tuple[str, list[tuple[int, int]]]:
    """The real article's text (stripped of blank edges) and the spans of its pieces: cut at line
    boundaries, each piece at least a log-normal target length long (a tail under 200 bytes
    joins the piece before it)."""
    rng = np.random.default_rng([opts.seed, doc_index])
    body = text.strip("\n")
    spans, start, pos = [], 0, 0
    target = rng.lognormal(math.log(opts.median_bytes), opts.sigma)
    n = len(body)
    while pos < n:
        nl = body.find("\n", pos)
        end = n if nl < 0 else nl
        pos = end + 1
        if end - start + 1 >= target:
            spans.append((start, end))
            start = pos
            target = rng.lognormal(math.log(opts.median_bytes), opts.sigma)
    if start < n:
        if n - start >= 200 or not spans:
            spans.append((start, n))
        else:
            spans[-1] = (spans[-1][0], n)
    return body, [(a, b) for a, b in spans if body[a:b].strip()]


def cut(doc_index: int, text: str, opts: Options) -> list[str]:
    body, spans = cut_spans(doc_index, text, opts)
    return [body[a:b] for a, b in spans]


def piece_title(title: str, k: int) -> str:
    return title if k == 0 else f"{title} (part {k + 1})"


def redirect_variants(title: str) -> list[str]:
    """Kinds of redirect real dumps are full of, for one title (may be empty or equal it)."""
    words = title.split(" ")
    out = []
    lower = title[:1] + title[1:].lower()
    out.append(lower)
    out.append(" ".join(w[:1].upper() + w[1:] for w in words))
    if not title.startswith("The "):
        out.append("The " + title)
    out.append(title + "s")
    if len(words) == 2 and words[1][:1].isupper():
        out.append(f"{words[1]}, {words[0]}")
    caps = [w[0] for w in words if w[:1].isalpha()]
    if len(caps) >= 3:
        out.append("".join(caps).upper())
    plain = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    out.append(plain)
    out.append(title.upper())
    out.append(title.replace("-", " ") if "-" in title else title + "es")
    longest = max(words, key=len)
    if len(longest) >= 6:
        i = len(longest) // 2
        swapped = longest[:i - 1] + longest[i] + longest[i - 1] + longest[i + 1:]
        out.append(title.replace(longest, swapped, 1))
    return [v for v in out if v and v != title and not _COPY_RE.search(v)]


@dataclass
class Plan:
    """What one pass over the source decides, the same for every copy (bounded by the source)."""

    titles: list[str]                      # source article titles, in order
    pieces: list[int]                      # pieces per source article
    rare: dict[str, float]                 # rare word -> its hash uniform
    article_rare: list[list]               # per source article: [end offset, word] of its rare words
    redirects: dict[str, list[str]]        # "article,piece" -> accepted redirect titles
    link_rate: float                       # links per byte of text
    cats_per_article: float
    categories: list[str]                  # real category names, most used first
    source_bytes: int

    @property
    def n_pieces(self) -> int:
        return sum(self.pieces)


def xml_sample_rates(opts: Options) -> tuple[float, float, list[str]]:
    """Links per byte of article wikitext, categories per article and the category names, from
    the real XML dumps."""
    links = cats = size = arts = 0
    names: collections.Counter = collections.Counter()
    for name in XML_SAMPLES:
        with bz2.open(Path(opts.data_dir) / name, "rt", encoding="utf-8") as f:
            raw = f.read()
        for text in _TEXT_RE.findall(raw):
            text = html.unescape(text)
            if text.lstrip()[:9].upper() == "#REDIRECT":
                continue
            arts += 1
            size += len(text.encode("utf-8"))
            links += len(_LINK_RE.findall(text))
            found = [c.strip() for c in _CAT_RE.findall(text)]
            cats += len(found)
            names.update(c for c in found if c)
    ordered = [c for c, _ in sorted(names.items(), key=lambda kv: (-kv[1], kv[0]))]
    return links / size, cats / arts, ordered


def make_plan(opts: Options, cache_dir: str | None = None) -> Plan:
    """Two passes over the source (word counts, then each article's rare words); cached as JSON
    under ``cache_dir`` keyed by the options that matter."""
    key = {k: v for k, v in asdict(opts).items() if k != "articles"}
    key["generator_version"] = GENERATOR_VERSION
    cache = None
    if cache_dir:
        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
        cache = Path(cache_dir) / f"plan-{digest}.json"
        if cache.exists():
            return Plan(**json.loads(cache.read_text(encoding="utf-8")))
    counts: collections.Counter = collections.Counter()
    titles, pieces, source_bytes = [], [], 0
    for i, doc in source_articles(opts):
        titles.append(doc.title)
        pieces.append(len(cut(i, doc.text, opts)))
        source_bytes += len(doc.text.encode("utf-8"))
        counts.update(_WORD_SPLIT.findall(doc.text))
    rare = {w: _unit(opts.seed, "rare", w) for w, n in counts.items()
            if n <= opts.rare_max and _LETTERS.match(w)}
    del counts
    article_rare = [[[m.end(), m.group(0)] for m in _WORD_RE.finditer(doc.text.strip("\n"))
                     if m.group(0) in rare] for _, doc in source_articles(opts)]
    used = {piece_title(t, k) for t, n in zip(titles, pieces) for k in range(n)}
    if len(used) != sum(pieces) or any(_COPY_RE.search(t) for t in used):
        raise SystemExit("source titles are not unique (or end like a copy suffix): cannot make unique titles")
    redirects: dict[str, list[str]] = {}
    owed = 0      # redirects a title had too few variants for, given to the next ones
    for i, (t, n) in enumerate(zip(titles, pieces)):
        for k in range(n):
            rng = np.random.default_rng([opts.seed, i, k, 7])
            want = int(rng.geometric(1.0 / (1.0 + opts.redirects))) - 1 + owed   # mean = opts.redirects
            owed = want
            if want <= 0:
                continue
            variants = [piece_title(v, k) for v in redirect_variants(t)]
            rng.shuffle(variants)
            got = []
            for v in variants:
                if len(got) == want:
                    break
                if v not in used:
                    used.add(v)
                    got.append(v)
            owed = want - len(got)
            if got:
                redirects[f"{i},{k}"] = got
    link_rate, cats, names = xml_sample_rates(opts)
    plan = Plan(titles, pieces, rare, article_rare, redirects, link_rate, cats, names, source_bytes)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(plan)), encoding="utf-8")
        tmp.replace(cache)
    return plan


# --------------------------------------------------------------------------------------------
# pages
# --------------------------------------------------------------------------------------------
_ANCHOR = re.compile(r"\b[^\W\d_]{4,}\b")


def _is_heading(line: str) -> bool:
    return 0 < len(line) < 60 and line.endswith(".") and ". " not in line and len(line.split()) <= 8


def insert_at(text: str, ends: list[int], suffix: str) -> str:
    """``suffix`` inserted at each of the sorted offsets ``ends``."""
    if not ends:
        return text
    out, last = [], 0
    for j in ends:
        out.append(text[last:j])
        out.append(suffix)
        last = j
    out.append(text[last:])
    return "".join(out)


def _wikitext(plain: str, copy: int, plan: Plan, rng, title_index: dict) -> tuple[str, str, int]:
    """(wikitext, plain text, links) of one piece (its rare words already rewritten) in one copy."""
    suffix = copy_suffix(copy)
    text = "\n\n".join(f"== {ln[:-1]} ==" if _is_heading(ln) else ln for ln in plain.split("\n"))
    n_source = len(plan.titles)
    k = int(rng.poisson(plan.link_rate * len(text)))
    out, last, n_links = [], 0, 0
    if k:
        for pos in np.sort(rng.integers(0, len(text), size=k)).tolist():
            if pos < last:
                continue
            m = _ANCHOR.search(text, pos)
            if m is None:
                break
            w = m.group(0)
            if w in title_index:
                link = f"[[{w}{suffix}|{w}]]" if suffix else f"[[{w}]]"
            else:
                s = min(n_source - 1, int(n_source * rng.random() ** 3))  # early articles get most links
                link = f"[[{plan.titles[s]}{suffix}|{w}]]"
            out.append(text[last:m.start()])
            out.append(link)
            last = m.end()
            n_links += 1
    out.append(text[last:])
    wikitext = "".join(out)
    n_cats = int(rng.poisson(plan.cats_per_article))
    if n_cats and plan.categories:
        m = len(plan.categories)
        chosen = sorted({min(m - 1, int(m * rng.random() ** 2)) for _ in range(n_cats)})
        wikitext += "\n\n" + "\n".join(f"[[Category:{plan.categories[c]}]]" for c in chosen)
    return wikitext, plain, n_links


def _page_xml(title: str, page_id: int, text: str, redirect: str | None = None) -> str:
    t = html.escape(title, quote=True)
    red = "" if redirect is None else f'    <redirect title="{html.escape(redirect, quote=True)}" />\n'
    body = html.escape(text, quote=False)
    return (f"  <page>\n    <title>{t}</title>\n    <ns>0</ns>\n    <id>{page_id}</id>\n{red}"
            f"    <revision>\n      <id>{page_id}</id>\n      <timestamp>2015-03-01T00:00:00Z</timestamp>\n"
            f'      <text xml:space="preserve" bytes="{len(text.encode("utf-8"))}">{body}</text>\n'
            f"    </revision>\n  </page>\n")


HEADER = """<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.10/" version="0.10" xml:lang="en">
  <siteinfo>
    <sitename>Wikipedia</sitename>
    <dbname>enwiki</dbname>
    <base>https://en.wikipedia.org/wiki/Main_Page</base>
    <generator>wikisearch synth_corpus v{version}</generator>
    <case>first-letter</case>
    <namespaces>
      <namespace key="0" case="first-letter" />
      <namespace key="14" case="first-letter">Category</namespace>
    </namespaces>
  </siteinfo>
"""


@dataclass
class Stats:
    articles: int = 0
    redirects: int = 0
    links: int = 0
    categories: int = 0
    xml_bytes: int = 0
    text_bytes: int = 0                 # plain text of the articles (what the tantivy sidecar holds)
    copies: int = 0
    rewritten_types: int = 0            # rare word types rewritten, summed over copies
    lengths: list = None                # text bytes of each article (only with keep_lengths)


def pages_per_copy(plan: Plan) -> int:
    """Pages (articles and redirects) of one whole copy: the same for every copy."""
    return plan.n_pieces + sum(len(v) for v in plan.redirects.values())


def generate(opts: Options, plan: Plan, out, plain=None, keep_lengths: bool = False,
             copies: tuple[int, int] | None = None) -> Stats:
    """Write the XML (and optionally WikiExtractor text of the same articles) to file objects.
    ``copies`` (first, last), 1-based: only those copies of the whole stream, as a document of
    their own (header and end tag), with the page ids and pages they have in the whole stream:
    the parts' pages, joined in order, are the whole stream's bytes (so parts can be made in
    parallel processes); the stats count the part's articles alone."""
    st = Stats(lengths=[] if keep_lengths else None)
    out.write(HEADER.format(version=GENERATOR_VERSION).encode("utf-8"))
    st.xml_bytes += len(HEADER)
    title_index = {t: i for i, t in enumerate(plan.titles) if " " not in t}
    first, last = copies or (1, None)
    page_id = 10 + (first - 1) * pages_per_copy(plan)
    copy = first - 1
    skipped = copy * plan.n_pieces     # the whole stream's articles before the part
    while st.articles + skipped < opts.articles and plan.n_pieces and (last is None or copy < last):
        copy += 1
        st.copies = copy
        share = heaps_share(copy, opts.beta)
        sfx = word_suffix(copy)
        st.rewritten_types += sum(1 for u in plan.rare.values() if u < share)
        for i, doc in source_articles(opts):
            if st.articles + skipped >= opts.articles:
                break
            ends = [e for e, w in plan.article_rare[i] if plan.rare[w] < share]
            body, spans = cut_spans(i, doc.text, opts)
            for k, (a, b) in enumerate(spans):
                if st.articles + skipped >= opts.articles:
                    break
                lo, hi = bisect.bisect_right(ends, a), bisect.bisect_right(ends, b)
                piece = insert_at(body[a:b], [e - a for e in ends[lo:hi]], sfx)
                rng = np.random.default_rng([opts.seed, i, k, copy])
                title = piece_title(doc.title, k) + copy_suffix(copy)
                text, plain_text, n_links = _wikitext(piece, copy, plan, rng, title_index)
                st.categories += text.count("[[Category:")
                buf = [_page_xml(title, page_id, text)]
                if plain is not None:
                    t = html.escape(title, quote=True)
                    plain.write((f'<doc id="{page_id}" url="https://en.wikipedia.org/wiki?curid={page_id}" '
                                 f'title="{t}">\n{t}\n\n{plain_text}\n</doc>\n').encode("utf-8"))
                page_id += 1
                for r in plan.redirects.get(f"{i},{k}", ()):
                    buf.append(_page_xml(r + copy_suffix(copy), page_id, f"#REDIRECT [[{title}]]", title))
                    page_id += 1
                    st.redirects += 1
                data = "".join(buf).encode("utf-8")
                out.write(data)
                st.xml_bytes += len(data)
                n = len(plain_text.encode("utf-8"))
                st.text_bytes += n
                if st.lengths is not None:
                    st.lengths.append(n)
                st.articles += 1
                st.links += n_links
    out.write(b"</mediawiki>\n")
    st.xml_bytes += len("</mediawiki>\n")
    return st


def articles_for(scale: float | None, articles: int | None, plan_pieces: int) -> int:
    if articles is not None:
        return articles
    if scale is not None:
        return max(1, round(scale * plan_pieces))
    return ENWIKI_ARTICLES


def _open_out(path: str):
    if path == "-":
        return sys.stdout.buffer
    if path.endswith(".bz2"):
        return bz2.open(path, "wb", compresslevel=6)
    return open(path, "wb", buffering=1 << 20)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-o", "--out", required=True, help="output .xml or .xml.bz2 ('-': stdout)")
    size = ap.add_mutually_exclusive_group()
    size.add_argument("--articles", type=int, help=f"number of articles (default {ENWIKI_ARTICLES:,})")
    size.add_argument("--scale", type=float, help="articles = SCALE x the pieces of one pass over the source")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--source-docs", type=int, help="use only the first N real articles")
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--beta", type=float, default=Options.beta)
    ap.add_argument("--plain", help="also write the articles' plain text as WikiExtractor <doc>s")
    ap.add_argument("--stats", help="write the statistics as JSON here")
    ap.add_argument("--copies", help="FIRST-LAST (1-based): only these copies of the whole stream, as "
                    "a document of their own with their pages' ids in the whole stream (parts made "
                    "in parallel; their pages joined in order are the whole stream's)")
    ap.add_argument("--cache", default=str(Path(__file__).resolve().parent / "results" / "tmp" / "synth-plans"),
                    help="where the source plan is cached ('' for none)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    base = Options(seed=args.seed, source_docs=args.source_docs, data_dir=args.data, beta=args.beta)
    if args.cache:
        cache_source(base, args.cache)
    plan = make_plan(base, args.cache)
    opts = Options(**{**asdict(base), "articles": articles_for(args.scale, args.articles, plan.n_pieces)})
    out = _open_out(args.out)
    plain = open(args.plain, "wb", buffering=1 << 20) if args.plain else None
    try:
        copies = tuple(int(x) for x in args.copies.split("-")) if args.copies else None
        st = generate(opts, plan, out, plain, keep_lengths=bool(args.stats), copies=copies)
    finally:
        if out is not sys.stdout.buffer:
            out.close()
        if plain is not None:
            plain.close()
    summary = summarize(st, plan, opts)
    summary["seconds"] = round(time.perf_counter() - t0, 1)
    summary["copies_range"] = args.copies
    if args.stats:
        Path(args.stats).write_text(json.dumps(summary, indent=1) + "\n")
    print(json.dumps(summary), file=sys.stderr)
    return 0


def summarize(st: Stats, plan: Plan, opts: Options) -> dict:
    out = {k: v for k, v in asdict(st).items() if k != "lengths"}
    out.update({"options": asdict(opts), "generator_version": GENERATOR_VERSION,
                "source_articles": len(plan.titles), "pieces_per_pass": plan.n_pieces,
                "source_rare_types": len(plan.rare),
                "redirects_per_article": st.redirects / max(1, st.articles),
                "links_per_article": st.links / max(1, st.articles),
                "categories_per_article": st.categories / max(1, st.articles),
                "sample_link_rate_per_kb": plan.link_rate * 1000,
                "sample_categories_per_article": plan.cats_per_article})
    if st.lengths:
        a = np.asarray(st.lengths)
        out["text_bytes_percentiles"] = {str(q): float(np.percentile(a, q)) for q in (10, 25, 50, 75, 90, 99)}
        out["text_bytes_mean"] = float(a.mean())
        out["share_under_1kb"] = float((a < 1000).mean())
    return out


if __name__ == "__main__":
    sys.exit(main())
