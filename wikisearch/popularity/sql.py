"""priors_sql: incoming links counted from MediaWiki's ``pagelinks`` SQL dump.

Two schemas: the one since MediaWiki 1.43 (``pagelinks``: ``pl_from, pl_from_namespace,
pl_target_id``, with the ``linktarget`` table ``lt_id, lt_namespace, lt_title``) and the older one
(``pl_from, pl_namespace, pl_title, pl_from_namespace``). Columns are read from the file's CREATE
TABLE, rows from its INSERT statements one statement at a time (plain, .gz, .bz2 or .xz); an
all-integer table (pagelinks since 1.43) is parsed by numpy, a whole statement at once.

>>> counts, info = count_sql_links(Resolver(reader), "enwiki-pagelinks.sql.gz",     # doctest: +SKIP
...                                "enwiki-linktarget.sql.gz")
"""
from __future__ import annotations

import re

import numpy as np

from wikisearch.errors import WikisearchError
from wikisearch.popularity.sources import Resolver, open_text

_CREATE = re.compile(r"CREATE TABLE `([^`]+)`")
_COLUMN = re.compile(r"\s*`([^`]+)`\s+([a-z]+)", re.I)
_INSERT = re.compile(r"INSERT INTO `([^`]+)` VALUES\s*")
_VALUE = re.compile(r"\s*(?:'((?:[^'\\]|\\.)*)'|(NULL)|(-?[0-9][0-9.eE+-]*))\s*([,)])")
_PUNCT = re.compile(r"[()\s]+")
_ESCAPES = {"0": "\0", "n": "\n", "r": "\r", "t": "\t", "Z": "\x1a", "b": "\b"}
_INT_TYPES = {"int", "bigint", "smallint", "tinyint", "mediumint"}


def _unescape(s: str) -> str:
    if "\\" not in s:
        return s
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), s)


def sql_rows(path, table: str):
    """Yield ``(columns, rows)`` per INSERT statement of ``table`` in a mysqldump file: columns
    from its CREATE TABLE, rows as an int64 array [n, columns] when every column is an integer,
    else as a list of tuples (str, int or None)."""
    columns, types = None, None
    with open_text(path) as f:
        lines = iter(f)
        n = 0
        for line in lines:
            n += 1
            m = _CREATE.match(line)
            if m and m.group(1) == table:
                columns, types = [], []
                for col in lines:
                    n += 1
                    cm = _COLUMN.match(col)
                    if not cm:
                        break
                    columns.append(cm.group(1))
                    types.append(cm.group(2).lower())
                continue
            m = _INSERT.match(line)
            if not m:
                continue
            if m.group(1) != table:
                continue
            if columns is None:
                raise WikisearchError(f"{path}: INSERT into `{table}` before its CREATE TABLE "
                                      "(not a mysqldump of the table?)")
            while not line.rstrip().endswith(";"):     # a statement over several lines
                more = next(lines, None)
                if more is None:
                    raise WikisearchError(f"{path}:{n}: INSERT statement is cut short")
                line += more
                n += 1
            body = line[m.end():].rstrip().rstrip(";")
            yield columns, _parse_values(body, len(columns), all(t in _INT_TYPES for t in types),
                                         path, n)
    if columns is None:
        raise WikisearchError(f"{path}: no CREATE TABLE `{table}` (not the {table} SQL dump?)")


def _parse_values(body: str, width: int, numeric: bool, path, line_no: int):
    if numeric:           # the common case (pagelinks since 1.43): let numpy parse the integers
        flat = _PUNCT.sub("", body)
        if "'" not in flat and "NULL" not in flat:
            try:
                arr = np.array(flat.split(","), np.int64) if flat else np.zeros(0, np.int64)
                if arr.size % width == 0:
                    return arr.reshape(-1, width)
            except ValueError:
                pass
    rows, pos, end = [], 0, len(body)
    while pos < end:
        while pos < end and body[pos] in " ,\n\r\t":
            pos += 1
        if pos >= end:
            break
        if body[pos] != "(":
            raise WikisearchError(f"{path}:{line_no}: unreadable INSERT values near {body[pos:pos + 40]!r}")
        pos += 1
        row = []
        while True:
            m = _VALUE.match(body, pos)
            if not m:
                raise WikisearchError(f"{path}:{line_no}: unreadable INSERT values near "
                                      f"{body[pos:pos + 40]!r}")
            s, null, num, sep = m.groups()
            row.append(_unescape(s) if s is not None else None if null else
                       (int(num) if num.lstrip("-").isdigit() else float(num)))
            pos = m.end()
            if sep == ")":
                break
        if len(row) != width:
            raise WikisearchError(f"{path}:{line_no}: a row has {len(row)} values, the table {width} columns")
        rows.append(tuple(row))
    if numeric:
        return np.asarray(rows, np.int64).reshape(-1, width)
    return rows


