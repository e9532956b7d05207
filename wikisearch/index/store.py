"""store: the documents' field texts (``store.bin``, STOR), compressed in blocks of documents with
zstd and a shared dictionary, random access kept (snippets, phrase checks, ``Searcher.doc``).

A store block is a run of whole documents (each its fields joined by U+001F, UTF-8) compressed as
one zstd frame. Where a block ends is decided by the documents alone, never by where the build cut
the dump: a block ends after a document with probability ``len(doc) / STORE_BLOCK_BYTES`` (by the
CRC-32 of its bytes), so blocks hold ~16 KiB and the merged store is the same bytes whatever the
dump blocks or worker count were. Small blocks keep a fetch cheap (one ~16 KiB frame decompressed
per document read); the zstd *dictionary* (trained once from real articles, shipped with the
package per language, :func:`shipped_dictionary`; a copy is kept in the store) gives small frames
the shared context that long blocks would otherwise provide. A segment's last block may be *open* (its run goes on in the
next segment); the merge decompresses the open tail and the next segment's first block and
compresses them as one, and copies every other block as it is.

Format 10: before zstd, each document's prefix and rest go through the *word transform*
(:mod:`wikisearch.index.wordcode`: frequent words -> 1-3 byte codes of a codebook shipped per
language, a copy kept in the store as its ``words`` array), and the zstd dictionary was trained
on transformed text: ~29 % of the input text stored on the 30k real articles, against ~35 %
without (``benchmarks/bench_store_frontier.py``). ``prefix_ends`` and ``doc_ends`` then count
transformed bytes, and a document read is its transformed bytes decoded.

A snippet reads the beginning of a document's prose only, so a block keeps its documents'
*prefixes* first (each document's bytes up to the end of its first ``prefix_chars`` characters of
prose: :func:`prefix_end`), then their *rests*; the compressor ends a zstd block where the prefixes
end, so :meth:`StoreReader.doc_prefix` decodes the frame's first ``prefix_bytes`` bytes only
(format 7; ~1/4 of a block's text on the 30k articles at 4,000 characters, for ~0.6 % more bytes).

Arrays: ``block_offsets`` (uint64[B+1], byte offsets of the frames in ``data``), ``block_docs``
(uint64[B+1], the first docid of each block), ``prefix_ends`` (uint32[N], the end of each
document's prefix in its block's uncompressed bytes, the prefixes first; it starts where the one
before it in the block ends, or at 0), ``doc_ends`` (uint32[N], the end of each document's rest in
its block's uncompressed bytes: the rests follow the prefixes, a block's first rest starts where
its last prefix ends), ``prefix_bytes`` (uint32[B], how many of a frame's first bytes decode its
prefixes), ``prefix_crc`` (uint32[B], their CRC-32), ``block_crc`` (uint32[B], CRC-32 of each
frame), ``data``, ``dictionary`` (uint8[D]: the zstd dictionary every frame was compressed with;
D = 0: none; format 5 stores lack the array and mean none). Format 5 and 6 stores lack the three
prefix arrays: a document is then its rest (its prefix empty), read whole. Meta: ``compression``
("zstd"), ``level``, ``n_docs``, ``open_tail``, ``dictionary_id`` (the dictionary's zstd id, 0 for
none), ``prefix_chars`` (format 7), ``words`` (format 10: the codebook's word count, 0 for none).
"""
from __future__ import annotations

from array import array
from bisect import bisect_right
from functools import lru_cache
from pathlib import Path

import numpy as np

from wikisearch.config import FIELDS
from wikisearch.errors import CorruptIndexError
from wikisearch.fileio import crc32
from wikisearch.index import wordcode, zstd
from wikisearch.index.container import ContainerWriter, write_container

