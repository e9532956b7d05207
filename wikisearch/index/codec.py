"""codec — "here are postings, give me bytes (and back)".

A posting list of one term is three arrays: ``docids`` (strictly increasing, 0 <= docid < 2**31),
``masks`` (uint16 field bitmask, never 0) and ``tfs`` (uint32 >= 1, one per set bit of each mask
in ascending field order, so ``len(tfs) == popcount(masks).sum()``). The number of postings ``n``
is not stored in the list's bytes: the term dictionary keeps it.

Codecs (byte layouts in docs/FORMAT.md, "Postings codecs"):

- ``varbyte``: per posting, LEB128 of the docid gap, the mask and each tf - 1.
- ``bitpacked``: a table of the list's distinct masks, blocks of 128 postings as three patched
  frame-of-reference bit-packed streams (docid gaps, mask indexes, tfs - 1), a varbyte tail.
- ``debug``: a line of text, ``"12 title=1,body=3; 15 body=1\\n"``, for ``wikisearch inspect``.

>>> c = get_codec("varbyte")
>>> data = c.encode([3, 7], [16, 17], [2, 1, 5])
>>> data.hex(" ")
'03 10 01 03 11 00 04'
>>> [a.tolist() for a in c.decode(data, 2)]
[[3, 7], [16, 17], [2, 1, 5]]
"""
from __future__ import annotations

import functools

import numpy as np

from wikisearch.index import _codec_kernels as K
from wikisearch.config import FIELDS
from wikisearch.errors import CorruptIndexError
from wikisearch.index import pycodec
from wikisearch.jit import interpreted, readonly

__all__ = ["Codec", "get_codec", "CODECS", "varbyte_encode", "varbyte_decode", "warmup"]

MAX_DOCID = 2**31 - 1
#: The kernels run as Python here (``jit.interpreted``): the bit-packed codec and the checks
#: take ``pycodec``'s plain-Python paths instead, which give the same bytes many times faster.
_PYTHON = interpreted(K.__name__)


@functools.cache
def _popcount16() -> np.ndarray:
    """The popcount of every uint16 (``pycodec.lists_well_formed``'s table; made on first use:
    ~2 ms that a process running the compiled check never needs)."""
    popcount8 = np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1).sum(1, dtype=np.uint8)
    return (popcount8[:, None] + popcount8[None, :]).reshape(-1)      # [high byte, low byte]


def _as_bytes(data) -> np.ndarray:
    """bytes, bytearray, memoryview, mmap or a uint8 array -> 1-D uint8 array (no copy)."""
    if isinstance(data, np.ndarray):
        if data.dtype != np.uint8 or data.ndim != 1:
            raise TypeError(f"postings bytes must be a 1-D uint8 array, not {data.dtype}[{data.ndim}-D]")
        return np.ascontiguousarray(data)
    return np.frombuffer(data, np.uint8)


def _corrupt(name: str, n: int, what: str) -> CorruptIndexError:
    return CorruptIndexError("<postings>", f"{name} posting list of {n} postings: {what}")


_CHECK_ERRORS = {1: "offsets must rise from 0 to len(docids)",
                 2: "there must be one mask per docid",
                 3: f"docids must lie in [0, {MAX_DOCID}]",
                 4: "docids must be strictly increasing within a list",
                 5: "masks must not be 0",
                 6: "tfs must be >= 1",
                 7: "there must be one tf per set bit of each mask"}


def _ints(a, dtype, name: str, hi: int) -> np.ndarray:
    """``a`` as a contiguous 1-D array of ``dtype``; values above ``hi`` or below 0 refused
    (checked here only when the cast could change them)."""
    a = np.asarray(a)
    if a.size == 0:
        return np.zeros(0, dtype)
    if a.dtype.kind not in "iu":
        raise ValueError(f"{name} must be integers, not {a.dtype}")
    if not np.can_cast(a.dtype, dtype, "safe") and (a.min() < 0 or a.max() > hi):
        raise ValueError(f"{name} must lie in [0, {hi}]")
    return np.ascontiguousarray(a.reshape(-1), dtype)


def check_postings(offsets, docids, masks, tfs) -> tuple[np.ndarray, ...]:
    """Validate posting lists (CSR: list ``i`` is ``[offsets[i], offsets[i+1])``) and return
    them as the kernels' contiguous ``int64, int64, uint16, uint32`` arrays."""
    arrays = (_ints(offsets, np.int64, "offsets", 2**62), _ints(docids, np.int64, "docids", 2**62),
              _ints(masks, np.uint16, "masks", 0xFFFF), _ints(tfs, np.uint32, "tfs", 2**32 - 1))
    if _PYTHON and pycodec.lists_well_formed(*arrays, MAX_DOCID, _popcount16()):
        return arrays                     # (the kernel as Python: seconds for the sample)
    error = K.check_lists(*arrays, MAX_DOCID)
    if error:
        raise ValueError(_CHECK_ERRORS[error])
    return arrays


