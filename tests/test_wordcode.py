"""The store's word transform (index/wordcode.py, store format 10): every byte string round-trips,
the kernels write the bytes the format describes (a regular-expression oracle), damaged input is
refused."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from _oracle import run_with_and_without_jit, word_decode_slow, word_encode_slow
from wikisearch.index import wordcode
from wikisearch.index.store import shipped_words
from wikisearch.index.wordcode import CODE_BYTES, Codebook, code_of, pack

#: The worked example of docs/FORMAT.md (store.bin, format 10).
EXAMPLE_WORDS = [b"the", b"of", b"and", b"in", b"to", b"a", b"is", b"was", b"city", b"river"]
EXAMPLE_TEXT = b"The city of Paris\x04 is THE capital"
EXAMPLE_CODED = bytes.fromhex("030104 0f00 05 205061726973 0004 0c 0204 206361706974616c")


def _shipped_list() -> list[bytes]:
    import zstandard
    return zstandard.ZstdDecompressor().decompress(shipped_words("en")).split(b"\n")


@pytest.fixture(scope="module")
def shipped():
    return Codebook(shipped_words("en")), _shipped_list()


def test_worked_example():
    cb = Codebook(pack(EXAMPLE_WORDS))
    assert cb.encode(EXAMPLE_TEXT) == EXAMPLE_CODED
    assert word_encode_slow(EXAMPLE_TEXT, EXAMPLE_WORDS) == EXAMPLE_CODED
    assert cb.decode(EXAMPLE_CODED) == EXAMPLE_TEXT


def test_codes_by_rank():
    assert code_of(0) == b"\x04" and code_of(7) == b"\x0e"
    assert code_of(8) == b"\x0f\x00" and code_of(8 + 255) == b"\x0f\xff" and code_of(8 + 256) == b"\x10\x00"
    last2 = wordcode.N1 + 256 * wordcode.N2 - 1
    assert code_of(last2) == bytes([wordcode.LEAD2[-1], 255])
    assert code_of(last2 + 1) == b"\xfe\x00\x00" and code_of(wordcode.MAX_WORDS - 1) == b"\xff\xff\xff"
    assert len(set(code_of(r) for r in range(0, wordcode.MAX_WORDS, 97))) == len(range(0, wordcode.MAX_WORDS, 97))
    codes, lens = wordcode.code_table(wordcode.MAX_WORDS)
    for r in list(range(0, wordcode.MAX_WORDS, 89)) + [7, 8, 7175, 7176, wordcode.MAX_WORDS - 1]:
        assert bytes(codes[r, :lens[r]]) == code_of(r) and not codes[r, lens[r]:].any()
    # no code byte is an ASCII letter, a space, a tab, a newline or the field separator
    assert not set(CODE_BYTES) & set(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ \t\n\r\x1f")


def test_the_shipped_codebook_uses_every_code_length(shipped):
    cb, words = shipped
    assert wordcode.N1 + 256 * wordcode.N2 < cb.n_words <= wordcode.MAX_WORDS
    assert cb.encode(b" the") == code_of(0)
    assert len(cb.encode(b" " + words[-1])) == 3


ADVERSARIAL = [
    b"", b" ", b"  ", b"a", b"A", b" A", b"I", b"THE", b"tHe", b"ThE", b"the", b" the ", b"the the  the",
    bytes(range(256)), CODE_BYTES, CODE_BYTES * 3, b"\x00", b"\x00the", b"the\x00", b"\x03\x01\x04",
    b"\x0f\x00", b"\xfe\xff\xff", b"\x1fthe\x1f\x1fThe\x1f", b"caf\xc3\xa9 the\xc3\xa9the",
    "Angela Merkel (born 17 July 1954) is a German politician. 日本 Ölçü".encode(),
    "\ud800 lone surrogate".encode("utf-8", "surrogatepass"), b"x" * 10_000, b" the" * 5_000,
    b"supercalifragilisticexpialidocious" * 30,
]


@pytest.mark.parametrize("text", ADVERSARIAL)
def test_adversarial_texts_round_trip_and_match_the_oracle(shipped, text):
    cb, words = shipped
    coded = cb.encode(text)
    assert coded == word_encode_slow(text, words)
    assert cb.encode_python(text) == coded
    assert cb.encode_many([text, b"", text]) == [coded, b"", coded]
    assert cb.decode(coded) == text
    assert word_decode_slow(coded, words) == text


def _texts(words: list[bytes]):
    piece = st.one_of(
        st.sampled_from(words[:2000]), st.sampled_from(words).map(bytes.upper),
        st.sampled_from(words).map(bytes.capitalize), st.sampled_from(words).map(bytes.swapcase),
        st.sampled_from([b" ", b"  ", b"\n", b"\x1f", b",", b"-", "é".encode(), "日".encode()]),
        st.sampled_from(list(CODE_BYTES)).map(lambda b: bytes([b])), st.binary(max_size=4),
        st.text(max_size=6).map(lambda s: s.encode("utf-8", "surrogatepass")))
    return st.lists(piece, max_size=60).map(b"".join)


_WORDS = _shipped_list()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_texts(_WORDS))
@example(b"the\x04")
def test_word_like_texts_round_trip(text):
    cb = wordcode.codebook(shipped_words("en"))
    coded = cb.encode(text)
    assert coded == word_encode_slow(text, _WORDS)
    assert cb.encode_python(text) == coded
    assert cb.decode(coded) == text


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_round_trip(data):
    cb = wordcode.codebook(shipped_words("en"))
    coded = cb.encode(data)
    assert coded == word_encode_slow(data, _WORDS)
    assert cb.encode_python(data) == coded
    assert cb.decode(coded) == data


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_any_text_round_trips(s):
    data = s.encode("utf-8", "surrogatepass")
    cb = wordcode.codebook(shipped_words("en"))
    assert cb.decode(cb.encode(data)) == data


def test_an_empty_codebook_only_escapes():
    cb = Codebook(pack([]))
    assert cb.n_words == 0
    assert cb.encode(b"the \x04 end") == b"the \x00\x04 end"
    assert cb.decode(b"the \x00\x04 end") == b"the \x04 end"
    with pytest.raises(ValueError):
        cb.decode(b"\x04")


def test_damaged_codes_are_refused():
    cb = Codebook(pack(EXAMPLE_WORDS))
    for bad in (b"\x00", b"x\x03", b"\x01", b"\x03\x01", b"\x0f", b"\xfe\x00", b"\x0f\x09",   # rank 17 > 9 words
                b"\xfe\x00\x00", b"\x03\x03\x04", b"\x01\x01\x04"):
        with pytest.raises(ValueError):
            cb.decode(bad)


def test_codebooks_that_are_not_are_refused():
    for words in ([b"The"], [b"caf\xc3\xa9"], [b"two words"], [b"a", b""], [b"x1"]):
        with pytest.raises(ValueError):
            Codebook(pack(words))
    with pytest.raises(ValueError, match="twice"):      # (found when a store is written with it)
        Codebook(pack([b"a", b"b", b"a"])).encode(b"a")
    with pytest.raises(ValueError):
        Codebook(b"not zstd")


def test_an_empty_codebook_only_escapes_in_python_too():
    cb = Codebook(pack([]))
    for text in (b"", b"the The THE", CODE_BYTES, bytes(range(256))):
        assert cb.encode_python(text) == cb.encode(text) == word_encode_slow(text, [])


def test_interpreted_kernels_take_the_python_path(monkeypatch):
    """Where the kernels run as Python (a small build on a cold cache), encode() does not run the
    per-byte kernel (10 s for the bundled sample's store) but the regular expression."""
    from wikisearch.index import _wordcode_kernels
    cb = Codebook(shipped_words("en"))
    text = b"The city of Paris\x04 is THE capital"
    monkeypatch.setenv("WIKISEARCH_JIT", "off")

    def refuse(*a):
        raise AssertionError("the kernel ran")
    monkeypatch.setattr(_wordcode_kernels, "encode", refuse)
    assert cb.encode(text) == word_encode_slow(text, _WORDS)
    monkeypatch.setenv("WIKISEARCH_JIT", "auto")
    with pytest.raises(AssertionError, match="the kernel ran"):
        cb.encode(text)


def test_long_words_decode_past_the_first_guess():
    """A text of codes of long words decodes into more than the first buffer holds."""
    long = [b"a" * 200, b"b" * 300]
    cb = Codebook(pack(long))
    text = b" " + b" ".join(long * 50)
    assert len(cb.encode(text)) == 100
    assert cb.decode(cb.encode(text)) == text


_NOJIT = """
import json, random
from wikisearch.index.store import shipped_words
from wikisearch.index.wordcode import Codebook, CODE_BYTES
cb = Codebook(shipped_words("en"))
rng = random.Random(5)
texts = [b"The city of Paris is THE capital \\x04 caf\\xc3\\xa9", bytes(range(256))]
texts += [bytes(rng.choice(b"the of and The THE x\\x00\\x04\\xfe \\n") for _ in range(200)) for _ in range(20)]
print(json.dumps([[cb.encode(t).hex(), cb.decode(cb.encode(t)) == t] for t in texts]))
"""


def test_kernels_without_jit_give_the_same():
    plain, jitted = run_with_and_without_jit(_NOJIT)
    assert plain == jitted
    assert all(ok for _, ok in plain)
