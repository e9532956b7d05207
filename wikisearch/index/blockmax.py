"""blockmax: ``blocks.bin``, per-block data of the long postings lists (written by the build,
read by search's block-max path).

For every list longer than one 128-posting block (bit-packed codec): per block, the byte where it
starts (relative to the list), its last docid and an upper bound of its postings' scores before
idf under the ranking settings named in the file (``meta.rank``); format 10 stores the starts as
steps (the bytes of the block before: uint16), the last docids as uint16 steps with exceptions and
the bounds as uint8 codes of a step of 1/255 of the list's largest bound, rounded up. A search
with other settings does not use the bounds (it takes the exact path). docs/FORMAT.md,
"blocks.bin".
"""
from __future__ import annotations

import numpy as np

from wikisearch.errors import CorruptIndexError
from wikisearch.fileio import narrowest_uint
from wikisearch.index.container import Container, write_container

FILE = "blocks.bin"
KIND = b"BMAX"


#: Format 10 stores a block's bound as a uint8 code c of a step of its list (``list_step``, float32):
#: the bound read is float32(c) * step in float32 arithmetic (one rounding), c the least code whose
#: bound is at least the block's (rounded up: a looser bound prunes less, never wrongly). The step
#: is the list's largest bound M / 255, rounded up as far as 255 * step >= M needs.
BOUND_STEPS = 255


def decode_bounds(codes: np.ndarray, step) -> np.ndarray:
    """float32 bounds of ``codes`` under a list's ``step`` (a float32 scalar, or one per code)."""
    return np.multiply(codes, np.asarray(step, np.float32), dtype=np.float32)


def bound_steps(list_max: np.ndarray) -> np.ndarray:
    """float32 ``list_step`` of lists whose largest bounds are ``list_max``: M / 255, the least
    float32 at least that for which 255 * step (float32) is at least M."""
    list_max = np.asarray(list_max, np.float32)
    step = (list_max.astype(np.float64) / BOUND_STEPS).astype(np.float32)
    while True:
        low = decode_bounds(np.full(len(step), BOUND_STEPS, np.uint8), step) < list_max
        if not low.any():
            return step
        step[low] = np.nextafter(step[low], np.float32(np.inf))


def bound_codes(bound: np.ndarray, block_offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 codes, float32 ``list_step`` of each list) of the float32 block ``bound``s of lists
    whose blocks are ``block_offsets[i] .. block_offsets[i+1]-1``: each code the least whose
    :func:`decode_bounds` is at least the block's bound."""
    bound = np.asarray(bound, np.float32)
    offsets = np.asarray(block_offsets, np.int64)
    counts = np.diff(offsets)
    if len(bound) == 0:
        return np.zeros(0, np.uint8), np.zeros(len(counts), np.float32)
    starts = offsets[:-1][counts > 0]
    list_max = np.zeros(len(counts), np.float32)
    list_max[counts > 0] = np.maximum.reduceat(bound, starts)
    steps = bound_steps(list_max)
    m = np.repeat(steps, counts)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.where(m > 0, np.ceil(bound.astype(np.float64) / m.astype(np.float64)), 0)
    c = np.clip(np.nan_to_num(c), 0, BOUND_STEPS).astype(np.int64)
    for _ in range(2):                      # (float rounding: at most a code off, either way)
        down = (c > 0) & (decode_bounds(np.maximum(c - 1, 0), m) >= bound)
        c[down] -= 1
        up = (c < BOUND_STEPS) & (decode_bounds(c, m) < bound)
        c[up] += 1
    return c.astype(np.uint8), steps


def pos_steps(pos: np.ndarray, block_offsets: np.ndarray) -> np.ndarray:
    """``pos`` of each list as steps (format 10): its first block's ``pos``, then each block's
    minus the one before it (the bytes of the block before)."""
    pos = np.asarray(pos, np.int64)
    steps = np.diff(pos, prepend=0)
    firsts = np.asarray(block_offsets, np.int64)[:-1]
    firsts = firsts[firsts < len(pos)]
    steps[firsts] = pos[firsts]
    return steps


#: Format 10 stores a block's last docid as a step from the one before (the list's first: the
#: docid itself) in ``last_step`` (uint16) when it is at most this; a larger step is an exception,
#: 0 there and its block entry and step in ``last_exc_at`` and ``last_exc``.
LAST_STEP_MAX = 65535


