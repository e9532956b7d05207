"""blockmax: ``blocks.bin``, per-block data of the long postings lists (written by the build,
read by search's block-max path).

For every list longer than one 128-posting block (bit-packed codec): per block, the byte where it
starts (relative to the list), its last docid and an upper bound of its postings' scores before
idf under the ranking settings named in the file (``meta.rank``); format 10 stores the starts as
steps (the bytes of the block before: uint16) and the bounds as uint8 codes of a table of 256,
rounded up. A search with other settings
does not use the bounds (it takes the exact path). docs/FORMAT.md, "blocks.bin".
"""
from __future__ import annotations

import numpy as np

from wikisearch.errors import CorruptIndexError
from wikisearch.fileio import narrowest_uint
from wikisearch.index.container import Container, write_container

FILE = "blocks.bin"
KIND = b"BMAX"


#: Codes of ``bound_code`` (format 10): a bound is stored as the index of the smallest entry of
#: ``bound_table`` (ascending float32, at most 256 entries) that is at least the bound.
BOUND_CODES = 256


def bound_table(bound: np.ndarray) -> np.ndarray:
    """The quantisation of block bounds ``bound`` (float32): the bounds at ranks ``(k + 1) B / 256
    - 1`` of the B sorted (k = 0..255; the largest is the last), repeats dropped (at most 256
    ascending values; all of them when there are no more than 256 distinct)."""
    s = np.unique(np.asarray(bound, np.float32))
    if len(s) <= BOUND_CODES:
        return s
    s = np.sort(np.asarray(bound, np.float32))
    ranks = (np.arange(1, BOUND_CODES + 1, dtype=np.int64) * len(s)) // BOUND_CODES - 1
    return np.unique(s[ranks])


def bound_codes(bound: np.ndarray, table: np.ndarray) -> np.ndarray:
    """uint8 codes of ``bound`` under ``table``: ``table[code] >= bound``, rounded up, the least
    such (a looser bound prunes less, never wrongly)."""
    return np.searchsorted(table, np.asarray(bound, np.float32), side="left").astype(np.uint8)


def pos_steps(pos: np.ndarray, block_offsets: np.ndarray) -> np.ndarray:
    """``pos`` of each list as steps (format 10): its first block's ``pos``, then each block's
    minus the one before it (the bytes of the block before)."""
    pos = np.asarray(pos, np.int64)
    steps = np.diff(pos, prepend=0)
    firsts = np.asarray(block_offsets, np.int64)[:-1]
    firsts = firsts[firsts < len(pos)]
    steps[firsts] = pos[firsts]
    return steps


def write_block_maxima(path, terms, block_offsets, pos, last, bound, rank: dict) -> None:
    """``terms`` int64[L] (ascending ordinals), ``block_offsets`` int64[L+1] into the per-block
    arrays ``pos`` (int64, bytes from the list start), ``last`` (int32 docid), ``bound`` (float32).
    Format 10: ``pos`` as steps at the narrowest width, ``bound`` as uint8 codes of a table."""
    steps = pos_steps(pos, block_offsets)
    table = bound_table(bound)
    write_container(path, KIND, {
        "term": np.asarray(terms, np.int64), "block_offsets": np.asarray(block_offsets, np.int64),
        "pos_step": steps.astype(narrowest_uint(int(steps.max(initial=0)))), "last": np.asarray(last, np.int32),
        "bound_code": bound_codes(bound, table), "bound_table": table},
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
        self.last = c["last"]
        if self.coded:
            self.pos_step, self.bound_code = c["pos_step"], c["bound_code"]
            self.table = np.asarray(c["bound_table"], np.float32)
            per_block = (self.pos_step, self.last, self.bound_code)
        else:
            self.pos_step = self.bound_code = None
            self._pos, self._bound = c["pos"], c["bound"]
            per_block = (self._pos, self.last, self._bound)
        n = len(self.terms)
        b = int(self.offsets[-1]) if len(self.offsets) else 0
        if self.offsets.shape != (n + 1,) or any(a.shape != (b,) for a in per_block):
            raise CorruptIndexError(path, "inconsistent array sizes")
        if self.coded and b and (len(self.table) == 0 or int(self.bound_code.max()) >= len(self.table)):
            raise CorruptIndexError(path, "a bound code past the bound table", expected=len(self.table))

    def blocks(self, ordinal: int) -> tuple[int, int] | None:
        """The range of block entries of a term's list, or None (a list of one block)."""
        i = int(np.searchsorted(self.terms, ordinal))
        if i < len(self.terms) and int(self.terms[i]) == ordinal:
            return int(self.offsets[i]), int(self.offsets[i + 1])
        return None

    def list_blocks(self, g0: int, g1: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(pos int64, last int32, bound float32)`` of block entries ``g0..g1`` (one list's:
        format 10's steps summed from the list's first block, its codes looked up)."""
        if not self.coded:
            return (np.asarray(self._pos[g0:g1], np.int64), np.asarray(self.last[g0:g1], np.int32),
                    np.asarray(self._bound[g0:g1], np.float32))
        return (np.cumsum(self.pos_step[g0:g1], dtype=np.int64), np.asarray(self.last[g0:g1], np.int32),
                self.table[self.bound_code[g0:g1]])

    @property
    def pos(self) -> np.ndarray:
        """Every block's ``pos`` (int64; made from the steps in format 10)."""
        if not self.coded:
            return np.asarray(self._pos, np.int64)
        return np.concatenate([self.list_blocks(int(a), int(z))[0]
                               for a, z in zip(self.offsets[:-1], self.offsets[1:])] or [np.zeros(0, np.int64)])

    @property
    def bound(self) -> np.ndarray:
        """Every block's bound (float32; format 10: its code's table entry, rounded up)."""
        return np.asarray(self._bound, np.float32) if not self.coded else self.table[self.bound_code]

    def close(self) -> None:
        self.c.close()
