"""spelling: the words of an index and how common they are, for "did you mean" -- built from the
index itself (its titles, redirect titles and stored text), never from an outside dictionary.

>>> d = SpellingDictionary(["christmas", "chrism", "mount", "everest"], [50, 2, 40, 30])
>>> [w for w, _cost, _n in d.candidates("chrismas", 2)]
['christmas', 'chrism']

A word is a token as the analyzer cuts it, folded as the analyzer folds it (case, diacritics) but
neither stemmed nor stopword-filtered, so a correction is a word a reader knows (``christmas``,
not the stem ``christma``). Its count is its occurrences in the text read plus
``TITLE_WEIGHT`` per title or redirect title holding it; words seen once in text alone are left
out (typos in articles are mostly seen once). Lookup is SymSpell (symmetric deletes over each
word's first 7 characters, in ``_spelling_kernels``), candidates verified by a weighted edit
distance (a doubled or dropped double letter, a vowel for a vowel, two swapped neighbours cost
less than other edits) and ranked by ``log(count) - alpha * cost``.

The dictionary is stored beside the index as ``spelling.bin`` (an add-on like ``priors.bin``: not
in the manifest, tied to the index's checksum) the first time it is needed, if the directory is
writable; otherwise it is rebuilt in memory by each process that needs it. ``wikisearch serve``
does not build it in a serving process: it starts :func:`main` as a process of its own.
"""
from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from wikisearch.analysis.analyzer import Analyzer
from wikisearch.errors import CorruptIndexError, StaleIndexFileError, WikisearchError
from wikisearch.fileio import atomic_path
from wikisearch.jit import interpreted, readonly
from wikisearch.index.container import Container, write_container
from wikisearch.popularity import _spelling_kernels as K

FILE = "spelling.bin"
KIND = b"SPEL"
#: Bumped when the arrays of spelling.bin change; an older file is made again.
LAYOUT = 4
#: Deletes are taken over this many first characters of each word (SymSpell's prefix length).
PREFIX = 7
#: Edit distance searched (weighted; see ``_spelling_kernels.weighted_osa``).
MAX_DIST = 2
#: What one title or redirect title holding a word adds to its count.
TITLE_WEIGHT = 5
#: Words seen fewer times than this are known (a query word among them is left as it is) but are
#: never offered as corrections: they stay out of the delete table.
INDEX_MIN_COUNT = 1
#: Stored text read to count words (characters); titles and redirects are always read whole.
TEXT_BUDGET = 400_000_000
#: Ranking: score = log(count) - ALPHA * cost - FIRST_LETTER when the first letters differ.
ALPHA = 7.0
FIRST_LETTER = 0.5


def max_dist_for(word: str) -> float:
    """Edits allowed for a word of this length: 1 up to 4 characters, 2 from 5 on."""
    return 1.0 if len(word) <= 4 else float(MAX_DIST)


def _codepoints(word: str) -> np.ndarray:
    return np.frombuffer(word.encode("utf-32-le", "surrogatepass"), np.int32)


def _is_word(w: str) -> bool:
    return len(w) >= 2 and not any(unicodedata.category(c)[0] == "N" for c in w)