class Codec:
    """Posting lists <-> bytes. Subclasses set ``name`` and the two kernels."""

    name = ""
    _encode_kernel = None
    _decode_kernel = None
    #: The encoder and decoder in plain Python, where the kernels run as Python (``pycodec``);
    #: None: the kernel.
    _encode_python = None
    _decode_python = None

    def encode(self, docids, masks, tfs) -> bytes:
        """Bytes of one posting list."""
        data, _ = self.encode_lists([0, len(docids)], docids, masks, tfs)
        return data.tobytes()

    def encode_lists(self, offsets, docids, masks, tfs) -> tuple[np.ndarray, np.ndarray]:
        """Many lists at once (CSR, list ``i`` = ``[offsets[i], offsets[i+1])``, tfs flat in the
        same order): ``(bytes uint8, byte_offsets int64)``, list ``i`` in
        ``bytes[byte_offsets[i]:byte_offsets[i+1]]``."""
        encode = type(self)._encode_python if _PYTHON and type(self)._encode_python else \
            type(self)._encode_kernel
        return encode(*check_postings(offsets, docids, masks, tfs))

    def decode(self, data, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(docids int32, masks uint16, tfs uint32)`` of a list of ``n`` postings that is
        exactly ``data``."""
        buf = _as_bytes(data)
        docids, masks, tfs, end = self.decode_prefix(buf, n)
        if end != buf.size:
            raise CorruptIndexError("<postings>", f"{self.name} posting list of {n} postings",
                                    expected=f"{buf.size} bytes", found=f"{end} bytes")
        return docids, masks, tfs

    def decode_prefix(self, data, n: int, offset: int = 0):
        """Decode the list of ``n`` postings starting at ``data[offset]``; returns
        ``(docids, masks, tfs, end)`` where ``end`` is the offset just past its bytes."""
        buf = _as_bytes(data)
        docids = np.empty(n, np.int32)
        masks = np.empty(n, np.uint16)
        for capacity in (2 * n + 8, 16 * n):
            tfs = np.empty(capacity, np.uint32)
            end, n_tfs = self._decode(buf, offset, n, docids, masks, tfs)
            if end != K.TFS_FULL:
                return docids, masks, tfs[:n_tfs], end
        raise AssertionError("16 tfs per posting always fit")

    def decode_into(self, data, n: int, docids, masks, tfs, offset: int = 0) -> tuple[int, int]:
        """Decode into caller-owned arrays (``int32[>=n]``, ``uint16[>=n]``, ``uint32[...]``):
        returns ``(end, n_tfs)``; raises ValueError if ``tfs`` is too small."""
        if docids.dtype != np.int32 or masks.dtype != np.uint16 or tfs.dtype != np.uint32:
            raise TypeError("decode_into needs int32 docids, uint16 masks and uint32 tfs")
        if docids.size < n or masks.size < n:
            raise ValueError(f"output arrays hold fewer than {n} postings")
        end, n_tfs = self._decode(_as_bytes(data), offset, n, docids, masks, tfs)
        if end == K.TFS_FULL:
            raise ValueError(f"tfs holds {tfs.size} values; this list needs more")
        return end, n_tfs

    def _decode(self, buf, offset, n, docids, masks, tfs):
        if n < 0 or not 0 <= offset <= buf.size:
            raise ValueError(f"bad n={n} or offset={offset} for {buf.size} bytes")
        buf = readonly(buf)           # one compiled decoder: mapped index bytes are read-only
        decode = type(self)._decode_python if _PYTHON and type(self)._decode_python else \
            type(self)._decode_kernel
        end, n_tfs = decode(buf, int(offset), int(n), docids, masks, tfs)
        if end == K.CORRUPT:
            raise _corrupt(self.name, n, "damaged or truncated bytes")
        return end, n_tfs

    def __repr__(self):
        return f"get_codec({self.name!r})"


class VarbyteCodec(Codec):
    name = "varbyte"
    _encode_kernel = K.varbyte_encode_lists
    _decode_kernel = K.varbyte_decode_into


class BitpackedCodec(Codec):
    name = "bitpacked"
    _encode_kernel = K.bitpacked_encode_lists
    _decode_kernel = K.bitpacked_decode_into
    _encode_python = staticmethod(pycodec.bitpacked_encode_lists)
    _decode_python = staticmethod(pycodec.bitpacked_decode_into)


class DebugCodec(Codec):
    """One line of text per list: ``docid field=tf,field=tf; docid field=tf\\n``.
    Fields in ascending bit order; bits past :data:`config.FIELDS` are named ``f<bit>``."""

    name = "debug"

    def encode_lists(self, offsets, docids, masks, tfs):
        offsets, docids, masks, tfs = check_postings(offsets, docids, masks, tfs)
        lines, t = [], 0
        for lo, hi in zip(offsets[:-1].tolist(), offsets[1:].tolist()):
            items = []
            for d, m in zip(docids[lo:hi].tolist(), masks[lo:hi].tolist()):
                bits = [f for f in range(16) if m >> f & 1]
                tf = tfs[t:t + len(bits)].tolist()
                t += len(bits)
                items.append(f"{d} " + ",".join(f"{_field_name(f)}={v}" for f, v in zip(bits, tf)))
            lines.append(("; ".join(items) + "\n").encode("ascii"))
        byte_offsets = np.cumsum([0] + [len(line) for line in lines], dtype=np.int64)
        return np.frombuffer(b"".join(lines), np.uint8), byte_offsets

    def _decode(self, buf, offset, n, docids, masks, tfs):
        stop = np.flatnonzero(buf[offset:] == ord("\n"))
        if stop.size == 0:
            raise _corrupt(self.name, n, "no end of line")
        end = offset + int(stop[0]) + 1
        line = buf[offset:end - 1].tobytes().decode("ascii", "replace")
        items = line.split("; ") if line else []
        if len(items) != n:
            raise _corrupt(self.name, n, f"found {len(items)} postings")
        t = 0
        for i, item in enumerate(items):
            try:
                d, pairs = item.split(" ")
                fields = sorted((_FIELD_BIT[name], int(tf)) for name, tf in
                                (pair.split("=") for pair in pairs.split(",")))
                if len({bit for bit, _ in fields}) != len(fields) or min(tf for _, tf in fields) < 1:
                    raise ValueError("repeated field or tf < 1")
                if t + len(fields) > tfs.size:
                    return K.TFS_FULL, t
                docids[i] = int(d)
                masks[i] = sum(1 << bit for bit, _ in fields)
                tfs[t:t + len(fields)] = [tf for _, tf in fields]
                t += len(fields)
            except (ValueError, KeyError, OverflowError) as e:
                raise _corrupt(self.name, n, f"unreadable posting {item!r}") from e
        return end, t


def _field_name(bit: int) -> str:
    return FIELDS[bit] if bit < len(FIELDS) else f"f{bit}"


_FIELD_BIT = {**{f"f{i}": i for i in range(16)}, **{name: i for i, name in enumerate(FIELDS)}}
_CODECS: dict[str, Codec] = {c.name: c for c in (VarbyteCodec(), BitpackedCodec(), DebugCodec())}
#: Names accepted by :func:`get_codec`.
CODECS: tuple[str, ...] = tuple(_CODECS)


def get_codec(name: str) -> Codec:
    """The codec called ``name`` (one of :data:`CODECS`).

    >>> get_codec("bitpacked").name
    'bitpacked'
    """
    try:
        return _CODECS[name]
    except KeyError:
        raise ValueError(f"unknown postings codec {name!r}; one of {', '.join(CODECS)}") from None


def varbyte_encode(values) -> bytes:
    """LEB128 of non-negative integers < 2**64 (low 7 bits first, high bit = more follow).

    >>> varbyte_encode([300, 0, 127]).hex(" ")
    'ac 02 00 7f'
    """
    if not isinstance(values, np.ndarray):   # a list may hold ints past 2**63: no float detour
        values = list(values)
        if not all(isinstance(v, (int, np.integer)) for v in values):
            raise ValueError("varbyte encodes integers in [0, 2**64)")
        try:
            values = np.array(values, np.uint64)
        except OverflowError as e:
            raise ValueError("varbyte encodes integers in [0, 2**64)") from e
    a = values
    if a.size and (a.dtype.kind not in "iu" or (a.dtype.kind == "i" and a.min() < 0)):
        raise ValueError("varbyte encodes integers in [0, 2**64)")
    return K.vb_encode_u64(np.ascontiguousarray(a.reshape(-1), np.uint64)).tobytes()


def varbyte_decode(data, n: int, offset: int = 0) -> tuple[np.ndarray, int]:
    """Decode ``n`` LEB128 numbers at ``data[offset:]``: ``(values uint64, bytes consumed)``.

    >>> values, used = varbyte_decode(b"\\xac\\x02\\x00\\x7f", 2)
    >>> values.tolist(), used
    ([300, 0], 3)
    """
    values, end = K.vb_decode_u64(_as_bytes(data), offset, n)
    if end < 0:
        raise CorruptIndexError("<varbyte>", f"{n} varbyte numbers run past the end of the bytes")
    return values, end - offset


def warmup() -> None:
    """Compile (or load from cache) every codec kernel."""
    for codec in (VarbyteCodec(), BitpackedCodec()):
        codec.decode(codec.encode(np.arange(130), np.full(130, 1), np.ones(130, np.uint32)), 130)
    varbyte_decode(varbyte_encode([1]), 1)
