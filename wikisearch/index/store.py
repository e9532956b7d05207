"""store: the documents' field texts (``store.bin``, STOR), compressed in blocks of documents with
zstd, random access kept (snippets, phrase checks, ``Searcher.doc``).

A store block is a run of whole documents (each its fields joined by U+001F, UTF-8) compressed as
one zstd frame. Where a block ends is decided by the documents alone, never by where the build cut
the dump: a block ends after a document with probability ``len(doc) / STORE_BLOCK_BYTES`` (by the
CRC-32 of its bytes), so blocks hold ~128 KiB and the merged store is the same bytes whatever the
dump blocks or worker count were. A segment's last block may be *open* (its run goes on in the
next segment); the merge decompresses the open tail and the next segment's first block and
compresses them as one, and copies every other block as it is.

Arrays: ``block_offsets`` (uint64[B+1], byte offsets of the frames in ``data``), ``block_docs``
(uint64[B+1], the first docid of each block), ``doc_ends`` (uint32[N], the end of each document in
its block's uncompressed bytes; it starts where the one before it in the block ends, or at 0),
``block_crc`` (uint32[B], CRC-32 of each frame), ``data``. Meta: ``compression`` ("zstd"),
``level``, ``n_docs``, ``open_tail``.
"""
from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np

from wikisearch.errors import CorruptIndexError
from wikisearch.index.container import ContainerWriter, write_container

SEP_FIELD = "\x1f"
STORE_BLOCK_BYTES = 128 << 10
#: zstd level: 9 keeps 0.3578 of the 30k articles' text (level 6: 0.3628) at the same cost per fetch
#: (a fetch decompresses one ~128 KiB block: 0.25 ms of CPU either way), compressing at ~0.6x the speed.
#: Readers do not depend on it: any level decodes the same.
LEVEL = 9
COMPRESSION = "zstd"


def encode_doc(field_texts: list[str]) -> bytes:
    """A document's stored bytes: its field texts joined by U+001F."""
    return SEP_FIELD.join(field_texts).encode("utf-8", "surrogatepass")


def decode_doc(raw: bytes) -> list[str]:
    return raw.decode("utf-8", "surrogatepass").split(SEP_FIELD)


def ends_block(doc: bytes) -> bool:
    """Does a store block end after this document? (content-defined: ~1 cut per 128 KiB)."""
    return zlib.crc32(doc) * STORE_BLOCK_BYTES < len(doc) << 32


def _compressor():
    import zstandard
    return zstandard.ZstdCompressor(level=LEVEL, write_checksum=False, write_content_size=True)


def _decompress(frame: bytes) -> bytes:
    import zstandard
    return zstandard.ZstdDecompressor().decompress(frame)


class _Blocks:
    """Accumulates compressed blocks and their arrays."""

    def __init__(self):
        self.comp = _compressor()
        self.frames: list[bytes] = []
        self.sizes, self.docs, self.ends, self.crcs = [0], [0], [], []

    def add(self, raw: bytes, doc_ends: np.ndarray) -> bytes:
        frame = self.comp.compress(raw)
        self.add_frame(frame, zlib.crc32(frame), doc_ends)
        return frame

    def add_frame(self, frame_len_or_frame, crc: int, doc_ends: np.ndarray) -> None:
        n = frame_len_or_frame if isinstance(frame_len_or_frame, int) else len(frame_len_or_frame)
        self.sizes.append(self.sizes[-1] + n)
        self.docs.append(self.docs[-1] + len(doc_ends))
        self.ends.append(np.asarray(doc_ends, np.uint32))
        self.crcs.append(crc)

    def arrays(self) -> dict:
        return {"block_offsets": np.asarray(self.sizes, np.uint64), "block_docs": np.asarray(self.docs, np.uint64),
                "doc_ends": np.concatenate(self.ends) if self.ends else np.zeros(0, np.uint32),
                "block_crc": np.asarray(self.crcs, np.uint32)}


def write_store(path, docs: list[bytes]) -> None:
    """A segment's ``store.bin`` from its documents' bytes (:func:`encode_doc`), in docid order."""
    blocks = _Blocks()
    frames, cur = [], []
    for d in docs:
        cur.append(d)
        if ends_block(d):
            frames.append(blocks.add(b"".join(cur), np.cumsum([len(x) for x in cur])))
            cur = []
    open_tail = bool(cur)
    if cur:
        frames.append(blocks.add(b"".join(cur), np.cumsum([len(x) for x in cur])))
    write_container(path, b"STOR", {**blocks.arrays(), "data": np.frombuffer(b"".join(frames), np.uint8)},
                    meta={"n_docs": len(docs), "compression": COMPRESSION, "level": LEVEL,
                          "open_tail": open_tail})