class SpellingDictionary:
    """Words with counts, and SymSpell lookups over them; safe to share between threads."""

    def __init__(self, words, counts, *, arrays: dict | None = None, meta: dict | None = None):
        words = words if arrays is not None and isinstance(words, Sequence) else list(words)
        counts = np.asarray(counts, np.int64)
        if arrays is None:                     # word ids by decreasing count (then the word)
            order = sorted(range(len(words)), key=lambda i: (-int(counts[i]), words[i]))
            words = [words[i] for i in order]
            counts = counts[np.asarray(order, np.int64)] if order else counts
            arrays = _arrays(words, counts)
        self.words = words
        self.counts = _readonly(counts)
        self.meta = dict(meta or {})
        self.offsets = _readonly(np.asarray(arrays["offsets"]).view(np.int64))
        self.cps = _readonly(np.asarray(arrays["cps"]).view(np.int32))
        # word -> id: the words' hashes, sorted (not a dict of 272,655 strings: ~40 MB less per process)
        hashes = _word_hashes(self.offsets, self.cps)
        self._by_hash = np.argsort(hashes, kind="stable")
        self._hashes = hashes[self._by_hash]
        self.fps = _readonly(np.asarray(arrays["fps"]).view(np.uint16))
        self.ids = _readonly(np.asarray(arrays["ids"]).view(np.int32))
        self.dir = _readonly(np.asarray(arrays["dir"]).view(np.int64))
        self.bits = int(np.log2(len(self.dir) - 1))
        self.log_counts = _readonly(np.log1p(self.counts.astype(np.float64)))
        self.total = int(self.counts.sum())

    def __len__(self) -> int:
        return len(self.words)

    def word_id(self, word: str) -> int:
        """The id of the (folded) ``word``, -1 if it is not in the dictionary."""
        h = np.uint64(_word_hash(word))
        i = int(np.searchsorted(self._hashes, h))
        while i < len(self._hashes) and self._hashes[i] == h:
            w = int(self._by_hash[i])
            if self.words[w] == word:
                return w
            i += 1
        return -1

    def count(self, word: str) -> int:
        """How often the (folded) ``word`` was seen; 0 if it is not in the dictionary."""
        i = self.word_id(word)
        return int(self.counts[i]) if i >= 0 else 0

    def candidates(self, word: str, k: int = 5, max_dist: float | None = None) -> list[tuple[str, float, int]]:
        """Up to ``k`` words within ``max_dist`` weighted edits of the folded ``word``, best first:
        ``(word, cost, count)``; the word itself (cost 0) is among them if it is known."""
        if not word:
            return []
        md = max_dist_for(word) if max_dist is None else float(max_dist)
        ids, costs = K.lookup(_codepoints(word), self.fps, self.ids, self.dir, self.bits, self.cps,
                              self.offsets, self.log_counts, PREFIX, md, ALPHA, FIRST_LETTER, k,
                              self.word_id(word))
        return [(self.words[i], c, int(self.counts[i])) for i, c in zip(ids.tolist(), costs.tolist())]

    def correct_many(self, words: list[str]) -> list[str]:
        """:meth:`correct` of every word, in one kernel call."""
        if not words:
            return []
        cps = [_codepoints(w) for w in words]
        offsets = np.zeros(len(words) + 1, np.int64)
        np.cumsum([len(c) for c in cps], out=offsets[1:])
        md = np.array([max_dist_for(w) for w in words], np.float64)
        exact = np.array([self.word_id(w) if w else -1 for w in words], np.int64)
        got = K.lookup_many(_readonly(np.concatenate(cps)), _readonly(offsets), _readonly(exact),
                            self.fps, self.ids, self.dir, self.bits, self.cps, self.offsets,
                            self.log_counts, PREFIX, _readonly(md), ALPHA, FIRST_LETTER)
        return [self.words[i] if i >= 0 and w else w for w, i in zip(words, got.tolist())]

    def correct(self, word: str) -> str:
        """The best candidate for ``word`` (itself when nothing is better or nothing is near)."""
        if not word:
            return word
        ids, _ = K.lookup(_codepoints(word), self.fps, self.ids, self.dir, self.bits, self.cps,
                          self.offsets, self.log_counts, PREFIX, max_dist_for(word), ALPHA,
                          FIRST_LETTER, 1, self.word_id(word))
        return self.words[ids[0]] if len(ids) else word

    def score(self, count: int, cost: float) -> float:
        return math.log1p(count) - ALPHA * cost

    def to_arrays(self) -> dict:
        """What ``spelling.bin`` holds: the words (UTF-8, one per line), their counts and the
        delete table; the code points (``cps``, ``offsets``) are derived from the words when read,
        and the directory and counts are stored as 32-bit integers where they fit."""
        blob = "\n".join(self.words).encode("utf-8", "surrogatepass")
        return {"fps": self.fps, "ids": self.ids, "dir": _narrow(self.dir, np.int32),
                "counts": _narrow(self.counts, np.uint32), "words": np.frombuffer(blob, np.uint8)}


