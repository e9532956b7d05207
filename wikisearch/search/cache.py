"""cache: posting lists decoded and scored once, kept for the next queries that use them (the
plain-OR path's input; see :class:`ScoredLists`)."""
from __future__ import annotations

import mmap
import os
import queue
import threading
import weakref

import numpy as np

from wikisearch.errors import CorruptIndexError
from wikisearch.search import _maxscore_kernels as MK
from wikisearch.search import _prescore_kernels as PK
from wikisearch.config import RankConfig
from wikisearch.jit import readonly
from wikisearch.search.rank import field_mask, idf as idf_of, kernel_lengths

#: Per-term bounds are exact maxima of idf * score; a little slack costs nothing.
_BOUND_SLACK = 1e-5
#: Postings the plain-OR path keeps decoded and scored between queries (14 bytes each: ~59 MB).
SCORED_CACHE_POSTINGS = 1 << 22
#: The arenas' memory is made ready (``_populate``) this many postings at a time, ahead of writes.
POPULATE_POSTINGS = 1 << 15
#: After a query that left less than ASK_BELOW postings' worth of the arenas' memory ready beyond
#: what is written, the background thread (``_Preparer``) makes AHEAD_POSTINGS ready (the largest
#: first-sight queries of the run_all protocol write ~30K new postings). Far apart, so that few
#: queries wake the thread: each wake-up is a hand-off of the GIL and of a core.
AHEAD_POSTINGS = 1 << 18
ASK_BELOW = AHEAD_POSTINGS // 4
#: Linux's MADV_POPULATE_WRITE (5.14+; not in Python's mmap module before 3.13).
_MADV_POPULATE_WRITE = getattr(mmap, "MADV_POPULATE_WRITE", 23)


