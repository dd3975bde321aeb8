"""wagw api sends each answer in one send(): the writes of one event loop step are joined."""

from __future__ import annotations

import asyncio

from wagw.api.writes import JoinedWrites


class Recording(asyncio.Transport):
    """A transport that records what reaches the socket (pure logic: no socket here)."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[bytes] = []
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.sent.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: object = None) -> object:
        return ("127.0.0.1", 3000) if name == "sockname" else default


def test_the_writes_of_one_step_go_out_once_in_order_and_a_close_sends_first():
    async def main() -> tuple[list[bytes], list[bytes], list[bytes], list[bytes], object]:
        socket = Recording()
        joined = JoinedWrites(socket, asyncio.get_running_loop())
        joined.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
        joined.write(b"")
        joined.write(memoryview(b"{}"))
        before = list(socket.sent)
        await asyncio.sleep(0)  # the step ends
        answered = list(socket.sent)
        joined.write(b"HTTP/1.1 202 Accepted\r\n\r\n")
        joined.close()  # the last answer, then the close: nothing lost
        closing = list(socket.sent)
        joined.write(b"late")
        await asyncio.sleep(0)
        return before, answered, closing, socket.sent, joined.get_extra_info("sockname")

    before, answered, closing, at_end, sockname = asyncio.run(main())
    assert before == []
    assert answered == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]
    assert closing == [*answered, b"HTTP/1.1 202 Accepted\r\n\r\n"]
    assert at_end == closing  # a write after the close is dropped
    assert sockname == ("127.0.0.1", 3000)
