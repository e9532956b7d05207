"""Links and categories of real MediaWiki XML against the synthetic corpus's (issue #13: is the
synthetic link model faithful, and does it explain why the synthetic store misses 30 %?).

    python benchmarks/bench_link_stats.py --synth SYNTH.xml [--windows 8 --window 800] [--what-if]
        [--match 30000] [--other] [--tag NAME]               # -> results/link-stats[-NAME].{json,md}

Corpora: each real enwiki XML slice of ``../shared/data/enwiki-xml`` (articles only), with
``--other`` the seven 2023 other-language slices of ``otherwiki-xml`` (their articles), and
``--synth`` files (``synth_corpus.py`` output): ``--windows`` runs of ``--window`` consecutive
articles spread evenly over the file (consecutive, so a store block holds what the store's would).

Per corpus, over its articles (the link and category statistics are the build's own: links are the
``[[...]]`` targets that ``ingest.wikitext.Site.classify`` calls links, categories its categories;
both as ``parse_wikitext`` stores them):

- **links / KB**: per KB of wikitext and per KB of *prose* (the stored opening, heading and body
  fields: what WikiExtractor's text holds, the denominator of the 30 % target);
- **unpiped**: share of links written ``[[X]]`` (no ``|``);
- **target = anchor**: share whose normalised target equals the normalised anchor text (an
  unpiped link always does; first letter case-folded, as titles are, ``_`` as space);
- **target in text**: share whose target (case-folded) occurs in the page's own prose;
- **anchor capitalised**: share whose shown text (the anchor, or the target of ``[[X]]``, as
  written) starts with a capital; **multi-word target**: share whose target has a space;
- **distinct / link**: distinct targets per link within a page (summed over pages), and over
  the whole corpus;
- **target top 1 % / 10 %**: share of all link occurrences that go to the 1 % / 10 % most linked
  targets (depends on the corpus size: compare corpora of similar link counts, ``--match``);
- **categories / page**, distinct categories per category entry, top-1 %/10 % share likewise;
- **field bytes**: the stored link and category fields' bytes per KB of prose and their share of
  the stored bytes; **field cost**: what the store's own coding (format 10: shipped word codebook,
  shipped zstd dictionary, level 5, ~16 KiB content-defined blocks; ``bench_store_frontier.measure``)
  spends on them: compressed bytes of the documents minus those of the same documents with the two
  fields emptied, as % of the fields' bytes and per KB of prose; the same for each field alone
  (**link cost** also per link; a field's cost can come out a little negative: emptying it moves
  zstd's matches); **store % of prose** with and without them. Other languages are coded as
  their builds code them (no shipped codebook or dictionary: plain zstd, ``store.LEVEL``).

``--match N``: the synthetic target/category repeat shares also on its first N links' worth of
articles, to set beside a real slice of about N links.

``--what-if``: the synthetic windows again with their category field (then also their link field)
drawn as the real enwiki slices have them (:func:`what_if`, :func:`real_model`): categories per
article by prose length (a Poisson fit over the real articles), links at the slices' pooled rate
per KB of prose or by length (a Poisson fit); of these, the slices' pooled target = anchor share
(75 %) are title mentions found in the prose, the rest titles drawn as ``synth_corpus`` draws them.
What the store would spend on a corpus generated that way, without generating it.
"""
from __future__ import annotations

import argparse
import collections
import json
import math
import re
import sys
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_store_frontier import measure, zstd_codec  # noqa: E402
from corpus import DATA  # noqa: E402

from wikisearch.config import FIELDS  # noqa: E402
from wikisearch.index import wordcode  # noqa: E402
from wikisearch.index.store import DICT_LEVEL, LEVEL, encode_doc, shipped_dictionary, shipped_words  # noqa: E402
from wikisearch.ingest import wikiscan, wikitext as wt  # noqa: E402
from wikisearch.ingest.dump import Dump  # noqa: E402
from wikisearch.ingest.parse import field_texts, parse_wikitext  # noqa: E402

ENWIKI_SLICES = {
    "gensim (enwiki 2016)": "enwiki-xml/enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2",
    "enwik8 (enwiki 2006)": "enwiki-xml/enwik8-head-4MB.xml.bz2",
    "dbpedia minidump (2019-21)": "enwiki-xml/enwiki-minidump-dbpedia-extraction-framework.xml.bz2",
}
OTHER_SLICES = {f"{lang}wiki (2023)": f"otherwiki-xml/{lang}wiki-20230501-truncated-100k-wholepages.xml.xz"
                for lang in ("bn", "el", "hy", "ja", "mr", "uk", "vi")}

