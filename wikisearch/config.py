"""Fields, build settings and ranking settings: the frozen configuration stored in manifests."""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

#: Field ids are positions in this tuple; bit ``1 << i`` is field ``i`` in a posting's field mask.
FIELDS: tuple[str, ...] = (
    "title",      # 0 the page title
    "redirect",   # 1 titles of redirects pointing at the page (aliases)
    "opening",    # 2 lead section text (before the first heading)
    "heading",    # 3 section headings
    "body",       # 4 the rest of the readable text
    "infobox",    # 5 infobox parameter names and values
    "category",   # 6 category names
    "link",       # 7 outgoing link targets (normalised titles)
    "reference",  # 8 <ref> contents and References / External links / Further reading sections
)
FIELD_ID = {name: i for i, name in enumerate(FIELDS)}
N_FIELDS = len(FIELDS)

#: Query prefixes -> the fields they search. One-letter forms are seed 003's; the long forms are
#: Wikipedia search keywords.
FIELD_GROUPS: dict[str, tuple[str, ...]] = {
    "t": ("title", "redirect"),
    "b": ("opening", "heading", "body"),
    "i": ("infobox",),
    "c": ("category",),
    "l": ("link",),
    "r": ("reference",),
    "intitle": ("title", "redirect"),
    "incategory": ("category",),
    "linksto": ("link",),
    "insource": FIELDS,
}


def parse_size(text: str | int) -> int:
    """Parse ``"2GB"``, ``"512MiB"``, ``"300M"`` or a plain byte count into bytes.

    >>> parse_size("2GB")
    2000000000
    """
    if isinstance(text, int):
        return text
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([kmgt]?)(i?)b?\s*", str(text).lower())
    if not m:
        raise ValueError(f"not a size: {text!r} (try 512MB or 2GB)")
    num, unit, binary = m.groups()
    base = 1024 if binary else 1000
    power = " kmgt".index(unit or " ")
    return int(float(num) * base ** power)


@dataclass(frozen=True)
class RankConfig:
    """BM25F parameters. ``weights[f]`` and ``b[f]`` are per field (see :data:`FIELDS`)."""

    # Exactly the "final" config of `python benchmarks/tune_rank.py` (benchmarks/results/tune_rank.json;
    # tests/test_tune_rank_defaults.py fails if the two drift apart): coordinate ascent on nDCG@10
    # over DBpedia-Entity v2 on the 30k-article corpus, from Wikipedia's CirrusSearch weights (k1 1.2;
    # title 20, redirect 15, category 8, heading 5, opening 3, body 1, auxiliary 0.5). 5-fold
    # cross-validation, tuned on training folds: nDCG@10 0.519 -> 0.577 on the held-out folds
    # (0.591 in-sample for these settings, tuned on all queries). That corpus has no
    # infobox/category/link/redirect text: those keep Cirrus's values, except that redirect follows
    # the title (weight 0.75 x title, same b). A large k1 suits BM25F's summed field frequencies.
    model: str = "bm25f"             # "bm25f" or "tfidf"
    k1: float = 8.0
    weights: tuple[float, ...] = (10.0, 7.5, 5.0, 0.0, 1.0, 0.5, 8.0, 0.5, 0.5)
    b: tuple[float, ...] = (0.15, 0.15, 0.5, 0.5, 0.5, 0.75, 0.3, 0.75, 0.75)

    def __post_init__(self):
        if len(self.weights) != N_FIELDS or len(self.b) != N_FIELDS:
            raise ValueError(f"weights and b need {N_FIELDS} values, one per field {FIELDS}")
        if self.model not in ("bm25f", "tfidf"):
            raise ValueError(f"unknown ranking model {self.model!r} (bm25f or tfidf)")

    def __hash__(self) -> int:               # (the searcher's caches are keyed by it several
        h = self.__dict__.get("_hash")        # times a query: hashed once, when first asked)
        if h is None:
            h = hash((self.model, self.k1, self.weights, self.b))
            object.__setattr__(self, "_hash", h)
        return h

    def __reduce__(self):                     # (a str's hash differs between processes)
        return type(self), (self.model, self.k1, self.weights, self.b)

    def to_json(self) -> dict:
        return {"model": self.model, "k1": self.k1,
                "weights": dict(zip(FIELDS, self.weights)), "b": dict(zip(FIELDS, self.b))}

    @classmethod
    def from_json(cls, d: dict) -> "RankConfig":
        return cls(model=d.get("model", "bm25f"), k1=float(d.get("k1", 1.2)),
                   weights=tuple(float(d["weights"][f]) for f in FIELDS),
                   b=tuple(float(d["b"][f]) for f in FIELDS))

    def replace(self, **kw) -> "RankConfig":
        return dataclasses.replace(self, **kw)


