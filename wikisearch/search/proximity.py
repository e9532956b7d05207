"""proximity: where a query's terms occur in a document's prose, for the re-ranker.

The re-ranker (:mod:`wikisearch.search.rerank`) reads five numbers per candidate about the query's
terms in the candidate's prose prefix (its first ``PREFIX_CHARS`` characters of prose, the opening
then the body, as the store keeps them: ``snippets.prose_buffer``), counted in the tokens analysis
keeps (:data:`PROXIMITY_FEATURES`), and each minus the best candidate's (:func:`with_gaps`).

Two ways to the same numbers:

- from the **forward index**, ``forward.bin`` (written by the build beside ``store.bin``): each
  document's kept tokens of that prose as term ordinals, bit-packed, with the token where its first
  sentence ends (:class:`ForwardIndex`; ``_proximity_kernels``). A query reads its 100 candidates'
  records, about 0.3 ms at 30k articles (``benchmarks/bench_forward_proximity.py``);
- from the **stored text** (:func:`stored_proximity`): the candidates' prefixes decompressed,
  cut and tokenized at each query, about 21 ms; the oracle the forward index is compared to, and
  what an index built before ``forward.bin`` existed gets (with a warning).

    File  --> a container (``index/container.py``) of kind ``FWRD``: ``starts`` (int64[n_docs + 1],
              where each document's record starts, in words) and ``words`` (the records, uint64 words stored as bytes:
              ``_proximity_kernels``), meta ``{"layout", "bits", "n_docs", "n_terms",
              "prefix_chars"}``. Each record carries its own check word, checked when a query reads
              it; ``starts`` is checked whole on first use.
"""
from __future__ import annotations

import re
import threading
from pathlib import Path

import numpy as np

from wikisearch.errors import CorruptIndexError
from wikisearch.index.container import Container, ContainerWriter
from wikisearch.index.store import PREFIX_CHARS
from wikisearch.jit import readonly
from wikisearch.search import _proximity_kernels as K
from wikisearch.search.snippets import prose_buffer

FILE = "forward.bin"
KIND = b"FWRD"
#: Bumped when the records change: an older forward.bin is not read (the stored text is).
LAYOUT = 1
#: The proximity features (``_proximity_kernels.forward_features`` says what each is).
PROXIMITY_FEATURES = ("prefix_cov", "prox_window", "prox_density", "prox_bigrams", "first_sentence_cov")
#: Each of them minus the best candidate's of its query (:func:`with_gaps`).
PROXIMITY_GAPS = tuple(f"{f}_gap" for f in PROXIMITY_FEATURES)
#: The tokens ``prox_window`` looks across.
PROX_WINDOW = 10
#: Where a sentence ends in UTF-8 prose (as snippets.py's ``_SENTENCE`` on text).
_SENTENCE_END = re.compile(rb"[.!?]\s|\xe3\x80\x82|\xef\xbc[\x81\x9f]")
_CONTINUATION = bytes(range(0x80, 0xC0))        # UTF-8 bytes that do not start a character
_NO_END = 1 << 40


def with_gaps(P: np.ndarray) -> np.ndarray:
    """``P`` (the candidates' :data:`PROXIMITY_FEATURES`) with :data:`PROXIMITY_GAPS` after it:
    each column minus its largest value over the candidates."""
    return np.hstack([P, P - (P.max(axis=0) if len(P) else 0.0)])


def _first_sentence_chars(joined: bytes, a: int, z: int) -> int:
    """Characters of the prose ``joined[a:z]`` up to and including its first sentence's end
    (:data:`_NO_END` without one)."""
    m = _SENTENCE_END.search(joined, a, z)
    return len(joined[a:m.start() + 1].translate(None, _CONTINUATION)) if m else _NO_END


def _prose(reader, docids, chars: int) -> tuple[bytes, np.ndarray]:
    docs = [reader.stored_prefix(int(d), PREFIX_CHARS) or b"" for d in docids]
    return prose_buffer(docs, min(int(chars), PREFIX_CHARS))


