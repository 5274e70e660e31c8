"""The LIF demo's run: :class:`~livn_rl.systems.lif.DiscreteLIF` stepped without end, one frame per step.

Every frame is ``{"v": 0.639, "spike": 0, "input": 0, "t": 9, "threshold": 1.0}``: ``v`` after the step (0 after
an output spike), ``spike`` 1 when ``v`` reached the threshold, ``input`` the Bernoulli input spike, ``t`` the
global step (it never restarts) and the threshold. Frames come every ``delay_ms`` of wall time.

Commands (JSON text): ``{"cmd": "pause"}``, ``{"cmd": "resume"}``, ``{"cmd": "params"}`` (the settings, to the
sender) and ``{"cmd": "set", "rate": 0.2, ...}`` with any of ``rate``, ``dv``, ``du``, ``spike_fraction``,
``bias``, ``threshold`` and ``delay_ms``. After a change every client that has sent a command receives
``{"type": "params", "params": {...}, "paused": false, "t": 1234}``; plain watchers see only frames.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from livn_rl.systems.lif import DiscreteLIF
from livn_rl.view.hub import Hub
from livn_rl.view.messages import Command, number

__all__ = ["FRAME_KEYS", "LIFStream", "MAX_DELAY_MS"]

#: The keys of every LIF frame.
FRAME_KEYS = ("v", "spike", "input", "t", "threshold")
#: The longest pause between frames a client may set (ms).
MAX_DELAY_MS = 10_000.0


class LIFStream:
    """One LIF neuron stepped forever and streamed to every client.

    :param neuron: the neuron (its parameters may change while it runs)
    :param delay_ms: wall time between frames (ms, 0 for as fast as possible)
    """

    index_page = "lif.html"
    queue_size = 1024

    def __init__(self, neuron: DiscreteLIF, delay_ms: float = 80.0) -> None:
        self.neuron = neuron
        self.delay_ms = number(0.0, MAX_DELAY_MS)("delay_ms", delay_ms)
        self.t = 0
        self._running = asyncio.Event()
        self._running.set()
        settable = {name: number(**bounds) for name, (_, bounds) in DiscreteLIF.PARAMETERS.items()}
        self.commands = {
            "pause": Command(),
            "resume": Command(),
            "params": Command(),
            "set": Command({**settable, "delay_ms": number(0.0, MAX_DELAY_MS)}, needs_one=True),
        }

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def hello(self) -> list[str]:
        """Nothing: a new client's first message is the next frame."""
        return []

    def frame(self) -> dict[str, Any]:
        """Step the neuron once; the frame of that step."""
        step = self.neuron.step()
        frame = {"v": step.v, "spike": step.spike, "input": step.input, "t": self.t, "threshold": self.neuron.threshold}
        self.t += 1
        return frame

    def settings(self) -> dict[str, Any]:
        """The ``params`` message: the neuron's parameters, the delay, whether the run is paused and the step."""
        return {"type": "params", "params": {**self.neuron.parameters(), "delay_ms": self.delay_ms},
                "paused": self.paused, "t": self.t}

    def command(self, name: str, fields: dict[str, Any], hub: Hub) -> dict[str, Any] | None:
        """Carry out a checked command; returns the reply for the sender (if it gets one of its own)."""
        if name == "params":
            return self.settings()
        if name == "pause":
            self._running.clear()
        elif name == "resume":
            self._running.set()
        elif name == "set":
            self.delay_ms = fields.pop("delay_ms", self.delay_ms)
            self.neuron.set(**fields)
        hub.publish_to_controllers(json.dumps(self.settings()))
        return None

    async def run(self, hub: Hub) -> None:
        """Step and publish forever, one frame every ``delay_ms`` (a late frame does not make the next one late)."""
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            if self.paused:
                await self._running.wait()
                due = loop.time()
            hub.publish(json.dumps(self.frame()))
            due = max(due + self.delay_ms / 1000.0, loop.time() - 1.0)  # catch up at most 1 s after a stall
            await asyncio.sleep(max(0.0, due - loop.time()))

    def close(self) -> None:
        """Nothing to release."""
