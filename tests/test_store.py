"""store.bin: zstd blocks of documents, random access, and a merge that leaves no trace of where
the dump was cut."""
from __future__ import annotations

import random

import numpy as np
import pytest

from wikisearch.errors import CorruptIndexError
from wikisearch.index.container import Container
from wikisearch.index.container import write_container
from wikisearch.config import FIELDS
from wikisearch.index.store import (PREFIX_CHARS, STORE_BLOCK_BYTES, StoreReader, dictionary_id, encode_doc,
                                    ends_block, merge_stores, prefix_end, shipped_dictionary, shipped_words,
                                    write_store)


def _docs(seed: int, n: int) -> list[bytes]:
    rng = random.Random(seed)
    words = ["alpha", "beta", "gamma", "délta", "日本", "\ud800", "x" * 50, "The", "the", "CITY", "\x04", "\x7f"]
    out = []
    for _ in range(n):
        k = rng.choice([0, 1, 5, 200, 2000, 20000])
        out.append(encode_doc([" ".join(rng.choice(words) for _ in range(k)), "", "t"]))
    return out


def _open(path):
    return Container(path, b"STOR", verify=True)


def test_round_trip_and_random_access(tmp_path):
    docs = _docs(1, 300)
    write_store(tmp_path / "s.bin", docs)
    c = _open(tmp_path / "s.bin")
    r = StoreReader(c)
    assert len(c["block_docs"]) > 2                 # several blocks
    for d in [5, 0, 299, 17, 17, 150] + list(range(300)):
        assert r.doc(d) == docs[d]
    c.close()


def test_block_ends_are_decided_by_the_documents():
    docs = _docs(2, 2000)
    expected = sum(min(1.0, len(d) / STORE_BLOCK_BYTES) for d in docs)   # P(cut after d)
    cuts = sum(ends_block(d) for d in docs)
    assert 0.8 * expected < cuts < 1.25 * expected
    assert ends_block(b"y" * (STORE_BLOCK_BYTES + 1))          # a huge document closes its block


@pytest.mark.parametrize("seed,coded", [(0, False), (1, False), (2, True), (3, True)])
def test_merged_store_is_the_same_bytes_wherever_the_segments_were_cut(tmp_path, seed, coded):
    docs = _docs(seed, 400)
    d, w = (shipped_dictionary("en"), shipped_words("en")) if coded else (b"", b"")
    write_store(tmp_path / "one.bin", docs, d, words=w)
    merge_stores([_open(tmp_path / "one.bin")], tmp_path / "one-merged.bin")
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(1, 400), 6)) + [400]
    parts, lo = [], 0
    for i, hi in enumerate(cuts):
        write_store(tmp_path / f"p{i}.bin", docs[lo:hi], d, words=w)
        parts.append(_open(tmp_path / f"p{i}.bin"))
        lo = hi
    merge_stores(parts, tmp_path / "merged.bin")
    one = (tmp_path / "one-merged.bin").read_bytes()
    assert (tmp_path / "merged.bin").read_bytes() == one
    c = _open(tmp_path / "merged.bin")
    r = StoreReader(c)
    assert [r.doc(d) for d in range(400)] == docs
    assert np.asarray(c["block_docs"])[-1] == 400


def test_damaged_block_is_reported(tmp_path):
    docs = _docs(3, 50)
    write_store(tmp_path / "s.bin", docs)
    c = _open(tmp_path / "s.bin")
    off = c.offsets["data"] + 10
    c.close()
    raw = bytearray((tmp_path / "s.bin").read_bytes())
    raw[off] ^= 0xFF
    (tmp_path / "s.bin").write_bytes(bytes(raw))
    c = Container(tmp_path / "s.bin", b"STOR", verify=False)
    with pytest.raises(CorruptIndexError, match="stored-text block 0"):
        StoreReader(c).doc(0)
    c.close()


