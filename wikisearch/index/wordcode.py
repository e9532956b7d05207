"""wordcode: the store's word transform -- frequent words replaced by 1-3 byte codes before zstd
(store format 10), and back; every byte string round-trips.

After Skibinski, Grabowski and Deorowicz, "Revisiting dictionary-based compression" (Software:
Practice and Experience, 2005; the idea of xwrt): an LZ compressor codes a word it has seen as a
match (offset, length) and a word it has not as literals, each letter costing ~4-5 bits of zstd's
order-0 Huffman code. Written as 1-3 bytes of a shared word list ranked by frequency, a word costs
one to three literals, the space before it none, and a capital one more; zstd (with a dictionary
trained on the transformed text) then finds longer matches in the shorter text. On the 30k real
articles the stored text falls from ~35 % of the input to ~29 %
(``benchmarks/bench_store_frontier.py``).

The *code bytes* are the 42 byte values that UTF-8 text holds rarely or never (``CODE_BYTES``:
C0 controls other than tab, newline, carriage return and U+001F, the field separator; DEL; 0xC0,
0xC1 and 0xF5-0xFF, never in UTF-8). The first four are flags: ``ESC`` (the next byte is a literal
byte: how a code byte of the input is written), ``CAP`` (the word's first letter is a capital),
``UP`` (all its letters are), ``NOSP`` (no space before the word); then ``N1`` lead bytes of
1-byte codes, ``N2`` of 2-byte codes (the lead and one byte), ``N3`` of 3-byte codes (the lead and
two bytes, big-endian). A *word* is a maximal run of ASCII letters; the word of rank r in the
*codebook* (lower-case words, most useful first) has the code: ``LEAD1[r]`` for r < N1;
``LEAD2[(r - N1) // 256], (r - N1) % 256`` for r < N1 + 256 N2; else ``LEAD3[s // 65536], s // 256
% 256, s % 256`` with s = r - N1 - 256 N2. A listed word written in lower case, capitalised (first
letter capital, the rest lower case) or in capitals (two letters or more) becomes
``[NOSP] [CAP | UP] code``, which stands for a space and the word (without NOSP: the space before
the word is taken into the code) or the word alone (NOSP: no space before it); any other word, and
any other byte, is written as it is, a code byte after ``ESC``.

The codebook is shipped per language (``wikisearch/data/store-words-{language}.zstd``: the words
joined by newlines, zstd-compressed; trained by ``benchmarks/train_store_dict.py``) and a store
keeps its own copy (``words`` array), as it keeps its zstd dictionary.
"""
from __future__ import annotations

import re
from functools import lru_cache

import numpy as np

from wikisearch.jit import interpreted

CODE_BYTES = bytes(list(range(0x00, 0x09)) + [0x0B, 0x0C] + list(range(0x0E, 0x1F)) + [0x7F, 0xC0, 0xC1]
                   + list(range(0xF5, 0x100)))
ESC, CAP, UP, NOSP = CODE_BYTES[:4]
N1, N2, N3 = 8, 28, 2
LEAD1 = CODE_BYTES[4:4 + N1]
LEAD2 = CODE_BYTES[4 + N1:4 + N1 + N2]
LEAD3 = CODE_BYTES[4 + N1 + N2:]
#: The most words a codebook holds.
MAX_WORDS = N1 + 256 * N2 + 65536 * N3
WORDS_FILE = "store-words-{}.zstd"

assert len(CODE_BYTES) == 42 and len(LEAD3) == N3


def _kinds() -> tuple[np.ndarray, np.ndarray]:
    kind = np.zeros(256, np.uint8)
    base = np.zeros(256, np.int64)
    for k, b in enumerate((ESC, CAP, UP, NOSP), 1):
        kind[b] = k
    for i, b in enumerate(LEAD1):
        kind[b], base[b] = 5, i
    for i, b in enumerate(LEAD2):
        kind[b], base[b] = 6, N1 + 256 * i
    for i, b in enumerate(LEAD3):
        kind[b], base[b] = 7, N1 + 256 * N2 + 65536 * i
    return kind, base


KIND, BASE = _kinds()
#: A word with the one space before it, or a code byte (:meth:`Codebook.encode_python`).
_WORD_OR_CODE_BYTE = re.compile(rb"( ?)([A-Za-z]+)|[" + re.escape(CODE_BYTES) + rb"]")
_KERNELS = "wikisearch.index._wordcode_kernels"


def code_of(rank: int) -> bytes:
    """The code of the word of rank ``rank``."""
    if rank < N1:
        return bytes([LEAD1[rank]])
    s = rank - N1
    if s < 256 * N2:
        return bytes([LEAD2[s >> 8], s & 255])
    s -= 256 * N2
    return bytes([LEAD3[s >> 16], (s >> 8) & 255, s & 255])


