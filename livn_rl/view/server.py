"""One run, many watchers: a ``websockets`` server that streams a run's frames on ``/stream`` and serves the page.

The same port answers plain HTTP for the page (``/`` and the files of ``livn_rl/view/static/``, nothing else: the
files are read once at start-up and looked up by exact name, so no path reaches the file system) and WebSocket
connections on ``/stream``. A browser may open the stream only from the server's own origin (no other web page can
drive the run). Each client has its own bounded queue (:mod:`livn_rl.view.hub`); its messages are checked by
:func:`~livn_rl.view.messages.parse_command` and a bad one gets an error frame ``{"type": "error", "error": ...}``
for that client alone, while the run goes on.

A source is what runs: :class:`~livn_rl.view.lif_stream.LIFStream` or :class:`~livn_rl.view.env_stream.EnvStream`.
It has ``index_page``, ``queue_size``, ``commands``, ``hello()``, ``command(name, fields, hub)``,
``async run(hub)`` and ``close()``.
"""

from __future__ import annotations

import asyncio
import http
import json
import socket
from importlib import resources
from typing import Any, Callable
from urllib.parse import urlsplit

from livn_rl.view.hub import Client, Hub
from livn_rl.view.messages import parse_command

__all__ = ["CONTENT_TYPES", "MAX_FRAME_BYTES", "STREAM_PATH", "UNSENT_BYTES", "ViewServer", "static_files"]

STREAM_PATH = "/stream"
#: Unsent bytes the kernel keeps for one client at most: more waits in the client's queue, where old frames give
#: way to new ones, so a slow client sees the run as it is now rather than seconds ago.
UNSENT_BYTES = 16 * 1024
#: Messages above this size close the connection (code 1009) before they are read; smaller ones that are still
#: too long for a command get an error frame.
MAX_FRAME_BYTES = 64 * 1024
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".png": "image/png",
    ".svg": "image/svg+xml",
}


def static_files() -> dict[str, tuple[bytes, str]]:
    """The page's files shipped in ``livn_rl/view/static/``: name -> (content, content type)."""
    files = {}
    for entry in resources.files("livn_rl.view").joinpath("static").iterdir():
        suffix = "." + entry.name.rsplit(".", 1)[-1] if "." in entry.name else ""
        if entry.is_file() and suffix in CONTENT_TYPES:
            files[entry.name] = (entry.read_bytes(), CONTENT_TYPES[suffix])
    return files


class ViewServer:
    """Serve one source's page and stream.

    :param source: what runs (a ``LIFStream`` or an ``EnvStream``)
    :param host: interface to listen on (``127.0.0.1``: this machine only)
    :param port: TCP port (0: any free one)
    :param log: called with a line for each client that comes or goes (``None``: quiet)
    """

    def __init__(self, source: Any, host: str = "127.0.0.1", port: int = 8765,
                 log: Callable[[str], None] | None = None) -> None:
        self.source = source
        self.host = host
        self.port = port
        self.log = log
        self.hub = Hub(source.queue_size)
        self.files = static_files()
        if source.index_page not in self.files:
            raise FileNotFoundError(f"the page {source.index_page} is missing from livn_rl/view/static/")

    # ------------------------------------------------------------------------------------------------- HTTP
    def _http(self, connection, request):
        """Answer plain HTTP requests with the page's files; let WebSocket requests for the stream through."""
        from websockets.datastructures import Headers
        from websockets.http11 import Response

        path = urlsplit(request.path).path
        if path == STREAM_PATH:
            origin, host = request.headers.get("Origin"), request.headers.get("Host")
            if origin is not None and urlsplit(origin).netloc != host:
                return connection.respond(http.HTTPStatus.FORBIDDEN, f"the stream accepts pages from {host} only\n")
            return None
        name = self.source.index_page if path == "/" else path[1:]
        if name not in self.files:
            return connection.respond(http.HTTPStatus.NOT_FOUND, f"not found: {path}\n")
        body, content_type = self.files[name]
        headers = Headers([
            ("Content-Type", content_type), ("Content-Length", str(len(body))), ("Cache-Control", "no-cache"),
            ("X-Content-Type-Options", "nosniff"), ("Connection", "close"),
        ])
        return Response(http.HTTPStatus.OK.value, http.HTTPStatus.OK.phrase, headers, body)

    # -------------------------------------------------------------------------------------------- WebSocket
    async def _handle(self, connection) -> None:
        from websockets.exceptions import ConnectionClosed

        _limit_unsent(connection)
        client = self.hub.join(connection)
        pump = asyncio.create_task(self._pump(client))
        self._say(f"client {_peer(connection)} connected ({len(self.hub.clients)} watching)")
        try:
            for text in self.source.hello():
                client.offer(text)
            async for message in connection:
                self._receive(client, message)
        except ConnectionClosed:
            pass
        finally:
            self.hub.leave(client)
            pump.cancel()
            dropped = f", {client.dropped} frames dropped for it" if client.dropped else ""
            self._say(f"client {_peer(connection)} left ({len(self.hub.clients)} watching{dropped})")

    def _receive(self, client: Client, message: str | bytes) -> None:
        try:
            name, fields = parse_command(message, self.source.commands)
            client.controls = True
            reply = self.source.command(name, fields, self.hub)
        except ValueError as err:  # a CommandError, or a value the source itself refused
            reply = {"type": "error", "error": str(err)}
        if reply is not None:
            client.offer(json.dumps(reply))

    @staticmethod
    async def _pump(client: Client) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            await client.pump()
        except ConnectionClosed:
            pass

    def _say(self, line: str) -> None:
        if self.log is not None:
            self.log(line)

    # ------------------------------------------------------------------------------------------------- run
    async def serve(self, ready: Callable[[str, int], None] | None = None) -> None:
        """Listen, then run the source until it ends or the task is cancelled (Ctrl-C); the source is closed
        either way.

        :param ready: called with the host and the port actually bound, once the server listens
        :raises OSError: the port cannot be bound (in use, or not allowed)
        """
        from websockets.asyncio.server import serve

        try:
            async with serve(self._handle, self.host, self.port, process_request=self._http,
                             max_size=MAX_FRAME_BYTES, compression=None) as server:
                self.port = int(next(iter(server.sockets)).getsockname()[1])
                if ready is not None:
                    ready(self.host, self.port)
                await self.source.run(self.hub)
        finally:
            self.source.close()


def _limit_unsent(connection) -> None:
    """Keep at most :data:`UNSENT_BYTES` unsent in the kernel for this connection (where the system allows it)."""
    sock = connection.transport.get_extra_info("socket")
    option = getattr(socket, "TCP_NOTSENT_LOWAT", None)
    if sock is not None and option is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, option, UNSENT_BYTES)


def _peer(connection) -> str:
    address = getattr(connection, "remote_address", None)
    return f"{address[0]}:{address[1]}" if address else "?"
