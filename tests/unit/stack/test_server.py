"""The api's HTTP server over real sockets on 127.0.0.1: keep-alive, order, refusals, no cancellation, graceful stop."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

from timeline.http1 import Request, Response
from timeline.server import Server

MAX_BODY = 64


class App:
    """A handler that echoes, waits when told to, or fails; and remembers what finished."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.finished: list[str] = []

    async def __call__(self, request: Request) -> Response:
        if request.path == "/slow":
            await self.release.wait()
        if request.path == "/boom":
            raise RuntimeError("a bug")
        self.finished.append(request.path)
        body = {"method": request.method, "path": request.path, "body": request.body.decode()}
        return Response(200, json.dumps(body).encode(), {"X-Path": request.path})


def refuse(status: int, code: str, message: str) -> Response:
    return Response(status, json.dumps({"error": code, "message": message}).encode())


async def read_response(reader: asyncio.StreamReader, head_only: bool = False) -> tuple[int, dict[str, str], bytes]:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    lines = head.decode().split("\r\n")[:-2]
    headers = {k.lower(): v for k, _, v in (line.partition(": ") for line in lines[1:])}
    length = int(headers["content-length"])
    body = b"" if head_only else await asyncio.wait_for(reader.readexactly(length), 5)
    return int(lines[0].split(" ")[1]), headers, body


def with_server(scenario: Callable[[Server, App], Awaitable[None]]) -> None:
    async def main() -> None:
        app = App()
        server = Server(app, refuse, MAX_BODY)
        await server.listen("127.0.0.1", 0)
        try:
            await scenario(server, app)
        finally:
            app.release.set()
            await server.stop(grace_s=1)

    asyncio.run(main())


def test_keep_alive_and_pipelined_requests_are_answered_in_order():
    """Requests sent at once on one connection get their answers in the order sent, on the same connection."""

    async def scenario(server: Server, app: App) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
                     b"POST /b HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
                     b"GET /c?q=1 HTTP/1.1\r\n\r\n")
        answers = [await read_response(reader) for _ in range(3)]
        assert [json.loads(body)["path"] for _, _, body in answers] == ["/a", "/b", "/c"]
        assert json.loads(answers[1][2]) == {"method": "POST", "path": "/b", "body": "hello"}
        assert answers[0][1]["x-path"] == "/a" and "date" in answers[0][1]
        writer.close()

    with_server(scenario)


def test_a_body_split_across_packets_is_waited_for():
    """A request is served only once its whole body has arrived."""

    async def scenario(server: Server, app: App) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"POST /split HTTP/1.1\r\nContent-Length: 6\r\n\r\nab")
        await writer.drain()
        await asyncio.sleep(0.05)
        assert app.finished == []
        writer.write(b"cdef")
        _, _, body = await read_response(reader)
        assert json.loads(body)["body"] == "abcdef"
        writer.close()

    with_server(scenario)


def test_a_body_too_large_is_refused_and_skipped():
    """Over the limit: 413 without calling the handler, and the connection goes on with the next request."""

    async def scenario(server: Server, app: App) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        big = b"x" * (MAX_BODY + 1)
        writer.write(b"POST /big HTTP/1.1\r\nContent-Length: %d\r\n\r\n%s" % (len(big), big))
        writer.write(b"GET /after HTTP/1.1\r\n\r\n")
        status, _, body = await read_response(reader)
        assert status == 413 and json.loads(body)["error"] == "request_entity_too_large"
        status, _, body = await read_response(reader)
        assert status == 200 and json.loads(body) == {"method": "GET", "path": "/after", "body": ""}
        assert app.finished == ["/after"]
        writer.close()

    with_server(scenario)


def test_malformed_requests_are_answered_then_closed():
    """A head that is not HTTP gets a 400 and the connection ends; an endless head gets a 431."""

    async def scenario(server: Server, app: App) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"GET /a HTTP/1.1\r\nBad Header: 1\r\n\r\nGET /b HTTP/1.1\r\n\r\n")
        status, headers, _ = await read_response(reader)
        assert status == 400 and headers["connection"] == "close"
        assert await asyncio.wait_for(reader.read(), 5) == b""
        assert app.finished == []

        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"GET /a HTTP/1.1\r\n" + b"X: y\r\n" * 2000)
        status, _, _ = await read_response(reader)
        assert status == 431

    with_server(scenario)


def test_head_requests_get_no_body():
    """A HEAD answer carries the length of the body it leaves out, and the connection stays in step."""

    async def scenario(server: Server, app: App) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"HEAD /h HTTP/1.1\r\n\r\nGET /g HTTP/1.1\r\n\r\n")
        status, headers, _ = await read_response(reader, head_only=True)
        assert status == 200 and int(headers["content-length"]) > 0
        _, _, body = await read_response(reader)
        assert json.loads(body)["path"] == "/g"
        writer.close()

    with_server(scenario)


def test_http_1_0_is_answered_and_closed():
    """The health check's HTTP/1.0 request gets its answer, then the end of the connection."""

    async def scenario(server: Server, app: App) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"GET /healthz HTTP/1.0\r\n\r\n")
        data = await asyncio.wait_for(reader.read(), 5)
        assert data.startswith(b"HTTP/1.1 200 OK\r\n") and b'"/healthz"' in data

    with_server(scenario)


def test_a_failing_handler_is_a_500_and_the_connection_closes():
    """A handler that raises (a bug) still gets an answer, and the connection is not reused."""

    async def scenario(server: Server, app: App) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"GET /boom HTTP/1.1\r\n\r\n")
        status, headers, body = await read_response(reader)
        assert status == 500 and headers["connection"] == "close" and json.loads(body)["error"] == "internal_error"

    with_server(scenario)


def test_a_handler_is_not_cancelled_when_its_client_leaves():
    """The client hangs up mid-request: the handler still runs to its end (its answer is dropped)."""

    async def scenario(server: Server, app: App) -> None:
        _, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"GET /slow HTTP/1.1\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.close()
        await asyncio.sleep(0.05)
        app.release.set()
        for _ in range(100):
            if app.finished:
                break
            await asyncio.sleep(0.01)
        assert app.finished == ["/slow"]

    with_server(scenario)


def test_stop_answers_what_is_in_flight_and_refuses_new_connections():
    """On stop, a request being served is answered (with Connection: close); idle connections and new ones end."""

    async def main() -> None:
        app = App()
        server = Server(app, refuse, MAX_BODY)
        await server.listen("127.0.0.1", 0)
        port = server.port
        busy_reader, busy_writer = await asyncio.open_connection("127.0.0.1", port)
        idle_reader, _ = await asyncio.open_connection("127.0.0.1", port)
        busy_writer.write(b"GET /slow HTTP/1.1\r\n\r\n")
        await busy_writer.drain()
        await asyncio.sleep(0.05)
        stopping = asyncio.create_task(server.stop(grace_s=5))
        await asyncio.sleep(0.05)
        assert await asyncio.wait_for(idle_reader.read(), 5) == b""
        try:
            await asyncio.open_connection("127.0.0.1", port)
            refused = False
        except OSError:
            refused = True
        assert refused
        app.release.set()
        status, headers, _ = await read_response(busy_reader)
        assert status == 200 and headers["connection"] == "close"
        await stopping

    asyncio.run(main())
