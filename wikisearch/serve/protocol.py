"""protocol: uvicorn's HTTP protocol (httptools), each response's head sent with its body.

uvicorn writes an answer to the socket in two writes, the head (status line and headers) when the
application sends ``http.response.start`` and the body when it sends ``http.response.body``: two
``send`` calls on the server and, on the client, two segments to wake up for and read. A
suggestion's answer is ~200 bytes, so the second write costs about what the answer itself does.
Here the head waits for the response's first body bytes (or for its end, where there is no body,
or for the connection's close) and goes out in the same write: the same bytes in the same order,
in one segment. A streamed body's later parts are written as they come, as before.
``wikisearch serve`` uses it where uvicorn has httptools (:func:`http_protocol`).
"""
from __future__ import annotations

_HEAD_START = b"HTTP/1.1 "
_HEAD_END = b"\r\n\r\n"
_CONTINUE = b"HTTP/1.1 100 "


class HeadWithBody:
    """A transport whose writes go to ``transport``, except that a response head (a write
    ``HTTP/1.1 <status other than 100> ... \\r\\n\\r\\n``) is held until the next write, which it
    precedes in one, or :meth:`flush` (the response ended without a body), or :meth:`close`."""

    __slots__ = ("_transport", "_head")

    def __init__(self, transport) -> None:
        self._transport = transport
        self._head: bytes | None = None

    def write(self, data: bytes) -> None:
        head = self._head
        if head is not None:
            self._head = None
            self._transport.write(head + data)
        elif type(data) is bytes and data.startswith(_HEAD_START) and data.endswith(_HEAD_END) \
                and not data.startswith(_CONTINUE):
            self._head = data
        else:
            self._transport.write(data)

    def flush(self) -> None:
        head = self._head
        if head is not None:
            self._head = None
            if not self._transport.is_closing():
                self._transport.write(head)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._head = None
        self._transport.abort()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def __getattr__(self, name):                 # get_extra_info, pause_reading, set_protocol, ...
        return getattr(self._transport, name)


try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:                              # no httptools: uvicorn's h11 protocol, as it is
    HttpToolsProtocol = None


if HttpToolsProtocol is not None:
    class OneWriteHttpToolsProtocol(HttpToolsProtocol):
        """uvicorn's httptools protocol, writing each response's head with its body."""

        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            self.transport = HeadWithBody(transport)
            if BALANCE is not None:
                self._balanced = BALANCE
                BALANCE.opened()

        def connection_lost(self, exc) -> None:
            balance = getattr(self, "_balanced", None)
            if balance is not None:
                self._balanced = None
                balance.closed()
            super().connection_lost(exc)

        def on_response_complete(self) -> None:
            self.transport.flush()                     # a response without body bytes (HEAD, 204)
            super().on_response_complete()


def http_protocol():
    """What ``wikisearch serve`` gives ``uvicorn.Config(http=...)``: uvicorn's httptools protocol
    with :class:`HeadWithBody` writes, or ``"auto"`` (uvicorn's choice) where httptools is missing."""
    return "auto" if HttpToolsProtocol is None else OneWriteHttpToolsProtocol


class Balance:
    """Open connections per worker process, in memory the forked workers share, so that the
    connections of a burst spread evenly over the workers of one listening socket.

    Every worker waits on the one socket and the first one awake accepts everything queued: 8
    keep-alive connections opened at once were seen to split 7:1, 8:0, 5:3 and 3:5 over two
    workers (one worker then serves most of the clients while the other idles: queueing, p95).
    A worker that has just accepted a connection while it already held more than the least
    loaded worker waits a moment (at most :data:`MAX_WAIT_S`, while it still does) before its
    next accept, so that the others take the rest of the queue. The connection is served as
    always; only the next accept is later. ``slots``: how many workers; :meth:`join` names this
    process's slot (in the worker, after the fork)."""

    POLL_S = 0.0005
    MAX_WAIT_S = 0.005

    def __init__(self, slots: int) -> None:
        import mmap
        self._mem = mmap.mmap(-1, 8 * max(1, slots))     # anonymous, shared with forked children
        self.counts = memoryview(self._mem).cast("q")
        self.slot: int | None = None

    def join(self, slot: int) -> None:
        """This process serves as worker ``slot`` (a new worker in a slot starts from 0)."""
        self.counts[slot] = 0
        self.slot = slot

    def opened(self, sleep=None) -> float:
        """A connection was accepted here: count it; wait while this worker held more than the
        least loaded one (so the others accept what is queued). Returns the seconds waited."""
        me = self.slot
        if me is None:
            return 0.0
        counts = self.counts
        counts[me] += 1
        waited = 0.0
        sleep = sleep or _sleep
        while waited < self.MAX_WAIT_S and counts[me] - 1 > min(counts):
            sleep(self.POLL_S)
            waited += self.POLL_S
        return waited

    def closed(self) -> None:
        if self.slot is not None:
            self.counts[self.slot] -= 1


def _sleep(seconds: float) -> None:
    import time
    time.sleep(seconds)


#: The serving process's :class:`Balance`, where ``wikisearch serve --processes N`` forked it.
BALANCE: Balance | None = None
