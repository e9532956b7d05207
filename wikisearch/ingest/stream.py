"""The uncompressed byte stream of a dump file or of stdin (the I/O half of :mod:`wikisearch.ingest.dump`).

Compression is told by magic bytes, not by the file name: bz2 (single or multistream; decoded in
parallel by indexed_bzip2 for files), gzip, xz, or none. UTF-16 input (some old tools wrote it)
is transcoded to UTF-8 on the fly, so that the rest of the pipeline only ever sees UTF-8.

>>> with Stream("enwiki.xml.bz2") as s:                   # doctest: +SKIP
...     head = s.read()                                   # the next chunk; b"" at the end
"""
from __future__ import annotations

import bz2
import codecs
import gzip
import lzma
import os
import sys
import zlib

import indexed_bzip2

from wikisearch.errors import DumpFormatError
from wikisearch.fileio import sniff_compression

_CHUNK = 1 << 20
_EMPTY_BZ2 = 14     # "BZh9", the end-of-stream marker and the stream CRC
# What decompressors raise on damaged input: EOFError (truncated), OSError (bad bz2/gzip data),
# RuntimeError and ValueError (indexed_bzip2), LZMAError, zlib.error.
_BROKEN = (EOFError, OSError, RuntimeError, ValueError, lzma.LZMAError, zlib.error)


class _Source:
    """A raw input read front to back, with its first bytes put back after sniffing the magic.

    Counts the compressed bytes handed out, which is the progress of stdin and of gzip/xz.
    """

    def __init__(self, raw, prefix: bytes):
        self.raw, self._prefix, self.consumed = raw, prefix, 0

    def read(self, n: int = -1) -> bytes:
        if self._prefix:
            data = self._prefix if n < 0 else self._prefix[:n]
            self._prefix = self._prefix[len(data):]
        else:
            data = self.raw.read(n)
        self.consumed += len(data)
        return data

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:   # decompressors must not try to seek stdin
        return False

    def seek_to(self, pos: int) -> None:
        self.raw.seek(pos)
        self._prefix, self.consumed = b"", pos

    def close(self) -> None:
        if self.raw is not sys.stdin.buffer:
            self.raw.close()