def test_compresses_real_text_better_than_per_document_zlib(tmp_path):
    """The point of blocks: real article text (the bundled sample) in fewer bytes than zlib per document."""
    import zlib
    from wikisearch.ingest.dump import Dump, pages_from_block
    from pathlib import Path
    import wikisearch
    sample = Path(wikisearch.__file__).parent / "data" / "sample-enwiki.xml.bz2"
    docs = []
    with Dump(str(sample)) as dump:
        for block, data in dump.blocks(1 << 30):
            for page in pages_from_block(data, block, dump.siteinfo, dump.format):
                if not page.redirect:
                    docs.append(encode_doc([page.title, page.text]))
    write_store(tmp_path / "s.bin", docs)
    per_doc = sum(len(zlib.compress(d, 1)) for d in docs)
    c = _open(tmp_path / "s.bin")
    plain = c.shape("data")[0]
    assert plain < 0.9 * per_doc
    c.close()
    # the shipped English codebook and dictionary (trained on other articles, the dictionary on
    # word-coded text) make the same blocks smaller (format 10)
    write_store(tmp_path / "d.bin", docs, shipped_dictionary("en"), words=shipped_words("en"))
    c = _open(tmp_path / "d.bin")
    assert c.shape("data")[0] < 0.9 * plain      # (wikitext, markup and all: 0.87)
    assert [StoreReader(c).doc(i) for i in range(len(docs))] == docs
    c.close()


def test_dictionary_is_kept_in_the_store_and_merges_keep_it(tmp_path):
    d = shipped_dictionary("en")
    assert len(d) > 50_000 and dictionary_id(d) > 0
    assert shipped_dictionary("xx") == b"" and shipped_dictionary("../en") == b"" and dictionary_id(b"") == 0
    docs = _docs(5, 300)
    write_store(tmp_path / "a.bin", docs[:120], d)
    write_store(tmp_path / "b.bin", docs[120:], d)
    merge_stores([_open(tmp_path / "a.bin"), _open(tmp_path / "b.bin")], tmp_path / "m.bin")
    c = _open(tmp_path / "m.bin")
    assert c.meta["dictionary_id"] == dictionary_id(d)
    assert np.asarray(c["dictionary"]).tobytes() == d
    assert [StoreReader(c).doc(i) for i in range(300)] == docs
    c.close()
    write_store(tmp_path / "one.bin", docs, d)              # the same bytes as the merged one
    merge_stores([_open(tmp_path / "one.bin")], tmp_path / "one-m.bin")
    assert (tmp_path / "one-m.bin").read_bytes() == (tmp_path / "m.bin").read_bytes()


def test_segments_with_different_dictionaries_do_not_merge(tmp_path):
    docs = _docs(6, 40)
    write_store(tmp_path / "a.bin", docs[:20], shipped_dictionary("en"))
    write_store(tmp_path / "b.bin", docs[20:])
    with pytest.raises(CorruptIndexError, match="another zstd dictionary"):
        merge_stores([_open(tmp_path / "a.bin"), _open(tmp_path / "b.bin")], tmp_path / "m.bin")
    assert not (tmp_path / "m.bin").exists()


def test_format5_store_without_a_dictionary_is_still_read(tmp_path):
    """Format 5 stores have no ``dictionary`` array and no ``dictionary_id``: frames are plain."""
    import zlib
    import zstandard
    docs = _docs(7, 30)
    frame = zstandard.ZstdCompressor(level=9).compress(b"".join(docs))
    write_container(tmp_path / "s.bin", b"STOR", {
        "block_offsets": np.asarray([0, len(frame)], np.uint64), "block_docs": np.asarray([0, 30], np.uint64),
        "doc_ends": np.cumsum([len(x) for x in docs]).astype(np.uint32),
        "block_crc": np.asarray([zlib.crc32(frame)], np.uint32), "data": np.frombuffer(frame, np.uint8)},
        meta={"n_docs": 30, "compression": "zstd", "level": 9, "open_tail": False})
    c = _open(tmp_path / "s.bin")
    assert [StoreReader(c).doc(i) for i in range(30)] == docs
    c.close()


