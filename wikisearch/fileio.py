"""fileio: the small file helpers every stage needs -- atomic replacement, fsync, string packing,
compression sniffing. Imports nothing of wikisearch's, so any module may use it.

A file that exists under its final name is complete: writers write a temporary name beside it,
fsync it, rename it into place and fsync the directory (:func:`atomic_path`), so a crash leaves
the old file or the new one, never half of one.

>>> offsets, blob = pack_strings(["a", "zé"])
>>> offsets.tolist(), unpack_strings(offsets, blob)
([0, 1, 4], ['a', 'zé'])
"""
from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:                  # (numpy is imported where used: the CLI imports this module
    import numpy as np             # before it knows whether the command wants numpy's BLAS threads)

try:     # ISA-L's CRC-32 (PCLMUL): the same checksum as zlib's, 3x faster on an index's columns
    from isal.isal_zlib import crc32   # noqa: F401  (248 MB in 18 ms against 59; 5-12x on small blocks)
except ImportError:                     # pragma: no cover  (isal is a dependency; zlib if absent)
    from zlib import crc32  # noqa: F401

#: Leading bytes of the compressed formats wikisearch reads, and their names.
COMPRESSION_MAGIC = ((b"BZh", "bz2"), (b"\x1f\x8b", "gzip"), (b"\xfd7zXZ\x00", "xz"))


def sniff_compression(head: bytes) -> str | None:
    """``"bz2"``, ``"gzip"`` or ``"xz"`` from a file's first bytes; None for anything else.

    >>> sniff_compression(b"BZh91AY"), sniff_compression(b"<mediawiki")
    ('bz2', None)
    """
    for magic, name in COMPRESSION_MAGIC:
        if head.startswith(magic):
            return name
    return None


#: Environment variable naming a step at which the process kills itself with SIGKILL (the crash
#: tests and ``benchmarks/bench_faults.py``): ``publish:swap``, ``block:3``, ``merge:1``, ...
KILL_AT = "WIKISEARCH_KILL_AT"


def sha256_hex(data: bytes) -> str:
    """``hashlib.sha256(data).hexdigest()``, by CPython's own SHA-256 module where it is built
    (``_sha2``, ``_sha256`` before Python 3.12): hashlib's import, which loads OpenSSL and makes
    every algorithm's constructor, is ~5 ms of a query process that hashes one small manifest.
    The same digest either way (a test compares them).

    >>> sha256_hex(b"abc")[:16]
    'ba7816bf8f01cfea'
    """
    if not _SHA256:
        try:
            from _sha2 import sha256
        except ImportError:
            try:
                from _sha256 import sha256
            except ImportError:
                from hashlib import sha256
        _SHA256.append(sha256)
    return _SHA256[0](data).hexdigest()


_SHA256: list = []


def kill_point(name: str) -> None:
    """Die here, as ``kill -9`` would kill us, if ``$WIKISEARCH_KILL_AT`` names this step."""
    if os.environ.get(KILL_AT) == name:
        import signal
        os.kill(os.getpid(), signal.SIGKILL)


def fsync_dir(path) -> None:
    """Make a rename or a new file in directory ``path`` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_file(path) -> None:
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


@contextlib.contextmanager
def atomic_path(path, *, durable: bool = True):
    """Yield a temporary path beside ``path``; on success it is renamed to ``path`` (and, with
    ``durable``, fsynced before and its directory after); on failure it is removed.

    >>> with atomic_path("out.bin") as tmp:          # doctest: +SKIP
    ...     write_container(tmp, b"KIND", arrays)
    """
    path = Path(path)
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    try:
        yield tmp
        if durable:
            fsync_file(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    if durable:
        fsync_dir(path.parent)


def write_json_atomic(path, obj) -> None:
    """Write JSON (sorted keys, indent 1, UTF-8) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(obj, f, indent=1, sort_keys=True, ensure_ascii=False)
            f.write("\n")