def _col(columns, name, path):
    try:
        return columns.index(name)
    except ValueError:
        raise WikisearchError(f"{path}: the table has no column {name} "
                              f"(columns: {', '.join(columns)})") from None


def _full_title(resolver: Resolver, ns: int, title: str) -> str:
    if ns == 0:
        return title
    names = resolver.site.namespaces or {}
    return f"{names.get(ns, ns)}:{title}"


def _linktarget_docids(resolver: Resolver, path, namespaces) -> tuple[np.ndarray, np.ndarray, int]:
    ids, titles = [], []
    rows_seen = 0
    for columns, rows in sql_rows(path, "linktarget"):
        i, ns, t = (_col(columns, c, path) for c in ("lt_id", "lt_namespace", "lt_title"))
        for row in rows:
            rows_seen += 1
            if row[ns] in namespaces:
                ids.append(row[i])
                titles.append(_full_title(resolver, row[ns], row[t]))
    docs = resolver.titles(titles)
    ok = docs >= 0
    ids_arr = np.asarray(ids, np.int64)[ok]
    order = np.argsort(ids_arr, kind="stable")
    return ids_arr[order], docs[ok][order], rows_seen


def count_sql_links(resolver: Resolver, pagelinks, linktarget=None, sources: str = "indexed"):
    """In-link counts per docid from a ``pagelinks`` SQL dump (+ ``linktarget`` for the new schema).

    A row counts when its target (namespace, title) is a document or a redirect to one, and its
    source is a document of the index (``sources="indexed"``, as the dump's own counts) or any
    page of the indexed namespaces (``"namespace"``: whole-wiki counts for a partial index).
    """
    if sources not in ("indexed", "namespace"):
        raise WikisearchError(f"link sources must be 'indexed' or 'namespace', not {sources!r}")
    settings = resolver.reader.manifest.get("settings", {})
    namespaces = set(settings.get("namespaces", [0]))
    counts = np.zeros(resolver.n_docs, np.int64)
    lt_ids = lt_docs = None
    info = {"source": "sql", "pagelinks": str(pagelinks).rsplit("/", 1)[-1], "sources": sources,
            "rows": 0, "counted": 0}
    if linktarget:
        lt_ids, lt_docs, info["linktarget_rows"] = _linktarget_docids(resolver, linktarget, namespaces)
        info["linktarget"] = str(linktarget).rsplit("/", 1)[-1]
    ns_arr = np.asarray(sorted(namespaces), np.int64)
    for columns, rows in sql_rows(pagelinks, "pagelinks"):
        frm, from_ns = _col(columns, "pl_from", pagelinks), _col(columns, "pl_from_namespace", pagelinks)
        if "pl_target_id" in columns:
            if lt_ids is None:
                raise WikisearchError(f"{pagelinks} uses pl_target_id: give the linktarget table too "
                                      "(--linktarget FILE)")
            rows = np.asarray(rows, np.int64).reshape(-1, len(columns))
            tid = rows[:, columns.index("pl_target_id")]
            j = np.minimum(np.searchsorted(lt_ids, tid), max(len(lt_ids) - 1, 0))
            target = np.where(lt_ids[j] == tid, lt_docs[j], -1) if len(lt_ids) else np.full(len(tid), -1)
            src, src_ns = rows[:, frm], rows[:, from_ns]
        else:
            ns_i, t_i = _col(columns, "pl_namespace", pagelinks), _col(columns, "pl_title", pagelinks)
            keep = [r for r in rows if r[ns_i] in namespaces]
            target = resolver.titles([_full_title(resolver, r[ns_i], r[t_i]) for r in keep])
            src = np.asarray([r[frm] for r in keep], np.int64)
            src_ns = np.asarray([r[from_ns] for r in keep], np.int64)
            info["rows"] += len(rows) - len(keep)
        info["rows"] += len(target)
        if sources == "indexed":
            ok = (target >= 0) & (resolver.page_ids(src) >= 0)
        else:
            ok = (target >= 0) & np.isin(src_ns, ns_arr)
        info["counted"] += int(ok.sum())
        counts += np.bincount(target[ok], minlength=resolver.n_docs)
    return np.minimum(counts, np.iinfo(np.uint32).max).astype(np.uint32), info