def test_store_of_an_earlier_dictionary_reads_with_its_own_copy(tmp_path):
    """An index built before the shipped dictionary changed (session 6: 112 KiB, level 6) keeps that
    dictionary in its store: it reads, and merges, with its copy, never with the dictionary
    installed now."""
    import zlib
    import zstandard
    docs = _docs(13, 60)
    earlier = zstandard.train_dictionary(16 << 10, [d[:4096] for d in _docs(14, 400) if d] * 2,
                                         k=64, d=8, f=16, steps=0, threads=1).as_bytes()
    assert earlier != shipped_dictionary("en") and dictionary_id(earlier) != dictionary_id(shipped_dictionary("en"))
    comp = zstandard.ZstdCompressor(level=6, dict_data=zstandard.ZstdCompressionDict(earlier),
                                    write_checksum=False, write_content_size=True, write_dict_id=True)
    for name, part in (("a.bin", docs[:25]), ("b.bin", docs[25:])):
        frames = [comp.compress(b"".join(part[i:i + 5])) for i in range(0, len(part), 5)]
        write_container(tmp_path / name, b"STOR", {
            "block_offsets": np.cumsum([0] + [len(f) for f in frames]).astype(np.uint64),
            "block_docs": np.asarray(list(range(0, len(part), 5)) + [len(part)], np.uint64),
            "doc_ends": np.concatenate([np.cumsum([len(x) for x in part[i:i + 5]]) for i in range(0, len(part), 5)]
                                       ).astype(np.uint32),
            "block_crc": np.asarray([zlib.crc32(f) for f in frames], np.uint32),
            "data": np.frombuffer(b"".join(frames), np.uint8), "dictionary": np.frombuffer(earlier, np.uint8)},
            meta={"n_docs": len(part), "compression": "zstd", "level": 6, "open_tail": False,
                  "dictionary_id": dictionary_id(earlier)})
    c = _open(tmp_path / "a.bin")
    assert [StoreReader(c).doc(i) for i in range(25)] == docs[:25]
    c.close()
    merge_stores([_open(tmp_path / "a.bin"), _open(tmp_path / "b.bin")], tmp_path / "m.bin")
    c = _open(tmp_path / "m.bin")
    assert np.asarray(c["dictionary"]).tobytes() == earlier and c.meta["dictionary_id"] == dictionary_id(earlier)
    assert [StoreReader(c).doc(i) for i in range(60)] == docs
    c.close()


