"""Tests of wikisearch.index.codec: round trips, exact byte consumption, edge lengths and values,
byte-exact agreement with plain-Python oracles and with the worked examples of docs/FORMAT.md."""
from __future__ import annotations

import doctest
import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wikisearch.index import codec, pycodec
from wikisearch.index import _codec_kernels as K
from wikisearch.index import _merge_kernels as MK
from wikisearch.index.codec import CODECS, get_codec, varbyte_decode, varbyte_encode
from wikisearch.errors import CorruptIndexError

BINARY = ("varbyte", "bitpacked")
EDGE_LENGTHS = (0, 1, 2, 127, 128, 129, 255, 256, 1000)
EDGE_GAPS = (0, 1, 126, 127, 128, 2**14 - 1, 2**14, 2**21, 2**28, 2**31 - 1)
EDGE_TFS = (1, 2, 128, 129, 2**14 + 1, 2**21 + 1, 2**28 + 1, 2**32 - 1)
EDGE_MASKS = (1, 2, 16, 0x1FF, 0x8000, 0xFFFF)
MAX_DOCID = 2**31 - 1
FORMAT_MD = Path(__file__).resolve().parents[1] / "docs" / "FORMAT.md"

# The list of docs/FORMAT.md's worked examples: docids 3, 7, 300; body, title+body, body.
EXAMPLE = ([3, 7, 300], [16, 17, 16], [2, 1, 5, 1])
EXAMPLE_BYTES = {
    "varbyte": "03 10 01 03 11 00 04 a4 02 10 00",
    "bitpacked": "04 10 11 09 03 06 90 04 01 02 03 01 01",
}
EXAMPLE2 = (list(range(21)), [16] * 21, [1] * 20 + [6])
EXAMPLE2_BYTES = "21 00 80 01 03 14 05"
EXAMPLE_DEBUG = b"3 body=2; 7 title=1,body=5; 300 body=1\n"


# --- plain-Python oracles -------------------------------------------------------------------