SEP_FIELD = "\x1f"
STORE_BLOCK_BYTES = 16 << 10
#: Characters of a document's prose (its opening, then its body) kept at the front of its store
#: block, apart from the rest of its text: what a snippet scans for its window
#: (``search.snippets.SCAN_CHARS`` is this), read without decoding the rest.
PREFIX_CHARS = 4_000
#: zstd level without a dictionary (languages that ship none). Readers do not depend on it.
LEVEL = 6
#: zstd level with a dictionary. With the dictionary and ~16 KiB blocks, level 6 kept less of the
#: 30k articles' text than level 9 did with ~128 KiB blocks and no dictionary, compressing as fast,
#: and a fetch decompresses ~8x fewer bytes (benchmarks/bench_store.py). Session 11: the 256 KiB
#: dictionary at level 5 keeps less of the text than the 112 KiB one did at level 6, at ~3/4 of its
#: compression CPU and the same read CPU (benchmarks/results/full-scale.md). Readers do not depend on it.
DICT_LEVEL = 5
COMPRESSION = "zstd"
#: Shipped dictionaries: ``wikisearch/data/store-dict-{language}.zstd`` (``benchmarks/train_store_dict.py``).
DICTIONARY_FILE = "store-dict-{}.zstd"
#: Shipped word codebooks (format 10): ``wikisearch/data/store-words-{language}.zstd``.
WORDS_FILE = wordcode.WORDS_FILE


def _shipped(name: str, language: str | None) -> bytes:
    if not language or not language.isalnum():
        return b""
    from importlib import resources           # (only a build reads it: ~0.03 s of imports)
    f = resources.files("wikisearch").joinpath("data", name.format(language.lower()))
    return f.read_bytes() if f.is_file() else b""


@lru_cache(maxsize=None)
def shipped_dictionary(language: str | None) -> bytes:
    """The zstd dictionary shipped for ``language`` (ISO code), or b"" when there is none."""
    return _shipped(DICTIONARY_FILE, language)


@lru_cache(maxsize=None)
def shipped_words(language: str | None) -> bytes:
    """The word codebook shipped for ``language`` (:mod:`wordcode`'s packed form), or b"" when
    there is none (its stores are not word-coded)."""
    return _shipped(WORDS_FILE, language)


def dictionary_id(dictionary: bytes) -> int:
    """A zstd dictionary's id (0: no dictionary)."""
    if not dictionary:
        return 0
    import zstandard
    return zstandard.ZstdCompressionDict(dictionary).dict_id()


def encode_doc(field_texts: list[str]) -> bytes:
    """A document's stored bytes: its field texts joined by U+001F."""
    return SEP_FIELD.join(field_texts).encode("utf-8", "surrogatepass")


def decode_doc(raw: bytes) -> list[str]:
    return raw.decode("utf-8", "surrogatepass").split(SEP_FIELD)


_SEP = SEP_FIELD.encode()
_OPENING, _BODY = FIELDS.index("opening"), FIELDS.index("body")
_CONTINUATION = bytes(range(0x80, 0xC0))        # UTF-8 bytes that do not start a character


def _char_end(doc: bytes, a: int, z: int, chars: int) -> tuple[int, int]:
    """(e, left): where the first ``chars`` characters of ``doc[a:z]`` (UTF-8) end (``z`` when it
    holds fewer), and how many of ``chars`` it lacks."""
    e, left = a, chars
    while left > 0 and e < z:
        f = min(z, e + left)                    # (a character takes a byte at least)
        left -= len(doc[e:f].translate(None, _CONTINUATION))     # characters starting in [e, f)
        e = f
    while e < z and doc[e] & 0xC0 == 0x80:      # the last one's continuation bytes
        e += 1
    return e, left


def prefix_end(doc: bytes, chars: int = PREFIX_CHARS) -> int:
    """Where a document's *prefix* ends in its stored bytes (:func:`encode_doc`): after the first
    ``chars`` characters of its prose as ``search.results.article_text`` joins it (the opening,
    "\\n\\n", the body), and after the body's first character at least where it has one (so a
    prefix tells a cut body from an empty one); the whole document when it has fewer fields than
    ``config.FIELDS`` up to the body.

    >>> doc = encode_doc(["T", "", "Open", "", "Body text", "", "", "", ""])
    >>> doc[:prefix_end(doc, 8)]
    b'T\\x1f\\x1fOpen\\x1f\\x1fBo'
    """
    seps, p = [], -1
    while len(seps) <= _BODY:
        p = doc.find(_SEP, p + 1)
        if p < 0:
            break
        seps.append(p)
    if len(seps) < _BODY:
        return len(doc)
    oa, oz, ba = seps[_OPENING - 1] + 1, seps[_OPENING], seps[_BODY - 1] + 1
    bz = seps[_BODY] if len(seps) > _BODY else len(doc)
    e, left = _char_end(doc, oa, oz, chars)
    if e < oz:                                  # the opening alone holds them
        return e
    if oz > oa and bz > ba:                     # article_text's "\n\n"
        left = max(0, left - 2)
    return _char_end(doc, ba, bz, max(left, 1))[0]