_QUOTES = re.compile(r"'{2,}")
_PROSE = ("opening", "heading", "body")


def norm_anchor(text: str) -> str:
    """An anchor as a title: bold/italic quotes gone, ``_`` as space, spaces collapsed, first
    letter upper case."""
    t = " ".join(_QUOTES.sub("", text).replace("_", " ").split())
    return t[:1].upper() + t[1:]


def top_share(counts: collections.Counter, frac: float) -> float:
    """Share of all occurrences held by the ``frac`` most frequent keys (at least one key)."""
    total = sum(counts.values())
    if not total:
        return 0.0
    k = max(1, round(frac * len(counts)))
    return sum(c for _, c in counts.most_common(k)) / total


class Tally:
    """The statistics of one corpus, page by page (see the module's docstring)."""

    def __init__(self):
        self.pages = self.wikitext = self.prose = 0
        self.links = self.unpiped = self.equal = self.in_text = self.page_distinct = 0
        self.capital = self.multiword = 0
        self.cats = 0
        self.link_field = self.cat_field = 0
        self.targets: collections.Counter = collections.Counter()
        self.categories: collections.Counter = collections.Counter()
        self.docs: list[bytes] = []
        self.language = "en"
        self.per_article: list[tuple[int, int, int]] = []     # (prose bytes, links, categories)

    def add(self, title: str, text: str, site: wt.Site, siteinfo=None) -> None:
        fields = parse_wikitext(text, title, siteinfo)
        self.language = getattr(siteinfo, "lang", None) or "en"
        texts = field_texts(fields)
        prose = "\n".join(texts[f] for f in _PROSE)
        low = prose.lower()
        self.pages += 1
        self.wikitext += len(text.encode("utf-8"))
        self.prose += len(prose.encode("utf-8"))
        seen, links_before = set(), self.links
        # ``[[target|anchor]]`` or ``[[target]]`` as the parser reads them (wikiscan's own pattern)
        for m in wikiscan._LINK.finditer(wikiscan.strip_comments(text)):
            kind, target = site.classify(m.group(1))
            if kind != wt.LINK:
                continue
            anchor = m.group(2)
            self.links += 1
            self.unpiped += anchor is None
            self.equal += anchor is None or norm_anchor(anchor) == target
            self.in_text += target.lower() in low
            shown = _QUOTES.sub("", m.group(1) if anchor is None else anchor).strip()
            self.capital += shown[:1].isupper()
            self.multiword += " " in target
            self.targets[target] += 1
            seen.add(target)
        self.page_distinct += len(seen)
        self.per_article.append((len(prose.encode("utf-8")), self.links - links_before, len(fields.categories)))
        self.cats += len(fields.categories)
        self.categories.update(fields.categories)
        self.link_field += len(texts["link"].encode("utf-8"))
        self.cat_field += len(texts["category"].encode("utf-8"))
        self.docs.append(encode_doc([texts.get(name, "") for name in FIELDS]))

    def summary(self) -> dict:
        links, kb = max(1, self.links), max(1, self.prose) / 1000
        out = {"articles": self.pages, "wikitext_bytes": self.wikitext, "prose_bytes": self.prose,
               "links": self.links, "links_per_kb_wikitext": self.links / max(1, self.wikitext) * 1000,
               "links_per_kb_prose": self.links / kb, "links_per_article": self.links / max(1, self.pages),
               "unpiped_share": self.unpiped / links, "target_equals_anchor_share": self.equal / links,
               "target_in_text_share": self.in_text / links,
               "anchor_capitalised_share": self.capital / links, "multiword_target_share": self.multiword / links,
               "distinct_targets_per_link_in_page": self.page_distinct / links,
               "distinct_targets_per_link": len(self.targets) / links,
               "target_top1pct_share": top_share(self.targets, 0.01),
               "target_top10pct_share": top_share(self.targets, 0.10),
               "categories_per_article": self.cats / max(1, self.pages),
               "distinct_categories_per_entry": len(self.categories) / max(1, self.cats),
               "category_top1pct_share": top_share(self.categories, 0.01),
               "category_top10pct_share": top_share(self.categories, 0.10),
               "link_field_bytes": self.link_field, "category_field_bytes": self.cat_field,
               "link_field_bytes_per_kb_prose": self.link_field / kb,
               "category_field_bytes_per_kb_prose": self.cat_field / kb}
        if self.docs:
            out.update(store_figures(self.docs, self.prose, self.links, self.language))
        return out


