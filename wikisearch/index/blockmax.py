"""blockmax: ``blocks.bin``, per-block data of the long postings lists (written by the build,
read by search's block-max path).

For every list longer than one 128-posting block (bit-packed codec): per block, the byte where it
starts (relative to the list), its last docid and an upper bound of its postings' scores before
idf under the ranking settings named in the file (``meta.rank``). A search with other settings
does not use the bounds (it takes the exact path). docs/FORMAT.md, "blocks.bin".
"""
from __future__ import annotations

import numpy as np

from wikisearch.errors import CorruptIndexError
from wikisearch.index.container import Container, write_container

FILE = "blocks.bin"
KIND = b"BMAX"


def write_block_maxima(path, terms, block_offsets, pos, last, bound, rank: dict) -> None:
    """``terms`` int64[L] (ascending ordinals), ``block_offsets`` int64[L+1] into the per-block
    arrays ``pos`` (int64, bytes from the list start), ``last`` (int32 docid), ``bound`` (float32)."""
    write_container(path, KIND, {
        "term": np.asarray(terms, np.int64), "block_offsets": np.asarray(block_offsets, np.int64),
        "pos": np.asarray(pos, np.uint32), "last": np.asarray(last, np.int32),
        "bound": np.asarray(bound, np.float32)}, meta={"block": 128, "rank": rank, "n_lists": len(terms)})


class BlockMaxima:
    """``blocks.bin`` read back (mmapped)."""

    def __init__(self, path, *, verify: bool | None = None):
        self.c = c = Container(path, KIND, verify=verify)
        self.rank = c.meta["rank"]
        self.terms = c["term"]
        self.offsets = c["block_offsets"]
        self.pos, self.last, self.bound = c["pos"], c["last"], c["bound"]
        n = len(self.terms)
        b = int(self.offsets[-1]) if len(self.offsets) else 0
        if self.offsets.shape != (n + 1,) or any(a.shape != (b,) for a in (self.pos, self.last, self.bound)):
            raise CorruptIndexError(path, "inconsistent array sizes")

    def blocks(self, ordinal: int) -> tuple[int, int] | None:
        """The range of block entries of a term's list, or None (a list of one block)."""
        i = int(np.searchsorted(self.terms, ordinal))
        if i < len(self.terms) and int(self.terms[i]) == ordinal:
            return int(self.offsets[i]), int(self.offsets[i + 1])
        return None

    def close(self) -> None:
        self.c.close()
