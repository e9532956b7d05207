"""publish: put a finished index in place in one atomic step, and find the one a reader opens.

An index path ``idx`` is a symbolic link to a *generation*, a sibling directory
``.idx.gen000007`` holding one complete index (``manifest.json`` and its files). Publishing moves
the finished directory to a new generation name, then swaps the link with one ``rename(2)`` of a
new link over the old one; that rename is the commit point. Killed before it, ``idx`` still names
the old index; after it, the new one; no moment shows neither. Old generations are removed after
the swap. A reader resolves the link once (:func:`resolve_index`) and reads every file of that one
generation, so it never mixes an old manifest with new files; if the generation it resolved is
removed before its files are open, it resolves again (``IndexReader`` does this).

An index directory of the older layout (a real directory at ``idx``) is set aside as ``.idx.old``
before the first link takes its place; a kill between the two renames leaves ``.idx.old`` and no
``idx``, and :func:`recover` moves it back: a leftover ``.old`` is restored or, when ``idx`` is a
complete index again, removed -- never removed while it is the only index there.

>>> publish(Path("work/final"), Path("idx"))       # doctest: +SKIP
>>> resolve_index("idx")                           # doctest: +SKIP
PosixPath('.idx.gen000001')
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from wikisearch.fileio import fsync_dir, kill_point

MANIFEST = "manifest.json"


def generation_dir(out: Path, number: int) -> Path:
    return out.parent / f".{out.name}.gen{number:06d}"


def generations(out: Path) -> list[Path]:
    """Every generation directory of the index path ``out``, oldest first."""
    pattern = re.compile(re.escape(f".{out.name}.gen") + r"(\d{6,})$")
    found = []
    if out.parent.is_dir():
        for p in out.parent.iterdir():
            m = pattern.match(p.name)
            if m and p.is_dir() and not p.is_symlink():
                found.append((int(m.group(1)), p))
    return [p for _n, p in sorted(found)]


def resolve_index(path) -> Path:
    """The directory whose files make the index at ``path``: the generation its link names
    (read once, so that every file comes from the same generation), or ``path`` itself."""
    path = Path(path)
    try:
        target = os.readlink(path)
    except OSError:           # not a link: an index of the older layout, or nothing
        old = old_dir(path)
        if not os.path.lexists(path) and (old / MANIFEST).exists():
            return old        # killed between setting the old layout aside and the first link
        return path
    return path.parent / target if not os.path.isabs(target) else Path(target)


def old_dir(out: Path) -> Path:
    return out.parent / f".{out.name}.old"


def recover(out: Path) -> str | None:
    """Repair what an interrupted publish of the older layout left: ``.idx.old`` is moved back
    when ``idx`` is gone, removed when ``idx`` is a complete index again. Returns what was done."""
    old = old_dir(out)
    if not old.exists():
        return None
    if not os.path.lexists(out):
        os.replace(old, out)
        fsync_dir(out.parent)
        return f"restored {out} from {old} (left by an interrupted publish)"
    if (out / MANIFEST).exists():
        import shutil
        shutil.rmtree(old)
        return f"removed {old}, the index {out} replaced before an interruption"
    return None


def publish(final: Path, out: Path) -> Path:
    """Make the finished index directory ``final`` the index at ``out`` (atomically); returns its
    generation directory. ``kill_point`` marks each step for the fault tests and benchmark."""
    import glob                  # (glob and shutil: only a build's publish needs them, not a reader)
    import shutil
    recover(out)
    for stale in out.parent.glob(f".{glob.escape(out.name)}.link.tmp*"):   # a killed publish's
        stale.unlink()
    gens = generations(out)
    number = 1 + max([int(p.name.rsplit("gen", 1)[1]) for p in gens], default=0)
    gen = generation_dir(out, number)
    kill_point("publish:generation")
    os.replace(final, gen)
    fsync_dir(gen.parent)
    kill_point("publish:link")
    link = out.parent / f".{out.name}.link.tmp{os.getpid()}"
    if os.path.lexists(link):
        os.unlink(link)
    os.symlink(gen.name, link)
    kill_point("publish:swap")
    if out.is_dir() and not out.is_symlink():       # the older layout: set it aside first
        os.replace(out, old_dir(out))
        kill_point("publish:migrate")
    os.replace(link, out)                              # the commit point
    fsync_dir(out.parent)
    kill_point("publish:cleanup")
    for p in gens:                                     # readers that opened one keep their maps
        if p != gen:
            shutil.rmtree(p, ignore_errors=True)
    if old_dir(out).exists():
        recover(out)
    return gen


def remove_index(path) -> None:
    """Delete the index at ``path``: its link and every generation (a plain ``rm -r`` of the link
    leaves the generations behind), or a directory of the older layout; nothing if there is none.
    Any other directory at ``path`` is removed too (callers pass a path they own)."""
    import shutil
    path = Path(path)
    gens = generations(path)
    if path.is_symlink():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)
    for p in gens + [old_dir(path)]:
        shutil.rmtree(p, ignore_errors=True)