class ScoredLists:
    """Posting lists decoded and scored once, kept for the next queries that use them.

    An entry is one (term ordinal, field selection, ranking): its postings that match in those
    fields, with the term's score in each document before idf (``_maxscore_kernels``), their
    block maxima and overall maximum (the exact bound MaxScore needs), and the term's idf.
    Entries live in arenas shared by all of them, so a query hands the kernel a few offsets
    instead of concatenating its lists. Bounded: when the arenas are full they are replaced by
    fresh ones (starting the cache over); a query still reading the old ones keeps them alive.
    Entries are written once, before anyone reads them, under the lock; reading needs no lock.
    """

    def __init__(self, reader, capacity: int, idf=None):
        self.reader = reader
        self.n_docs = int(reader.n_docs)
        #: idf(ordinal, model) of a term: the index's own, or the collection's of a shard
        self.idf = idf or (lambda o, model: idf_of(self.n_docs, reader.doc_freq(o), model))
        self.field_lengths = readonly(kernel_lengths(reader.field_lengths))
        # bit-packed lists are scored straight from their bytes (_prescore_kernels)
        self.fused = reader.codec_name == "bitpacked"
        self.capacity = int(capacity)
        self.lock = threading.Lock()
        self._start_over()
        _LIVE.add(self)

    def _start_over(self) -> None:
        # np.empty: memory is only touched (and counted) as lists are written
        self.arenas = self._arenas(self.capacity)
        self.pos = self.bpos = 0
        self.ready = self.bready = 0            # the arenas' memory made ready up to here
        self.entries: dict = {}
        self.asked = False                      # is a _prepare_ahead waiting in _PREPARER?
        self.ask_after = False                  # ... to be asked for by after_query?

    @staticmethod
    def _arenas(n: int, n_lists: int = 1024):
        return (_fresh(n, np.int32), _fresh(n, np.float64), _fresh(n, np.uint16),
                _fresh(n // MK.BLOCK + n_lists + 1, np.float64))

    def lists(self, keys, ords, rank: RankConfig, params, admitted_only: bool = False):
        """(arenas, starts, ends, bstarts, idf, upper) of a query's scoring terms.

        Missing lists are scored whole into the cache when they fit in the room it has left.
        When they would make it start over, ``admitted_only`` says None instead: the query's
        lists are then read a block at a time by the block-max path, and the cache keeps what
        other queries put in it (without, the cache starts over, or a query too large for it
        is scored into arenas of its own)."""
        wanted = [(o, field_mask(f)) for (_, f), o in zip(keys, ords)]
        with self.lock:
            entries = self.entries             # (another thread may start the cache over)
            got = [entries.get((o, m, rank)) for o, m in wanted]
            if None in got:
                need, blocks = self._room({key for key, e in zip(wanted, got) if e is None})
                if not self._fits(need, blocks):
                    if admitted_only:
                        return None
                    need, blocks = self._room(set(wanted))
                    if need > self.capacity // 2 or blocks > len(self.arenas[3]) // 2:
                        return self._private(wanted, need, rank, params)
                    self._start_over()
                    got = [None] * len(wanted)
                self._make_ready(need, blocks)
                decoded: dict = {}
                for i, (o, m) in enumerate(wanted):
                    if got[i] is None:
                        got[i] = self.entries.get((o, m, rank)) or self._add(o, m, rank, params, decoded)
                if not self.asked and (self.ready - self.pos < ASK_BELOW or
                                       self.bready - self.bpos < ASK_BELOW // MK.BLOCK) \
                        and self.ready < self.capacity:
                    self.asked = self.ask_after = True
            arenas = self.arenas
        return (arenas,) + _query_arrays(got)

    def after_query(self) -> None:
        """Called by the searcher when a query's answer is ready: if its lists left less than
        ``ASK_BELOW`` postings' worth of memory ready, the background thread makes more ready
        now (asked here, not while the query runs: its work would compete with the query's)."""
        if self.ask_after:
            self.ask_after = False
            _PREPARER.ask(self)

    def _prepare_ahead(self) -> None:
        """Make the arenas' memory ready for ``AHEAD_POSTINGS`` (rounded up to whole
        ``POPULATE_POSTINGS`` stretches) beyond what is written, outside the lock (the
        background thread of ``_PREPARER``, between queries): a query that writes less than
        that finds its memory ready (and pays for no page), where before the one that crossed a
        stretch's end made the next one ready (130-330 us on 11 of the run_all protocol's 15
        slowest first-sight queries). A query that needs memory not ready yet makes it ready
        itself (``_make_ready``), as before; both doing the same stretch at once is harmless."""
        with self.lock:
            self.asked = False
            arenas, pos, bpos, ready, bready = self.arenas, self.pos, self.bpos, self.ready, self.bready
        stop = min(self.capacity, -(-(pos + AHEAD_POSTINGS) // POPULATE_POSTINGS) * POPULATE_POSTINGS)
        bstop = min(len(arenas[3]), bpos + 2 * AHEAD_POSTINGS // MK.BLOCK)
        if stop > ready:
            for a in arenas[:3]:
                _populate(a, ready, stop, release_gil=True)
        if bstop > bready:
            _populate(arenas[3], bready, bstop, release_gil=True)
        with self.lock:
            if self.arenas is arenas:           # (not started over meanwhile)
                self.ready = max(self.ready, stop)
                self.bready = max(self.bready, bstop)

    def _add(self, o: int, sel: int, rank: RankConfig, params, decoded):
        entry = self._score_into(o, sel, rank, params, self.arenas, self.pos, self.bpos, decoded)
        self.pos += entry[1]
        self.bpos += -(-entry[1] // MK.BLOCK)
        self.entries[(o, sel, rank)] = entry
        return entry

    def _make_ready(self, need: int, blocks: int) -> None:
        """Make the arenas' memory for the next ``need`` postings and ``blocks`` block maxima ready
        for writing (``_populate``), a ``POPULATE_POSTINGS`` stretch at a time."""
        if self.pos + need > self.ready:
            stop = min(self.capacity, -(-(self.pos + need) // POPULATE_POSTINGS) * POPULATE_POSTINGS)
            for a in self.arenas[:3]:
                _populate(a, self.ready, stop)
            self.ready = stop
        if self.bpos + blocks > self.bready:
            stop = min(len(self.arenas[3]), self.bpos + blocks + POPULATE_POSTINGS // MK.BLOCK)
            _populate(self.arenas[3], self.bready, stop)
            self.bready = stop

    def _private(self, wanted, need, rank, params):
        """A query whose lists would crowd out the cache: scored into arenas of its own."""
        arenas = self._arenas(need, len(wanted))
        for a in arenas:
            _populate(a, 0, len(a))
        got, pos, bpos, decoded = [], 0, 0, {}
        for o, m in wanted:
            entry = self._score_into(o, m, rank, params, arenas, pos, bpos, decoded)
            pos += entry[1]
            bpos += -(-entry[1] // MK.BLOCK)
            got.append(entry)
        return (arenas,) + _query_arrays(got)

    def _fits(self, need: int, blocks: int) -> bool:
        """Do ``need`` postings and ``blocks`` block maxima fit in the arenas' free room?"""
        return self.pos + need <= self.capacity and self.bpos + blocks <= len(self.arenas[3])

    def _room(self, wanted: set) -> tuple[int, int]:
        """Postings and block maxima that scoring ``wanted`` (ordinal, fields) may write at most."""
        need = blocks = 0
        for o, _m in wanted:
            n = self.reader.doc_freq(o)
            need += n
            blocks += -(-n // MK.BLOCK)
        return need, blocks

    def _score_into(self, o: int, sel: int, rank: RankConfig, params, arenas, pos, bpos, decoded: dict):
        """Score one term's list into ``arenas`` at ``pos``: its entry (start, n, bstart, max, idf,
        upper: the bound of idf * score over the list that MaxScore needs).

        A bit-packed list is decoded and scored in one kernel call, straight from its bytes; other
        codecs decode first, into ``decoded`` (a list wanted in two field selections is decoded
        once)."""
        w, a, c, k1, model = params
        r = self.reader
        df = r.doc_freq(o)
        if self.fused:
            data = r.raw_postings(o)
            end, n, _nb, vmax = PK.bitpacked_score_into(data, df, sel, self.field_lengths, w, a, c, k1,
                                                        model, *arenas[:3], pos, arenas[3], bpos)
            if end != data.shape[0]:
                r.postings(o)     # the codec's decoder raises the reader's error, saying why
                raise CorruptIndexError(r.path, f"undecodable postings of term #{o} "
                                        "(a docid past the last document)")
        else:
            if o not in decoded:
                decoded[o] = r.postings(o)
            docids, masks, tfs = decoded[o]
            n, _nb, vmax = MK.prescore_into(docids, masks, tfs, sel, self.field_lengths, w, a, c, k1, model,
                                            *arenas[:3], pos, arenas[3], bpos)
        idf = self.idf(o, rank.model)
        vmax = float(vmax)
        return pos, int(n), bpos, vmax, idf, idf * vmax * (1.0 + _BOUND_SLACK) + 1e-12


def _fresh(n: int, dtype) -> np.ndarray:
    """``np.empty(n, dtype)`` in memory of its own that the kernel backs with small pages (Linux:
    MADV_NOHUGEPAGE). The arenas are written a list at a time; with transparent huge pages the
    write that first touches each 2 MiB waits for all of it to be zeroed (measured: 5-12 ms on
    the busy 2-core machine, on 1-3 of the run_all protocol's 138 first-sight queries), while 4 KiB
    pages spread that cost evenly, and memory grows with what is written."""
    nbytes = n * np.dtype(dtype).itemsize
    if nbytes == 0 or not hasattr(mmap, "MADV_NOHUGEPAGE"):
        return np.empty(n, dtype)
    m = mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    m.madvise(mmap.MADV_NOHUGEPAGE)
    return np.frombuffer(m, dtype, n)            # (the array keeps the mapping alive)


class _Preparer:
    """One daemon thread, started on first need, that runs the ``_prepare_ahead`` of the
    ScoredLists that ask (held weakly: a searcher dropped meanwhile is skipped). Each process has
    its own (a forked child starts one afresh)."""

    def __init__(self):
        self.queue: queue.Queue = queue.Queue()
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()

    def ask(self, lists: ScoredLists) -> None:
        if self.thread is None:
            with self.lock:
                if self.thread is None:
                    self.thread = threading.Thread(target=self._run, name="wikisearch-arenas", daemon=True)
                    self.thread.start()
        self.queue.put(weakref.ref(lists))

    def wait(self) -> None:
        """Until every request so far is done (tests)."""
        self.queue.join()

    def _run(self) -> None:
        while True:
            ref = self.queue.get()
            try:
                lists = ref()
                if lists is not None:
                    lists._prepare_ahead()
                del lists
            except Exception:                   # (memory that cannot be made ready now faults in
                pass                            # as written, as without the thread)
            finally:
                self.queue.task_done()

    def _after_fork(self) -> None:
        """In a forked child (only the forking thread is there): a queue and a thread of its own,
        and each cache's lock afresh, as the parent's background thread may have held one."""
        self.queue, self.thread, self.lock = queue.Queue(), None, threading.Lock()
        for lists in list(_LIVE):
            lists.lock = threading.Lock()
            lists.asked = lists.ask_after = False


_PREPARER = _Preparer()
_LIVE: weakref.WeakSet = weakref.WeakSet()      # every ScoredLists of the process
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_PREPARER._after_fork)
_libc_madvise = None


def _madvise_releasing_gil():
    """libc's madvise through ctypes, which lets other threads run meanwhile (``mmap.madvise``
    holds the GIL: a query thread would wait for the background thread's page zeroing); None
    where it cannot be had."""
    global _libc_madvise
    if _libc_madvise is None:
        try:
            import ctypes
            f = ctypes.CDLL(None, use_errno=True).madvise
            f.argtypes, f.restype = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int], ctypes.c_int
            _libc_madvise = f
        except (OSError, AttributeError):
            _libc_madvise = False
    return _libc_madvise or None


def _populate(a: np.ndarray, start: int, stop: int, release_gil: bool = False) -> None:
    """Back ``a[start:stop]`` (an array of :func:`_fresh`) with memory now, in one system call
    (Linux: MADV_POPULATE_WRITE; ``release_gil``: through libc, letting other threads run while
    the pages are zeroed), instead of one page fault per 4 KiB page as the kernel writes it:
    on this VM a fault cost 2.5-6 us of system time, ~20 of them per first-sight query of the
    run_all protocol (``benchmarks/results/firstsight-30k-x1.md``, session 8). A no-op where the
    system cannot (the pages then fault in as written)."""
    global _MADV_POPULATE_WRITE
    m = a.base.obj if isinstance(a.base, memoryview) else None     # (np.frombuffer's view)
    if _MADV_POPULATE_WRITE is None or not isinstance(m, mmap.mmap) or stop <= start:
        return
    size = a.itemsize
    first = start * size // mmap.PAGESIZE * mmap.PAGESIZE
    length = min(stop * size, len(m)) - first
    f = _madvise_releasing_gil() if release_gil else None
    if f is not None:                            # (``a`` starts its mapping: np.frombuffer of it)
        if f(a.ctypes.data + first, length, _MADV_POPULATE_WRITE) != 0:
            _MADV_POPULATE_WRITE = None
        return
    try:
        m.madvise(_MADV_POPULATE_WRITE, first, length)
    except OSError:                              # (an older kernel: EINVAL)
        _MADV_POPULATE_WRITE = None


def _query_arrays(entries):
    """starts, ends, bstarts, idf, upper of a query's entries (pos, n, bpos, max, idf, upper),
    for the kernel."""
    T = len(entries)
    ints = np.array([e[0] for e in entries] + [e[0] + e[1] for e in entries] + [e[2] for e in entries],
                    np.int64)
    floats = np.array([e[4] for e in entries] + [e[5] for e in entries], np.float64)
    return ints[:T], ints[T:2 * T], ints[2 * T:], floats[:T], floats[T:]
