"""The watchers of one run: every client has its own bounded queue, so a slow client loses frames, never the run.

The run publishes each frame once (:meth:`Hub.publish`); every client's queue takes it without waiting. A client
whose queue is full (it reads more slowly than the run writes, or its network stalls) loses its oldest frame, and
only it does; a task per client (:meth:`Client.pump`) sends what its queue holds.
"""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["Client", "Hub"]


class Client:
    """One connected watcher: a WebSocket connection and the frames waiting for it.

    :param connection: the client's ``websockets`` server connection
    :param queue_size: frames kept for it at most; older ones are dropped first
    """

    def __init__(self, connection: Any, queue_size: int) -> None:
        self.connection = connection
        self.queue: asyncio.Queue[str] = asyncio.Queue(maxsize=queue_size)
        #: frames dropped for this client because its queue was full
        self.dropped = 0
        #: whether the client has sent a command (and so is told about changes of the run's settings)
        self.controls = False

    def offer(self, text: str) -> None:
        """Queue ``text`` for this client without waiting; drop its oldest frame if the queue is full."""
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(text)

    async def pump(self) -> None:
        """Send the queued frames one by one, as fast as the client takes them (until cancelled)."""
        while True:
            text = await self.queue.get()
            await self.connection.send(text)


class Hub:
    """The clients of one run.

    :param queue_size: frames kept per client at most
    """

    def __init__(self, queue_size: int) -> None:
        if queue_size < 1:
            raise ValueError(f"queue_size must be a whole number >= 1, got {queue_size!r}")
        self.queue_size = int(queue_size)
        self.clients: set[Client] = set()

    def join(self, connection: Any) -> Client:
        """Add a client for ``connection``."""
        client = Client(connection, self.queue_size)
        self.clients.add(client)
        return client

    def leave(self, client: Client) -> None:
        self.clients.discard(client)

    def publish(self, text: str) -> None:
        """Queue ``text`` for every client."""
        for client in self.clients:
            client.offer(text)

    def publish_to_controllers(self, text: str) -> None:
        """Queue ``text`` for the clients that have sent commands (plain watchers only see frames)."""
        for client in self.clients:
            if client.controls:
                client.offer(text)