def o_vint(v: int) -> bytes:
    out = bytearray()
    while v >= 0x80:
        out.append(v & 0x7F | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def o_read_vint(data: bytes, pos: int) -> tuple[int, int]:
    v = shift = 0
    while True:
        b = data[pos]
        pos += 1
        v |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return v, pos


def per_posting_tfs(masks, tfs):
    out, t = [], 0
    for m in masks:
        k = bin(m).count("1")
        out.append(list(tfs[t:t + k]))
        t += k
    return out


def gaps_of(docids):
    return [d - p - 1 for d, p in zip(docids, [-1] + list(docids[:-1]))]


def o_varbyte(docids, masks, tfs) -> bytes:
    out = b""
    for g, m, ts in zip(gaps_of(docids), masks, per_posting_tfs(masks, tfs)):
        out += o_vint(g) + o_vint(m) + b"".join(o_vint(t - 1) for t in ts)
    return out


def o_bits(vals, w) -> bytes:
    """Each value's low ``w`` bits, LSB first, as a bit string cut into bytes."""
    bits = "".join(format(v & ((1 << w) - 1), f"0{w}b")[::-1] for v in vals) if w else ""
    bits += "0" * (-len(bits) % 8)
    return bytes(int(bits[i:i + 8][::-1], 2) for i in range(0, len(bits), 8))


def o_stream_at(vals, w) -> bytes:
    """The format-11 Stream of ``vals`` at Width ``w``: packed exceptions."""
    exc = [k for k, v in enumerate(vals) if v.bit_length() > w]
    if not exc:
        return bytes([w]) + o_bits(vals, w)
    high = max(vals[k].bit_length() for k in exc) - w
    return (bytes([w | 128]) + o_vint(len(exc)) + bytes([high]) + o_bits(vals, w)
            + o_bits(exc, (len(vals) - 1).bit_length()) + o_bits([vals[k] >> w for k in exc], high))


def o_stream(vals) -> bytes:
    """The shortest of the Streams at every Width that leaves the widest values exceptions
    (ties: the widest Width): what the writer must choose."""
    top = max((v.bit_length() for v in vals), default=0)
    return min((o_stream_at(vals, w) for w in range(top, -1, -1)), key=len)


def o_width_vint(vals) -> int:
    lengths = [v.bit_length() for v in vals]
    top = max(lengths, default=0)
    best, best_cost = top, (len(vals) * top + 7) // 8
    for w in range(top - 1, -1, -1):
        exc = [b for b in lengths if b > w]
        cost = (len(vals) * w + 7) // 8 + sum(1 + (b - w + 6) // 7 for b in exc) + len(o_vint(len(exc)))
        if cost < best_cost:
            best, best_cost = w, cost
    return best


def o_stream_vint(vals) -> bytes:
    """Format 10's Stream: exceptions as VInt pairs (index gap, high bits)."""
    w = o_width_vint(vals)
    exc = [k for k, v in enumerate(vals) if v.bit_length() > w]
    out = bytes([w | (64 if exc else 0)]) + (o_vint(len(exc)) if exc else b"") + o_bits(vals, w)
    last = -1
    for k in exc:
        out += o_vint(k - last - 1) + o_vint(vals[k] >> w)
        last = k
    return out


def o_bitpacked(docids, masks, tfs, stream=o_stream) -> bytes:
    n = len(docids)
    if n == 0:
        return b""
    counts = Counter(masks)
    table = sorted(counts, key=lambda m: (-counts[m], m))
    code = {m: k for k, m in enumerate(table)}
    out = o_vint(2 * table[0] + 1) if len(table) == 1 else \
        o_vint(2 * len(table)) + b"".join(o_vint(m) for m in table)
    gaps, ptfs = gaps_of(docids), per_posting_tfs(masks, tfs)
    rest = n % 128 if n % 128 < 2 else 0
    for b0 in range(0, n - rest, 128):
        block = range(b0, min(b0 + 128, n))
        out += stream([gaps[i] for i in block])
        if len(table) > 1:
            out += stream([code[masks[i]] for i in block])
        out += stream([t - 1 for i in block for t in ptfs[i]])
    for i in range(n - rest, n):
        out += o_vint(gaps[i]) + (o_vint(code[masks[i]]) if len(table) > 1 else b"")
        out += b"".join(o_vint(t - 1) for t in ptfs[i])
    return out


def o_read_stream(data: bytes, pos: int, count: int) -> tuple[list[int], int]:
    """Either layout: packed exceptions (header bit 128) or format 10's VInt pairs (bit 64)."""
    header = data[pos]
    pos += 1
    w = header & 63
    n_exc = high = 0
    if header & 192:
        n_exc, pos = o_read_vint(data, pos)
    if header & 128:
        high = data[pos]
        pos += 1
    nbytes = (count * w + 7) // 8
    bits = int.from_bytes(data[pos:pos + nbytes], "little")
    vals = [(bits >> (k * w)) & ((1 << w) - 1) for k in range(count)]
    pos += nbytes
    if header & 128:
        iw = (count - 1).bit_length()
        ibits = int.from_bytes(data[pos:pos + (n_exc * iw + 7) // 8], "little")
        pos += (n_exc * iw + 7) // 8
        hbits = int.from_bytes(data[pos:pos + (n_exc * high + 7) // 8], "little")
        pos += (n_exc * high + 7) // 8
        for j in range(n_exc):
            k = (ibits >> (j * iw)) & ((1 << iw) - 1)
            vals[k] |= ((hbits >> (j * high)) & ((1 << high) - 1)) << w
        return vals, pos
    k = -1
    for _ in range(n_exc):
        gap, pos = o_read_vint(data, pos)
        high, pos = o_read_vint(data, pos)
        k += gap + 1
        vals[k] |= high << w
    return vals, pos


def o_bitpacked_decode(data: bytes, n: int):
    if n == 0:
        return [], [], [], 0
    header, pos = o_read_vint(data, 0)
    if header & 1:
        table = [header >> 1]
    else:
        table = []
        for _ in range(header >> 1):
            m, pos = o_read_vint(data, pos)
            table.append(m)
    docids, masks, tfs, last = [], [], [], -1
    rest = n % 128 if n % 128 < 2 else 0
    for b0 in range(0, n - rest, 128):
        count = min(128, n - b0)
        gaps, pos = o_read_stream(data, pos, count)
        codes = [0] * count
        if len(table) > 1:
            codes, pos = o_read_stream(data, pos, count)
        block_masks = [table[c] for c in codes]
        vals, pos = o_read_stream(data, pos, sum(bin(m).count("1") for m in block_masks))
        for g in gaps:
            last += g + 1
            docids.append(last)
        masks += block_masks
        tfs += [v + 1 for v in vals]
    for _ in range(rest):
        g, pos = o_read_vint(data, pos)
        last += g + 1
        docids.append(last)
        c = 0
        if len(table) > 1:
            c, pos = o_read_vint(data, pos)
        masks.append(table[c])
        for _ in range(bin(table[c]).count("1")):
            v, pos = o_read_vint(data, pos)
            tfs.append(v + 1)
    return docids, masks, tfs, pos


ORACLE_ENCODE = {"varbyte": o_varbyte, "bitpacked": o_bitpacked}


# --- generated posting lists ----------------------------------------------------------------

def make_postings(n, seed, gap_kind, mask_kind, tf_kind):
    rng = np.random.default_rng(seed)
    gaps = {"dense": lambda: rng.integers(0, 3, n), "medium": lambda: rng.integers(0, 1000, n),
            "edge": lambda: rng.choice(EDGE_GAPS, n), "zipf": lambda: rng.zipf(1.5, n) - 1}[gap_kind]()
    docids, d = [], -1
    for i, g in enumerate(gaps.tolist()):
        room = MAX_DOCID - (n - 1 - i) - d - 1     # keep space for the postings still to come
        d += 1 + min(g, room)
        docids.append(d)
    masks = {"one": lambda: np.full(n, rng.choice(EDGE_MASKS)),
             "few": lambda: rng.choice(rng.integers(1, 0x200, 4), n),
             "any": lambda: rng.integers(1, 0x10000, n),
             "edge": lambda: rng.choice(EDGE_MASKS, n)}[mask_kind]().tolist()
    n_tfs = sum(bin(m).count("1") for m in masks)
    tfs = {"ones": lambda: np.ones(n_tfs, np.int64), "zipf": lambda: rng.zipf(2.0, n_tfs).clip(1, 2**32 - 1),
           "edge": lambda: rng.choice(EDGE_TFS, n_tfs)}[tf_kind]().tolist()
    return docids, masks, tfs


postings = st.builds(
    make_postings,
    n=st.one_of(st.sampled_from(EDGE_LENGTHS), st.integers(0, 300)),
    seed=st.integers(0, 2**32 - 1),
    gap_kind=st.sampled_from(["dense", "medium", "edge", "zipf"]),
    mask_kind=st.sampled_from(["one", "few", "any", "edge"]),
    tf_kind=st.sampled_from(["ones", "zipf", "edge"]),
)


def as_lists(decoded):
    return tuple(a.tolist() for a in decoded)


# --- tests ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", CODECS)
@given(p=postings)
@settings(max_examples=60, deadline=None)
def test_round_trip(name, p):
    c = get_codec(name)
    data = c.encode(*p)
    docids, masks, tfs = c.decode(data, len(p[0]))
    assert docids.dtype == np.int32 and masks.dtype == np.uint16 and tfs.dtype == np.uint32
    assert (docids.tolist(), masks.tolist(), tfs.tolist()) == tuple(p)


@pytest.mark.parametrize("name", BINARY)
@given(p=postings)
@settings(max_examples=60, deadline=None)
def test_kernels_equal_oracles(name, p):
    data = get_codec(name).encode(*p)
    assert data == ORACLE_ENCODE[name](*p)
    if name == "bitpacked":
        docids, masks, tfs, end = o_bitpacked_decode(data, len(p[0]))
        assert (docids, masks, tfs) == tuple(p) and end == len(data)


@pytest.mark.parametrize("name", CODECS)
@given(a=postings, b=postings)
@settings(max_examples=40, deadline=None)
def test_exact_byte_consumption(name, a, b):
    c = get_codec(name)
    da, db = c.encode(*a), c.encode(*b)
    joined = np.frombuffer(da + db + b"\x07\x00", np.uint8)   # trailing bytes of something else
    *first, end = c.decode_prefix(joined, len(a[0]))
    assert end == len(da) and as_lists(first) == tuple(a)
    *second, end = c.decode_prefix(joined, len(b[0]), offset=len(da))
    assert end == len(da) + len(db) and as_lists(second) == tuple(b)
    # many lists at once give the same bytes as one by one
    data, offsets = c.encode_lists([0, len(a[0]), len(a[0]) + len(b[0])], a[0] + b[0], a[1] + b[1], a[2] + b[2])
    assert data.tobytes() == da + db and offsets.tolist() == [0, len(da), len(da) + len(db)]


@pytest.mark.parametrize("name", CODECS)
@pytest.mark.parametrize("n", EDGE_LENGTHS)
def test_edge_lengths_and_values(name, n):
    c = get_codec(name)
    for kinds in (("dense", "one", "ones"), ("edge", "edge", "edge"), ("medium", "few", "zipf")):
        p = make_postings(n, n, *kinds)
        assert as_lists(c.decode(c.encode(*p), n)) == tuple(p)
    # the largest values everywhere
    docids = list(range(MAX_DOCID - n + 1, MAX_DOCID + 1))
    p = (docids, [0xFFFF] * n, [2**32 - 1] * (16 * n))
    assert as_lists(c.decode(c.encode(*p), n)) == p


def test_worked_examples_bytes():
    for name, hexed in EXAMPLE_BYTES.items():
        assert get_codec(name).encode(*EXAMPLE).hex(" ") == hexed
    assert get_codec("bitpacked").encode(*EXAMPLE2).hex(" ") == EXAMPLE2_BYTES
    assert get_codec("debug").encode(*EXAMPLE) == EXAMPLE_DEBUG
    assert as_lists(get_codec("debug").decode(EXAMPLE_DEBUG, 3)) == EXAMPLE
    assert varbyte_encode([300]) == b"\xac\x02"
    for name in CODECS:
        assert get_codec(name).encode([], [], []) == (b"\n" if name == "debug" else b"")


def test_format_md_shows_the_same_bytes():
    text = FORMAT_MD.read_text(encoding="utf-8")
    section = text[text.index("## Postings codecs"):]

    def example_bytes(start: str) -> str:
        block = section[section.index(start):].split("\n\n")[1]
        return " ".join(re.match(r"\s+((?:[0-9a-f]{2} )*[0-9a-f]{2})", line).group(1)
                        for line in block.splitlines())

    varbyte = section[section.index("### varbyte"):]
    assert example_bytes(varbyte[varbyte.index("Worked example"):][:40]) == EXAMPLE_BYTES["varbyte"]
    assert example_bytes("Worked example 1") == EXAMPLE_BYTES["bitpacked"]
    assert example_bytes("Worked example 2") == EXAMPLE2_BYTES
    debug_line = EXAMPLE_DEBUG.decode().replace("\n", "\\n")
    assert f"`{debug_line}` ({len(EXAMPLE_DEBUG)} bytes)" in section


def test_varbyte_helpers():
    values = [0, 1, 127, 128, 300, 2**14, 2**21, 2**28, 2**32 - 1, 2**63, 2**64 - 1]
    data = varbyte_encode(values)
    assert data == b"".join(o_vint(v) for v in values)
    decoded, used = varbyte_decode(data + b"\x05", len(values))
    assert decoded.tolist() == values and used == len(data)
    decoded, used = varbyte_decode(b"\x00" + data, 2, offset=1)
    assert decoded.tolist() == [0, 1] and used == 2
    with pytest.raises(CorruptIndexError):
        varbyte_decode(data[:-1], len(values))
    with pytest.raises(ValueError):
        varbyte_encode([-1])
    assert varbyte_encode([]) == b"" and varbyte_decode(b"", 0)[1] == 0


@pytest.mark.parametrize("name", BINARY)
def test_truncated_or_damaged_bytes_raise_corrupt(name):
    c = get_codec(name)
    p = make_postings(300, 7, "medium", "few", "zipf")
    data = c.encode(*p)
    for cut in range(len(data)):
        with pytest.raises(CorruptIndexError):
            c.decode(data[:cut], 300)
    with pytest.raises(CorruptIndexError):
        c.decode(data + b"\x00", 300)            # bytes left over
    rng = np.random.default_rng(0)
    for _ in range(300):                          # flipped bytes: an error or some postings
        bad = bytearray(data)
        bad[rng.integers(len(bad))] ^= 1 << rng.integers(8)
        try:
            docids, masks, tfs = c.decode(bytes(bad), 300)
            assert docids.size == 300 and masks.size == 300
        except CorruptIndexError:
            pass


@given(data=st.binary(max_size=64), n=st.integers(0, 300))
@settings(max_examples=300, deadline=None)
def test_random_bytes_never_crash(data, n):
    for name in CODECS:
        try:
            get_codec(name).decode(data, n)
        except CorruptIndexError:
            pass


def test_invalid_postings_are_refused():
    c = get_codec("varbyte")
    bad = [([3, 3], [1, 1], [1, 1]), ([5, 4], [1, 1], [1, 1]), ([-1], [1], [1]), ([2**31], [1], [1]),
           ([3], [0], []), ([3], [0x10000], [1]), ([3], [3], [1]), ([3], [1], [0]), ([3], [1], [2**32]),
           ([1.5], [1], [1]), ([1, 2], [1], [1])]
    for docids, masks, tfs in bad:
        with pytest.raises(ValueError):
            c.encode(docids, masks, tfs)
    with pytest.raises(ValueError):
        c.encode_lists([0, 2, 1], [1, 2], [1, 1], [1, 1])
    with pytest.raises(ValueError):
        get_codec("zip")
    assert set(CODECS) == {"varbyte", "bitpacked", "debug"}


def test_debug_codec_refuses_bad_text():
    c = get_codec("debug")
    for text in (b"3 body=2", b"3 body=2; 4 body=1\n", b"3 nofield=2\n", b"3 body=0\n",
                 b"3 body=1,body=2\n", b"x body=1\n", b"3body=1\n"):
        with pytest.raises(CorruptIndexError):
            c.decode(text, 1)
    assert as_lists(c.decode(b"5 f9=2,title=1\n", 1)) == ([5], [0x201], [1, 2])


@pytest.mark.parametrize("name", CODECS)
def test_decode_into(name):
    c = get_codec(name)
    p = make_postings(200, 3, "medium", "few", "zipf")
    data = b"\x99" + c.encode(*p)
    docids, masks = np.empty(200, np.int32), np.empty(200, np.uint16)
    tfs = np.empty(len(p[2]), np.uint32)
    end, n_tfs = c.decode_into(data, 200, docids, masks, tfs, offset=1)
    assert end == len(data) and n_tfs == len(p[2])
    assert (docids.tolist(), masks.tolist(), tfs.tolist()) == p
    with pytest.raises(ValueError):
        c.decode_into(data, 200, docids, masks, tfs[:-1], offset=1)
    with pytest.raises(TypeError):
        c.decode_into(data, 200, docids.astype(np.int64), masks, tfs, offset=1)


_NOJIT_SCRIPT = """
import json, sys
from wikisearch.index.codec import get_codec, varbyte_encode
lists = json.loads(sys.stdin.read())
out = []
for name in ("varbyte", "bitpacked"):
    c = get_codec(name)
    for docids, masks, tfs in lists:
        data = c.encode(docids, masks, tfs)
        out.append([data.hex(), [a.tolist() for a in c.decode(data, len(docids))]])
out.append(varbyte_encode([0, 300, 2**64 - 1]).hex())
print(json.dumps(out))
"""


def test_kernels_without_jit_give_the_same():
    lists = [list(EXAMPLE), list(EXAMPLE2), list(make_postings(130, 1, "edge", "few", "edge")),
             list(make_postings(300, 2, "zipf", "any", "zipf"))]
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    root = Path(codec.__file__).resolve().parents[1]
    env["PYTHONPATH"] = os.pathsep.join([str(root), env.get("PYTHONPATH", "")])
    done = subprocess.run([sys.executable, "-W", "ignore", "-c", _NOJIT_SCRIPT], input=json.dumps(lists),
                          capture_output=True, text=True, env=env, timeout=300, check=True)
    got = json.loads(done.stdout)
    expected = []
    for name in ("varbyte", "bitpacked"):
        for docids, masks, tfs in lists:
            data = get_codec(name).encode(docids, masks, tfs)
            expected.append([data.hex(), [docids, masks, tfs]])
    expected.append(varbyte_encode([0, 300, 2**64 - 1]).hex())
    assert got == expected


def test_mask_table_with_many_distinct_masks():
    # past 32 distinct masks the table is built another way; order must not change
    p = make_postings(1000, 5, "medium", "any", "ones")
    c = get_codec("bitpacked")
    assert c.encode(*p) == o_bitpacked(*p)
    table, codes = K.mask_table(np.asarray(p[1], np.uint16))
    assert table[codes].tolist() == p[1]


def test_docstrings():
    assert doctest.testmod(codec).failed == 0


# --- the plain-Python codec (pycodec: where the kernels run as Python) against the kernels --

def _csr(lists):
    offsets = np.cumsum([0] + [len(p[0]) for p in lists])
    cat = [np.concatenate([np.asarray(p[k], np.int64) for p in lists]) if lists else np.zeros(0, np.int64)
           for k in range(3)]
    return codec.check_postings(offsets, *cat)


@given(lists=st.lists(postings, max_size=5))
@settings(max_examples=150, deadline=None)
def test_python_encoder_equals_the_kernel(lists):
    arrays = _csr(lists)
    data, offsets = K.bitpacked_encode_lists(*arrays)
    p_data, p_offsets = pycodec.bitpacked_encode_lists(*arrays)
    assert p_data.dtype == np.uint8 and p_offsets.dtype == np.int64
    assert p_data.tobytes() == data.tobytes() and p_offsets.tolist() == offsets.tolist()
    assert pycodec.lists_well_formed(*arrays, codec.MAX_DOCID, codec._popcount16())


def _decode_both(buf, n, capacity):
    out = []
    for decode in (K.bitpacked_decode_into, pycodec.bitpacked_decode_into):
        arrays = (np.zeros(n, np.int32), np.zeros(n, np.uint16), np.zeros(capacity, np.uint32))
        end, n_tfs = decode(buf, 0, n, *arrays)
        out.append((end, n_tfs, [a.tolist() for a in arrays] if end >= 0 else None))
    return out


@given(p=postings, cut=st.integers(0, 3), flip=st.none() | st.tuples(st.integers(0, 10**6), st.integers(0, 7)),
       spare=st.integers(-2, 2))
@settings(max_examples=300, deadline=None)
def test_python_decoder_equals_the_kernel(p, cut, flip, spare):
    """Whole, cut short, with one bit flipped, with a tfs array too small: the same end, the
    same count of tfs and (when not damaged) the same arrays."""
    buf = np.frombuffer(get_codec("bitpacked").encode(*p), np.uint8).copy()
    buf = buf[:max(0, buf.size - cut)]
    if flip is not None and buf.size:
        buf[flip[0] % buf.size] ^= np.uint8(1 << flip[1])
    kernel, python = _decode_both(buf, len(p[0]), max(0, len(p[2]) + spare))
    assert python == kernel


@given(data=st.binary(max_size=64), n=st.integers(0, 300), capacity=st.integers(0, 600))
@settings(max_examples=300, deadline=None)
def test_python_decoder_equals_the_kernel_on_random_bytes(data, n, capacity):
    kernel, python = _decode_both(np.frombuffer(data, np.uint8), n, capacity)
    assert python == kernel


@given(lists=st.lists(postings, min_size=1, max_size=5), seed=st.integers(0, 2**32 - 1), damage=st.booleans())
@settings(max_examples=100, deadline=None)
def test_python_gather_equals_the_merge_kernel(lists, seed, damage):
    rng = np.random.default_rng(seed)
    lists = [p for p in lists if p[0]] or [make_postings(3, seed, "dense", "few", "ones")]
    datas = [get_codec("bitpacked").encode(*p) for p in lists]
    buf = np.frombuffer(b"".join(datas), np.uint8).copy()
    if damage:
        buf[int(rng.integers(buf.size))] ^= np.uint8(1 << int(rng.integers(8)))
    starts = np.cumsum([0] + [len(d) for d in datas[:-1]]).astype(np.int64)
    dfs = np.array([len(p[0]) for p in lists], np.int64)
    bases = rng.integers(0, 1000, len(lists)).astype(np.int32)
    n_terms = len(lists) + 3                       # terms with no entry keep the running offsets
    terms = np.sort(rng.choice(n_terms, len(lists), replace=False)).astype(np.int64)
    args = (buf, starts, dfs, bases, terms, n_terms, int(dfs.sum()), 16 * int(dfs.sum()))
    kernel, python = MK.gather_chunk(MK.BITPACKED, *args), pycodec.gather_bitpacked(*args)
    if kernel[0].size == 0:
        assert python[0].size == 0
        return
    for a, b in zip(kernel, python):
        assert a.dtype == b.dtype and a.tolist() == b.tolist()


def test_python_check_agrees_with_the_kernel():
    """lists_well_formed is True exactly where check_lists finds nothing (else the kernel names
    the error): every refused list of test_invalid_postings_are_refused that gets past the casts."""
    cases = [([3, 3], [1, 1], [1, 1]), ([5, 4], [1, 1], [1, 1]), ([3], [0], []), ([3], [3], [1]),
             ([3], [1], [0]), ([1, 2], [1], [1]), ([2**31], [1], [1]), ([], [], [1]), ([], [], []),
             ([0, 5], [1, 3], [1, 2, 3]), ([0, 5], [1, 3], [1, 2])]
    for docids, masks, tfs in cases:
        for offsets in ([0, len(docids)], [0, 1, len(docids)] if len(docids) == 2 else [0, len(docids)]):
            arrays = (np.asarray(offsets, np.int64), np.asarray(docids, np.int64),
                      np.asarray(masks, np.uint16), np.asarray(tfs, np.uint32))
            ok = K.check_lists(*arrays, codec.MAX_DOCID) == 0
            assert pycodec.lists_well_formed(*arrays, codec.MAX_DOCID, codec._popcount16()) == ok, (offsets, docids)
    bad_offsets = (np.asarray([0, 2, 1, 2], np.int64), np.asarray([1, 2], np.int64), np.ones(2, np.uint16),
                   np.ones(2, np.uint32))
    assert K.check_lists(*bad_offsets, codec.MAX_DOCID) != 0
    assert not pycodec.lists_well_formed(*bad_offsets, codec.MAX_DOCID, codec._popcount16())


def test_python_codec_docstrings():
    assert doctest.testmod(pycodec).failed == 0


def test_the_python_checks_popcount_table_counts_every_bit():
    table = codec._popcount16()
    assert table.dtype == np.uint8 and table.shape == (65536,)
    assert table.tolist() == [bin(i).count("1") for i in range(65536)]


# --- format 10's streams (exceptions as VInt pairs): still read ------------------------------

@given(p=postings)
@settings(max_examples=150, deadline=None)
def test_format_10_streams_are_still_read(p):
    """Lists as format 10 wrote them (the oracle's VInt-pair exceptions) decode to the same
    postings in every decoder: the codec's kernel, the search's fused reader and plain Python."""
    from wikisearch.search import _prescore_kernels as PK
    if not p[0]:
        return
    offsets = np.array([0, len(p[0])], np.int64)
    arrays = (offsets, np.array(p[0], np.int32), np.array(p[1], np.uint16), np.array(p[2], np.uint32))
    old, _ = pycodec.bitpacked_encode_lists(*arrays, layout="vint")
    assert old.tobytes() == o_bitpacked(*p, stream=o_stream_vint)
    buf = np.ascontiguousarray(old)
    n = len(p[0])
    for decode in (K.bitpacked_decode_into, PK.bitpacked_decode_into, pycodec.bitpacked_decode_into):
        docids, masks, tfs = np.zeros(n, np.int32), np.zeros(n, np.uint16), np.zeros(len(p[2]) + 4, np.uint32)
        end, n_tfs = decode(buf, 0, n, docids, masks, tfs)
        assert (end, n_tfs) == (len(buf), len(p[2]))
        assert (docids.tolist(), masks.tolist(), tfs[:n_tfs].tolist()) == tuple(p)
    assert o_bitpacked_decode(old.tobytes(), n)[:3] == tuple(p)


def _one_stream(vals, header_bits, n_exc, high, width, index_bytes, high_bytes) -> bytes:
    return bytes([width | header_bits]) + o_vint(n_exc) + bytes([high]) + o_bits(vals, width) + index_bytes + high_bytes


@pytest.mark.parametrize("case", ["both bits", "high width 0", "too wide", "not increasing",
                                  "repeated index", "index past the end", "more exceptions than values",
                                  "cut"])
def test_damaged_packed_exceptions_are_corrupt(case):
    """One stream of 21 DocGaps at Width 3 with two exceptions, damaged one way at a time: every
    decoder reports it corrupt (and the intact stream decodes)."""
    from wikisearch.search import _prescore_kernels as PK
    vals = [1] * 21
    vals[4], vals[17] = 9, 37                    # 4 and 6 bits: high bits 1 and 4 at HighWidth 3
    good = _one_stream(vals, 128, 2, 3, 3, o_bits([4, 17], 5), o_bits([1, 4], 3))
    assert good == o_stream_at(vals, 3)
    bad = {"both bits": _one_stream(vals, 192, 2, 3, 3, o_bits([4, 17], 5), o_bits([1, 4], 3)),
           "high width 0": _one_stream(vals, 128, 2, 0, 3, o_bits([4, 17], 5), b""),
           "too wide": _one_stream(vals, 128, 2, 30, 3, o_bits([4, 17], 5), o_bits([1, 4], 30)),
           "not increasing": _one_stream(vals, 128, 2, 3, 3, o_bits([17, 4], 5), o_bits([4, 1], 3)),
           "repeated index": _one_stream(vals, 128, 2, 3, 3, o_bits([17, 17], 5), o_bits([4, 4], 3)),
           "index past the end": _one_stream(vals, 128, 2, 3, 3, o_bits([4, 21], 5), o_bits([1, 4], 3)),
           "more exceptions than values": _one_stream(vals, 128, 22, 3, 3, o_bits(list(range(21)) + [0], 5),
                                                      o_bits([1] * 22, 3)),
           "cut": good[:-1]}[case]
    mask = o_vint(2 * 16 + 1)                    # one mask: body, tf 1 (TfMinus1s all 0)
    tail = bytes([0])
    for stream, ok in ((good, True), (bad, False)):
        data = mask + stream + tail
        buf = np.frombuffer(data, np.uint8).copy()
        for decode in (K.bitpacked_decode_into, PK.bitpacked_decode_into, pycodec.bitpacked_decode_into):
            docids, masks, tfs = np.zeros(21, np.int32), np.zeros(21, np.uint16), np.zeros(32, np.uint32)
            end, _ = decode(buf, 0, 21, docids, masks, tfs)
            if ok:
                assert end == len(data) and np.diff(np.concatenate([[-1], docids])).tolist() == [v + 1 for v in vals]
            else:
                assert end == K.CORRUPT, (case, decode, end)


#: Stream values: small ones with up to 8 of any width among them (exceptions at most Widths).
wide_values = st.lists(st.integers(0, 15), min_size=1, max_size=300).flatmap(
    lambda v: st.dictionaries(st.integers(0, len(v) - 1), st.integers(0, 2**32 - 1), max_size=8).map(
        lambda wide: [wide.get(k, x) for k, x in enumerate(v)]))


@given(vals=wide_values, layout=st.sampled_from(["packed", "vint"]), count_delta=st.integers(-1, 2),
       cut=st.integers(0, 3), flip=st.none() | st.tuples(st.integers(-12, 10**6), st.integers(0, 7)),
       byte=st.none() | st.tuples(st.integers(-12, 10**6), st.integers(0, 255)), spare=st.binary(max_size=9))
@settings(max_examples=400, deadline=None)
def test_every_stream_reader_gives_the_same_end_and_values(vals, layout, count_delta, cut, flip, byte, spare):
    """One Stream of either layout (wide values: exceptions), read at its count or a wrong one,
    cut short, with a bit flipped or a byte replaced (often in its last bytes), with bytes after
    its end: the codec's kernel, the fused search reader and plain Python return the same end (-1:
    damaged) and, when not damaged, the same values, never a byte past ``end``; undamaged, the
    values written."""
    from wikisearch.search import _prescore_kernels as PK
    out = bytearray()
    pycodec._write_stream(out, vals, layout)
    data = bytearray(out[:max(1, len(out) - cut)])
    if flip is not None:                         # (at < 0: from the end, where the exceptions are)
        data[flip[0] % len(data)] ^= 1 << flip[1]
    if byte is not None:
        data[byte[0] % len(data)] = byte[1]
    count = max(1, len(vals) + count_delta)
    buf = np.frombuffer(bytes(data) + spare, np.uint8)
    end = len(data)
    kernel = np.zeros(count, np.uint32)
    fused = np.zeros(count + 8, np.uint32)
    k_end = K.read_stream(buf, 0, end, kernel)
    f_end = PK._read_stream(buf, 0, end, fused, count)
    p_vals, p_end = pycodec._read_stream(bytes(data) + spare, 0, end, count)
    assert k_end == f_end == p_end
    if k_end >= 0:
        assert k_end <= end and kernel.tolist() == fused[:count].tolist() == list(p_vals)
    if (cut, flip, byte, count_delta) == (0, None, None, 0):
        assert k_end == end and kernel.tolist() == vals
