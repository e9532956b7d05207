"""spelling_build: did-you-mean's dictionary for a server, made by one process of its own.

An index as ``build_index`` writes it has no ``spelling.bin``. Made in a serving process at the
first query that needs a correction, it would hold that request (30k articles: ~19 s of CPU,
~700 MB peak) and, under ``--processes N``, be made N times. Instead, ``wikisearch serve`` starts
ONE builder process (:func:`wikisearch.popularity.spelling.main`, at a lower priority) once the
first answers' path is loaded and before forking its workers, and says so on stderr, and again
when it is done. Until then no request waits: did-you-mean answers as if no correction were
found (``/api/info``: ``"spelling": "building"``). Each serving process picks the file up on a background thread once the parent
has seen the builder end (a byte of memory shared by the forked processes, looked at once a
second: no file system call per request) and empties its answer cache then, so that an answer
given without a correction is not served again from it.

A read-only index directory: the builder writes into a temporary directory of its own instead
(removed when the server stops), and the workers read it from there.
"""
from __future__ import annotations

import mmap
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

#: The shared status byte.
THERE, BUILDING, BUILT, FAILED = 0, 1, 2, 3
#: How often a serving process looks at the status byte while the builder runs (seconds).
POLL_S = 1.0


class SpellingBuild:
    """The spelling dictionary of a served index: its builder (in the parent) and its loading
    (in each serving process). ``searcher.spelling_source`` is this object (:meth:`__call__`:
    the dictionary once loaded, else None, at once)."""

    def __init__(self, searcher, say):
        from wikisearch.popularity.spelling import FILE, spelling_path, stored_problem
        reader = searcher.reader
        self.checksum = reader.manifest.get("checksum") if reader.manifest else None
        self.say = say
        self.index_dir = Path(reader.path)
        self.path = spelling_path(reader.path)
        self.problem = stored_problem(reader)
        self.tmpdir: str | None = None
        self.process: subprocess.Popen | None = None
        self.returncode: int | None = None
        self.started = 0.0
        self.stopping = False
        self.dictionary = None
        #: Bumped when this process loads the dictionary: answers may change (the answer cache
        #: empties itself).
        self.generation = 0
        self._failed_load = False
        self._status = mmap.mmap(-1, 1)       # MAP_SHARED: the forked workers see the parent's writes
        self._status[0] = THERE if self.problem is None else BUILDING
        if self.problem is not None and not os.access(self.path.parent, os.W_OK):
            self.tmpdir = tempfile.mkdtemp(prefix="wikisearch-spelling-")
            self.path = Path(self.tmpdir) / FILE

    @classmethod
    def for_searcher(cls, searcher, say) -> SpellingBuild | None:
        """One for ``searcher``'s index, or None where it cannot be (an index without a directory
        or a checksum: the dictionary is then made on first need, as the CLI does)."""
        reader = searcher.reader
        if reader.path is None or not (reader.manifest or {}).get("checksum"):
            return None
        return cls(searcher, say)

    # --- the parent ------------------------------------------------------------------------------
    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def start(self) -> None:
        """Start the builder if spelling.bin is missing, stale or damaged (else nothing)."""
        if self._status[0] != BUILDING:
            return
        import wikisearch
        root = str(Path(wikisearch.__file__).resolve().parents[1])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([root] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
        code = "import sys; from wikisearch.popularity.spelling import main; sys.exit(main())"
        self.started = time.monotonic()
        self.process = subprocess.Popen([sys.executable, "-c", code, str(self.index_dir), str(self.path),
                                         str(os.getpid())], stdin=subprocess.DEVNULL, env=env)
        where = f"into {self.path} (the index directory is read-only; removed when the server stops)" \
            if self.tmpdir else "as spelling.bin"
        self.say(f"spelling.bin is {self.problem}: building the spelling dictionary for 'did you mean' "
                 f"in a separate process (pid {self.process.pid}) {where}; until it is ready, searches "
                 f"are answered without corrections")

    def reap_in_thread(self) -> None:
        """Wait for the builder on a thread of this process (a server of one process; the
        forking parent reaps it in its supervision loop instead: :meth:`ended`)."""
        if self.process is None:
            return
        proc = self.process

        def wait() -> None:
            self.ended(proc.wait())
        threading.Thread(target=wait, name="wikisearch-spelling-reaper", daemon=True).start()

    def ended(self, code: int) -> None:
        """The builder ended with exit status ``code``: tell the serving processes, and the log."""
        if self.returncode is not None:
            return
        self.returncode = code
        if self.process is not None and self.process.returncode is None:
            self.process.returncode = code            # reaped by the caller's os.wait()
        took = time.monotonic() - self.started
        if code == 0 and self.path.exists():
            self._status[0] = BUILT
            self.say(f"spelling dictionary ready ({self.path}, built in {took:.1f} s): did-you-mean is on")
            return
        self._status[0] = FAILED
        if self.stopping:
            return
        self.say(f"Error: building the spelling dictionary failed (exit status {code}, after {took:.1f} s); "
                 f"no spelling.bin was written and did-you-mean stays off until the server is restarted")

    def close(self) -> None:
        """The server stops: stop a builder still running (it leaves no file), remove a
        temporary directory."""
        self.stopping = True
        proc = self.process
        if proc is not None and self.returncode is None:
            try:
                proc.terminate()
                proc.send_signal(signal.SIGCONT)      # (one stopped by someone gets the SIGTERM too)
                self.ended(proc.wait(10))
            except (OSError, subprocess.TimeoutExpired):
                proc.kill()
        if self.tmpdir is not None:
            shutil.rmtree(self.tmpdir, ignore_errors=True)

    # --- a serving process -----------------------------------------------------------------------
    def __call__(self):
        return self.dictionary

    def state(self) -> str:
        """``ready`` (this process has it), ``loading`` (the file is there, not read yet),
        ``building``, or ``failed``."""
        if self.dictionary is not None:
            return "ready"
        status = self._status[0]
        if status == FAILED or self._failed_load:
            return "failed"
        return "building" if status == BUILDING else "loading"

    def watch(self, idle=None, ready=None) -> None:
        """Load the dictionary once it is there (looking once every :data:`POLL_S` while it is
        being built), when the process is idle (``idle()``); then call ``ready()``. Returns
        without it if the build fails."""
        from wikisearch.errors import CorruptIndexError
        from wikisearch.popularity.spelling import read_dictionary
        while self._status[0] == BUILDING:
            time.sleep(POLL_S)
        if self._status[0] == FAILED:
            return
        if idle is not None:
            idle()
        try:
            self.dictionary = read_dictionary(self.path, self.checksum)
        except (CorruptIndexError, OSError) as e:
            self._failed_load = True
            self.say(f"Error: the spelling dictionary cannot be read ({' '.join(str(e).split())}); "
                     f"did-you-mean stays off")
            return
        self.generation += 1
        if ready is not None:
            ready()