class _Words(Sequence):
    """The words of a dictionary read from spelling.bin, each cut from the one string they are
    stored in ("\\n" between words) when asked for, not made all at once (272,655 strings)."""

    def __init__(self, joined: str, offsets: np.ndarray):
        self._joined = joined
        self._offsets = offsets                        # code points before each word, "\\n" not counted

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        n = len(self)
        i = int(i)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("word id out of range")
        return self._joined[int(self._offsets[i]) + i:int(self._offsets[i + 1]) + i]

    def __eq__(self, other) -> bool:
        return isinstance(other, Sequence) and len(self) == len(other) and all(a == b for a, b in zip(self, other))


#: The words' hash: the sum of (code point + 1) * _MUL ** position, modulo 2 ** 64 (FNV's prime).
_MUL = 0x100000001B3
_MASK = (1 << 64) - 1


def _word_hash(word: str) -> int:
    """:func:`_word_hashes` of one word (a character is a code point, as ``cps`` holds them)."""
    h, p = 0, 1
    for ch in word:
        h = (h + (ord(ch) + 1) * p) & _MASK
        p = (p * _MUL) & _MASK
    return h


def _word_hashes(offsets: np.ndarray, cps: np.ndarray) -> np.ndarray:
    """The hash of every word of the code point table (uint64: numpy's products and sums wrap
    modulo 2 ** 64 as :func:`_word_hash`'s masks do)."""
    lengths = np.diff(offsets)
    out = np.zeros(len(lengths), np.uint64)
    if not len(cps):
        return out
    powers = np.empty(int(lengths.max()), np.uint64)
    p = 1
    for k in range(len(powers)):
        powers[k] = p
        p = (p * _MUL) & _MASK
    for a in range(0, len(lengths), _HASH_CHUNK):          # bounded temporaries: a process keeps
        b = min(a + _HASH_CHUNK, len(lengths))             # the heap it grew, after a peak
        lo, hi = int(offsets[a]), int(offsets[b])
        if hi == lo:
            continue
        position = np.arange(hi - lo, dtype=np.int64) - np.repeat(offsets[a:b] - lo, lengths[a:b])
        terms = (cps[lo:hi].astype(np.uint64) + np.uint64(1)) * powers[position]
        filled = np.flatnonzero(lengths[a:b] > 0)
        out[a + filled] = np.add.reduceat(terms, offsets[a:b][filled] - lo)
    return out


#: Words hashed at a time by :func:`_word_hashes`.
_HASH_CHUNK = 16384


def _narrow(a: np.ndarray, dtype) -> np.ndarray:
    """``a`` as ``dtype`` if every value fits, else unchanged (int64): read back either way."""
    info = np.iinfo(dtype)
    return a.astype(dtype) if not len(a) or (int(a.min()) >= info.min and int(a.max()) <= info.max) else a


def _csr(words: list[str], joined: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The words' code points, concatenated (int32), and where each word starts (int64[W+1]);
    ``joined``: ``"\\n".join(words)`` if the caller has it."""
    if not words:
        return np.zeros(1, np.int64), np.zeros(0, np.int32)
    return _csr_joined("\n".join(words) if joined is None else joined, len(words))


def _csr_joined(joined: str, n_words: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_csr` of the ``n_words`` words of ``joined`` (no word holds a "\\n")."""
    if not n_words:
        return np.zeros(1, np.int64), np.zeros(0, np.int32)
    u = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), np.int32)
    nl = np.flatnonzero(u == 10)                     # words never hold a newline
    offsets = np.empty(n_words + 1, np.int64)
    offsets[0] = 0
    offsets[1:-1] = nl - np.arange(len(nl))
    offsets[-1] = len(u) - len(nl)
    return offsets, u[u != 10]


def _readonly(a: np.ndarray) -> np.ndarray:
    """``a`` not writable: the kernels see the same array types whether the dictionary was just
    built or read back from ``spelling.bin`` (one compiled signature)."""
    return readonly(np.ascontiguousarray(a))