def pack_strings(items) -> tuple[np.ndarray, np.ndarray]:
    """Strings -> (offsets uint64[n+1], UTF-8 blob uint8[]); lone surrogates survive."""
    import numpy as np
    encoded = [s.encode("utf-8", "surrogatepass") for s in items]
    offsets = np.zeros(len(encoded) + 1, np.uint64)
    if encoded:
        np.cumsum([len(e) for e in encoded], out=offsets[1:])
    return offsets, np.frombuffer(b"".join(encoded), np.uint8)


def unpack_strings(offsets: np.ndarray, blob: np.ndarray) -> list[str]:
    """The inverse of :func:`pack_strings` (any integer offsets)."""
    import numpy as np
    raw = np.asarray(blob).tobytes()
    o = np.asarray(offsets).tolist()
    return [raw[o[i]:o[i + 1]].decode("utf-8", "surrogatepass") for i in range(len(o) - 1)]


_CONTROLS = {c: f"\\x{c:02x}" for c in [*range(0x20), *range(0x7f, 0xa0)]}
_LINE_CONTROLS = {c: v for c, v in _CONTROLS.items() if c not in (0x09, 0x0a)}
_JSON_CONTROLS = {c: f"\\u{c:04x}" for c in range(0x7f, 0xa0)}


def terminal_safe(text: str, *, lines: bool = False) -> str:
    r"""``text`` with control characters (C0, DEL, C1: ESC sequences, NUL, CSI...) shown as
    ``\x1b`` escapes, so that a title from a dump cannot drive the terminal; ``lines`` keeps
    newlines and tabs.

    >>> terminal_safe("a\x1b[31mb\x00")
    'a\\x1b[31mb\\x00'
    """
    return text.translate(_LINE_CONTROLS if lines else _CONTROLS)


def json_safe(text: str) -> str:
    r"""JSON text (``ensure_ascii=False`` escapes C0 controls already) with DEL and the C1
    controls written as ``\u`` escapes too: the same JSON value, nothing raw for a terminal."""
    return text.translate(_JSON_CONTROLS)


def narrowest_uint(max_value: int):
    """The narrowest unsigned dtype (uint8/16/32/64) that holds 0..``max_value``: the width of
    an integer column of format 9 (docs.bin, suggest.bin), decided when it is written.

    >>> [narrowest_uint(v).__name__ for v in (0, 255, 256, 65535, 65536, 2**32 - 1, 2**32)]
    ['uint8', 'uint8', 'uint16', 'uint16', 'uint32', 'uint32', 'uint64']
    """
    import numpy as np
    v = int(max_value)
    if v < 0:
        raise ValueError(f"no unsigned dtype holds {v}")
    for dt in (np.uint8, np.uint16, np.uint32):
        if v <= np.iinfo(dt).max:
            return dt
    return np.uint64


def signed_offsets(offsets) -> np.ndarray:
    """Offsets (any unsigned width, ascending) as the kernels take them, signed: a uint64 column
    viewed as int64, a uint32 one viewed as int32 when its last value is below 2**31 (no copy),
    else (a narrower column, or 2**31 and over) copied to int64. Numba widens int32 arithmetic to
    int64, where uint64 mixed with int64 would give floats.

    >>> import numpy as np
    >>> [signed_offsets(np.array(v, dt)).dtype.name for v, dt in
    ...  (([0, 5], np.uint64), ([0, 5], np.uint32), ([0, 2**31], np.uint32), ([0, 5], np.uint16))]
    ['int64', 'int32', 'int64', 'int64']
    """
    import numpy as np
    a = np.asarray(offsets)
    if a.dtype == np.uint64 or a.dtype == np.int64:
        return a.view(np.int64)
    if (a.dtype == np.uint32 or a.dtype == np.int32) and (len(a) == 0 or int(a[-1]) < 2 ** 31):
        return a.view(np.int32)
    out = a.astype(np.int64)
    out.flags.writeable = a.flags.writeable      # (read-only as a mapped column is: one kernel type)
    return out


def string_at(offsets: np.ndarray, blob: np.ndarray, i: int) -> str:
    """String ``i`` of a packed table (``blob`` a uint8 array), without unpacking the others.
    (No numpy import or call here: a title's read, several per answer.)"""
    return blob[int(offsets[i]):int(offsets[i + 1])].tobytes().decode("utf-8", "surrogatepass")
