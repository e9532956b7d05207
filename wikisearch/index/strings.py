"""strings: a table of strings as two numpy arrays (CSR: ``blob[offsets[i]:offsets[i+1]]``, UTF-8),
so the build can hold millions of titles and redirect titles without a Python object each.

Sorting and lookups run in numba (``_strings_kernels``); the byte order of UTF-8 is code point
order, so a sorted table agrees with Python's ``sorted`` on the same ``str`` values.

>>> t = StringTable.from_strings(["b", "a", "b"])
>>> t.sorted_ids().tolist(), t.find_last(StringTable.from_strings(["b", "c"]), t.sorted_ids()).tolist()
([1, 0, 2], [2, -1])
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from wikisearch.fileio import pack_strings, string_at, unpack_strings
from wikisearch.index import _strings_kernels as SK
from wikisearch.jit import interpreted

#: The kernels run as Python here (``jit.interpreted``): :meth:`StringTable.find_last` looks the
#: keys up in a dict instead of a binary search as Python (the same ids, by its contract).
_PYTHON = interpreted(SK.__name__)


@dataclass
class StringTable:
    offsets: np.ndarray       # int64[n + 1]
    blob: np.ndarray          # uint8[offsets[-1]]

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @classmethod
    def from_strings(cls, items) -> "StringTable":
        off, blob = pack_strings(items)
        return cls(off.astype(np.int64), blob)

    @classmethod
    def from_arrays(cls, offsets, blob) -> "StringTable":
        """A copy in memory of a packed table (e.g. a container's arrays), offsets rebased to 0."""
        o = np.asarray(offsets).astype(np.int64)
        base = int(o[0]) if len(o) else 0
        return cls(o - base if len(o) else np.zeros(1, np.int64),
                   np.array(blob[base:int(o[-1])] if len(o) else blob[:0], np.uint8))

    @classmethod
    def concat(cls, tables: list["StringTable"]) -> "StringTable":
        if not tables:
            return cls(np.zeros(1, np.int64), np.zeros(0, np.uint8))
        offs, base = [np.zeros(1, np.int64)], 0
        for t in tables:
            offs.append(t.offsets[1:] + base)
            base += int(t.offsets[-1])
        return cls(np.concatenate(offs), np.concatenate([t.blob for t in tables]))

    @classmethod
    def fill(cls, n: int, size: int, parts) -> "StringTable":
        """:meth:`concat` of the packed tables ``parts`` yields (``(offsets, blob)`` each, e.g.
        arrays of a file read one at a time), holding ``n`` strings of ``size`` bytes in all: the
        result is filled in place, so no part is kept after its turn and nothing is held twice."""
        out_off = np.zeros(n + 1, np.int64)
        out_blob = np.empty(size, np.uint8)
        i = at = 0
        for offsets, blob in parts:
            o = np.asarray(offsets).astype(np.int64)
            if len(o) < 2:
                continue
            k, base, end = len(o) - 1, int(o[0]), int(o[-1])
            if i + k > n or at + end - base > size:
                raise ValueError("string tables larger than announced")
            out_off[i + 1:i + k + 1] = o[1:] - base + at
            out_blob[at:at + end - base] = blob[base:end]
            i, at = i + k, at + end - base
        if i != n or at != size:
            raise ValueError("string tables smaller than announced")
        return cls(out_off, out_blob)

    def strings(self) -> list[str]:
        return unpack_strings(self.offsets, self.blob)

    def __getitem__(self, i: int) -> str:
        return string_at(self.offsets, self.blob, i)

    def packed(self) -> tuple[np.ndarray, np.ndarray]:
        """(uint64 offsets, blob): what :func:`~wikisearch.fileio.pack_strings` gives."""
        return self.offsets.astype(np.uint64), self.blob

    def take(self, ids) -> "StringTable":
        ids = np.asarray(ids, np.int64)
        off, blob = SK.gather_strings(self.blob, self.offsets, ids)
        return StringTable(off, blob)

    def sorted_ids(self) -> np.ndarray:
        """Ids in byte order, equal strings by id (stable)."""
        return SK.sort_strings(self.blob, self.offsets)

    def find_last(self, keys: "StringTable", order: np.ndarray) -> np.ndarray:
        """For each key, the highest id of an equal string (``order``: :meth:`sorted_ids`), or -1:
        what ``{s: i for i, s in enumerate(strings)}.get(key, -1)`` gives."""
        if _PYTHON:
            return self.find_last_python(keys)
        return SK.find_last_many(self.blob, self.offsets, np.asarray(order, np.int64), keys.blob, keys.offsets)

    def find_last_python(self, keys: "StringTable") -> np.ndarray:
        """:meth:`find_last` by a dict of the strings' bytes (tests compare it with the kernel)."""
        ids = {s: i for i, s in enumerate(self._bytes())}
        return np.fromiter((ids.get(k, -1) for k in keys._bytes()), np.int64, len(keys))

    def _bytes(self) -> list[bytes]:
        raw, o = self.blob.tobytes(), self.offsets.tolist()
        return [raw[o[i]:o[i + 1]] for i in range(len(o) - 1)]

    def run_starts(self, order: np.ndarray) -> np.ndarray:
        """Per rank of ``order``, the first rank of its run of equal strings."""
        return SK.run_starts(self.blob, self.offsets, np.asarray(order, np.int64))