def ends_block(doc: bytes) -> bool:
    """Does a store block end after this document? (content-defined: ~1 cut per STORE_BLOCK_BYTES)."""
    return crc32(doc) * STORE_BLOCK_BYTES < len(doc) << 32


def _compressor(dictionary: bytes):
    import zstandard
    if not dictionary:
        return zstandard.ZstdCompressor(level=LEVEL, write_checksum=False, write_content_size=True)
    d = zstandard.ZstdCompressionDict(dictionary)
    d.precompute_compress(level=DICT_LEVEL)
    return zstandard.ZstdCompressor(level=DICT_LEVEL, dict_data=d, write_checksum=False,
                                    write_content_size=True, write_dict_id=True)


def store_words(s) -> bytes:
    """The packed word codebook a STOR container's documents were coded with (b"": none)."""
    if "words" not in s.specs:
        return b""
    return np.asarray(s.checked("words")).tobytes()


def store_codebook(s) -> wordcode.Codebook | None:
    """The codebook of a STOR container (None: its documents are not word-coded)."""
    words = store_words(s)
    if not words:
        return None
    try:
        return wordcode.codebook(words)
    except ValueError as e:
        raise CorruptIndexError(s.path, f"the stored text's word list is damaged ({e})") from None


def store_dictionary(s) -> bytes:
    """The dictionary a STOR container's frames were compressed with (b"" for none)."""
    if "dictionary" not in s.specs:
        return b""
    return np.asarray(s.checked("dictionary")).tobytes()


