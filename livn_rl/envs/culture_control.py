"""Shared machinery of the culture-control envs, whose task is the culture itself.

The agent sets a stimulation amplitude per channel (``Box(-1, 1, (n_channels,))``: -1 is no stimulation, +1 is
``max_amplitude_ua``, as pulses at ``pulse_rate_hz`` through a :class:`~livn_rl.encoders.RateEncoder`) and
observes the normalised rates of every channel in the last window, plus whatever goal the env sets.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from livn_rl.checks import check_number
from livn_rl.encoders import ChannelRateDecoder, RateEncoder
from livn_rl.envs.base import LivnEnv
from livn_rl.recording import Recording

__all__ = ["CultureControlEnv"]


class CultureControlEnv(LivnEnv):
    """Base class: per-channel amplitude actions, channel-rate observations and an energy measure.

    :param system: the culture
    :param window_ms: simulated time per step (ms)
    :param max_amplitude_ua: amplitude at action +1 (uA)
    :param pulse_rate_hz: pulse rate on every stimulated channel (Hz)
    :param rate_scale_hz: channel rate observed as 1 (Hz); faster channels saturate at 1
    :param energy_cost: weight of the stimulation energy in the reward
    :param noise: background noise of the culture on or off
    :param dt_ms: simulation time step (ms)
    :param target: Brian2 code generation target
    :param backend: engine backend (``"auto"``, ``"standalone"`` or ``"runtime"``)
    :param render_mode: ``None``, ``"rgb_array"`` or ``"human"``
    """

    def __init__(
        self,
        system="S2",
        *,
        window_ms: float = 100.0,
        max_amplitude_ua: float = 10.0,
        pulse_rate_hz: float = 20.0,
        rate_scale_hz: float = 200.0,
        energy_cost: float = 0.1,
        noise: bool = True,
        dt_ms: float = 0.1,
        target: str = "auto",
        backend: str = "auto",
        render_mode: str | None = None,
        simulation=None,
        copy: int = 0,
    ) -> None:
        check_number("energy_cost", energy_cost, 0.0)
        super().__init__(system, window_ms=window_ms, noise=noise, dt_ms=dt_ms, target=target, backend=backend,
                         render_mode=render_mode, simulation=simulation, copy=copy)
        self.energy_cost = float(energy_cost)
        self.encoder = RateEncoder(mode="amplitude", max_amplitude_ua=max_amplitude_ua, pulse_rate_hz=pulse_rate_hz)
        self.encoder.bind(self.context)
        self.rates = ChannelRateDecoder(rate_scale_hz=rate_scale_hz)
        self.rates.bind(self.context)
        self.rate_scale_hz = float(rate_scale_hz)
        n = self.mea.n_channels
        self.action_space = gym.spaces.Box(-1.0, 1.0, (n,), np.float32)
        goal = self._goal_size()
        self.observation_space = gym.spaces.Box(0.0, 1.0, (n + goal,), np.float32)

    # ------------------------------------------------------------------------------------- for subclasses
    def _goal_size(self) -> int:
        """Length of the goal vector appended to the observation."""
        return 0

    def _goal(self) -> np.ndarray:
        return np.zeros(0, np.float32)

    def _new_goal(self, options: dict | None) -> None:
        """Choose this episode's goal (from ``self.np_random`` and ``options``)."""

    def _task_reward(self, rates_hz: np.ndarray, recording: Recording) -> tuple[float, dict]:
        raise NotImplementedError

    # ------------------------------------------------------------------------------------------------ shared
    @staticmethod
    def energy(action: np.ndarray) -> float:
        """Mean squared stimulation amplitude over channels, relative to the largest (0 to 1)."""
        return float(np.mean(((np.asarray(action) + 1.0) / 2.0) ** 2))

    def _observe(self, normalised_rates: np.ndarray) -> np.ndarray:
        return np.concatenate([normalised_rates.astype(np.float32), self._goal()]).astype(np.float32)

    def _reset_episode(self, options):
        self.encoder.reset()
        self.rates.reset()
        self._new_goal(options)
        return self._observe(np.zeros(self.mea.n_channels, np.float32)), {}

    def _stimulus(self, action):
        return self.encoder.encode(action)

    def _outcome(self, action, recording):
        normalised = self.rates.decode(recording)
        rates_hz = recording.channel_rates_hz[0]
        task_reward, info = self._task_reward(rates_hz, recording)
        energy = self.energy(action)
        info.update(task_reward=task_reward, energy=energy, channel_rates_hz=rates_hz.astype(np.float32))
        return self._observe(normalised), task_reward - self.energy_cost * energy, False, False, info