def code_table(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The codes of ranks 0..n-1 (:func:`code_of`) as ``(uint8[n, 3], lengths uint8[n])``."""
    r = np.arange(n, dtype=np.int64)
    codes = np.zeros((n, 3), np.uint8)
    one, two = r < N1, (r >= N1) & (r < N1 + 256 * N2)
    three = r >= N1 + 256 * N2
    codes[one, 0] = np.frombuffer(LEAD1, np.uint8)[r[one]]
    s = r[two] - N1
    codes[two, 0] = np.frombuffer(LEAD2, np.uint8)[s >> 8]
    codes[two, 1] = s & 255
    t = r[three] - N1 - 256 * N2
    codes[three, 0] = np.frombuffer(LEAD3, np.uint8)[t >> 16]
    codes[three, 1] = (t >> 8) & 255
    codes[three, 2] = t & 255
    return codes, (one + 2 * two + 3 * three).astype(np.uint8)


class Codebook:
    """A codebook: its words (lower-case ASCII letters), their codes and, for encoding, a hash
    table of them. ``packed`` is the codebook as files keep it (the words joined by b"\\n",
    zstd-compressed); ValueError when it is not one."""

    def __init__(self, packed: bytes):
        import zstandard
        try:
            text = zstandard.ZstdDecompressor().decompress(packed, max_output_size=1 << 26)
        except zstandard.ZstdError as e:
            raise ValueError(f"not a word list ({e})") from None
        if text and (re.fullmatch(rb"[a-z]+(?:\n[a-z]+)*", text) is None):
            raise ValueError("not words of lower-case ASCII letters, one a line")
        t = np.frombuffer(text, np.uint8)
        lines = np.flatnonzero(t == 10)                 # (the words' ends, but the last's)
        n = len(lines) + 1 if text else 0
        if n > MAX_WORDS:
            raise ValueError(f"{n} words, more than {MAX_WORDS}")
        self.packed = packed
        self.n_words = n
        self.words = t[t != 10]                          # (a copy: writable, as the kernels are typed)
        self.starts = np.zeros(n + 1, np.int64)
        if n:
            self.starts[1:-1] = lines - np.arange(len(lines))
            self.starts[-1] = len(self.words)
        self.max_len = int(np.diff(self.starts).max()) if n else 0
        self._table = None
        self._codes = None
        self._lookup = None

    def _encoder(self):
        if self._table is None:
            text = self.words.tobytes()
            if len({text[a:z] for a, z in zip(self.starts[:-1].tolist(), self.starts[1:].tolist())}) != self.n_words:
                raise ValueError("a word listed twice")
            codes, lens = code_table(self.n_words)
            size = 1 << max(4, (2 * self.n_words).bit_length())
            self._codes = (codes, lens)
            from wikisearch.index import _wordcode_kernels as _k
            self._table = _k.build_table(self.words, self.starts, size)
        return self._table, self._codes

    def encode(self, data: bytes) -> bytes:
        """``data`` transformed (any bytes)."""
        return self.encode_many([data])[0]

    def encode_many(self, texts: list[bytes]) -> list[bytes]:
        """:meth:`encode` of each of ``texts``. Where the kernels run as Python (a small build on
        a cold cache, :func:`wikisearch.jit.interpreted`), :meth:`encode_python` does it instead:
        the kernel as Python costs ~25 us a word, the bundled sample's build 10 s. (The choice is
        made once for all the texts: asking costs ~5 us, a store's documents are two texts each.)"""
        one = self.encode_python if interpreted(_KERNELS) else self._encode_kernel
        return [one(t) if t else b"" for t in texts]

    def _encode_kernel(self, data: bytes) -> bytes:
        from wikisearch.index import _wordcode_kernels as _k
        table, (codes, lens) = self._encoder()
        x = np.frombuffer(data, np.uint8)
        out = np.empty(2 * len(x) + 8, np.uint8)
        n = _k.encode(x, out, self.words, self.starts, table, KIND, codes, lens)
        return out[:n].tobytes()

    def encode_python(self, data: bytes) -> bytes:
        """:meth:`encode` by one regular expression over ``data`` and a dict of the codebook's
        words (the same bytes as the kernel; tests/test_wordcode.py)."""
        if self._lookup is None:
            text = self.words.tobytes()
            codes, lens = code_table(self.n_words)
            ends = self.starts.tolist()
            self._lookup = {text[ends[r]:ends[r + 1]]: codes[r, :lens[r]].tobytes() for r in range(self.n_words)}
            if len(self._lookup) != self.n_words:
                raise ValueError("a word listed twice")
        lookup = self._lookup

        def one(m, esc=bytes([ESC]), nosp=bytes([NOSP]), cap=bytes([CAP]), up=bytes([UP])):
            w = m.group(2)
            if w is None:                                   # a code byte of the input
                return esc + m.group()
            low = w.lower()
            code = lookup.get(low)
            if code is None:
                return m.group()
            if w != low:
                if w[0] <= 90 and w[1:] == low[1:]:
                    code = cap + code
                elif w.isupper():
                    code = up + code
                else:
                    return m.group()
            return code if m.group(1) else nosp + code
        return _WORD_OR_CODE_BYTE.sub(one, data)

    def decode(self, data) -> bytes:
        """The bytes :meth:`encode` made ``data`` (bytes or a uint8 array) from; ValueError when
        ``data`` is not a transform's output under this codebook."""
        y = np.frombuffer(data, np.uint8) if isinstance(data, (bytes, bytearray, memoryview)) else data
        if not len(y):
            return b""
        from wikisearch.index import _wordcode_kernels as _k     # (kernels: imported when first used)
        out = np.empty(3 * len(y) + 16, np.uint8)
        n = _k.decode(y, out, self.words, self.starts, KIND, BASE)
        if n == -2:     # (a code stands for up to a space and max_len letters)
            out = np.empty(len(y) * (self.max_len + 1), np.uint8)
            n = _k.decode(y, out, self.words, self.starts, KIND, BASE)
        if n < 0:
            raise ValueError("not a word-coded text")
        return out[:n].tobytes()


@lru_cache(maxsize=8)
def codebook(packed: bytes) -> Codebook:
    """The :class:`Codebook` of ``packed`` (cached: a store's reader and writer share it)."""
    return Codebook(packed)


def pack(words: list[bytes]) -> bytes:
    """A codebook's file bytes from its words in rank order."""
    import zstandard
    return zstandard.ZstdCompressor(level=19, write_checksum=False).compress(b"\n".join(words))