def empty_fields(docs: list[bytes], names) -> list[bytes]:
    """``docs`` (stored bytes) with the fields ``names`` emptied."""
    drop = {FIELDS.index(n) for n in names}
    return [b"\x1f".join(b"" if k in drop else f for k, f in enumerate(d.split(b"\x1f"))) for d in docs]


def store_figures(docs: list[bytes], prose: int, links: int, language: str = "en") -> dict:
    """What the store's coding spends on ``docs`` (stored bytes of articles with ``prose`` bytes of
    prose and ``links`` links) and on their link and category fields: the compressed bytes less
    those of the same documents with the field(s) emptied (blocks cut as the store cuts them)."""
    coder, codec = store_coding(language)

    def size(ds):
        return measure(ds, prose, 16 << 10, codec, coder, 10)["bytes"]

    full, bare = size(docs), size(empty_fields(docs, ("link", "category")))
    no_link, no_cat = size(empty_fields(docs, ("link",))), size(empty_fields(docs, ("category",)))
    kb, stored = max(1, prose) / 1000, sum(map(len, docs))
    split = [d.split(b"\x1f") for d in docs]
    link_b = sum(len(f[FIELDS.index("link")]) for f in split)
    cat_b = sum(len(f[FIELDS.index("category")]) for f in split)
    return {"stored_bytes": stored, "fields_share_of_stored": (link_b + cat_b) / max(1, stored),
            "store_bytes": full, "store_bytes_without_fields": bare, "field_cost_bytes": full - bare,
            "field_cost_pct_of_field_bytes": 100 * (full - bare) / max(1, link_b + cat_b),
            "field_cost_per_kb_prose": (full - bare) / kb,
            "link_cost_per_kb_prose": (full - no_link) / kb, "category_cost_per_kb_prose": (full - no_cat) / kb,
            "link_cost_per_link": (full - no_link) / max(1, links),
            "link_cost_pct_of_link_bytes": 100 * (full - no_link) / max(1, link_b),
            "store_pct_of_stored": 100 * full / max(1, stored), "store_pct_of_prose": 100 * full / max(1, prose),
            "store_pct_of_prose_without_fields": 100 * bare / max(1, prose)}


def articles(path, keep=None):
    """(title, wikitext, siteinfo) of the namespace-0 non-redirect pages of a dump; ``keep(i)``
    chooses by article number."""
    with Dump(path) as dump:
        i = 0
        for page in dump.pages():
            if page.ns != 0 or page.redirect or page.text.lstrip()[:9].upper() == "#REDIRECT":
                continue
            if keep is None or keep(i):
                yield page.title, page.text, dump.siteinfo
            i += 1


def count_articles(path) -> int:
    return sum(1 for _ in articles(path))


