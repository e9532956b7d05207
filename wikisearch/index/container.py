"""The one binary container every index file uses: header, table of contents, arrays, footer.

    File   --> Header, TocLength, TocCrc, Toc, Padding, <Array>^ArrayCount, Footer
    Header --> Magic ("WIKISRCH", 8 bytes), Kind (4 ASCII bytes), Version (uint32 LE)
    TocCrc --> uint32 LE, CRC-32 of Toc (version 2; version 1 files have none)
    Toc    --> UTF-8 JSON: {"meta": {...}, "arrays": [[name, dtype, shape, offset, nbytes, crc],
               ...]} (offset counts from the first array, which starts at the 64-byte boundary
               after Toc; crc, version 2: CRC-32 of the array's bytes, or null for an array
               copied from files, whose records carry their own checksums)
    Footer --> Crc32 (uint32 LE, of every byte before the footer), Length (uint64 LE, file size),
               EndMagic ("HCRSIKIW", 8 bytes)

Arrays are little-endian and start on 64-byte boundaries so readers can view them with
``np.frombuffer`` over an ``mmap`` without copying. Readers check magic, kind, version, the footer
and the length on open; the full CRC is checked on open for small files and on demand
(``verify=True``) for large ones, where "small" is at most 1 MiB for the files whose readers check
every piece they read (``checked_in_pieces``: a segment's terms, postings, documents and stored
text), so that opening an index does not read all of it. A large file is never read unchecked all the same: its table of
contents is checked on open (TocCrc), an array read whole is checked on first use
(:meth:`Container.checked`, against its crc), and the payloads read in pieces carry checksums of
their own, at the granularity they are read (dictionary and postings blocks, document blocks,
stored documents).
"""
from __future__ import annotations

import json
import mmap
import os
import struct
from pathlib import Path

import numpy as np

from wikisearch.errors import CorruptIndexError, FormatTooNewError, FormatTooOldError
from wikisearch.fileio import crc32

MAGIC = b"WIKISRCH"
END_MAGIC = b"HCRSIKIW"
VERSION = 2          # 2: TocCrc, and a CRC per array in the table of contents
MIN_VERSION = 1      # version 1 containers (priors, dense shards) are still read
HEADER = struct.Struct("<8s4sI")
FOOTER = struct.Struct("<IQ8s")
ALIGN = 64
#: Files up to this size get their whole CRC checked at open.
FULL_CHECK_BYTES = 256 << 20
#: ... and files read in checked pieces (``Container(checked_in_pieces=True)``) up to this size:
#: checking more would read the whole index at every start (0.1-0.3 s of CPU for the 30k-article
#: index's 180 MB), most of it pieces a query never reads and that are checked when they are read.
PIECEWISE_CHECK_BYTES = 1 << 20
#: An array checked on first use (:meth:`Container.checked`) larger than this has its pages given
#: back after the check (``madvise(MADV_DONTNEED)``), so that the check leaves none resident here.
READ_CHECK_BYTES = 1 << 20
RELEASE_PIECE = 8 << 20


def _pad(n: int) -> int:
    return (-n) % ALIGN