def last_steps(last: np.ndarray, block_offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(``last_step`` uint16, ``last_exc_at`` (block entries, ascending), ``last_exc`` (their steps))
    of the lists' last docids."""
    s = pos_steps(last, block_offsets)
    big = np.flatnonzero(s > LAST_STEP_MAX)
    steps = s.copy()
    steps[big] = 0
    return steps.astype(np.uint16), big, s[big]


def sum_steps(steps: np.ndarray, block_offsets: np.ndarray) -> np.ndarray:
    """The inverse of :func:`pos_steps` (int64): each list's steps summed from its first block."""
    steps = np.asarray(steps, np.int64)
    offsets = np.asarray(block_offsets, np.int64)
    counts = np.diff(offsets)
    if len(steps) == 0:
        return steps
    total = np.cumsum(steps)
    firsts = offsets[:-1][counts > 0]
    return total - np.repeat(total[firsts] - steps[firsts], counts[counts > 0])


def write_block_maxima(path, terms, block_offsets, pos, last, bound, rank: dict) -> None:
    """``terms`` int64[L] (ascending ordinals), ``block_offsets`` int64[L+1] into the per-block
    arrays ``pos`` (int64, bytes from the list start), ``last`` (int32 docid), ``bound`` (float32).
    Format 10: ``pos`` as steps at the narrowest width, ``last`` as uint16 steps with exceptions,
    ``bound`` as uint8 codes of a step per list (:func:`bound_codes`)."""
    terms, block_offsets = np.asarray(terms, np.int64), np.asarray(block_offsets, np.int64)
    steps = pos_steps(pos, block_offsets)
    l_steps, exc_at, exc = last_steps(last, block_offsets)
    codes, list_step = bound_codes(bound, block_offsets)
    n_blocks = int(block_offsets[-1])
    write_container(path, KIND, {
        "term": terms.astype(narrowest_uint(int(terms.max(initial=0)))),
        "block_offsets": block_offsets.astype(narrowest_uint(n_blocks)),
        "pos_step": steps.astype(narrowest_uint(int(steps.max(initial=0)))), "last_step": l_steps,
        "last_exc_at": exc_at.astype(narrowest_uint(n_blocks)),
        "last_exc": exc.astype(narrowest_uint(int(exc.max(initial=0)))),
        "bound_code": codes, "list_step": list_step},
        meta={"block": 128, "rank": rank, "n_lists": len(terms)})


class BlockMaxima:
    """``blocks.bin`` read back (mmapped): format 10's steps and bound codes, or format 3-9's
    ``pos`` and ``bound`` (still read)."""

    def __init__(self, path, *, verify: bool | None = None):
        self.c = c = Container(path, KIND, verify=verify)
        self.rank = c.meta["rank"]
        self.terms = c["term"]
        self.offsets = c["block_offsets"]
        self.coded = "bound_code" in c.specs
        if self.coded:
            self.pos_step, self.bound_code, self.list_step = c["pos_step"], c["bound_code"], c["list_step"]
            self.last_step, self.last_exc_at, self.last_exc = c["last_step"], c["last_exc_at"], c["last_exc"]
            per_block = (self.pos_step, self.last_step, self.bound_code)
            if self.last_exc_at.shape != self.last_exc.shape:
                raise CorruptIndexError(path, "inconsistent array sizes")
        else:
            self.pos_step = self.bound_code = None
            self._pos, self._last, self._bound = c["pos"], c["last"], c["bound"]
            per_block = (self._pos, self._last, self._bound)
        n = len(self.terms)
        self._last_term = int(self.terms[-1]) if n else -1
        b = int(self.offsets[-1]) if len(self.offsets) else 0
        if self.offsets.shape != (n + 1,) or any(a.shape != (b,) for a in per_block):
            raise CorruptIndexError(path, "inconsistent array sizes")
        if self.coded and self.list_step.shape != (n,):
            raise CorruptIndexError(path, "inconsistent array sizes", expected=n, found=self.list_step.shape[0])

    def blocks(self, ordinal: int) -> tuple[int, int] | None:
        """The range of block entries of a term's list, or None (a list of one block)."""
        i = self.list_of(ordinal)
        return None if i < 0 else (int(self.offsets[i]), int(self.offsets[i + 1]))

    def list_of(self, ordinal: int) -> int:
        """The number of a term's list here (its entry of ``terms``), or -1 (a list of one block)."""
        t = self.terms
        if ordinal < 0 or ordinal > self._last_term:
            return -1
        # (a scalar of the column's own dtype: a Python int would make searchsorted convert the
        # whole column, format 10's uint32 one, at every call)
        i = int(np.searchsorted(t, t.dtype.type(ordinal)))
        return i if i < len(t) and int(t[i]) == ordinal else -1

    def list_blocks(self, g0: int, g1: int, i: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(pos int64, last int32, bound float32)`` of block entries ``g0..g1``, list ``i``'s
        (None: the list of block ``g0``): format 10's steps summed from the list's first block,
        its codes decoded."""
        if not self.coded:
            return (np.asarray(self._pos[g0:g1], np.int64), np.asarray(self._last[g0:g1], np.int32),
                    np.asarray(self._bound[g0:g1], np.float32))
        if i is None:
            i = int(np.searchsorted(self.offsets, self.offsets.dtype.type(g0), side="right")) - 1
        # (a first-sight query does this once per list: few numpy calls, each ~1 us)
        last = self.last_step[g0:g1].astype(np.int32)     # (docids < 2^31: int32 sums)
        at = self.last_exc_at
        if len(at) and int(at[-1]) >= g0:      # (scalars of its dtype: no conversion of the column)
            a, z = np.searchsorted(at, at.dtype.type(g0)), np.searchsorted(at, at.dtype.type(g1))
            if z > a:
                last[at[a:z].astype(np.int64) - g0] = self.last_exc[a:z]
        # float32(code) * step in float32, as decode_bounds (uint8 times a float32 scalar: float32)
        return (np.cumsum(self.pos_step[g0:g1], dtype=np.int64), last.cumsum(out=last),
                self.bound_code[g0:g1] * self.list_step[i])

    @property
    def pos(self) -> np.ndarray:
        """Every block's ``pos`` (int64; made from the steps in format 10)."""
        if not self.coded:
            return np.asarray(self._pos, np.int64)
        return sum_steps(self.pos_step, self.offsets)

    @property
    def last(self) -> np.ndarray:
        """Every block's last docid (int32; made from the steps and exceptions in format 10)."""
        if not self.coded:
            return np.asarray(self._last, np.int32)
        steps = np.asarray(self.last_step, np.int64)
        steps[np.asarray(self.last_exc_at, np.int64)] = self.last_exc
        return sum_steps(steps, self.offsets).astype(np.int32)

    @property
    def bound(self) -> np.ndarray:
        """Every block's bound (float32; format 10: its code decoded, rounded up)."""
        if not self.coded:
            return np.asarray(self._bound, np.float32)
        return decode_bounds(self.bound_code, np.repeat(self.list_step, np.diff(np.asarray(self.offsets, np.int64))))

    def close(self) -> None:
        self.c.close()
