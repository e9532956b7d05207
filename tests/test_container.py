import numpy as np
import pytest

from wikisearch.index.container import Container, write_container
from wikisearch.errors import CorruptIndexError, FormatTooNewError


def test_round_trip_and_alignment(tmp_path):
    p = tmp_path / "x.bin"
    arrays = {"a": np.arange(10, dtype=np.int64), "b": np.frombuffer(b"hello", np.uint8),
              "m": np.arange(12, dtype=np.uint32).reshape(4, 3), "empty": np.zeros(0, np.float32)}
    write_container(p, b"TEST", arrays, meta={"n": 10, "name": "é"})
    c = Container(p, b"TEST")
    assert c.meta == {"n": 10, "name": "é"}
    for k, v in arrays.items():
        assert c[k].dtype == v.dtype and np.array_equal(c[k], v)
    assert c["m"].shape == (4, 3)
    assert c["a"].ctypes.data % 64 == 0


def test_header_bytes(tmp_path):
    p = tmp_path / "x.bin"
    write_container(p, b"TEST", {})
    raw = p.read_bytes()
    assert raw[:8] == b"WIKISRCH" and raw[8:12] == b"TEST" and raw[12:16] == b"\x02\0\0\0"
    assert raw[-8:] == b"HCRSIKIW"
    assert int.from_bytes(raw[-16:-8], "little") == len(raw)