def test_prefix_decoder_gives_python_zstandards_bytes():
    """Frames decoded with the dictionary just before the output (libzstd, the fast path of
    ``zstd.decompress``) are python-zstandard's bytes: small and large frames (the buffer grows),
    an empty one; a frame without a content size is left to python-zstandard; a damaged frame
    or one of another dictionary raises, as python-zstandard does."""
    import zstandard
    from wikisearch.index import store as S, zstd as Z
    from conftest import require_or_skip
    require_or_skip(Z.libzstd() is not None,
                    "no system libzstd to load: python-zstandard is the only decoder here")
    d = shipped_dictionary("en")
    comp = S._compressor(d)
    docs = _docs(11, 80)
    blobs = [b"", b"x", docs[0]] + [b"".join(docs[i:i + 7]) for i in range(0, 80, 7)] + [b"".join(docs) * 3]
    assert max(map(len, blobs)) > (1 << 18)           # beyond the first buffer
    for raw in blobs + blobs[::-1]:
        frame = comp.compress(raw)
        assert Z.decompress(frame, d) == Z.decompress_zstandard(frame, d) == raw
        assert Z.decompress(np.frombuffer(frame, np.uint8), d) == raw     # a view of the mapped file
    dec = Z.frame_decoder(d)
    no_size = zstandard.ZstdCompressor(dict_data=zstandard.ZstdCompressionDict(d),
                                       write_content_size=False).compress(docs[1])
    assert dec.decompress(no_size) is None          # (python-zstandard refuses it too)
    frame = bytearray(comp.compress(b"".join(docs[:20])))
    frame[len(frame) // 2] ^= 0x5A
    for fn in (Z.decompress, Z.decompress_zstandard):
        with pytest.raises(Exception):
            fn(bytes(frame), d)
    other = zstandard.ZstdCompressor(dict_data=zstandard.train_dictionary(4096, [x for x in docs if x] * 4),
                                     write_dict_id=True).compress(docs[2])
    with pytest.raises(ValueError):
        dec.decompress(other)


def test_without_libzstd_the_store_reads_the_same(tmp_path, monkeypatch):
    """Where the system's libzstd cannot be loaded, python-zstandard decodes every frame."""
    from wikisearch.index import zstd as Z
    docs = _docs(12, 120)
    write_store(tmp_path / "s.bin", docs, shipped_dictionary("en"))
    monkeypatch.setattr(Z, "_LIBZSTD", None)
    monkeypatch.setattr(Z._local, "prefix_decoders", {}, raising=False)
    assert Z.frame_decoder(shipped_dictionary("en")) is None
    c = _open(tmp_path / "s.bin")
    assert [StoreReader(c).doc(i) for i in range(120)] == docs
    c.close()


def test_reader_hands_mapped_frames_to_libzstd_by_address(tmp_path):
    """StoreReader gives libzstd a mapped frame by its address (no array made for it): every
    document is what ``read_block`` reads, and a frame damaged behind a correct CRC-32, or a
    CRC-32 that does not match, is reported naming its block."""
    import zlib
    from wikisearch.index import store as S, zstd as Z
    from conftest import require_or_skip
    require_or_skip(Z.libzstd() is not None,
                    "no system libzstd to load: python-zstandard is the only decoder here")
    d = shipped_dictionary("en")
    docs = _docs(13, 150)
    write_store(tmp_path / "s.bin", docs, d)
    c = _open(tmp_path / "s.bin")
    r = StoreReader(c)
    assert r._data is not None
    nb = len(c["block_crc"])
    assert nb > 2
    assert [r._block(b) for b in range(nb)] == [S.read_block(c, b, d) for b in range(nb)]
    assert [r.doc(i) for i in range(150)] == docs
    c.close()
    # block 1 damaged, its CRC-32 made to match; block 2's CRC-32 wrong
    blocks = S._Blocks(d)
    ends = [0] + np.cumsum([len(x) for x in docs]).tolist()
    parts = [(0, 50), (50, 100), (100, 150)]
    frames = [S._compressor(d).compress(b"".join(docs[a:z])) for a, z in parts]
    bad = bytearray(frames[1])
    bad[len(bad) // 2] ^= 0x5A
    frames[1] = bytes(bad)
    for (a, z), frame in zip(parts, frames):
        crc = zlib.crc32(frame) ^ (1 if a == 100 else 0)
        # (blocks without prefixes: each document all rest)
        blocks.add_frames([len(frame)], [crc], [z - a], np.asarray(ends[a + 1:z + 1]) - ends[a],
                          np.zeros(z - a, np.uint32), [0], [0])
    write_container(tmp_path / "bad.bin", b"STOR",
                    {**blocks.arrays(), "data": np.frombuffer(b"".join(frames), np.uint8)},
                    meta=blocks.meta(150, False))
    c = _open(tmp_path / "bad.bin")
    r = StoreReader(c)
    assert [r.doc(i) for i in range(50)] == docs[:50]
    with pytest.raises(CorruptIndexError, match="stored-text block 1 is damaged"):
        r.doc(60)
    with pytest.raises(CorruptIndexError, match="checksum mismatch in stored-text block 2"):
        r.doc(120)
    for b, match in ((1, "stored-text block 1 is damaged"), (2, "checksum mismatch")):
        with pytest.raises(CorruptIndexError, match=match):
            S.read_block(c, b, d)
    c.close()


def _article_docs(seed: int, n: int) -> list[bytes]:
    """Documents of every field (config.FIELDS), openings and bodies of all lengths around a
    prefix of 300 characters, in several scripts (1-4 bytes a character), some fields empty."""
    rng = random.Random(seed)
    words = ["alpha", "beta", "délta", "日本語", "\U0001F600", "x" * 30, "e\u0301", "\n"]

    def text(k):
        return " ".join(rng.choice(words) for _ in range(k))
    out = []
    for _ in range(n):
        fields = [text(rng.choice([0, 1, 3])) for _ in FIELDS]
        fields[FIELDS.index("opening")] = text(rng.choice([0, 0, 1, 20, 48, 49, 50, 51, 120]))
        fields[FIELDS.index("body")] = text(rng.choice([0, 1, 5, 40, 60, 400, 3000]))
        out.append(encode_doc(fields))
    return out


def test_prefix_end_holds_the_first_characters_of_the_prose():
    """A prefix holds the first ``chars`` characters of the prose (article_text: the opening,
    "\\n\\n", the body), ends at a character's end, and holds the body's first character where
    there is a body; no more than needed."""
    from wikisearch.search.results import article_text
    from wikisearch.index.store import decode_doc
    for doc in _article_docs(21, 400):
        fields = dict(zip(FIELDS, decode_doc(doc)))
        prose = article_text(fields)
        for chars in (1, 2, 50, 99, 100, 101, 300, 5000):
            end = prefix_end(doc, chars)
            head = doc[:end].decode("utf-8", "surrogatepass")     # (a character's end)
            got = head.split("\x1f")
            assert doc.startswith(doc[:end]) and len(got) <= len(FIELDS)
            seen = article_text({f: t for f, t in zip(FIELDS, got)})
            assert prose.startswith(seen) and len(seen) >= min(len(prose), chars)
            if fields["body"] and len(fields["opening"]) <= chars:
                assert len(got) > FIELDS.index("body") and got[FIELDS.index("body")]
            if doc[end:end + 1] not in (b"", b"\x1f"):       # cut inside the opening or the body:
                less = dict(zip(FIELDS, head[:-1].split("\x1f")))     # a character less is too few
                assert len(article_text(less)) < chars or len(got[FIELDS.index("body")]) == 1
    assert prefix_end(b"no fields", 3) == 9 and prefix_end(encode_doc(["a", "b"]), 1) == 3


@pytest.mark.parametrize("dictionary,coded", [(b"", False), ("en", False), ("en", True), (b"", True)])
def test_prefix_reads_are_the_documents_first_bytes(tmp_path, dictionary, coded):
    """doc_prefix is doc's first prefix_end bytes, read without the block's rests; the whole
    documents read the same as before (a block keeps prefixes first, rests after; word-coded or
    not)."""
    d = shipped_dictionary(dictionary) if dictionary else b""
    docs = _article_docs(22, 300)
    write_store(tmp_path / "s.bin", docs, d, prefix_chars=300, words=shipped_words("en") if coded else b"")
    c = _open(tmp_path / "s.bin")
    r = StoreReader(c)
    assert r.prefix_chars == 300 and len(c["block_docs"]) > 3
    order = list(range(300))
    random.Random(1).shuffle(order)
    for i in order + order[::-1]:
        assert r.doc_prefix(i) == docs[i][:prefix_end(docs[i], 300)]
        assert r.doc(i) == docs[i]
    assert [StoreReader(c).doc(i) for i in range(300)] == docs        # (no block kept from before)
    c.close()


@pytest.mark.parametrize("coded", [False, True])
def test_a_damaged_prefix_is_reported_and_damaged_rests_are_not_read(tmp_path, coded):
    from wikisearch.index import zstd as Z
    from conftest import require_or_skip
    require_or_skip(Z.libzstd() is not None and Z.frame_decoder(shipped_dictionary("en")).stops(),
                    "no system libzstd that stops within a frame: prefixes are read from whole blocks")
    docs = _article_docs(23, 40)
    write_store(tmp_path / "s.bin", docs, shipped_dictionary("en"), prefix_chars=100,
                words=shipped_words("en") if coded else b"")
    c = _open(tmp_path / "s.bin")
    base, first = c.offsets["data"], int(c["prefix_bytes"][0])
    end = int(c["block_offsets"][1])
    n0 = int(c["block_docs"][1])
    c.close()
    assert 0 < first < end
    raw = (tmp_path / "s.bin").read_bytes()
    for at, prefix_ok in ((first // 2, False), ((first + end) // 2, True)):
        bad = bytearray(raw)
        bad[base + at] ^= 0xFF
        (tmp_path / "bad.bin").write_bytes(bytes(bad))
        c = Container(tmp_path / "bad.bin", b"STOR", verify=False)
        r = StoreReader(c)
        if prefix_ok:
            assert [r.doc_prefix(i) for i in range(n0)] == [x[:prefix_end(x, 100)] for x in docs[:n0]]
            with pytest.raises(CorruptIndexError, match="checksum mismatch in stored-text block 0"):
                r.doc(0)
        else:
            with pytest.raises(CorruptIndexError, match="checksum mismatch in stored-text block 0 .its prefixes"):
                r.doc_prefix(0)
        assert r.doc_prefix(n0) == docs[n0][:prefix_end(docs[n0], 100)]     # other blocks read
        c.close()


def test_prefixes_without_a_decoder_that_stops_read_the_same(tmp_path, monkeypatch):
    """Where libzstd cannot stop within a frame (or is missing), a prefix is cut from the whole
    block: the same bytes."""
    from wikisearch.index import zstd as Z
    docs = _article_docs(24, 120)
    write_store(tmp_path / "s.bin", docs, shipped_dictionary("en"), prefix_chars=200, words=shipped_words("en"))
    want = [x[:prefix_end(x, 200)] for x in docs]
    for lib in ("no stream calls", None):
        monkeypatch.setattr(Z._local, "prefix_decoders", {}, raising=False)
        if lib is None:
            monkeypatch.setattr(Z, "_LIBZSTD", None)
        elif Z.libzstd() is not None:
            monkeypatch.setattr(Z.libzstd(), "stream_calls", False)
        c = _open(tmp_path / "s.bin")
        r = StoreReader(c)
        assert [r.doc_prefix(i) for i in range(120)] == want
        assert [r.doc(i) for i in range(120)] == docs
        c.close()


def test_merge_recompresses_stores_of_another_prefix_length(tmp_path):
    """Segments written with another prefix length (or none: format 6) merge into the store one
    segment of the current length would be."""
    docs = _article_docs(25, 200)
    d = shipped_dictionary("en")
    write_store(tmp_path / "one.bin", docs, d)
    merge_stores([_open(tmp_path / "one.bin")], tmp_path / "one-m.bin")
    write_store(tmp_path / "a.bin", docs[:70], d, prefix_chars=100)
    write_store(tmp_path / "b.bin", docs[70:], d)
    merge_stores([_open(tmp_path / "a.bin"), _open(tmp_path / "b.bin")], tmp_path / "m.bin")
    assert (tmp_path / "m.bin").read_bytes() == (tmp_path / "one-m.bin").read_bytes()
    c = _open(tmp_path / "m.bin")
    assert c.meta["prefix_chars"] == PREFIX_CHARS
    assert [StoreReader(c).doc_prefix(i) for i in range(200)] == [x[:prefix_end(x)] for x in docs]
    c.close()


# -- format 10: word-coded documents (index/wordcode.py) --

def _rewrite(path, out, **changes):
    """The STOR container ``path`` written again with arrays replaced (None: left out)."""
    c = _open(path)
    arrays = {name: np.asarray(c[name]).copy() for name in c.specs}
    meta = dict(c.meta)
    c.close()
    for name, value in changes.items():
        if value is None:
            arrays.pop(name, None)
        else:
            arrays[name] = value
    write_container(out, b"STOR", arrays, meta=meta)


def test_word_coded_store_keeps_its_codebook_and_reads_every_document(tmp_path):
    docs = _article_docs(26, 300) + _docs(27, 100) + [b"", b"\x00\x04\xfe the The THE", bytes(range(256))]
    w = shipped_words("en")
    assert len(w) > 100_000 and shipped_words("xx") == b"" and shipped_words("../en") == b""
    write_store(tmp_path / "s.bin", docs, shipped_dictionary("en"), words=w)
    write_store(tmp_path / "plain.bin", docs, shipped_dictionary("en"))
    c = _open(tmp_path / "s.bin")
    assert np.asarray(c["words"]).tobytes() == w and c.meta["words"] > 100_000
    r = StoreReader(c)
    order = list(range(len(docs)))
    random.Random(3).shuffle(order)
    assert [r.doc(i) for i in order] == [docs[i] for i in order]
    assert [r.doc_prefix(i) for i in order] == [docs[i][:prefix_end(docs[i])] for i in order]
    c.close()
    p = _open(tmp_path / "plain.bin")      # not coded: the words array is empty, meta words 0
    assert p.shape("words") == (0,) and p.meta["words"] == 0 and StoreReader(p).coder is None
    assert [StoreReader(p).doc(i) for i in range(len(docs))] == docs
    p.close()


def test_format7_store_without_a_word_list_is_still_read(tmp_path):
    """A format 7 store has no ``words`` array (and no ``words`` meta): its documents are read as
    they are, and it merges as before."""
    docs = _article_docs(28, 150)
    write_store(tmp_path / "s.bin", docs, shipped_dictionary("en"))
    _rewrite(tmp_path / "s.bin", tmp_path / "f7.bin", words=None)
    c = _open(tmp_path / "f7.bin")
    assert "words" not in c.specs
    r = StoreReader(c)
    assert r.coder is None and [r.doc(i) for i in range(150)] == docs
    c.close()
    merge_stores([_open(tmp_path / "f7.bin")], tmp_path / "m.bin")
    c = _open(tmp_path / "m.bin")
    assert [StoreReader(c).doc(i) for i in range(150)] == docs
    c.close()


def test_a_store_whose_codes_do_not_decode_is_reported(tmp_path):
    """Frames that pass their CRC but hold codes the store's word list lacks (here: the list
    swapped for a shorter one) raise CorruptIndexError, as does a word list that is not one."""
    from wikisearch.index.wordcode import pack
    docs = _article_docs(29, 60) + [encode_doc(["The", "", "x " * 3000 + "the river zebra"])]
    write_store(tmp_path / "s.bin", docs, words=shipped_words("en"))
    _rewrite(tmp_path / "s.bin", tmp_path / "short.bin", words=np.frombuffer(pack([b"the", b"of"]), np.uint8))
    c = _open(tmp_path / "short.bin")
    r = StoreReader(c)
    with pytest.raises(CorruptIndexError, match="stored document 60 in block .* is damaged"):
        r.doc(60)
    c.close()
    _rewrite(tmp_path / "s.bin", tmp_path / "bad.bin", words=np.frombuffer(b"no zstd here", np.uint8))
    c = _open(tmp_path / "bad.bin")
    with pytest.raises(CorruptIndexError, match="word list is damaged"):
        StoreReader(c).doc(0)                   # (the list is read at the first document read)
    c.close()


def test_segments_with_different_word_lists_do_not_merge(tmp_path):
    docs = _docs(30, 40)
    write_store(tmp_path / "a.bin", docs[:20], words=shipped_words("en"))
    write_store(tmp_path / "b.bin", docs[20:])
    with pytest.raises(CorruptIndexError, match="another word list"):
        merge_stores([_open(tmp_path / "a.bin"), _open(tmp_path / "b.bin")], tmp_path / "m.bin")
    assert not (tmp_path / "m.bin").exists()


def test_merge_of_coded_segments_of_another_prefix_length_is_the_one_segment_store(tmp_path):
    docs = _article_docs(31, 200)
    d, w = shipped_dictionary("en"), shipped_words("en")
    write_store(tmp_path / "one.bin", docs, d, words=w)
    merge_stores([_open(tmp_path / "one.bin")], tmp_path / "one-m.bin")
    write_store(tmp_path / "a.bin", docs[:70], d, prefix_chars=100, words=w)
    write_store(tmp_path / "b.bin", docs[70:], d, words=w)
    merge_stores([_open(tmp_path / "a.bin"), _open(tmp_path / "b.bin")], tmp_path / "m.bin")
    assert (tmp_path / "m.bin").read_bytes() == (tmp_path / "one-m.bin").read_bytes()


def test_a_prefix_read_libzstd_fails_on_is_read_from_the_whole_frame(tmp_path, monkeypatch):
    """A prefix whose CRC matches but that the stream decoder fails on (a decoder in a bad state,
    not a damaged file) is decoded again from the whole frame with a fresh decoder; the decoder's
    buffer growing makes the stream context refer to the new dictionary (the freed DDict's address
    is often the new one's)."""
    from wikisearch.index import zstd as Z
    from conftest import require_or_skip
    d = shipped_dictionary("en")
    require_or_skip(Z.libzstd() is not None and Z.frame_decoder(d).stops(),
                    "no system libzstd that stops within a frame: prefixes are read from whole blocks")
    docs = _article_docs(24, 120)
    write_store(tmp_path / "s.bin", docs, d, prefix_chars=300)
    c = _open(tmp_path / "s.bin")
    r = StoreReader(c)
    want = [x[:prefix_end(x, 300)] for x in docs]
    assert [r.doc_prefix(i) for i in range(0, 120, 7)] == want[::7]
    dec = Z.frame_decoder(d)
    dec._arena(dec.capacity * 2)
    assert dec.stream_ddict is None
    assert [r.doc_prefix(i) for i in range(120)] == want
    failed = []

    def fail(self, *args):
        failed.append(self)
        raise ValueError("zstd could not decode the frame")
    monkeypatch.setattr(Z.FrameDecoder, "decompress_part_at", fail)
    assert r.doc_prefix(5) == want[5] and len(failed) == 1
    assert Z.frame_decoder(d) is not failed[0]              # the failed decoder was dropped
    c.close()