class ContainerWriter:
    """Streams arrays into one container file; the last array may be appended in pieces.

    >>> w = ContainerWriter(path, b"DOCS", meta={"n": 3})   # doctest: +SKIP
    >>> w.add("page_id", np.arange(3)); w.close()            # doctest: +SKIP
    """

    def __init__(self, path, kind: bytes, meta: dict | None = None):
        self.path = Path(path)
        self.kind = kind
        self.meta = dict(meta or {})
        self._arrays: list[tuple[str, np.ndarray | None, str, tuple, int]] = []
        self._streams: dict[str, list] = {}

    def add(self, name: str, array: np.ndarray) -> None:
        a = np.ascontiguousarray(array)
        if a.dtype.byteorder == ">":
            a = a.astype(a.dtype.newbyteorder("<"))
        self._arrays.append((name, a, a.dtype.str, a.shape, a.nbytes))

    def add_bytes(self, name: str, data: bytes) -> None:
        self.add(name, np.frombuffer(data, dtype=np.uint8))

    def add_file(self, name: str, path) -> None:
        """A uint8 array whose bytes are copied from ``path`` at close, in pieces (bounded memory)."""
        self.add_files(name, [path])

    def add_files(self, name: str, paths) -> None:
        """A uint8 array of the bytes of ``paths`` joined end to end, copied at close."""
        self.add_file_ranges(name, [(p, 0, os.path.getsize(p)) for p in paths])

    def add_file_ranges(self, name: str, ranges) -> None:
        """A uint8 array of the byte ranges ``(path, start, length)`` joined end to end, copied
        at close in pieces (bounded memory)."""
        ranges = [(Path(p), int(a), int(n)) for p, a, n in ranges]
        size = sum(n for _p, _a, n in ranges)
        self._arrays.append((name, ranges, "|u1", (size,), size))

    def add_chunks(self, name: str, dtype, shape: tuple, chunks) -> None:
        """An array of ``shape`` whose bytes are the arrays ``chunks()`` yields, back to back
        (``chunks``: a function returning a new iterator each call; called twice at close, once
        for the CRC and once to write): a column far larger than memory written a piece at a
        time, byte for byte what :meth:`add` of the whole array gives."""
        dt = np.dtype(dtype).newbyteorder("<")
        shape = tuple(int(x) for x in shape)
        nbytes = int(np.prod(shape, dtype=np.int64)) * dt.itemsize
        self._arrays.append((name, _Chunks(chunks, dt), dt.str, shape, nbytes))

    def close(self) -> None:
        """Write the file (to ``path``), fsynced."""
        entries, offset = [], 0
        for name, a, dt, shape, nbytes in self._arrays:
            if isinstance(a, _Chunks):
                crc = a.crc(nbytes)
            else:
                crc = None if isinstance(a, list) else crc32(memoryview(a).cast("B") if nbytes else b"")
            entries.append([name, dt, list(shape), offset, nbytes, crc])
            offset += nbytes + _pad(nbytes)
        toc = json.dumps({"meta": self.meta, "arrays": entries}, sort_keys=True,
                         separators=(",", ":")).encode()
        head = HEADER.pack(MAGIC, self.kind, VERSION) + struct.pack("<QI", len(toc), crc32(toc)) + toc
        head += b"\0" * _pad(len(head))
        crc = crc32(head)
        with open(self.path, "wb") as f:
            f.write(head)
            for _name, a, _dt, _shape, nbytes in self._arrays:
                if isinstance(a, list):
                    for p, start, length in a:
                        crc = _copy_file(p, f, crc, start, length)
                elif isinstance(a, _Chunks):
                    for buf in a.pieces(nbytes):
                        f.write(buf)
                        crc = crc32(buf, crc)
                else:
                    buf = memoryview(a).cast("B") if nbytes else b""
                    f.write(buf)
                    crc = crc32(buf, crc)
                pad = b"\0" * _pad(nbytes)
                f.write(pad)
                crc = crc32(pad, crc)
            size = f.tell() + FOOTER.size
            f.write(FOOTER.pack(crc, size, END_MAGIC))
            f.flush()
            os.fsync(f.fileno())


class _Chunks:
    """An array given as pieces (:meth:`ContainerWriter.add_chunks`)."""

    def __init__(self, make, dtype: np.dtype):
        self.make, self.dtype = make, dtype

    def pieces(self, nbytes: int):
        """The pieces' bytes in turn; raises ValueError unless they add up to ``nbytes``."""
        done = 0
        for piece in self.make():
            a = np.ascontiguousarray(piece, dtype=self.dtype)
            if a.nbytes == 0:
                continue
            done += a.nbytes
            if done > nbytes:
                raise ValueError("array pieces longer than announced")
            yield memoryview(a).cast("B")
        if done != nbytes:
            raise ValueError(f"array pieces shorter than announced ({done} of {nbytes} bytes)")

    def crc(self, nbytes: int) -> int:
        crc = 0
        for buf in self.pieces(nbytes):
            crc = crc32(buf, crc)
        return crc


def _copy_file(path: Path, out, crc: int, start: int = 0, length: int | None = None) -> int:
    with open(path, "rb") as src:
        src.seek(start)
        left = os.fstat(src.fileno()).st_size - start if length is None else length
        while left > 0:
            chunk = src.read(min(left, 1 << 22))
            if not chunk:
                raise OSError(f"{path} is shorter than expected while copying it")
            out.write(chunk)
            crc = crc32(chunk, crc)
            left -= len(chunk)
    return crc


def write_container(path, kind: bytes, arrays: dict[str, np.ndarray], meta: dict | None = None):
    """Write ``arrays`` (name -> numpy array) and ``meta`` (JSON-able) as one container file."""
    w = ContainerWriter(path, kind, meta)
    for name, a in arrays.items():
        w.add(name, a)
    w.close()


class _Frame:
    """The head (header + table of contents) and footer of an unmapped container, readable like
    the mapping's buffer at those places."""

    def __init__(self, head: bytes, foot: bytes, size: int):
        self.head, self.foot, self.size = head, foot, size

    def __getitem__(self, sl: slice) -> bytes:
        if sl.start >= self.size - len(self.foot):
            a = sl.start - (self.size - len(self.foot))
            return self.foot[a:a + (sl.stop - sl.start)]
        return self.head[sl]


def _unpack_from(fmt: struct.Struct, buffer, offset: int):
    if isinstance(buffer, _Frame):
        return fmt.unpack(buffer[slice(offset, offset + fmt.size)])
    return fmt.unpack_from(buffer, offset)