class _Blocks:
    """Accumulates compressed blocks and their arrays (in runs of blocks: the merge adds a
    segment's closed blocks as one run, so nothing is kept per block as a Python object)."""

    def __init__(self, dictionary: bytes = b"", prefix_chars: int = PREFIX_CHARS, words: bytes = b""):
        self.dictionary, self.prefix_chars, self.words = dictionary, prefix_chars, words
        self.coder = wordcode.codebook(words) if words else None
        self.comp = _compressor(dictionary)
        self.sizes: list[np.ndarray] = []      # frame lengths, per run
        self.counts: list[np.ndarray] = []     # documents per block, per run
        self.ends: list[np.ndarray] = []       # doc_ends, per run
        self.crcs: list[np.ndarray] = []
        self.prefix_ends: list[np.ndarray] = []
        self.prefix_bytes: list[np.ndarray] = []
        self.prefix_crcs: list[np.ndarray] = []

    def add(self, docs: list[bytes]) -> bytes:
        """A block of ``docs`` (their stored bytes): the prefixes, then the rests, one frame whose
        first zstd block(s) hold the prefixes alone (the compressor flushes a block there); each
        prefix and rest word-coded first when the store has a codebook."""
        import zstandard
        cuts = [prefix_end(d, self.prefix_chars) for d in docs]
        heads = [d[:c] for d, c in zip(docs, cuts)]
        rests = [d[c:] for d, c in zip(docs, cuts)]
        if self.coder is not None:
            heads = self.coder.encode_many(heads)
            rests = self.coder.encode_many(rests)
            cuts = [len(h) for h in heads]
        prefixes = b"".join(heads)
        rest = b"".join(rests)
        co = self.comp.compressobj(size=len(prefixes) + len(rest))
        first = co.compress(prefixes) + co.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK) if prefixes else b""
        frame = first + co.compress(rest) + co.flush()
        self.add_frames(np.asarray([len(frame)], np.uint64), np.asarray([crc32(frame)], np.uint32),
                        np.asarray([len(docs)], np.uint64),
                        len(prefixes) + np.cumsum([len(r) for r in rests], dtype=np.int64),
                        np.cumsum(cuts, dtype=np.int64), np.asarray([len(first)], np.uint32),
                        np.asarray([crc32(first)], np.uint32))
        return frame

    def add_frames(self, frame_lens: np.ndarray, crcs: np.ndarray, counts: np.ndarray,
                   doc_ends: np.ndarray, prefix_ends: np.ndarray, prefix_bytes: np.ndarray,
                   prefix_crcs: np.ndarray) -> None:
        """Blocks already compressed: their frame lengths, CRCs, document counts, the documents'
        rest and prefix ends within their blocks (joined), the bytes and CRC-32 of each frame's
        part that decodes its prefixes."""
        self.sizes.append(np.asarray(frame_lens, np.uint64))
        self.crcs.append(np.asarray(crcs, np.uint32))
        self.counts.append(np.asarray(counts, np.uint64))
        self.ends.append(np.asarray(doc_ends, np.uint32))
        self.prefix_ends.append(np.asarray(prefix_ends, np.uint32))
        self.prefix_bytes.append(np.asarray(prefix_bytes, np.uint32))
        self.prefix_crcs.append(np.asarray(prefix_crcs, np.uint32))

    def arrays(self) -> dict:
        def cum(parts):
            out = np.zeros(1 + sum(len(p) for p in parts), np.uint64)
            if len(out) > 1:
                np.cumsum(np.concatenate(parts), out=out[1:])
            return out

        def joined(parts):
            return np.concatenate(parts) if parts else np.zeros(0, np.uint32)
        return {"block_offsets": cum(self.sizes), "block_docs": cum(self.counts),
                "prefix_ends": joined(self.prefix_ends), "doc_ends": joined(self.ends),
                "prefix_bytes": joined(self.prefix_bytes), "prefix_crc": joined(self.prefix_crcs),
                "block_crc": joined(self.crcs), "dictionary": np.frombuffer(self.dictionary, np.uint8),
                "words": np.frombuffer(self.words, np.uint8)}

    def meta(self, n_docs: int, open_tail: bool) -> dict:
        return {"n_docs": n_docs, "compression": COMPRESSION,
                "level": DICT_LEVEL if self.dictionary else LEVEL, "open_tail": open_tail,
                "dictionary_id": dictionary_id(self.dictionary), "prefix_chars": self.prefix_chars,
                "words": self.coder.n_words if self.coder is not None else 0}


def write_store(path, docs: list[bytes], dictionary: bytes = b"", prefix_chars: int = PREFIX_CHARS,
                words: bytes = b"") -> None:
    """A segment's ``store.bin`` from its documents' bytes (:func:`encode_doc`), in docid order,
    word-coded with the packed codebook ``words`` (b"": not coded) and compressed with the zstd
    ``dictionary`` (b"": none), each document's prefix of ``prefix_chars`` characters of prose
    first in its block."""
    blocks = _Blocks(dictionary, prefix_chars, words)
    frames, cur = [], []
    for d in docs:
        cur.append(d)
        if ends_block(d):
            frames.append(blocks.add(cur))
            cur = []
    open_tail = bool(cur)
    if cur:
        frames.append(blocks.add(cur))
    write_container(path, b"STOR", {**blocks.arrays(), "data": np.frombuffer(b"".join(frames), np.uint8)},
                    meta=blocks.meta(len(docs), open_tail))


def _block_docs(raw: bytes, prefix_ends: np.ndarray, doc_ends: np.ndarray, coder=None) -> list[bytes]:
    """The documents of a block's uncompressed bytes ``raw`` (its documents' ends, as the store's
    ``prefix_ends`` and ``doc_ends`` give them; ``prefix_ends`` None: a store without prefixes),
    decoded with the store's codebook ``coder`` (None: not coded)."""
    rz = doc_ends.tolist()
    if prefix_ends is None:
        docs = [raw[a:z] for a, z in zip([0] + rz[:-1], rz)]
    else:
        pz = prefix_ends.tolist()
        docs = [raw[pa:z] + raw[ra:y] for pa, z, ra, y in zip([0] + pz[:-1], pz, pz[-1:] + rz[:-1], rz)]
    return docs if coder is None else [coder.decode(d) for d in docs]


