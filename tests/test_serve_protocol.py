"""wikisearch.serve.protocol: each response's head goes out with its body, in one write, and the
bytes are those uvicorn's own protocol writes (HEAD, 204, streamed bodies, 100-continue, close)."""
from __future__ import annotations

import asyncio

import pytest

from conftest import require_import


class _Transport:
    """Records writes; what uvicorn's protocol needs of a socket transport."""

    def __init__(self):
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data):
        assert not self.closed
        self.writes.append(bytes(data))

    def close(self):
        self.closed = True

    def is_closing(self):
        return self.closed

    def get_extra_info(self, name, default=None):
        return {"peername": ("127.0.0.1", 5000), "sockname": ("127.0.0.1", 8080)}.get(name, default)

    def pause_reading(self):
        pass

    def resume_reading(self):
        pass


def test_head_waits_for_the_body_and_goes_with_it():
    from wikisearch.serve.protocol import HeadWithBody
    t = _Transport()
    w = HeadWithBody(t)
    w.write(b"HTTP/1.1 100 Continue\r\n\r\n")                # not held: the client waits for it
    assert t.writes == [b"HTTP/1.1 100 Continue\r\n\r\n"]
    w.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    assert len(t.writes) == 1
    w.write(b"ok")
    assert t.writes[1:] == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"]
    w.write(b"HTTP/1.1 204 No Content\r\n\r\n")             # no body: out at the response's end
    w.flush()
    w.flush()
    assert t.writes[2:] == [b"HTTP/1.1 204 No Content\r\n\r\n"]
    w.write(b"HTTP/1.1 200 OK\r\n\r\n")
    w.write(memoryview(b"HTTP/1.1 \r\n\r\n"))              # a body (any buffer) after the head
    w.write(memoryview(b"HTTP/1.1 \r\n\r\n"))              # a later part: written as it comes
    assert t.writes[3:] == [b"HTTP/1.1 200 OK\r\n\r\nHTTP/1.1 \r\n\r\n", b"HTTP/1.1 \r\n\r\n"]
    w.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")
    w.close()                                                # out before the close
    assert t.writes[5:] == [b"HTTP/1.1 400 Bad Request\r\n\r\n"] and t.closed


def _exchange(protocol_class, request: bytes, app) -> tuple[list[bytes], bool]:
    """The writes (and whether it closed) of ``protocol_class`` serving ``request`` with ``app``."""
    from uvicorn.config import Config
    from uvicorn.server import ServerState

    async def run():
        config = Config(app, http=protocol_class, log_level="warning")
        config.load()
        transport = _Transport()
        proto = config.http_protocol_class(config=config, server_state=ServerState(), app_state={},
                                           _loop=asyncio.get_running_loop())
        proto.connection_made(transport)
        proto.data_received(request)
        for _ in range(50):                                  # let the application's task run
            await asyncio.sleep(0)
        proto.connection_lost(None)
        return transport.writes, transport.closed
    return asyncio.run(run())


async def _app(scope, receive, send):
    if scope["path"] == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        for part in (b"a", b"bb", b""):
            await send({"type": "http.response.body", "body": part, "more_body": bool(part)})
        return
    status = 204 if scope["path"] == "/empty" else 200
    body = b"" if status == 204 else b'["ab",["Abba"],[""],["u"]]'
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


@pytest.mark.parametrize("request_bytes", [
    b"GET /api/suggest?q=ab HTTP/1.1\r\nHost: x\r\n\r\n",
    b"HEAD /api/suggest?q=ab HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /empty HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    b"GET /bad request\r\n\r\n",
])
def test_same_bytes_as_uvicorns_protocol_in_fewer_writes(request_bytes):
    require_import("uvicorn", "httptools", why="the serve extra")
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    from wikisearch.serve.protocol import OneWriteHttpToolsProtocol, http_protocol
    assert http_protocol() is OneWriteHttpToolsProtocol
    theirs, their_close = _exchange(HttpToolsProtocol, request_bytes, _app)
    ours, our_close = _exchange(OneWriteHttpToolsProtocol, request_bytes, _app)
    assert b"".join(ours) == b"".join(theirs) and b"HTTP/1.1 " in b"".join(ours)
    assert our_close == their_close
    answers = b"".join(theirs).count(b"HTTP/1.1 ")
    if b"/stream" in request_bytes:                  # head with the first part, then each part
        assert len(ours) == len(theirs) - 1
    else:                                            # one write per answer
        assert len(ours) == answers


def test_balance_waits_while_this_worker_holds_more_than_the_least_loaded():
    from wikisearch.serve.protocol import Balance
    b = Balance(3)
    b.join(0)
    waits = []
    assert b.opened(sleep=waits.append) == 0 and not waits        # 1 vs 0, 0: had none more
    assert list(b.counts) == [1, 0, 0]

    def other_accepts(seconds):                                    # a worker takes the next one
        waits.append(seconds)
        b.counts[len(waits)] += 1
    assert b.opened(sleep=other_accepts) > 0                       # had 1 while others had 0
    assert list(b.counts) == [2, 1, 1] and len(waits) == 2        # waited until they caught up
    waits.clear()
    b.counts[1] = b.counts[2] = 0                                  # nobody else accepts: bounded
    assert b.opened(sleep=waits.append) == pytest.approx(Balance.MAX_WAIT_S)
    assert list(b.counts) == [3, 0, 0]
    b.closed()
    assert list(b.counts) == [2, 0, 0]
    b.join(1)                                                      # a new worker's slot starts at 0
    assert b.counts[1] == 0 and b.slot == 1
    unjoined = Balance(2)                                          # one process: nothing counted
    assert unjoined.opened(sleep=waits.append) == 0 and list(unjoined.counts) == [0, 0]


def test_balance_counts_are_shared_with_forked_workers():
    import os
    from wikisearch.serve.protocol import Balance
    if not hasattr(os, "fork"):
        pytest.skip("no os.fork here")
    b = Balance(2)
    pid = os.fork()
    if pid == 0:
        try:
            b.join(1)
            b.opened(sleep=lambda s: None)
            b.opened(sleep=lambda s: None)
            b.closed()
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    assert list(b.counts) == [0, 1]


def test_the_protocol_counts_its_connections_in_the_balance(monkeypatch):
    require_import("httptools")
    from uvicorn.config import Config
    from uvicorn.server import ServerState
    from wikisearch.serve import protocol

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    b = protocol.Balance(2)
    b.join(0)
    monkeypatch.setattr(protocol, "BALANCE", b)

    async def run():
        config = Config(app, http=protocol.OneWriteHttpToolsProtocol, log_level="warning")
        config.load()
        protos = []
        for _ in range(2):
            proto = config.http_protocol_class(config=config, server_state=ServerState(), app_state={},
                                               _loop=asyncio.get_running_loop())
            proto.connection_made(_Transport())
            protos.append(proto)
        opened = list(b.counts)
        for proto in protos:
            proto.connection_lost(None)
        protos[0].connection_lost(None)                          # counted once
        return opened
    assert asyncio.run(run()) == [2, 0]
    assert list(b.counts) == [0, 0]