def merge_stores(stores: list, path: Path) -> None:
    """Join the segments' stores (their STOR containers, in docid order) into one: closed blocks are
    copied file to file, an open tail is joined with the next segment's first block."""
    joined_path = Path(path).with_name(Path(path).name + ".joined")
    blocks = _Blocks()
    ranges: list = []
    pending, pending_ends = b"", []
    n_docs = 0

    def copy(p, a, n):
        if ranges and ranges[-1][0] == p and ranges[-1][1] + ranges[-1][2] == a:
            ranges[-1] = (p, ranges[-1][1], ranges[-1][2] + n)
        else:
            ranges.append((p, a, n))

    with open(joined_path, "wb") as joined:
        for s in stores:
            bo = np.asarray(s.checked("block_offsets"), np.int64)
            bd = np.asarray(s.checked("block_docs"), np.int64)
            de = np.asarray(s.checked("doc_ends"), np.uint32)
            crc = np.asarray(s.checked("block_crc"), np.uint32)
            nb = len(bo) - 1
            n_docs += int(s.meta["n_docs"])
            base = s.offsets["data"]
            for b in range(nb):
                closed = not (b == nb - 1 and s.meta["open_tail"])
                ends = de[bd[b]:bd[b + 1]]
                if not pending_ends and closed:
                    blocks.add_frame(int(bo[b + 1] - bo[b]), int(crc[b]), ends)
                    copy(s.path, base + int(bo[b]), int(bo[b + 1] - bo[b]))
                    continue
                raw = read_block(s, b)
                pending_ends.append(ends.astype(np.int64) + len(pending))
                pending += raw
                if closed:
                    frame = blocks.add(pending, np.concatenate(pending_ends))
                    copy(joined_path, joined.tell(), len(frame))
                    joined.write(frame)
                    pending, pending_ends = b"", []
        open_tail = bool(pending_ends)
        if pending_ends:
            frame = blocks.add(pending, np.concatenate(pending_ends))
            copy(joined_path, joined.tell(), len(frame))
            joined.write(frame)
    try:
        w = ContainerWriter(path, b"STOR", meta={"n_docs": n_docs, "compression": COMPRESSION,
                                                 "level": LEVEL, "open_tail": open_tail})
        for name, arr in blocks.arrays().items():
            w.add(name, arr)
        w.add_file_ranges("data", ranges)
        w.close()
    finally:
        joined_path.unlink(missing_ok=True)


def read_block(s, b: int) -> bytes:
    """Block ``b`` of a STOR container, checksum-verified and decompressed."""
    bo = s.checked("block_offsets")
    a, z = int(bo[b]), int(bo[b + 1])
    frame = s.read("data", a, z) if getattr(s, "sparse", False) else s["data"][a:z]
    frame = np.asarray(frame).tobytes()
    crc = zlib.crc32(frame)
    if crc != int(s.checked("block_crc")[b]):
        raise CorruptIndexError(s.path, f"checksum mismatch in stored-text block {b}",
                                expected=f"{int(s['block_crc'][b]):08x}", found=f"{crc:08x}")
    try:
        return _decompress(frame)
    except Exception as e:   # zstandard.ZstdError
        raise CorruptIndexError(s.path, f"stored-text block {b} is damaged ({e})") from None


class StoreReader:
    """Random access to one STOR container: a document = its block decompressed (the last block
    read is kept: a snippet pass reads neighbours), then a slice."""

    def __init__(self, container):
        self.c = container
        if container.meta.get("compression") != COMPRESSION:
            raise CorruptIndexError(container.path, "stored text is not in zstd blocks",
                                    expected=COMPRESSION, found=container.meta.get("compression"))
        # the tables are checked once (their CRCs); each frame has its own
        self.block_docs = np.asarray(container.checked("block_docs"), np.int64)
        self.doc_ends = container.checked("doc_ends")
        self._last: tuple[int, bytes] | None = None

    def doc(self, docid: int) -> bytes:
        b = int(np.searchsorted(self.block_docs, docid, side="right")) - 1
        last = self._last
        if last is not None and last[0] == b:
            raw = last[1]
        else:
            raw = read_block(self.c, b)
            self._last = (b, raw)
        first = int(self.block_docs[b])
        start = 0 if docid == first else int(self.doc_ends[docid - 1])
        end = int(self.doc_ends[docid])
        if not 0 <= start <= end <= len(raw):     # the tables are outside the frames' checksums
            raise CorruptIndexError(self.c.path, f"stored document {docid} lies outside its block {b}",
                                    expected=f"[{start}, {end}) within {len(raw)} bytes", found="no")
        return raw[start:end]