def merge_stores(stores: list, path: Path) -> None:
    """Join the segments' stores (their STOR containers, in docid order, all compressed with the
    same dictionary and word-coded with the same codebook) into one: closed blocks are copied file
    to file, an open tail is joined with the next segment's first block (a store of another
    layout, without prefixes or with another ``prefix_chars``, has each block recompressed)."""
    joined_path = Path(path).with_name(Path(path).name + ".joined")
    first = store_dictionary(stores[0]) if stores else b""
    words = store_words(stores[0]) if stores else b""
    for s in stores[1:]:        # (one dictionary held at a time: ~550 segments of 256 KiB at full scale)
        d, w = store_dictionary(s), store_words(s)
        s.forget()
        if d != first:
            raise CorruptIndexError(s.path, "its stored text uses another zstd dictionary than the "
                                    "first segment's", expected=dictionary_id(first),
                                    found=dictionary_id(d))
        if w != words:
            raise CorruptIndexError(s.path, "its stored text uses another word list than the first "
                                    "segment's", expected=f"{len(words)} bytes", found=f"{len(w)} bytes")
    blocks = _Blocks(first, words=words)
    ranges: list = []
    pending: list[bytes] = []
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
            same = int(s.meta.get("prefix_chars", 0)) == blocks.prefix_chars
            pe = np.asarray(s.checked("prefix_ends"), np.uint32) if "prefix_ends" in s.specs else None
            if same:
                pb = np.asarray(s.checked("prefix_bytes"), np.uint32)
                pc = np.asarray(s.checked("prefix_crc"), np.uint32)
            nb = len(bo) - 1
            n_docs += int(s.meta["n_docs"])
            base = s.offsets["data"]
            tail_open = bool(s.meta["open_tail"]) and nb > 0
            b = 0
            while b < nb:
                closed = not (b == nb - 1 and tail_open)
                if same and not pending and closed:  # closed blocks b..e-1: copied file to file
                    e = nb - 1 if tail_open else nb
                    blocks.add_frames(np.diff(bo[b:e + 1]), crc[b:e], np.diff(bd[b:e + 1]), de[bd[b]:bd[e]],
                                      pe[bd[b]:bd[e]], pb[b:e], pc[b:e])
                    copy(s.path, base + int(bo[b]), int(bo[e] - bo[b]))
                    b = e
                    continue
                raw = read_block(s, b, blocks.dictionary)
                try:
                    pending += _block_docs(raw, None if pe is None else pe[bd[b]:bd[b + 1]],
                                           de[bd[b]:bd[b + 1]], blocks.coder)
                except ValueError as e:
                    raise CorruptIndexError(s.path, f"stored-text block {b} is damaged ({e})") from None
                if closed:
                    frame = blocks.add(pending)
                    copy(joined_path, joined.tell(), len(frame))
                    joined.write(frame)
                    pending = []
                b += 1
            del bo, bd, de, crc, pe
            if same:
                del pb, pc
            s.forget()
        open_tail = bool(pending)
        if pending:
            frame = blocks.add(pending)
            copy(joined_path, joined.tell(), len(frame))
            joined.write(frame)
    try:
        w = ContainerWriter(path, b"STOR", meta=blocks.meta(n_docs, open_tail))
        for name, arr in blocks.arrays().items():
            w.add(name, arr)
        w.add_file_ranges("data", ranges)
        w.close()
    finally:
        joined_path.unlink(missing_ok=True)


def read_block(s, b: int, dictionary: bytes | None = None) -> bytes:
    """Block ``b`` of a STOR container, checksum-verified and decompressed (``dictionary``: the
    container's, :func:`store_dictionary`; read from it when None): word-coded documents in a
    format 10 store (:func:`store_codebook` decodes them)."""
    a, z = s.checked("block_offsets")[b:b + 2].tolist()
    # the frame as the file holds it (a view of the mapped file, or the bytes read): the
    # checksum and zstd read it where it is, without a copy
    frame = s.read("data", a, z) if getattr(s, "sparse", False) else s["data"][a:z]
    _check_frame(s, b, frame, s.checked("block_crc"))
    try:
        return zstd.decompress(frame, store_dictionary(s) if dictionary is None else dictionary)
    except Exception as e:   # zstandard.ZstdError
        raise CorruptIndexError(s.path, f"stored-text block {b} is damaged ({e})") from None