@pytest.mark.parametrize("where", ["header", "toc", "payload", "footer"])
def test_flipped_byte_is_corruption(tmp_path, where):
    p = tmp_path / "x.bin"
    write_container(p, b"TEST", {"a": np.arange(1000, dtype=np.int64)})
    raw = bytearray(p.read_bytes())
    pos = {"header": 3, "toc": 30, "payload": len(raw) // 2, "footer": len(raw) - 12}[where]
    raw[pos] ^= 0x10
    p.write_bytes(bytes(raw))
    with pytest.raises(CorruptIndexError):
        Container(p, b"TEST")


def test_truncated_wrong_kind_too_new(tmp_path, monkeypatch):
    p = tmp_path / "x.bin"
    write_container(p, b"TEST", {"a": np.arange(100)})
    with pytest.raises(CorruptIndexError, match="wrong file kind"):
        Container(p, b"DOCS")
    raw = p.read_bytes()
    (tmp_path / "t.bin").write_bytes(raw[:-20])
    with pytest.raises(CorruptIndexError):
        Container(tmp_path / "t.bin", b"TEST")
    from wikisearch.index import container as C
    monkeypatch.setattr(C, "VERSION", 99)
    write_container(tmp_path / "n.bin", b"TEST", {"a": np.arange(100)})
    monkeypatch.setattr(C, "VERSION", 1)
    with pytest.raises(FormatTooNewError, match="upgrade"):
        Container(tmp_path / "n.bin", b"TEST")
    flipped = bytearray(raw)
    flipped[12] = 99   # a damaged version field is damage (the CRC says so), not a newer format
    (tmp_path / "f.bin").write_bytes(bytes(flipped))
    with pytest.raises(CorruptIndexError, match="checksum"):
        Container(tmp_path / "f.bin", b"TEST")
    with pytest.raises(CorruptIndexError, match="missing"):
        Container(tmp_path / "nope.bin", b"TEST")


def test_large_file_verified_on_demand(tmp_path, monkeypatch):
    from wikisearch.index import container as C
    monkeypatch.setattr(C, "FULL_CHECK_BYTES", 100)
    p = tmp_path / "x.bin"
    write_container(p, b"TEST", {"a": np.arange(1000, dtype=np.int64)})
    raw = bytearray(p.read_bytes())
    raw[len(raw) // 2] ^= 1
    p.write_bytes(bytes(raw))
    c = Container(p, b"TEST")           # frame checks only
    with pytest.raises(CorruptIndexError, match="checksum"):
        c.verify()


def test_large_file_path_checks_toc_and_arrays(tmp_path, monkeypatch):
    """Too large to check whole on open (forced): the table of contents is checked on open, an
    array when it is first asked for through ``checked``."""
    from wikisearch.index import container as C
    monkeypatch.setattr(C, "FULL_CHECK_BYTES", 0)
    p = tmp_path / "x.bin"
    write_container(p, b"TEST", {"a": np.arange(1000, dtype=np.int64), "b": np.arange(5, dtype=np.int8)})
    c = Container(p, b"TEST")
    assert not c.verified_all and c.checked("a")[999] == 999
    c.close()
    raw = bytearray(p.read_bytes())
    toc_at = raw.index(b'{"arrays"')
    for pos, match in ((toc_at + 12, "table of contents"), (len(raw) // 2, "array 'a'")):
        bad = bytearray(raw)
        bad[pos] ^= 0x01
        p.write_bytes(bytes(bad))
        with pytest.raises(CorruptIndexError, match=match):
            c = Container(p, b"TEST")
            try:
                c.checked("b")           # intact: no error from it
                c.checked("a")
            finally:
                c.close()


def test_files_read_in_checked_pieces_are_checked_whole_on_open_only_when_small(tmp_path, monkeypatch):
    """checked_in_pieces (a segment's files): checked whole on open up to PIECEWISE_CHECK_BYTES
    only; above it the damage is found where the array is read (checked), not on open. Other
    files keep the FULL_CHECK_BYTES rule."""
    from wikisearch.index import container as C
    p = tmp_path / "x.bin"
    write_container(p, b"TEST", {"a": np.arange(1000, dtype=np.int64)})
    raw = bytearray(p.read_bytes())
    raw[len(raw) // 2] ^= 1
    p.write_bytes(bytes(raw))
    with pytest.raises(CorruptIndexError, match="checksum"):
        Container(p, b"TEST")                                   # small for the general rule
    with pytest.raises(CorruptIndexError, match="checksum"):
        Container(p, b"TEST", checked_in_pieces=True)           # small for the piecewise rule too
    monkeypatch.setattr(C, "PIECEWISE_CHECK_BYTES", 1000)
    c = Container(p, b"TEST", checked_in_pieces=True)           # opens: nothing read but its frame
    assert not c.verified_all
    with pytest.raises(CorruptIndexError, match="array 'a'"):
        c.checked("a")
    c.close()
    with pytest.raises(CorruptIndexError, match="checksum"):
        Container(p, b"TEST")
    with pytest.raises(CorruptIndexError, match="checksum"):
        Container(p, b"TEST", checked_in_pieces=True, verify=True)


def test_the_index_checksum_is_zlibs_crc32_computed_by_isal():
    """Every checksum in an index file is CRC-32 as zlib computes it (files written before and
    after the switch to ISA-L read alike); fileio's is ISA-L's, the fast one (a dependency)."""
    import zlib

    from isal import isal_zlib

    from wikisearch.fileio import crc32
    assert crc32 is isal_zlib.crc32
    rng = np.random.default_rng(5)
    for n in (0, 1, 7, 64, 300, 4097, 1 << 20):
        data = rng.integers(0, 256, n, dtype=np.uint8)
        view = memoryview(data).cast("B")
        assert crc32(view) == zlib.crc32(view) == zlib.crc32(data.tobytes())
        start = int(rng.integers(0, 1 << 32))
        assert crc32(view, start) == zlib.crc32(view, start)       # chained, as files are checked
    a = np.arange(3 * 5, dtype=np.uint32).reshape(3, 5).T          # a column read whole, as checked()
    assert crc32(memoryview(np.ascontiguousarray(a)).cast("B")) == zlib.crc32(np.ascontiguousarray(a).tobytes())


def _resident_kb(path) -> int:
    """Resident kB of this process's mappings of ``path`` (Linux /proc/self/smaps)."""
    total, inside = 0, False
    for line in open("/proc/self/smaps"):
        head = line.split()
        if len(head) >= 5 and "-" in head[0] and ":" in head[3]:      # a mapping's first line
            inside = line.rstrip().endswith(str(path))
        elif inside and line.startswith("Rss:"):
            total += int(head[1])
    return total


@pytest.mark.skipif(not __import__("os").path.exists("/proc/self/smaps"), reason="Linux /proc needed")
def test_a_large_array_is_checked_without_its_pages_left_resident(tmp_path, monkeypatch):
    """checked() of an array over READ_CHECK_BYTES gives its pages back after the CRC: the check finds
    damage as before, and leaves the mapped column's pages unread (a query then touches the pages
    it needs: memory after opening proportional to what a query reads, issue #12)."""
    from wikisearch.index import container as C
    monkeypatch.setattr(C, "FULL_CHECK_BYTES", 0)
    p = tmp_path / "big.bin"
    a = np.arange(4 << 20, dtype=np.uint32)                      # 16 MiB
    write_container(p, b"TEST", {"a": a, "small": np.arange(10, dtype=np.uint8)})
    c = Container(p, b"TEST")
    before = _resident_kb(p)
    col = c.checked("a")
    assert _resident_kb(p) - before < 2048                       # without the release all 16 MiB stay resident
    assert col[123456] == 123456
    assert _resident_kb(p) - before < 4096                       # one read: a few pages, not the column
    c.close()
    raw = bytearray(p.read_bytes())
    raw[len(raw) // 2] ^= 0x10                                   # inside "a"
    p.write_bytes(bytes(raw))
    c = Container(p, b"TEST")
    with pytest.raises(CorruptIndexError, match="array 'a'"):
        c.checked("a")
    c.checked("small")
    c.close()