def _bits(n_entries: int) -> int:
    """Directory size: about 16 deletes per bucket, at least 2^8 buckets, at most 2^24."""
    return int(min(24, max(8, int(np.ceil(np.log2(max(n_entries, 1) / 16))))))


def deletes_numpy(cps, offsets, n_words, prefix, max_dist):
    """``_spelling_kernels.build_deletes`` in numpy, for where the kernels run as Python (a
    small job on a cold cache): the same hashes and ids in the same order, computed for all
    words of one prefix length at once (tests compare the two).

    >>> offsets, cps = _csr(["ab", "b"])
    >>> [h.tolist() for h in deletes_numpy(cps, offsets, 2, 7, 2)] == \\
    ...     [h.tolist() for h in K.build_deletes(cps, offsets, 2, 7, 2)]
    True
    """
    offsets = np.asarray(offsets, np.int64)
    lengths = np.minimum(np.diff(offsets[:n_words + 1]), prefix)
    per_word = np.ones_like(lengths) + (lengths if max_dist >= 1 else 0) + \
        (lengths * (lengths - 1) // 2 if max_dist >= 2 else 0)
    first = np.zeros(n_words + 1, np.int64)          # where each word's deletes start
    np.cumsum(per_word, out=first[1:])
    hashes = np.empty(int(first[-1]), np.uint64)
    ids = np.repeat(np.arange(n_words, dtype=np.int32), per_word)
    offset, prime = np.uint64(14695981039346656037), np.uint64(1099511628211)
    mix1, mix2, s33 = np.uint64(0xFF51AFD7ED558CCD), np.uint64(0xC4CEB9FE1A85EC53), np.uint64(33)
    for n in np.unique(lengths).tolist():
        words = np.flatnonzero(lengths == n)
        # (code point + 1) of each of the words' first n, one row per position
        rows = [cps[offsets[words] + i].astype(np.uint64) + np.uint64(1) for i in range(n)]
        k = 0                                        # as ``variants`` orders them
        for skip1 in range(-1, n if max_dist >= 1 else 0):
            for skip2 in range(skip1 + 1 if skip1 >= 0 and max_dist >= 2 else n, n + 1):
                h = np.full(len(words), offset, np.uint64)
                for i in range(n):
                    if i != skip1 and i != skip2:
                        h = (h ^ rows[i]) * prime
                h ^= h >> s33
                h *= mix1
                h ^= h >> s33
                h *= mix2
                h ^= h >> s33
                hashes[first[words] + k] = h
                k += 1
    return hashes, ids


def _arrays(words: list[str], counts: np.ndarray) -> dict:
    """The delete table of ``words`` (ordered by decreasing count); the words seen fewer than
    ``INDEX_MIN_COUNT`` times are looked up (their own count) but never offered."""
    offsets, cps = _csr(words)
    cps = _readonly(cps)
    n_indexed = int(np.count_nonzero(np.asarray(counts) >= INDEX_MIN_COUNT))
    build = deletes_numpy if interpreted(K.__name__) else K.build_deletes
    hashes, ids = build(cps, _readonly(offsets), n_indexed, PREFIX, MAX_DIST)
    order = np.argsort(hashes, kind="stable")          # ids ascending within a hash
    hashes, ids = hashes[order], ids[order]
    if len(hashes):                                    # a word's repeated deletes ("ll" less an l)
        keep = np.ones(len(hashes), bool)
        keep[1:] = (hashes[1:] != hashes[:-1]) | (ids[1:] != ids[:-1])
        hashes, ids = hashes[keep], ids[keep]
    bits = _bits(len(hashes))
    buckets = (hashes >> np.uint64(64 - bits)).astype(np.int64)
    dir_ = np.searchsorted(buckets, np.arange((1 << bits) + 1, dtype=np.int64)).astype(np.int64)
    return {"offsets": offsets, "cps": cps, "fps": (hashes & np.uint64(0xFFFF)).astype(np.uint16),
            "ids": ids, "dir": dir_}


def word_counts(reader, *, text_budget: int = TEXT_BUDGET) -> dict[str, int]:
    """{folded word: count} of an index's titles and redirect titles (``TITLE_WEIGHT`` each) and
    of its stored text (documents in order until ``text_budget`` characters are read)."""
    base = reader.analyzer
    fold = base.fold if isinstance(base, Analyzer) else True
    plain = Analyzer("", stem=False, stopwords=(), fold=fold)
    counts: dict[str, int] = {}

    def add(texts, weight):
        if not texts:
            return
        ids, _, vocab = plain.analyze_texts(texts)
        if not len(ids):
            return
        n = np.bincount(ids, minlength=len(vocab))
        for w, c in zip(vocab, n.tolist()):
            if c:
                counts[w] = counts.get(w, 0) + c * weight
    _, aliases = reader.alias_table()
    titles = [reader.title(d) for d in range(int(reader.n_docs))] + list(aliases)
    for i in range(0, len(titles), 20000):      # (one list: not rebuilt per batch)
        add(titles[i:i + 20000], TITLE_WEIGHT)
    del titles
    title_words = set(counts)
    read = 0
    batch: list[str] = []
    for d in range(int(reader.n_docs)):
        if read >= text_budget:
            break
        texts = reader.stored_text(d)
        if texts is None:
            break
        for f in ("opening", "body", "heading", "category"):
            t = texts.get(f, "")
            if t:
                batch.append(t)
                read += len(t)
        if len(batch) >= 2000:
            add(batch, 1)
            batch = []
    add(batch, 1)
    return {w: c for w, c in counts.items()
            if _is_word(w) and (c >= 2 or w in title_words)}


def build_dictionary(reader, *, text_budget: int = TEXT_BUDGET) -> SpellingDictionary:
    counts = word_counts(reader, text_budget=text_budget)
    words = sorted(counts)
    return SpellingDictionary(words, [counts[w] for w in words],
                              meta={"text_budget": text_budget})


def spelling_path(index_dir) -> Path:
    return Path(index_dir) / FILE


def write_dictionary(path, d: SpellingDictionary, index_checksum: str) -> Path:
    with atomic_path(path) as tmp:
        write_container(tmp, KIND, d.to_arrays(),
                        {**d.meta, "index_checksum": index_checksum, "n_words": len(d),
                         "prefix": PREFIX, "max_dist": MAX_DIST, "layout": LAYOUT,
                         "index_min_count": INDEX_MIN_COUNT})
    return Path(path)


def _check_meta(path, meta: dict, index_checksum: str | None) -> None:
    if index_checksum is not None and meta.get("index_checksum") != index_checksum:
        raise StaleIndexFileError(path, "made for another build of this index (delete the file)",
                                expected=index_checksum, found=meta.get("index_checksum"))
    if meta.get("prefix") != PREFIX or meta.get("max_dist") != MAX_DIST or \
            meta.get("layout") != LAYOUT or \
            meta.get("index_min_count") != INDEX_MIN_COUNT:
        raise StaleIndexFileError(path, "made with other settings (delete the file)")


def read_dictionary(path, index_checksum: str | None) -> SpellingDictionary:
    c = Container(path, KIND)
    meta = c.meta
    _check_meta(path, meta, index_checksum)
    try:
        joined = c["words"].tobytes().decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        raise CorruptIndexError(path, "word table is not UTF-8") from None
    n_words = joined.count("\n") + 1 if joined else 0
    if n_words != int(meta.get("n_words", -1)) or c["counts"].shape != (n_words,):
        raise CorruptIndexError(path, "word table does not match its counts")
    offsets, cps = _csr_joined(joined, n_words)
    words = _Words(joined, offsets)
    dir_ = np.asarray(c["dir"]).astype(np.int64)
    ids = np.asarray(c["ids"])
    if len(dir_) < 2 or int(dir_[-1]) != len(ids) or len(c["fps"]) != len(ids) or \
            (len(ids) and (int(ids.min()) < 0 or int(ids.max()) >= len(words))):
        raise CorruptIndexError(path, "delete table does not match its words")
    return SpellingDictionary(words, np.asarray(c["counts"]).astype(np.int64), meta=meta,
                              arrays={"offsets": offsets, "cps": cps, "fps": c["fps"], "ids": ids,
                                      "dir": dir_})


def stored_dictionary(reader) -> SpellingDictionary | None:
    """The index's ``spelling.bin`` if it is there and made for this index, else None (missing,
    stale or damaged: :func:`load_dictionary` makes it again)."""
    path = spelling_path(reader.path) if reader.path is not None else None
    if path is None or not path.exists():
        return None
    try:
        return read_dictionary(path, reader.manifest.get("checksum") if reader.manifest else None)
    except CorruptIndexError:
        return None


def load_dictionary(reader, say=None) -> SpellingDictionary:
    """The index's spelling dictionary: ``spelling.bin`` if it is there and made for this index,
    else built now (and stored, when the index directory is writable); ``say(message)`` is told
    first, since that takes a while (about a minute for 30k articles)."""
    d = stored_dictionary(reader)
    if d is not None:
        return d
    path = spelling_path(reader.path) if reader.path is not None else None
    checksum = reader.manifest.get("checksum") if reader.manifest else None
    if say is not None:
        say("building the spelling dictionary of this index for 'did you mean' (its first use; "
            "stored as spelling.bin for later runs) ...")
    d = build_dictionary(reader)
    if path is not None and checksum:
        try:
            write_dictionary(path, d, checksum)
        except OSError:
            pass                              # a read-only index: this process keeps it in memory
    return d


def stored_problem(reader) -> str | None:
    """Why the index's ``spelling.bin`` cannot be used ("missing", "stale", "damaged"), or None
    when it can: a look at its header and settings (what :func:`stored_dictionary` checks first),
    not a read of its arrays -- a server's start asks this before deciding to build it."""
    path = spelling_path(reader.path) if reader.path is not None else None
    if path is None or not path.exists():
        return "missing"
    try:
        _check_meta(path, Container(path, KIND, verify=False).meta,
                    reader.manifest.get("checksum") if reader.manifest else None)
    except StaleIndexFileError:
        return "stale"
    except CorruptIndexError:
        return "damaged"
    except OSError:
        return "damaged"
    return None


#: For tests: seconds the builder (:func:`main`) waits after its start before it builds.
PAUSE_ENV = "WIKISEARCH_SPELLING_PAUSE"


def main(argv: list[str] | None = None) -> int:
    """The spelling builder, a process of its own (``wikisearch serve`` starts it: no serving
    process's GIL or memory carries the build): ``INDEX_DIR OUT_PATH [PARENT_PID]`` builds the
    dictionary of the index and writes it to ``OUT_PATH`` atomically (a build that is stopped or
    fails leaves no file); with ``PARENT_PID``, it stops once that process is gone. Runs at a
    lower priority (``nice`` +10) than the server it builds for. Exit status 0 when written."""
    import os
    import signal
    import sys
    import threading
    import time
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) not in (2, 3):
        print("usage: spelling INDEX_DIR OUT_PATH [PARENT_PID]", file=sys.stderr)
        return 2

    def stop(_signum, _frame):
        raise SystemExit(1)                  # atomic_path removes its temporary file
    signal.signal(signal.SIGTERM, stop)
    if len(args) == 3:
        parent = int(args[2])

        def watch() -> None:
            while os.getppid() == parent:
                time.sleep(1.0)
            os.kill(os.getpid(), signal.SIGTERM)
        threading.Thread(target=watch, name="wikisearch-parent-watch", daemon=True).start()
    try:
        os.nice(10)
    except (AttributeError, OSError):
        pass
    try:
        time.sleep(float(os.environ.get(PAUSE_ENV) or 0))
        from wikisearch.index.reader import IndexReader
        reader = IndexReader(args[0])
        checksum = reader.manifest.get("checksum") if reader.manifest else None
        if not checksum:
            print("Error: the index has no checksum to tie spelling.bin to", file=sys.stderr)
            return 1
        write_dictionary(args[1], build_dictionary(reader), checksum)
    except KeyboardInterrupt:
        return 1
    except (OSError, WikisearchError) as e:
        print(f"Error: {' '.join(str(e).split())}", file=sys.stderr)
        return 1
    return 0
