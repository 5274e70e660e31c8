"""An env's run, watched: a registered env stepped by a policy without end, one frame per step.

The env steps in a worker thread, so the server keeps answering while Brian2 simulates; commands wait in the
event loop and are handed to the next step. Episodes follow each other with seeds ``seed, seed + 1, ...``.

Commands (JSON text):

- ``{"cmd": "pause"}``, ``{"cmd": "resume"}``;
- ``{"cmd": "reset", "seed": 7}``: a new episode now, paused or not (``seed`` optional: the next one);
- ``{"cmd": "stimulate", "channel": 3, "amplitude": 1.0}``: culture-control envs only; the next step's action
  drives electrode 3 at that fraction (0..1] of the env's largest amplitude, whatever the policy chose for it
  (a person in the loop). Several clicks before a step add up to one override per electrode;
- ``{"cmd": "pace", "mode": "realtime" | "fast"}``: simulated time paced to wall time, or as fast as it runs;
- ``{"cmd": "state"}``: the run's state (to the sender).

After a change every client that has sent a command receives the ``state`` message.
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import gymnasium as gym
import numpy as np

from livn_rl.engine import interrupts
from livn_rl.view.env_frames import layout, reset_frame, step_frame
from livn_rl.view.hub import Hub
from livn_rl.view.messages import Command, CommandError, choice, number, whole
from livn_rl.view.policies import Policy

__all__ = ["EnvStream", "PACES"]

PACES = ("realtime", "fast")


class EnvStream:
    """A gym env driven by a policy, streamed to every client.

    :param env: the env (from ``gym.make``, wrappers and all)
    :param env_id: its registered id
    :param policy: observation -> action
    :param policy_name: how the page names the policy
    :param seed: seed of the first episode
    :param pace: ``"realtime"`` (one window of simulated time per window of wall time, when the simulation keeps
        up) or ``"fast"``
    """

    index_page = "env.html"
    queue_size = 64

    def __init__(self, env: gym.Env, env_id: str, policy: Policy, policy_name: str, seed: int = 0,
                 pace: str = "realtime") -> None:
        self.env = env
        self.base = env.unwrapped
        # build the simulation here, in the main thread: importing Brian2 installs its SIGINT handler, which only the
        # main thread may do; then the engine's handler goes in front of it, so that Ctrl-C raises KeyboardInterrupt
        # (the steps run in a worker thread, where the engine cannot install it by itself)
        self.base.simulation  # noqa: B018
        interrupts.install()
        self.policy = policy
        self.pace = choice(*PACES)("pace", pace)
        self.seed = whole(0, 2**31 - 1)("seed", seed)
        self.episode = 0
        self._layout = layout(self.base, env_id, policy_name, self.pace, getattr(env.spec, "max_episode_steps", None))
        self._last_reset: str | None = None
        self._running = asyncio.Event()
        self._running.set()
        self._wake = asyncio.Event()  # set by resume and reset: a paused run still resets when asked
        self._overrides: dict[int, float] = {}
        self._reset_seed: int | None = None
        self._env_lock = threading.Lock()  # the step thread and close() never touch the env at once
        self._observation: Any = None
        self._step = 0
        self._return = 0.0
        n = self.base.mea.n_channels
        self.commands = {
            "pause": Command(),
            "resume": Command(),
            "state": Command(),
            "reset": Command({"seed": whole(0, 2**31 - 1)}),
            "stimulate": Command({"channel": whole(0, n - 1), "amplitude": number(0.0, 1.0, low_open=True)},
                                 required=("channel",)),
            "pace": Command({"mode": choice(*PACES)}, required=("mode",)),
        }

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def hello(self) -> list[str]:
        """A new client's first messages: the layout and the current episode's reset."""
        return [json.dumps(self._layout)] + ([self._last_reset] if self._last_reset else [])

    def state(self) -> dict[str, Any]:
        """The ``state`` message."""
        return {"type": "state", "paused": self.paused, "pace": self.pace, "episode": self.episode,
                "seed": self.seed, "overrides": {str(c): a for c, a in sorted(self._overrides.items())}}

    def command(self, name: str, fields: dict[str, Any], hub: Hub) -> dict[str, Any] | None:
        """Carry out a checked command; returns the reply for the sender (if it gets one of its own)."""
        if name == "state":
            return self.state()
        if name == "pause":
            self._running.clear()
        elif name == "resume":
            self._running.set()
            self._wake.set()
        elif name == "reset":
            self._reset_seed = fields.get("seed", self.seed + 1)
            self._wake.set()
        elif name == "pace":
            self.pace = fields["mode"]
        elif name == "stimulate":
            if not self._layout["clickable"]:
                raise CommandError(f"{self._layout['env_id']} is not a culture-control env: its actions are not one "
                                   f"value per electrode, so electrodes cannot be stimulated by hand")
            self._overrides[fields["channel"]] = fields.get("amplitude", 1.0)
        hub.publish_to_controllers(json.dumps(self.state()))
        return None

    # ------------------------------------------------------------------------------- in the worker thread
    def _reset(self, seed: int) -> str:
        with self._env_lock:
            self._observation, info = self.env.reset(seed=seed)
        self.seed = seed
        self.episode += 1
        self._step = 0
        self._return = 0.0
        self._last_reset = json.dumps(reset_frame(self.base, self.episode, seed, self._observation, info))
        return self._last_reset

    def _advance(self, overrides: dict[int, float]) -> tuple[str, bool]:
        with self._env_lock:
            action = np.array(self.policy(self._observation), dtype=self.env.action_space.dtype, copy=True)
            for channel, amplitude in overrides.items():
                action.reshape(-1)[channel] = 2.0 * amplitude - 1.0  # amplitude fraction -> the encoder's -1..1
            self._observation, reward, terminated, truncated, info = self.env.step(action)
        self._step += 1
        self._return += float(reward)
        frame = step_frame(self.base, episode=self.episode, step=self._step, action=action, override=overrides,
                           observation=self._observation, reward=reward, episode_return=self._return,
                           terminated=terminated, truncated=truncated, info=info)
        return json.dumps(frame), bool(terminated or truncated)

    # --------------------------------------------------------------------------------------- in the loop
    async def run(self, hub: Hub) -> None:
        """Reset, then step and publish forever (a new episode after each end, or when a client asks)."""
        loop = asyncio.get_running_loop()
        hub.publish(await asyncio.to_thread(self._reset, self.seed))
        due = loop.time()
        while True:
            if self.paused and self._reset_seed is None:
                self._wake.clear()
                await self._wake.wait()
                due = loop.time()
                continue
            if self._reset_seed is not None:
                seed, self._reset_seed = self._reset_seed, None
                hub.publish(await asyncio.to_thread(self._reset, seed))
                due = loop.time()
                continue
            overrides, self._overrides = self._overrides, {}
            text, ended = await asyncio.to_thread(self._advance, overrides)
            hub.publish(text)
            if ended:
                hub.publish(await asyncio.to_thread(self._reset, self.seed + 1))
            if self.pace == "realtime":
                due = max(due + self.base.window_ms / 1000.0, loop.time() - 1.0)
                await asyncio.sleep(max(0.0, due - loop.time()))
            else:
                due = loop.time()
                await asyncio.sleep(0)

    def close(self) -> None:
        """Close the env (after the step in progress, if any)."""
        with self._env_lock:
            self.env.close()