class Container:
    """A read-only, mmapped container file; ``arrays[name]`` are zero-copy numpy views."""

    def __init__(self, path, kind: bytes, *, verify: bool | None = None, sparse: bool = False,
                 checked_in_pieces: bool = False):
        """``verify``: check the whole-file CRC now (True), never (False), or when the file is
        small (None: up to :data:`FULL_CHECK_BYTES`, or :data:`PIECEWISE_CHECK_BYTES` with
        ``checked_in_pieces``, said by a reader that checks every piece it reads -- arrays
        through :meth:`checked`, payloads by their own block checksums).
        ``sparse``: the caller reads a few parts of a file among many (the build's merge):
        nothing is mapped; arrays are read with pread when first asked for (``arrays`` stays
        empty until then) and :meth:`read` reads ranges. Mapping hundreds of files would make
        the kernel's fault-around pages resident in this process (~400 MB at 16x the corpus)."""
        self.path = Path(path)
        self.sparse = sparse
        self._mm = None
        try:
            f = open(self.path, "rb")
        except FileNotFoundError:
            raise CorruptIndexError(self.path, "file is missing") from None
        with f:
            size = os.fstat(f.fileno()).st_size
            if size < HEADER.size + 8 + FOOTER.size:
                raise CorruptIndexError(self.path, "file is truncated", expected=">= 36 bytes",
                                        found=f"{size} bytes")
            if sparse:
                head = os.pread(f.fileno(), HEADER.size + 12, 0)
                (toc_len,) = struct.unpack_from("<Q", head, HEADER.size)
                toc_len = min(toc_len, size)
                head = os.pread(f.fileno(), HEADER.size + 12 + toc_len, 0)
                foot = os.pread(f.fileno(), FOOTER.size, size - FOOTER.size)
                self.buffer = _Frame(head, foot, size)
            else:
                self._mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
                self.buffer = memoryview(self._mm)
        small = min(FULL_CHECK_BYTES, PIECEWISE_CHECK_BYTES) if checked_in_pieces else FULL_CHECK_BYTES
        self._check_frame(kind, size, bool(verify or (verify is None and size <= small)))
        self._read_toc()

    def _check_frame(self, kind: bytes, size: int, verify: bool) -> None:
        magic, found_kind, version = _unpack_from(HEADER, self.buffer, 0)
        if magic != MAGIC:
            raise CorruptIndexError(self.path, "not a wikisearch file", expected=MAGIC, found=magic)
        crc, length, end = _unpack_from(FOOTER, self.buffer, size - FOOTER.size)
        if end != END_MAGIC or length != size:
            raise CorruptIndexError(self.path, "footer is damaged or file is truncated",
                                    expected=f"{length} bytes", found=f"{size} bytes")
        self.crc = crc
        self.size = size
        self.verified_all = False       # the whole-file CRC was checked (then nothing else is)
        self._checked: set[str] = set()
        if verify:  # before trusting the version: a flipped bit there is damage, not a new format
            self.verify()
        if found_kind != kind:
            raise CorruptIndexError(self.path, "wrong file kind", expected=kind, found=found_kind)
        if version > VERSION:
            raise FormatTooNewError(f"{self.path} has format version {version}; this wikisearch reads "
                                    f"up to {VERSION}: upgrade wikisearch")
        if version < MIN_VERSION:
            raise FormatTooOldError(f"{self.path} has format version {version}, older than "
                                    f"{MIN_VERSION}: rebuild the index with `wikisearch index`")
        self.version = version

    def verify(self) -> None:
        """Check the whole-file CRC32; raise CorruptIndexError on mismatch.

        Reads through the file, not the mapping, so checking a large file does not make its pages
        resident in this process.
        """
        found, left = 0, self.size - FOOTER.size
        with open(self.path, "rb") as f:
            while left > 0:
                chunk = f.read(min(left, 1 << 22))
                if not chunk:
                    break
                found = crc32(chunk, found)
                left -= len(chunk)
        if found != self.crc:
            raise CorruptIndexError(self.path, "checksum mismatch", expected=f"{self.crc:08x}",
                                    found=f"{found:08x}")
        self.verified_all = True

    def _read_toc(self) -> None:
        (toc_len,) = _unpack_from(struct.Struct("<Q"), self.buffer, HEADER.size)
        start = HEADER.size + 8
        if self.version >= 2:
            (toc_crc,) = _unpack_from(struct.Struct("<I"), self.buffer, start)
            start += 4
            raw = bytes(self.buffer[start:start + toc_len])
            if crc32(raw) != toc_crc:
                raise CorruptIndexError(self.path, "table of contents is damaged (checksum mismatch)",
                                        expected=f"{toc_crc:08x}", found=f"{crc32(raw):08x}")
        try:
            toc = json.loads(bytes(self.buffer[start:start + toc_len]))
            self.meta = toc["meta"]
            self.arrays = {}
            self.offsets = {}
            self.specs = {}
            self.crcs = {}
            base = start + toc_len + _pad(start + toc_len)
            for name, dt, shape, offset, nbytes, *crc in toc["arrays"]:
                self.crcs[name] = crc[0] if crc else None
                offset += base
                if offset + nbytes > self.size - FOOTER.size:
                    raise ValueError(f"array {name} runs past the end")
                self.offsets[name] = offset
                self.specs[name] = (np.dtype(dt), tuple(shape), nbytes)
                if self.sparse:
                    continue
                a = np.frombuffer(self.buffer, dtype=np.dtype(dt), count=nbytes // np.dtype(dt).itemsize
                                  if nbytes else 0, offset=offset)
                self.arrays[name] = a.reshape(shape)
        except (ValueError, KeyError, TypeError) as e:
            raise CorruptIndexError(self.path, f"table of contents is damaged ({e})") from None

    def checked(self, name: str) -> np.ndarray:
        """Array ``name``, its CRC checked the first time it is asked for (nothing to do when
        the whole file was checked on open): for arrays read whole or at random (offsets,
        per-document columns), in a file too large to check on open."""
        a = self[name]
        if self.verified_all or name in self._checked:
            return a
        expected = self.crcs.get(name)
        if expected is not None:
            if self._mm is not None and a.nbytes > READ_CHECK_BYTES:
                found = self._crc_released(self.offsets[name], a.nbytes)
            else:
                found = crc32(memoryview(np.ascontiguousarray(a)).cast("B") if a.nbytes else b"")
            if found != expected:
                raise CorruptIndexError(self.path, f"checksum mismatch in array {name!r}",
                                        expected=f"{expected:08x}", found=f"{found:08x}")
        self._checked.add(name)
        return a

    def _crc_released(self, offset: int, nbytes: int) -> int:
        """CRC-32 of ``nbytes`` mapped bytes at ``offset``, a piece at a time, each piece's pages
        given back to the kernel after it is read (``madvise(MADV_DONTNEED)``: read-only file
        pages stay in the page cache, and a later read maps them again). Checking a large column
        (248 MB of field lengths at 7M documents) otherwise leaves all of it resident in this
        process, where a query reads a few pages: at full scale the first query's max RSS 520 ->
        ~180 MB, the check 11 ms (reading the file instead: 31 ms)."""
        view, found, end = self.buffer, 0, offset + nbytes
        page = mmap.PAGESIZE
        for a in range(offset, end, RELEASE_PIECE):
            z = min(end, a + RELEASE_PIECE)
            found = crc32(view[a:z], found)
            start = a - a % page
            try:
                self._mm.madvise(mmap.MADV_DONTNEED, start, z - start)
            except (AttributeError, OSError, ValueError):   # no madvise here: the pages stay
                pass
        return found

    def read(self, name: str, start: int, stop: int) -> np.ndarray:
        """Bytes ``[start, stop)`` of a uint8 array, read with pread (no pages mapped here)."""
        base = self.offsets[name]
        fd = os.open(self.path, os.O_RDONLY)
        try:
            data = os.pread(fd, stop - start, base + start)
        finally:
            os.close(fd)
        if len(data) != stop - start:
            raise CorruptIndexError(self.path, "file is truncated", expected=stop - start, found=len(data))
        return np.frombuffer(data, np.uint8)

    def read_rows(self, name: str, start: int, stop: int) -> np.ndarray:
        """Rows ``[start, stop)`` of a one-dimensional array, read with pread (a copy)."""
        dt, _shape, _nbytes = self.specs[name]
        return self.read(name, start * dt.itemsize, stop * dt.itemsize).view(dt)

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return self.arrays[name]
        except KeyError:
            if not self.sparse or name not in self.specs:
                raise CorruptIndexError(self.path, f"array {name!r} is missing") from None
        dt, shape, nbytes = self.specs[name]
        a = self.read(name, 0, nbytes).view(dt).reshape(shape) if nbytes else np.zeros(shape, dt)
        self.arrays[name] = a
        return a

    def forget(self) -> None:
        """A sparse container: drop the arrays read so far (asked for again, they are read
        again), so that a reader kept open does not hold every column it was once asked for."""
        if self.sparse:
            self.arrays = {}
            self._checked = set()

    def shape(self, name: str) -> tuple:
        """The shape of an array, without reading it."""
        if name not in self.specs:
            raise CorruptIndexError(self.path, f"array {name!r} is missing")
        return self.specs[name][1]

    def close(self) -> None:
        self.arrays = {}
        if self._mm is None:
            return
        self.buffer.release()
        try:
            self._mm.close()
        except BufferError:  # views still alive elsewhere; the mmap closes when they go
            pass