def stored_proximity(reader, ordinals, idf, docids, chars: int = PREFIX_CHARS) -> np.ndarray:
    """float64[C, 5]: :data:`PROXIMITY_FEATURES` of ``docids`` for a query whose distinct terms
    (in the query's order) have ``ordinals`` (-1: a term the index lacks) and ``idf``, read from
    the stored text: the first ``chars`` characters of each document's prose (rows of 0 where a
    document has no stored text). One tokenizer pass over the candidates' prose
    (``Analyzer.find_terms_encoded``: positions count the tokens analysis keeps, so a pair of terms
    is adjacent as a phrase's are), then numpy over the matches of all candidates at once. The
    oracle of :meth:`ForwardIndex.features`."""
    docids = np.asarray(docids, np.int64)
    keep = [t for t, o in enumerate(ordinals) if o >= 0]
    terms = [reader.term(int(ordinals[t])) for t in keep]
    C, T = len(docids), len(ordinals)
    P = np.zeros((C, len(PROXIMITY_FEATURES)), np.float64)
    if C == 0 or T == 0:
        return P
    idf = np.asarray(idf, np.float64)
    joined, ends = _prose(reader, docids.tolist(), chars)
    present = np.zeros((C, T), bool)
    if terms:
        (starts, _, which, pos, cuts), _ = reader.analyzer.find_terms_encoded(
            np.frombuffer(joined, np.uint8), ends, terms, positions=True, flat=True)
        which = np.asarray(keep, np.int64)[which]
        text = np.repeat(np.arange(C), np.diff(cuts, prepend=0))
    else:
        starts = which = pos = text = np.zeros(0, np.int64)
    present[text, which] = True
    found = present.sum(axis=1)
    total = 0.0
    for v in idf.tolist():               # (summed in the query's order, as the kernel sums)
        total += v
    for c in range(C):
        cov = 0.0
        for t in np.flatnonzero(present[c]).tolist():
            cov += float(idf[t])
        P[c, 0] = cov / total if total > 0 else found[c] / T
    if text.size == 0:
        return P
    # d[j, t]: kept tokens from match j to the next match of term t in its text (a large number: none)
    span = int(pos.max()) + PROX_WINDOW + 2
    key = text * span + pos
    none = np.int64(_NO_END)
    d = np.full((key.size, T), none, np.int64)
    for t in range(T):
        kt = np.sort(key[which == t])
        if kt.size:
            i = np.minimum(np.searchsorted(kt, key), kt.size - 1)
            same = (kt[i] >= key) & (kt[i] // span == text)
            d[same, t] = kt[i][same] - key[same]
    best = np.zeros(C, np.int64)
    np.maximum.at(best, text, (d < PROX_WINDOW).sum(axis=1))
    P[:, 1] = best / T
    # the smallest window holding every term the text has starts at one of its matches
    width = np.full(C, none, np.int64)
    np.minimum.at(width, text, np.where(present[text], d, 0).max(axis=1) + 1)
    P[:, 2] = np.where(found > 0, found / np.minimum(width, none), 0.0)
    if T > 1:
        pairs = np.zeros(C, np.int64)
        for t in range(T - 1):
            both = np.intersect1d(key[which == t], key[which == t + 1] - 1)
            pairs[np.unique(both // span)] += 1
        P[:, 3] = pairs / (T - 1)
    # the first sentence: the prose up to the first sentence end (the whole prefix without one)
    first = np.empty(C, np.int64)
    a = 0
    for c, z in enumerate(ends.tolist()):
        first[c] = _first_sentence_chars(joined, a, z)
        a = z
    inside = starts < first[text]
    in_first = np.zeros((C, T), bool)
    in_first[text[inside], which[inside]] = True
    P[:, 4] = in_first.sum(axis=1) / T
    return P


# --- the forward index --------------------------------------------------------------------------
def bits_for(n_terms: int) -> int:
    """Bits an ordinal takes in ``forward.bin``: room for every ordinal and one more value, the
    sentinel ``2**bits - 1`` stored for a token whose term the index lacks."""
    return max(int(n_terms).bit_length(), 1)


#: Term ordinals :func:`forward_records` remembers across its batches (a task's ~8,192 documents
#: hold fewer distinct words at any scale; past it, only the current batch's are kept).
_KNOWN_LIMIT = 1 << 18


def forward_records(reader, analyzer, lo: int, hi: int, batch: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """``(words per record int64[hi - lo], words uint64)``: the ``forward.bin`` records of
    documents ``lo:hi`` of ``reader`` (an index or the build's merged segment: its stored prefixes
    and term ordinals), analysed by ``analyzer``."""
    bits = bits_for(reader.n_terms)
    sizes, parts = [], []
    known: dict[str, int] = {}          # term -> ordinal, across batches (most terms recur)
    for a in range(lo, hi, batch):
        docids = list(range(a, min(hi, a + batch)))
        joined, ends = _prose(reader, docids, PREFIX_CHARS)
        texts, firsts = [], []
        s = 0
        for z in ends.tolist():
            text = joined[s:z].decode("utf-8")
            texts.append(text)
            n = _first_sentence_chars(joined, s, z)
            firsts.append(text[:n] if n < _NO_END else None)
            s = z
        heads = [t for t in firsts if t is not None]
        ids, which, vocab = analyzer.analyze_texts(texts + heads)
        vocab = list(vocab)
        new = [t for t in vocab if t not in known]
        if new:
            looked = np.asarray(reader.term_ordinals(new), np.int64).tolist()
            if len(known) + len(new) > _KNOWN_LIMIT:         # (a bound on a task's memory)
                known = {t: known[t] for t in vocab if t in known}
            known.update(zip(new, looked))
        ords = np.fromiter((known[t] for t in vocab), np.int64, len(vocab))
        ids, which = np.asarray(ids, np.int64), np.asarray(which, np.int64)
        body = which < len(texts)
        counts = np.bincount(which[body], minlength=len(texts)).astype(np.int64)
        head_counts = np.bincount(which[~body] - len(texts), minlength=len(heads))
        first = counts.copy()
        first[[i for i, t in enumerate(firsts) if t is not None]] = head_counts
        starts, words = K.pack_records(ords[ids[body]] if body.any() else np.zeros(0, np.int64),
                                       counts, np.minimum(first, counts), np.int64(bits),
                                       np.int64((1 << bits) - 1))
        sizes.append(np.diff(starts))
        parts.append(words)
    empty = np.zeros(0, np.int64)
    return (np.concatenate(sizes) if sizes else empty,
            np.concatenate(parts) if parts else np.zeros(0, np.uint64))


def write_forward(path, n_docs: int, n_terms: int, parts) -> None:
    """Write ``forward.bin`` at ``path`` from ``parts``, the records of consecutive document ranges
    in order: ``(words per record, path of a file holding their words)`` each (the words are
    copied from the files a piece at a time)."""
    sizes = [np.asarray(s, np.int64) for s, _ in parts]
    starts = np.zeros(n_docs + 1, np.int64)
    if sizes:
        np.cumsum(np.concatenate(sizes), out=starts[1:])
    if sum(len(s) for s in sizes) != n_docs:
        raise ValueError("forward.bin parts do not cover the documents")
    w = ContainerWriter(path, KIND, {"layout": LAYOUT, "bits": bits_for(n_terms), "n_docs": int(n_docs),
                                     "n_terms": int(n_terms), "prefix_chars": PREFIX_CHARS})
    w.add("starts", starts)
    files = [Path(f) for _, f in parts]
    w.add_file_ranges("words", [(f, 0, f.stat().st_size) for f in files])
    w.close()


class ForwardIndex:
    """An index's ``forward.bin``, mapped; :meth:`features` reads candidates' records."""

    def __init__(self, path, n_docs: int, n_terms: int, *, verify: bool | None = None):
        """``verify``: check the whole file's CRC now (None: when it is small, as the index's other
        files); its records are checked one by one as queries read them either way."""
        self.path = Path(path)
        self.container = c = Container(self.path, KIND, checked_in_pieces=True, verify=verify)
        meta = c.meta
        if meta.get("layout") != LAYOUT or meta.get("prefix_chars") != PREFIX_CHARS:
            raise CorruptIndexError(self.path, "made by another version of wikisearch (rebuild the index)")
        if meta.get("n_docs") != int(n_docs) or meta.get("n_terms") != int(n_terms) or \
                meta.get("bits") != bits_for(n_terms):
            raise CorruptIndexError(self.path, "does not match the index's documents and terms")
        self.bits = np.int64(meta["bits"])
        self.starts = readonly(c.checked("starts"))
        raw = c["words"]                         # (copied from the build's part files: bytes)
        if raw.nbytes % 8:
            raise CorruptIndexError(self.path, "record words are not whole 64-bit words")
        self.words = raw.view("<u8")
        if self.starts.shape != (int(n_docs) + 1,) or self.starts[0] != 0 or \
                int(self.starts[-1]) != self.words.shape[0] or (np.diff(self.starts) < 2).any():
            raise CorruptIndexError(self.path, "record table does not match its words")

    def features(self, docids, ordinals, idf) -> np.ndarray:
        """float64[C, 5]: :data:`PROXIMITY_FEATURES` of ``docids`` (as :func:`stored_proximity`
        gives them); a damaged record raises CorruptIndexError."""
        docids = np.ascontiguousarray(docids, np.int64)
        bad = K.check_records(self.starts, self.words, self.bits, docids)
        if bad >= 0:
            raise CorruptIndexError(self.path, f"record of document {bad} is damaged")
        return K.forward_features(self.starts, self.words, self.bits, docids,
                                  np.asarray(ordinals, np.int64), np.asarray(idf, np.float64), np.int64(PROX_WINDOW))

    def ordinals(self, docid: int) -> np.ndarray:
        """Document ``docid``'s kept tokens as term ordinals (``2**bits - 1``: a term the index
        lacks)."""
        d = np.int64(docid)
        if K.check_records(self.starts, self.words, self.bits, np.array([d])) >= 0:
            raise CorruptIndexError(self.path, f"record of document {docid} is damaged")
        return K.unpack_record(self.starts, self.words, self.bits, d)


_NO_TEXT = ("this index keeps no text (built with --no-store): the re-ranker's term proximity features "
            "are 0, and its order is worse than measured")
_NOTE = ("this index has no forward.bin ({why}): the re-ranker reads term proximity from the stored "
         "text, about 25 ms a query more; rebuild the index{how} to make it")


def open_forward(reader) -> tuple[ForwardIndex | None, str | None]:
    """``(ForwardIndex or None, a warning or None)`` for ``reader``: its ``forward.bin`` when the
    manifest lists it; None without one (an in-memory index: no warning; an index built before
    forward.bin, with ``--no-forward`` or without stored text: a warning). A damaged file raises
    CorruptIndexError."""
    manifest = getattr(reader, "manifest", None)
    path = getattr(reader, "path", None)
    if not manifest or path is None:
        return None, None
    if FILE not in manifest.get("files", {}):
        if "store.bin" not in manifest.get("files", {}):
            return None, _NO_TEXT
        off = manifest.get("settings", {}).get("forward") is False
        return None, _NOTE.format(why="built with --no-forward" if off else "built by an older wikisearch",
                                  how=" without --no-forward" if off else "")
    return ForwardIndex(Path(path) / FILE, reader.n_docs, reader.n_terms), None


class Proximity:
    """A searcher's way to its candidates' proximity features: the forward index when the index
    has one, else the stored text (:func:`open_forward` decides, once)."""

    def __init__(self, reader):
        self.reader = reader
        self._lock = threading.Lock()
        self._opened = False
        self._forward: ForwardIndex | None = None
        self._warning: str | None = None

    def _open(self) -> None:
        with self._lock:
            if not self._opened:
                self._forward, self._warning = open_forward(self.reader)
                self._opened = True

    @property
    def forward(self) -> ForwardIndex | None:
        """The index's forward.bin (opened on first use), or None without one."""
        if not self._opened:
            self._open()
        return self._forward

    @property
    def warning(self) -> str | None:
        """What the re-ranker's result says about where its proximity comes from (None: forward.bin,
        or an in-memory index)."""
        if not self._opened:
            self._open()
        return self._warning

    def features(self, docids, ordinals, idf) -> np.ndarray:
        """float64[C, 5]: :data:`PROXIMITY_FEATURES` of ``docids`` for a query whose distinct terms
        have ``ordinals`` (-1: a term this index lacks) and ``idf``."""
        forward = self.forward
        if forward is not None:
            return forward.features(docids, ordinals, idf)
        return stored_proximity(self.reader, ordinals, idf, docids)
