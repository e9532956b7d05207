"""zstd: decoding store frames -- through the system's libzstd where it loads (ctypes), else
python-zstandard (the fallback, and the oracle in tests).

:class:`FrameDecoder` decodes a frame into a buffer that holds the dictionary just before the output
(zstd's contiguous-history fast path), whole (:meth:`~FrameDecoder.decompress`) or as far as its
first zstd blocks go (:meth:`~FrameDecoder.decompress_part_at`: a store block's prefixes).
:func:`decompress` is the one call the store makes for a whole frame; :func:`frame_decoder` gives
the calling thread's decoder for a dictionary (None without libzstd). The bytes are zstd's either
way. Used by :mod:`wikisearch.index.store` only.
"""
from __future__ import annotations

import sys
import threading

import numpy as np

_local = threading.local()


def decompress(frame, dictionary: bytes = b"") -> bytes:
    """A store frame decompressed (``frame``: bytes or a uint8 view). With a dictionary, through
    :class:`FrameDecoder` when the system's libzstd can be loaded (the same bytes, ~1.5x
    faster), else python-zstandard (:func:`decompress_zstandard`, also its oracle in tests)."""
    if dictionary:
        dec = frame_decoder(dictionary)
        if dec is not None:
            out = dec.decompress(frame)
            if out is not None:
                return out
    return decompress_zstandard(frame, dictionary)


#: libzstd's symbols (ctypes), None when it cannot be loaded; False: not tried yet.
_LIBZSTD = False
#: Frames of more than this many bytes (by their header) go to python-zstandard.
FRAME_MAX = 1 << 26
#: libzstd's error codes are size_t values above this (``ZSTD_isError``: minus a code below 200).
_ERROR_CODES = (1 << 64) - 200


def libzstd():
    global _LIBZSTD
    if _LIBZSTD is False:
        _LIBZSTD = None
        try:
            import ctypes
            if sys.platform.startswith("linux"):
                name = "libzstd.so.1"
            else:                              # (ctypes.util imports subprocess: ~0.01 s)
                import ctypes.util
                name = ctypes.util.find_library("zstd") or "libzstd"
            lib = ctypes.CDLL(name)
            if lib.ZSTD_versionNumber() >= 10400:   # 1.4: the calls below, stable since
                vp, sz = ctypes.c_void_p, ctypes.c_size_t
                for name, res, args in (
                        ("ZSTD_createDCtx", vp, []), ("ZSTD_freeDCtx", sz, [vp]),
                        ("ZSTD_createDDict_byReference", vp, [vp, sz]), ("ZSTD_freeDDict", sz, [vp]),
                        ("ZSTD_getFrameContentSize", ctypes.c_ulonglong, [vp, sz]),
                        ("ZSTD_decompress_usingDDict", sz, [vp, vp, sz, vp, sz, vp]),
                        ("ZSTD_isError", ctypes.c_uint, [sz])):
                    f = getattr(lib, name)
                    f.restype, f.argtypes = res, args
                lib.stream_calls = _stream_calls(lib)
                _LIBZSTD = lib
        except (OSError, AttributeError, TypeError):
            _LIBZSTD = None
    return _LIBZSTD


#: ``ZSTD_d_stableOutBuffer`` (zstd.h, experimental since 1.4.4): the decoder writes into the
#: caller's output buffer, which stays put for the frame, so it keeps zstd's contiguous history.
_STABLE_OUT_BUFFER = 1001


def _stream_calls(lib) -> bool:
    """Declare libzstd's streaming calls (a frame decoded as far as its input goes: a block's
    prefixes, :meth:`FrameDecoder.decompress_part_at`); False where they are missing."""
    import ctypes

    class Buffer(ctypes.Structure):         # ZSTD_inBuffer and ZSTD_outBuffer: (pointer, size, pos)
        _fields_ = [("ptr", ctypes.c_void_p), ("size", ctypes.c_size_t), ("pos", ctypes.c_size_t)]
    vp, sz, i = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int
    try:
        for name, res, args in (
                ("ZSTD_DCtx_reset", sz, [vp, i]), ("ZSTD_DCtx_refDDict", sz, [vp, vp]),
                ("ZSTD_DCtx_setParameter", sz, [vp, i, i]),
                ("ZSTD_decompressStream", sz, [vp, ctypes.POINTER(Buffer), ctypes.POINTER(Buffer)])):
            f = getattr(lib, name)
            f.restype, f.argtypes = res, args
    except AttributeError:
        return False
    lib.Buffer = Buffer
    return True