def _check_frame(s, b: int, frame, crcs) -> None:
    """Block ``b``'s frame against its CRC-32 (``crcs``: the container's checked ``block_crc``)."""
    crc = crc32(frame)
    if crc != crcs[b]:
        raise CorruptIndexError(s.path, f"checksum mismatch in stored-text block {b}",
                                expected=f"{int(crcs[b]):08x}", found=f"{crc:08x}")


class StoreReader:
    """Random access to one STOR container: a document = its block decompressed (the last block
    read is kept: a snippet pass reads neighbours), then its prefix and its rest joined; a
    document's prefix alone (:meth:`doc_prefix`) = the part of its block's frame that holds the
    prefixes decompressed."""

    def __init__(self, container):
        self.c = container
        if container.meta.get("compression") != COMPRESSION:
            raise CorruptIndexError(container.path, "stored text is not in zstd blocks",
                                    expected=COMPRESSION, found=container.meta.get("compression"))
        # the tables are checked once (their CRCs); each frame has its own
        self.block_docs = np.asarray(container.checked("block_docs"), np.int64)
        # (bisect over a Python array: ~1 us a look-up, numpy's searchsorted of one int ~7)
        self._block_docs = array("q", self.block_docs.tobytes())
        self.doc_ends = container.checked("doc_ends")
        prefixed = "prefix_ends" in container.specs
        #: characters of prose each document's prefix holds (0: a store without prefixes, format 5-6)
        self.prefix_chars = int(container.meta.get("prefix_chars", 0)) if prefixed else 0
        self.prefix_ends = container.checked("prefix_ends") if prefixed else None
        self.dictionary = store_dictionary(container)
        self._coded = "words" in container.specs and container.shape("words")[0] > 0
        self._coder = None          # (loaded at the first read: ~30 ms, kept out of an index's open)
        self._last: tuple[int, bytes, bool] | None = None       # (block, its bytes, all of them?)
        # a mapped file's frames go to libzstd by address (:meth:`_block`)
        self._data = None if getattr(container, "sparse", False) else container["data"]
        self._data_at = self._data.ctypes.data if self._data is not None else 0
        self._offsets = self._crcs = self._prefix_bytes = None     # (checked at the first read)

    def _decoder(self):
        """libzstd's decoder for this store's frames where they are mapped, else None."""
        if not self.dictionary or self._data is None:
            return None
        dec = zstd.frame_decoder(self.dictionary)
        if dec is not None and self._offsets is None:     # (the one tested last: other threads)
            self._crcs = self.c.checked("block_crc")
            self._offsets = self.c.checked("block_offsets")
        return dec

    def _block(self, b: int) -> bytes:
        """:func:`read_block` of block ``b``: the same checks and bytes, a mapped frame handed
        to libzstd by its address (no array made for it)."""
        dec = self._decoder()
        if dec is None:
            return read_block(self.c, b, self.dictionary)
        a, z = self._offsets[b:b + 2].tolist()
        _check_frame(self.c, b, self._data[a:z], self._crcs)
        try:
            out = dec.decompress_at(self._data_at + a, z - a)
        except ValueError as e:
            raise CorruptIndexError(self.c.path, f"stored-text block {b} is damaged ({e})") from None
        return read_block(self.c, b, self.dictionary) if out is None else out

    def _prefixes(self, b: int, size: int) -> bytes:
        """Block ``b``'s prefixes, its first ``size`` uncompressed bytes: the frame's first
        ``prefix_bytes`` decompressed after their CRC-32 check (``prefix_crc``), or, where libzstd
        cannot stop there, the whole block's first bytes."""
        dec = self._decoder()
        if dec is None or not dec.stops():
            return self._block(b)[:size]
        if self._prefix_bytes is None:      # (the one tested last: other threads)
            self._prefix_crc = self.c.checked("prefix_crc")
            self._prefix_bytes = self.c.checked("prefix_bytes")
        a, z = self._offsets[b:b + 2].tolist()
        n = self._prefix_bytes[b].item()
        if n > z - a:
            raise CorruptIndexError(self.c.path, f"stored-text block {b}'s prefixes lie outside its frame",
                                    expected=f"at most {z - a} bytes", found=n)
        crc = crc32(self._data[a:a + n])
        if crc != self._prefix_crc[b]:
            raise CorruptIndexError(self.c.path, f"checksum mismatch in stored-text block {b} (its prefixes)",
                                    expected=f"{int(self._prefix_crc[b]):08x}", found=f"{crc:08x}")
        total = self.doc_ends[self._block_docs[b + 1] - 1].item()     # the block's bytes
        if total >= zstd.FRAME_MAX:
            return self._block(b)[:size]
        try:
            return dec.decompress_part_at(self._data_at + a, n, size, total)
        except ValueError:
            # the prefixes' CRC matched, so the bytes are as written: decode the whole frame with a
            # fresh decoder (it checks the whole frame's CRC; a damaged frame raises there)
            zstd.forget_frame_decoder(self.dictionary)
            return self._block(b)[:size]

    def _read(self, docid: int, whole: bool) -> tuple[int, bytes]:
        """(block, its bytes): all of them (``whole``) or at least its prefixes."""
        b = bisect_right(self._block_docs, docid) - 1
        last = self._last
        if last is not None and last[0] == b and (last[2] or not whole):
            return b, last[1]
        if whole:
            raw = self._block(b)
        else:
            size = self.prefix_ends[self._block_docs[b + 1] - 1].item()
            raw = self._prefixes(b, size) if size else b""
            if len(raw) != size:
                raise CorruptIndexError(self.c.path, f"stored-text block {b} is damaged",
                                        expected=f"{size} bytes of prefixes", found=len(raw))
        self._last = (b, raw, whole)
        return b, raw

    def _bounds(self, docid: int, b: int, n: int, whole: bool) -> tuple[int, int, int, int]:
        """(prefix start, prefix end, rest start, rest end) of ``docid`` in block ``b``'s bytes
        (``n`` of them read; the rest's ends not looked at unless ``whole``), checked: the
        tables are outside the frames' checksums."""
        first = docid == self._block_docs[b]
        pe, de = self.prefix_ends, self.doc_ends
        if pe is None:
            pa = pz = 0
        else:
            pa, pz = (0, pe[docid].item()) if first else pe[docid - 1:docid + 1].tolist()
        if whole:
            rz = de[docid].item()
            ra = (pz if pe is None else pe[self._block_docs[b + 1] - 1].item()) if first else de[docid - 1].item()
        else:
            ra = rz = pz
        if not 0 <= pa <= pz <= ra <= rz <= n:
            raise CorruptIndexError(self.c.path, f"stored document {docid} lies outside its block {b}",
                                    expected=f"[{pa}, {pz}) and [{ra}, {rz}) within {n} bytes", found="no")
        return pa, pz, ra, rz

    @property
    def coder(self) -> wordcode.Codebook | None:
        """The word codebook the documents were coded with (None: not coded; before format 10)."""
        if self._coded and self._coder is None:
            self._coder = store_codebook(self.c)
        return self._coder

    def _decode(self, docid: int, b: int, coded: bytes) -> bytes:
        if not self._coded:
            return coded
        try:
            return self.coder.decode(coded)
        except ValueError as e:
            raise CorruptIndexError(self.c.path, f"stored document {docid} in block {b} is damaged ({e})") from None

    def doc(self, docid: int) -> bytes:
        b, raw = self._read(docid, True)
        pa, pz, ra, rz = self._bounds(docid, b, len(raw), True)
        return self._decode(docid, b, raw[ra:rz] if pa == pz else raw[pa:pz] + raw[ra:rz])

    def doc_prefix(self, docid: int) -> bytes:
        """The first bytes of :meth:`doc`, up to where its first ``prefix_chars`` characters of
        prose end (:func:`prefix_end`), read without decompressing the block's rests; the whole
        document in a store without prefixes."""
        if self.prefix_ends is None:
            return self.doc(docid)
        b, raw = self._read(docid, False)
        pa, pz, _, _ = self._bounds(docid, b, len(raw), False)
        return self._decode(docid, b, raw[pa:pz])
