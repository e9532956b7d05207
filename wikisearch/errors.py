"""The one error hierarchy of wikisearch.

Every failure a user can cause (bad dump, damaged index, odd query) raises a subclass of
:class:`WikisearchError`; the CLI prints ``Error: <message>`` on one line and exits non-zero.
"""
from __future__ import annotations


class WikisearchError(Exception):
    """Base class for every error wikisearch raises on purpose."""


class DumpFormatError(WikisearchError):
    """The input is not a readable MediaWiki/WikiExtractor dump (or is damaged).

    ``offset`` is the byte offset in the *uncompressed* stream where the problem was found,
    ``title`` the title of the page being read, when known.
    """

    def __init__(self, message: str, *, offset: int | None = None, title: str | None = None,
                 path: str | None = None):
        self.reason = message
        self.offset = offset
        self.title = title
        self.path = path
        where = []
        if path:
            where.append(str(path))
        if offset is not None:
            where.append(f"byte {offset:,}")
        if title:
            where.append(f"page {title!r}")
        super().__init__(f"{message} ({', '.join(where)})" if where else message)

    def __reduce__(self):   # keyword arguments: so that it crosses a process pool intact
        return _rebuild, (type(self), (self.reason,), {"offset": self.offset, "title": self.title,
                                                       "path": self.path})


class CorruptIndexError(WikisearchError):
    """An index file is damaged: bad magic, bad checksum, truncated, inconsistent."""

    def __init__(self, path, message: str, *, expected=None, found=None):
        self.path = str(path)
        self.expected = expected
        self.found = found
        detail = f" (expected {expected}, found {found})" if expected is not None or found is not None else ""
        self.reason = message
        super().__init__(f"corrupt index file {self.path}: {message}{detail}")

    def __reduce__(self):
        return _rebuild, (type(self), (self.path, self.reason),
                          {"expected": self.expected, "found": self.found})


def _rebuild(cls, args, kwargs):
    return cls(*args, **kwargs)


class StaleIndexFileError(CorruptIndexError):
    """A file beside the index (``spelling.bin``, ``priors.bin``) that is intact but was made for
    another build of the index or with other settings: unusable until it is made again."""


class IndexNotFoundError(WikisearchError):
    """The directory holds no complete index (missing, or a build that never finished)."""


class FormatTooOldError(WikisearchError):
    """The index was written by an older, unsupported format version; rebuild it."""


class FormatTooNewError(WikisearchError):
    """The index was written by a newer wikisearch; upgrade wikisearch to read it."""


class InvalidQueryError(WikisearchError):
    """The query cannot be parsed or applied (unknown field, unbalanced quotes, ...)."""


class MissingExtraError(WikisearchError):
    """An optional feature needs an extra that is not installed."""


class DiskError(WikisearchError):
    """A file could not be written: the disk is full, read-only, or not ours to write."""


_DISK_REMEDIES = {
    "ENOSPC": "no space left on the device: free some, or write the index elsewhere (-o)",
    "EDQUOT": "disk quota exceeded: free some space, or write the index elsewhere (-o)",
    "EROFS": "the file system is read-only: write elsewhere (-o), or remount it read-write",
    "EACCES": "permission denied: write elsewhere (-o), or get write access to it",
    "EPERM": "operation not permitted: write elsewhere (-o), or get write access to it",
}


def disk_error(err: OSError, where=None) -> DiskError | None:
    """The one-line :class:`DiskError` for a full, read-only or forbidden disk (naming the path,
    else ``where``, and what to do), or None for any other ``OSError``.

    >>> import errno
    >>> str(disk_error(OSError(errno.EROFS, "Read-only file system", "/mnt/idx")))
    'cannot write /mnt/idx: the file system is read-only: write elsewhere (-o), or remount it read-write'
    """
    import errno
    name = errno.errorcode.get(err.errno or 0, "")
    if name not in _DISK_REMEDIES:
        return None
    where = err.filename if err.filename is not None else (where or "the output")
    return DiskError(f"cannot write {where}: {_DISK_REMEDIES[name]}")