class FrameDecoder:
    """libzstd decoding store frames into a buffer that holds the dictionary just before the
    output: the dictionary's content and the frame's output are then one contiguous history,
    which zstd decodes on its fast path (a referenced dictionary elsewhere in memory takes the
    "external dictionary" path, each match checked for crossing into it: ~1.5x slower on the
    30k articles' frames, benchmarks/results/snippets.md, Session 10). Not thread-safe: one per
    thread and dictionary. The bytes are zstd's either way (tests compare with python-zstandard)."""

    def __init__(self, lib, dictionary: bytes, capacity: int = 1 << 18):
        self.lib, self.dictionary = lib, dictionary
        self.dctx = lib.ZSTD_createDCtx()
        self.ddict = None
        self.sdctx = None                   # a second context, for frames read in part (:meth:`stops`)
        self._arena(capacity)

    def _arena(self, capacity: int) -> None:
        if self.ddict:
            self.lib.ZSTD_freeDDict(self.ddict)
        n = len(self.dictionary)
        self.buf = np.empty(n + capacity, np.uint8)
        self.buf[:n] = np.frombuffer(self.dictionary, np.uint8)
        base = self.buf.ctypes.data
        # by reference: the dictionary's content stays where it is in self.buf, before the output
        self.ddict = self.lib.ZSTD_createDDict_byReference(base, n)
        self.out = base + n
        self.capacity = capacity
        # the stream context refers to the DDict just freed: refer it to the new one (its address
        # may well be the old one's, so the comparison in decompress_part_at cannot tell)
        self.stream_ddict = None

    def decompress(self, frame) -> bytes | None:
        """The frame's bytes, or None when it is left to python-zstandard (no content size in its
        header, or a huge one); a damaged frame raises ValueError."""
        src = np.frombuffer(frame, np.uint8) if not isinstance(frame, np.ndarray) else frame
        src = np.ascontiguousarray(src)
        return self.decompress_at(src.ctypes.data, src.size)

    def decompress_at(self, ptr: int, n_bytes: int) -> bytes | None:
        """:meth:`decompress` of the ``n_bytes`` frame at address ``ptr`` (which stays valid for
        the call: a mapped file's bytes, an array's)."""
        lib = self.lib
        size = lib.ZSTD_getFrameContentSize(ptr, n_bytes)
        if size >= FRAME_MAX:             # also ZSTD_CONTENTSIZE_UNKNOWN / _ERROR (2^64 - 1, - 2)
            return None
        if size > self.capacity:
            self._arena(max(int(size), 2 * self.capacity))
        got = lib.ZSTD_decompress_usingDDict(self.dctx, self.out, self.capacity, ptr, n_bytes,
                                             self.ddict)
        if got != size:                     # (an error code is above 2^64 - 200: never a size here)
            raise ValueError("zstd could not decode the frame" if lib.ZSTD_isError(got) else
                             f"the frame holds {got} bytes, its header says {size}")
        n = len(self.dictionary)
        return self.buf[n:n + got].tobytes()

    def stops(self) -> bool:
        """Can this decoder stop within a frame (:meth:`decompress_part_at`)?"""
        if self.sdctx is None and self.lib.stream_calls:
            import ctypes
            lib = self.lib
            d = lib.ZSTD_createDCtx()
            if lib.ZSTD_isError(lib.ZSTD_DCtx_setParameter(d, _STABLE_OUT_BUFFER, 1)):
                lib.ZSTD_freeDCtx(d)
                lib.stream_calls = False
                return False
            self.sdctx = d
            self.src, self.dst = lib.Buffer(), lib.Buffer()
            self.src_at, self.dst_at = ctypes.pointer(self.src), ctypes.pointer(self.dst)
            self.stream_ddict = None
        return self.sdctx is not None

    def decompress_part_at(self, ptr: int, n_bytes: int, size: int, total: int) -> bytes:
        """The first ``size`` bytes of the ``total``-byte frame at address ``ptr`` (its size by
        the store's tables: zstd refuses a frame that holds more), decoded from its first
        ``n_bytes`` (its header and whole zstd blocks: the writer ended a block there); a
        damaged frame raises ValueError. Needs :meth:`stops`."""
        lib = self.lib
        if total > self.capacity:           # (the output must have room for the whole frame)
            self._arena(max(int(total), 2 * self.capacity))
        if self.stream_ddict != self.ddict:
            lib.ZSTD_DCtx_refDDict(self.sdctx, self.ddict)
            self.stream_ddict = self.ddict
        lib.ZSTD_DCtx_reset(self.sdctx, 1)  # ZSTD_reset_session_only: a new frame, same settings
        src, dst = self.src, self.dst
        src.ptr, src.size, src.pos = ptr, n_bytes, 0
        dst.ptr, dst.size, dst.pos = self.out, self.capacity, 0
        got = lib.ZSTD_decompressStream(self.sdctx, self.dst_at, self.src_at)
        if got > _ERROR_CODES or src.pos != n_bytes or dst.pos != size:
            raise ValueError("zstd could not decode the frame" if got > _ERROR_CODES else
                             f"its first {n_bytes} bytes hold {dst.pos} bytes, not {size}")
        n = len(self.dictionary)
        return self.buf[n:n + size].tobytes()

    def __del__(self):
        lib = self.lib
        if getattr(self, "ddict", None):
            lib.ZSTD_freeDDict(self.ddict)
        if getattr(self, "dctx", None):
            lib.ZSTD_freeDCtx(self.dctx)
        if getattr(self, "sdctx", None):
            lib.ZSTD_freeDCtx(self.sdctx)


def forget_frame_decoder(dictionary: bytes) -> None:
    """Drop this thread's decoder of ``dictionary`` (after it failed: the next is made anew)."""
    cache = getattr(_local, "prefix_decoders", None)
    if cache is not None:
        cache.pop(dictionary, None)


def frame_decoder(dictionary: bytes) -> FrameDecoder | None:
    cache = getattr(_local, "prefix_decoders", None)
    if cache is None:
        cache = _local.prefix_decoders = {}
    dec = cache.get(dictionary)
    if dec is None:
        lib = libzstd()
        if lib is None:
            return None
        if len(cache) > 8:
            cache.clear()
        dec = cache[dictionary] = FrameDecoder(lib, dictionary)
    return dec


def decompress_zstandard(frame, dictionary: bytes = b"") -> bytes:
    # a decompressor (and its context) per thread and dictionary, made once: they are not
    # thread-safe, and loading a dictionary costs more than a small frame does
    cache = getattr(_local, "decompressors", None)
    if cache is None:
        cache = _local.decompressors = {}
    d = cache.get(dictionary)
    if d is None:
        import zstandard
        d = zstandard.ZstdDecompressor(dict_data=zstandard.ZstdCompressionDict(dictionary)) \
            if dictionary else zstandard.ZstdDecompressor()
        if len(cache) > 8:
            cache.clear()
        cache[dictionary] = d
    return d.decompress(frame)
