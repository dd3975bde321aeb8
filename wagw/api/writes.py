"""uvicorn's HTTP/1.1 protocol (httptools' parser) with each answer sent in one send() call.

httptools parses a request in C (h11, uvicorn's default, took a tenth of a call's CPU).
uvicorn writes an answer's head and its body to the socket as two writes, and each write is
a send() of its own right away: on loopback the kernel delivers every send to the reader
then and there, so the two cost the api process about a fifth of a small call's CPU. Here
the writes made while the event loop runs one step are joined and sent together at the end
of that step; a close sends what is waiting first. What is sent, and in what order, is
unchanged.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class JoinedWrites:
    """A transport whose writes wait for the end of the event loop's step, then go out as one."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._waiting: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if not self._waiting:
            self._loop.call_soon(self.flush)
        self._waiting.append(bytes(data))

    def writelines(self, chunks: Any) -> None:
        for chunk in chunks:
            self.write(chunk)

    def flush(self) -> None:
        if not self._waiting:
            return
        data = self._waiting[0] if len(self._waiting) == 1 else b"".join(self._waiting)
        self._waiting.clear()
        if not self._transport.is_closing():
            self._transport.write(data)

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._waiting.clear()
        self._transport.abort()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(len(chunk) for chunk in self._waiting)

    def __getattr__(self, name: str) -> Any:  # reading, flow control, extra info: the socket's own
        return getattr(self._transport, name)


class JoinedWritesHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn.Config(http=...): uvicorn's httptools protocol on a JoinedWrites transport."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        joined: Any = JoinedWrites(cast("asyncio.Transport", transport), asyncio.get_running_loop())
        super().connection_made(joined)