@dataclass(frozen=True)
class PriorConfig:
    """Query-independent popularity added to a document's text score (``wikisearch priors``)::

        prior(d) = pageviews_weight * satu(views(d) / total_views; pageviews_k, pageviews_a)
                 + inlinks_weight   * satu(inlinks(d);             inlinks_k,   inlinks_a)
        satu(x; k, a) = x^a / (k^a + x^a)          (0 at x = 0, 1/2 at x = k, -> 1)

    k and a are CirrusSearch's ``wsum_inclinks_pv`` rescore chain (profiles/
    RescoreFunctionChains.config.php: page-view share k 8e-6 a 0.8 weight 3; incoming links k 30
    a 0.7 weight 10). Its weights are scaled by 1/3 to our BM25F scores, the scale picked on
    DBpedia-Entity v2 (benchmarks/bench_priors.py: nDCG@10 +0.2 point there, +2.5 points condensed
    nDCG@10 on Discernatron's real search queries; unscaled, DBpedia loses 4.7 points). The 30k
    corpus has no links: the in-link weight keeps Cirrus's 10:3 ratio to the page-view weight.
    """

    pageviews_weight: float = 1.0
    pageviews_k: float = 8e-6
    pageviews_a: float = 0.8
    inlinks_weight: float = 10.0 / 3.0
    inlinks_k: float = 30.0
    inlinks_a: float = 0.7
    #: Documents without page views: "zero" (no views: the least popular), "neutral" (no data: the
    #: median page-view prior of the documents that have views), or "auto": neutral when fewer
    #: than half the documents have views (a file that covers a sample of pages), else zero.
    #: "zero" is the default: with the 368-of-30,729-page real file, neutral ties zero on
    #: DBpedia-Entity (nDCG@10 0.593 both) and loses on Discernatron (0.505 vs 0.577; condensed
    #: 0.726 vs 0.769), measured in the session that added it (see its closing note).
    missing_views: str = "zero"

    def __post_init__(self):
        import math
        if self.missing_views not in ("auto", "zero", "neutral"):
            raise ValueError(f"missing_views must be auto, zero or neutral, not {self.missing_views!r}")
        for name in ("pageviews_weight", "inlinks_weight"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v >= 0):
                raise ValueError(f"{name} must be a number >= 0, not {v}")
        for name in ("pageviews_k", "pageviews_a", "inlinks_k", "inlinks_a"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):
                raise ValueError(f"{name} must be a number > 0, not {v}")

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> "PriorConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: (str(v) if k == "missing_views" else float(v)) for k, v in d.items() if k in names})

    def replace(self, **kw) -> "PriorConfig":
        return dataclasses.replace(self, **kw)


@dataclass(frozen=True)
class BuildConfig:
    """Settings that decide the bytes of an index (all of them are recorded in the manifest)."""

    memory: int = 2_000_000_000      # budget for the whole build, bytes
    workers: int = 1
    block_bytes: int = 0             # 0: derived from memory and workers
    codec: str = "bitpacked"         # "bitpacked" or "varbyte"
    namespaces: tuple[int, ...] = (0,)
    language: str = ""               # "" = from <siteinfo>, else a Snowball language name/code
    stem: bool = True
    stopwords: bool = True
    store_text: bool = True          # keep readable text for snippets / phrase checks
    allow_truncated: bool = False    # index the whole pages before damage instead of failing
    max_page_bytes: int = 10_000_000  # longer pages (XML bytes) are skipped with a warning
    forward: bool = True             # write forward.bin (term proximity for the re-ranker; needs store_text)

    #: Resident memory of one build process before it holds any block (Python, numpy, numba and
    #: the loaded kernels), and peak bytes a worker holds per byte of block (the block, its
    #: parsed field texts as str, the UTF-8 buffer, token arrays, postings): measured on the
    #: 30k-article corpus (benchmarks/bench_build.py).
    PROCESS_BASE = 250_000_000
    BYTES_PER_BLOCK_BYTE = 8
    #: Share of the budget the model plans for: the rest absorbs what it does not see (allocator
    #: slack, pages of shared libraries counted in every process's RSS).
    PLANNED_SHARE = 0.95

    def effective_block_bytes(self) -> int:
        """Bytes of uncompressed XML per block, so the whole build stays within ``memory``.

        Peak = (workers + 1) * PROCESS_BASE + block * (workers * BYTES_PER_BLOCK_BYTE + workers + 1)
        <= PLANNED_SHARE * memory: each worker expands its block, and the main process holds up to
        ``workers + 1`` blocks waiting for a worker. Capped at 256 MB so progress and resume stay
        fine-grained.
        """
        if self.block_bytes:
            return self.block_bytes
        w = max(1, self.workers)
        free = int(self.PLANNED_SHARE * self.memory) - (w + 1) * self.PROCESS_BASE
        block = free // (w * self.BYTES_PER_BLOCK_BYTE + w + 1)
        if block < (1 << 20):
            need = ((w + 1) * self.PROCESS_BASE + (1 << 20) * (w * self.BYTES_PER_BLOCK_BYTE + w + 1)) \
                / self.PLANNED_SHARE
            raise ValueError(f"a memory budget of {self.memory / 1e6:,.0f} MB is too small for "
                             f"{w} worker(s): give at least {need / 1e6:,.0f} MB or fewer workers")
        return int(min(256 << 20, block))

    def merge_chunk_bytes(self) -> int:
        """Encoded postings moved per merge step by each of the ``workers`` merging processes:
        decoded, they take about 20x as much."""
        w = max(1, self.workers)
        free = int(self.PLANNED_SHARE * self.memory) - (w + 1) * self.PROCESS_BASE
        return int(max(1 << 20, min(64 << 20, free // (20 * w))))

    def identity(self) -> dict:
        """The settings that change the index bytes (not workers or memory)."""
        out = {"codec": self.codec, "namespaces": list(self.namespaces), "language": self.language,
               "stem": self.stem, "stopwords": self.stopwords, "store_text": self.store_text,
               "allow_truncated": self.allow_truncated, "max_page_bytes": self.max_page_bytes}
        if not self.forward and self.store_text:   # (said only when left out: whether an index has
            out["forward"] = False                 # forward.bin is its manifest's list of files)
        return out
