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