def windows(n_articles: int, n: int, size: int):
    """``n`` runs of ``size`` consecutive article numbers spread evenly over ``n_articles``."""
    step = max(size, n_articles // max(1, n))
    starts = [k * step for k in range(n) if k * step < n_articles]
    return lambda i: any(s <= i < s + size for s in starts)


def tally(path, keep=None, limit_links=None) -> Tally:
    t, site, si = Tally(), None, None
    for title, text, siteinfo in articles(path, keep):
        if siteinfo is not si:
            site, si = wt.Site(siteinfo), siteinfo
        t.add(title, text, site, siteinfo)
        if limit_links is not None and t.links >= limit_links:
            break
    return t


def poisson_fit(kb, counts) -> tuple[float, float]:
    """(a, b) of the Poisson regression ``E[count] = exp(a) * kb**b`` (maximum likelihood, IRLS)."""
    x, y = np.log(np.asarray(kb, float)), np.asarray(counts, float)
    design = np.c_[np.ones_like(x), x]
    beta = np.array([math.log(max(y.mean(), 1e-9)), 0.0])
    for _ in range(100):
        mu = np.exp(design @ beta)
        z = design @ beta + (y - mu) / mu
        new = np.linalg.solve(design.T @ (design * mu[:, None]), design.T @ (mu * z))
        if np.allclose(new, beta, rtol=0, atol=1e-12):
            break
        beta = new
    return float(beta[0]), float(beta[1])


_WORD = re.compile(r"\w+")


def mention_index(titles) -> tuple[set, dict]:
    """(titles, first word -> most words of a title starting with it) for :func:`title_mentions`
    (words as ``\\w+`` runs: "Neu-Ulm" is two)."""
    firsts: dict[str, int] = {}
    for t in titles:
        words = _WORD.findall(t)
        if words and len(words) <= 8 and t.startswith(words[0]):
            firsts[words[0]] = max(firsts.get(words[0], 0), len(words))
    return set(titles), firsts


def title_mentions(text: str, index, own: str = "") -> list[tuple[int, int, str, bool]]:
    """(start, end, title, as written) of the title mentions in ``text``: at each word, the longest
    run of up to 8 words that is a title (what is between the words as in the title; its first letter may be
    lower case, as a link's may: ``[[rhine]]`` links Rhine), 4 characters or more, not ``own``;
    ``as written`` is False when the first letter was lower case. A one-word mention that starts
    a sentence or a line is skipped (its capital may be the sentence's). Runs do not overlap.

    >>> title_mentions("The Rhine flows. Basel is on the Rhine river, a river.",
    ...                mention_index(["Rhine", "Basel", "Rhine river", "River"]))
    [(4, 9, 'Rhine', True), (33, 44, 'Rhine river', True), (48, 53, 'River', False)]
    """
    titles, firsts = index
    words = [(m.start(), m.end(), m.group(0)) for m in _WORD.finditer(text)]
    out, i = [], 0
    while i < len(words):
        got, w = 0, words[i][2]
        first = w[:1].upper() + w[1:]
        for n in range(min(firsts.get(first, 0), len(words) - i), 0, -1):
            a, b = words[i][0], words[i + n - 1][1]
            span = text[a:b]
            title = first + span[len(w):]
            if title in titles and title != own and len(span) >= 4:
                before = text[max(0, a - 4):a].rstrip(" ")
                if n > 1 or not (a == 0 or before[-1:] in (".", "!", "?", "\n", "")):
                    out.append((a, b, title, span == title))
                    got = n
                break
        i += got or 1
    return out


@dataclass(frozen=True)
class LinkModel:
    """Links and categories drawn as the real slices have them (see :func:`what_if`)."""

    links_a: float                   # E[links] = exp(links_a) * KB**links_b, KB of prose
    links_b: float
    cats_a: float                    # E[categories] = exp(cats_a) * KB**cats_b
    cats_b: float
    mention_share: float             # links whose target is the anchor (a title mention)


def what_if(docs: list[bytes], model: LinkModel, titles: list[str], categories: list[str],
            links: bool = True, seed: int = 13) -> tuple[list[bytes], dict]:
    """``docs`` (stored bytes of synthetic articles) with their category field (and with ``links``
    their link field) drawn again from ``model``: per article a Poisson number of links, each
    (``mention_share``) a title mention of the article's prose chosen at random, else (and when
    mentions run out) a title drawn as ``synth_corpus`` draws one (skewed to the first titles);
    a Poisson number of categories drawn as ``synth_corpus`` draws them. Returns the documents and
    the statistics of the drawn links."""
    index = mention_index(titles)
    n_t, n_c = len(titles), len(categories)
    link_id, cat_id = FIELDS.index("link"), FIELDS.index("category")
    out, n_links, n_mention, in_text, distinct = [], 0, 0, 0, 0
    for i, d in enumerate(docs):
        f = d.decode("utf-8", "surrogatepass").split("\x1f")
        prose = "\n".join(f[FIELDS.index(k)] for k in _PROSE)
        kb = max(len(prose.encode("utf-8")), 1) / 1000
        rng = np.random.default_rng([seed, i])
        if links:
            k = int(rng.poisson(math.exp(model.links_a) * kb ** model.links_b))
            own = _PART.sub("", f[0])
            mentions = title_mentions(prose, index, own)
            # mentions as written (mostly proper nouns, as real anchors are) first, then lower case
            pools = [[m for m in mentions if m[3]], [m for m in mentions if not m[3]]]
            n_m = min(int(rng.binomial(k, model.mention_share)), len(mentions))
            targets = []
            for pool in pools:
                take = min(n_m - len(targets), len(pool))
                if take > 0:
                    targets += [pool[j][2] for j in sorted(rng.choice(len(pool), size=take, replace=False).tolist())]
            targets += [titles[min(n_t - 1, int(n_t * rng.random() ** 3))] for _ in range(k - n_m)]
            low = prose.lower()
            n_links += k
            n_mention += n_m
            in_text += sum(t.lower() in low for t in targets)
            distinct += len(set(targets))
            f[link_id] = "\n".join(targets)
        c = int(rng.poisson(math.exp(model.cats_a) * kb ** model.cats_b))
        chosen_c = sorted({min(n_c - 1, int(n_c * rng.random() ** 2)) for _ in range(c)})
        f[cat_id] = "\n".join(categories[j] for j in chosen_c)
        out.append("\x1f".join(f).encode("utf-8", "surrogatepass"))
    stats = {"links": n_links, "mention_share": n_mention / max(1, n_links),
             "target_in_text_share": in_text / max(1, n_links),
             "distinct_targets_per_link_in_page": distinct / max(1, n_links)}
    return out, stats


_PART = re.compile(r"(?: \(part \d+\))?(?: \(copy \d+\))?$")


def synth_titles(path) -> list[str]:
    """The source titles of a synthetic corpus, in order (its article titles without the
    ``(part k)`` / ``(copy c)`` suffixes, each once)."""
    return list(dict.fromkeys(_PART.sub("", t) for t, _, _ in articles(path)))


def real_model(real: dict, pooled_rate: bool) -> LinkModel:
    """The :class:`LinkModel` of the real slices' articles (``Tally`` by name): categories per
    article by prose length (Poisson fit); links by length too, or (``pooled_rate``) at the slices'
    pooled links per KB of prose; mention share: their pooled target = anchor share."""
    rows = [r for t in real.values() for r in t.per_article if r[0] >= 50]
    kb = [r[0] / 1000 for r in rows]
    ca, cb = poisson_fit(kb, [r[2] for r in rows])
    if pooled_rate:
        la, lb = math.log(sum(r[1] for r in rows) / sum(kb)), 1.0
    else:
        la, lb = poisson_fit(kb, [r[1] for r in rows])
    share = sum(t.equal for t in real.values()) / sum(t.links for t in real.values())
    return LinkModel(la, lb, ca, cb, share)


def what_if_rows(t: Tally, real: dict, titles: list[str], data: str) -> dict:
    """Store figures of the synthetic windows ``t`` with their fields drawn by :func:`what_if`."""
    import synth_corpus
    categories = synth_corpus.xml_sample_rates(synth_corpus.Options(data_dir=data))[2]
    out = {}
    for label, pooled, links in (("categories by length", True, False),
                                 ("+ links: pooled rate, mentions", True, True),
                                 ("+ links: by length, mentions", False, True)):
        model = real_model(real, pooled)
        docs, drawn = what_if(t.docs, model, titles, categories, links=links)
        kb = t.prose / 1000
        split = [d.split(b"\x1f") for d in docs]
        n_links = drawn["links"] if links else t.links
        cat_fields = [f[FIELDS.index("category")] for f in split]
        row = {"model": asdict(model), "drawn": drawn,
               "link_field_bytes_per_kb_prose": sum(len(f[FIELDS.index("link")]) for f in split) / kb,
               "category_field_bytes_per_kb_prose": sum(map(len, cat_fields)) / kb,
               "categories_per_article": sum(c.count(b"\n") + 1 for c in cat_fields if c) / max(1, len(split)),
               **store_figures(docs, t.prose, n_links, t.language)}
        if links:
            row.update({"links_per_kb_prose": drawn["links"] / kb,
                        "links_per_article": drawn["links"] / max(1, len(docs)),
                        "target_equals_anchor_share": drawn["mention_share"],
                        "target_in_text_share": drawn["target_in_text_share"],
                        "distinct_targets_per_link_in_page": drawn["distinct_targets_per_link_in_page"]})
        out[f"what-if {label}"] = row
        print(label, json.dumps(row), file=sys.stderr, flush=True)
    return out


@lru_cache(maxsize=None)
def store_coding(language: str = "en"):
    """(word coder or None, zstd codec) as the build's store codes a ``language`` dump: the shipped
    codebook and dictionary at ``DICT_LEVEL``, or (none shipped) plain zstd at ``LEVEL``."""
    words, dictionary = shipped_words(language), shipped_dictionary(language)
    return (wordcode.Codebook(words) if words else None,
            zstd_codec(DICT_LEVEL if dictionary else LEVEL, dictionary))


ROWS = [("articles", "{:,}"), ("links_per_kb_wikitext", "{:.2f}"), ("links_per_kb_prose", "{:.2f}"),
        ("links_per_article", "{:.1f}"), ("unpiped_share", "{:.1%}"), ("target_equals_anchor_share", "{:.1%}"),
        ("target_in_text_share", "{:.1%}"), ("anchor_capitalised_share", "{:.1%}"),
        ("multiword_target_share", "{:.1%}"), ("distinct_targets_per_link_in_page", "{:.3f}"),
        ("distinct_targets_per_link", "{:.3f}"), ("target_top1pct_share", "{:.1%}"),
        ("target_top10pct_share", "{:.1%}"), ("categories_per_article", "{:.2f}"),
        ("distinct_categories_per_entry", "{:.3f}"), ("category_top1pct_share", "{:.1%}"),
        ("category_top10pct_share", "{:.1%}"), ("link_field_bytes_per_kb_prose", "{:.1f}"),
        ("category_field_bytes_per_kb_prose", "{:.1f}"), ("fields_share_of_stored", "{:.1%}"),
        ("field_cost_pct_of_field_bytes", "{:.1f} %"), ("field_cost_per_kb_prose", "{:.1f}"),
        ("link_cost_per_kb_prose", "{:.1f}"), ("category_cost_per_kb_prose", "{:.1f}"),
        ("link_cost_per_link", "{:.2f}"), ("link_cost_pct_of_link_bytes", "{:.1f} %"),
        ("store_pct_of_stored", "{:.2f} %"), ("store_pct_of_prose", "{:.2f} %"),
        ("store_pct_of_prose_without_fields", "{:.2f} %")]


def table(results: dict) -> str:
    names = list(results)
    lines = ["| statistic | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for key, fmt in ROWS:
        cells = [fmt.format(results[n][key]) if key in results[n] else "" for n in names]
        lines.append(f"| {key.replace('_', ' ')} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--synth", nargs="*", default=[], help="synth_corpus.py XML files")
    ap.add_argument("--windows", type=int, default=8)
    ap.add_argument("--window", type=int, default=800)
    ap.add_argument("--match", type=int, default=0, help="also the synth's first N links' worth of articles")
    ap.add_argument("--other", action="store_true", help="also the other-language slices")
    ap.add_argument("--what-if", action="store_true",
                    help="also the synth windows with their link and category fields drawn as the "
                         "real slices have them")
    ap.add_argument("--tag", default="")
    ap.add_argument("--out", default=str(HERE / "results"))
    args = ap.parse_args(argv)
    res: dict = {}
    slices = dict(ENWIKI_SLICES, **(OTHER_SLICES if args.other else {}))
    tallies = {}
    for name, rel in slices.items():
        tallies[name] = tally(Path(args.data) / rel)
        res[name] = tallies[name].summary()
        print(name, json.dumps(res[name]), file=sys.stderr, flush=True)
    real = {name: tallies[name] for name in ENWIKI_SLICES}
    for path in args.synth:
        n = count_articles(path)
        name = f"{Path(path).name} ({args.windows}x{args.window} of {n:,})"
        t = tally(path, windows(n, args.windows, args.window))
        res[name] = t.summary()
        if args.what_if:
            res.update(what_if_rows(t, real, synth_titles(path), args.data))
        if args.match:
            res[f"{Path(path).name} (first {args.match:,} links)"] = \
                tally(path, limit_links=args.match).summary()
    for k, v in res.items():
        print(k, json.dumps(v), file=sys.stderr)
    stem = "link-stats" + (f"-{args.tag}" if args.tag else "")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{stem}.json").write_text(json.dumps(res, indent=1) + "\n")
    other = [n for n in res if n in OTHER_SLICES]
    md = table({n: v for n, v in res.items() if n not in OTHER_SLICES})
    if other:
        md += "\nOther languages (their stores have no shipped codebook or dictionary: plain zstd level 6):\n\n"
        md += table({n: res[n] for n in other})
    (out / f"{stem}.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