def _utf16_codec(first: bytes) -> str | None:
    if first[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return "utf-16"
    if len(first) >= 2 and first[0] == 0x3C and first[1] == 0:    # '<' without a BOM
        return "utf-16-le"
    if len(first) >= 2 and first[0] == 0 and first[1] == 0x3C:
        return "utf-16-be"
    return None


class Stream:
    """Uncompressed bytes of ``path`` (``"-"``: stdin) in chunks of about 1 MiB.

    ``delivered`` counts the bytes handed out so far, so it is the offset of the next chunk.
    Damaged compressed data raises :class:`DumpFormatError` from :meth:`read` only once every
    byte before the damage was handed out.
    """

    def __init__(self, path: str, threads: int | None = None):
        self.path, self.threads = path, threads or os.cpu_count() or 1
        self.input_bytes: int | None = None
        if path == "-":
            raw = sys.stdin.buffer
        else:
            try:
                raw = open(path, "rb")
            except OSError as err:
                raise DumpFormatError(f"cannot open dump: {err.strerror}", path=path) from None
            self.input_bytes = os.fstat(raw.fileno()).st_size
        magic = raw.read(6)
        self.kind = sniff_compression(magic) or "plain"
        self._src = _Source(raw, magic)
        self._reader = self._open_reader()
        self.delivered = 0      # uncompressed (transcoded) bytes handed out
        self._decoded = 0       # bytes out of the decompressor
        self._transcoder = None
        self._started = self.eof = False

    def _open_reader(self):
        if self.kind == "bz2" and self.path != "-":
            self._src.close()
            return indexed_bzip2.open(self.path, parallelization=self.threads)
        if self.kind == "bz2":
            return bz2.BZ2File(self._src)
        if self.kind == "gzip":
            return gzip.GzipFile(fileobj=self._src)
        return lzma.LZMAFile(self._src) if self.kind == "xz" else self._src

    @property
    def _indexed(self) -> bool:
        return isinstance(self._reader, indexed_bzip2.IndexedBzip2File)

    def _raw_read(self) -> bytes:
        # read1, not read: one decompressor call, so data decoded before damage is not lost.
        read = getattr(self._reader, "read1", self._reader.read)
        try:
            data = read(_CHUNK)
        except _BROKEN as err:
            if not self._indexed:
                what = "ends early (truncated file?)" if isinstance(err, EOFError) else \
                    f"is corrupt ({err or type(err).__name__})"
                raise DumpFormatError(f"{self.kind} data {what}", offset=self.delivered,
                                      path=self.path) from None
            self._salvage()   # indexed_bzip2 drops the blocks decoded around damage
            return self._raw_read()
        if not data and self._indexed and self._decoded == 0 and (self.input_bytes or 0) > _EMPTY_BZ2:
            # indexed_bzip2 reads garbage after "BZh" as an empty stream: the stdlib decoder says
            # what it is (a bz2 stream with no data is 14 bytes)
            self._salvage()
            return self._raw_read()
        self._decoded += len(data)
        return data

    def _salvage(self) -> None:
        """Go on with the stdlib bz2 decoder, which delivers every block before the damage."""
        self._reader.close()
        self._reader = bz2.BZ2File(self.path)
        try:
            self._reader.seek(self._decoded)   # decodes from the start: slow, error path only
        except _BROKEN:
            raise DumpFormatError("bz2 data is corrupt", offset=self.delivered,
                                  path=self.path) from None

    def read(self) -> bytes:
        """The next chunk of uncompressed bytes; ``b""`` at the end."""
        while True:
            data = self._raw_read()
            if not self._started:
                self._started = True
                while 0 < len(data) < 2 and (more := self._raw_read()):
                    data += more
                if codec := _utf16_codec(data[:2]):
                    self._transcoder = codecs.getincrementaldecoder(codec)()
            if self._transcoder is None:
                break
            raw_end = not data
            try:
                data = self._transcoder.decode(data, final=raw_end).encode("utf-8")
            except UnicodeDecodeError:
                raise DumpFormatError("invalid UTF-16 data", offset=self.delivered,
                                      path=self.path) from None
            if data or raw_end:   # an odd byte alone decodes to nothing: read on
                break
        self.eof = not data
        self.delivered += len(data)
        return data

    def compressed_position(self) -> int | None:
        """Bytes of the input consumed so far (approximate: decoders read ahead)."""
        if self.eof:
            return self.input_bytes
        if self._indexed:
            return self._reader.tell_compressed() // 8   # indexed_bzip2 counts bits
        return self._src.consumed

    def _seek(self, offset: int) -> bool:
        """Jump to uncompressed ``offset`` if the input allows it (indexed bz2, plain files)."""
        if self._transcoder is not None or self.path == "-":
            return False
        if self._indexed:
            self._reader.seek(offset)
        elif self.kind == "plain":
            self._src.seek_to(offset)
        else:
            return False
        self.delivered = self._decoded = offset
        return True

    def read_range(self, start: int, end: int) -> bytes:
        """Bytes ``[start, end)`` of the uncompressed stream (fewer if it ends before ``end``)."""
        chunk, pos = self.read(), 0
        if start > len(chunk) and self._seek(start):
            chunk, pos = self.read(), start
        while chunk and pos + len(chunk) <= start:    # gzip, xz, UTF-16: skip forward
            pos += len(chunk)
            chunk = self.read()
        out = bytearray(chunk[start - pos:])
        while len(out) < end - start and (chunk := self.read()):
            out += chunk
        return bytes(out[:end - start])

    def close(self) -> None:
        self._reader.close()
        self._src.close()

    def __enter__(self) -> "Stream":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
