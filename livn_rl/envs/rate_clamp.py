"""Rate clamp: hold chosen channels at target rates with stimulation."""

from __future__ import annotations

import numpy as np

from livn_rl.envs.culture_control import CultureControlEnv

__all__ = ["RateClampEnv"]


class RateClampEnv(CultureControlEnv):
    """Hold the detected rates of chosen channels at target rates, with as little stimulation as possible.

    A classic closed-loop experiment: an activity clamp (Wagenaar et al., 2005; Newman et al., 2013).

    ## Action space
    ``Box(-1, 1, (n_channels,), float32)``: stimulation amplitude per channel, -1 none, +1 ``max_amplitude_ua``,
    delivered as pulses at ``pulse_rate_hz``.

    ## Observation space
    ``Box(0, 1, (2 * n_channels,), float32)``: the normalised rate of every channel in the last window
    (``rate / rate_scale_hz``, saturating at 1; zeros after reset), then the normalised target of every channel
    (0 for channels that are not clamped).

    ## Reward
    ``-mean(|rate - target| / target)`` over the clamped channels ``- energy_cost * energy``, with ``energy`` the mean
    squared amplitude relative to the largest (0 to 1).

    ## Starting state and episode end
    A fresh culture drawn from the reset seed; targets fixed, or drawn uniformly from ``target_range_hz`` with
    ``random_targets=True`` (per channel, per episode). Episodes never terminate; registered ids truncate at 200
    steps (20 s of culture time).

    ## Arguments
    :param channels: clamped channels (default: two channels on opposite corners of the array)
    :param target_hz: target rate of every clamped channel (Hz)
    :param random_targets: draw new targets each episode
    :param target_range_hz: range of random targets (Hz)

    and those of :class:`~livn_rl.envs.culture_control.CultureControlEnv` (``system``, ``window_ms`` = 100 ms,
    ``max_amplitude_ua``, ``pulse_rate_hz``, ``rate_scale_hz``, ``energy_cost``, ``noise``, ``dt_ms``, ``target``, ``backend``,
    ``render_mode``).
    """

    def __init__(self, system="S2", *, channels=None, target_hz: float = 60.0, random_targets: bool = False,
                 target_range_hz: tuple[float, float] = (20.0, 100.0), **kwargs) -> None:
        super().__init__(system, **kwargs)
        n = self.mea.n_channels
        self.channels = self.rates._check_channels([0, n - 1] if channels is None else channels, "channels")
        low, high = (float(v) for v in target_range_hz)
        for value, name in ((target_hz, "target_hz"), (low, "target_range_hz[0]"), (high, "target_range_hz[1]")):
            if isinstance(value, bool) or not np.isfinite(value) or value <= 0:
                raise ValueError(f"{name} must be a finite rate > 0 Hz, got {value!r}")
        if low > high:
            raise ValueError(f"target_range_hz must be (low, high) with low <= high, got {target_range_hz!r}")
        self.target_hz = float(target_hz)
        self.random_targets = bool(random_targets)
        self.target_range_hz = (low, high)
        self.targets_hz = np.full(self.channels.size, self.target_hz)

    def _goal_size(self) -> int:
        return self.mea.n_channels

    def _goal(self) -> np.ndarray:
        goal = np.zeros(self.mea.n_channels, np.float32)
        goal[self.channels] = np.minimum(self.targets_hz / self.rate_scale_hz, 1.0)
        return goal

    def _new_goal(self, options) -> None:
        if self.random_targets:
            self.targets_hz = self.np_random.uniform(*self.target_range_hz, size=self.channels.size)
        else:
            self.targets_hz = np.full(self.channels.size, self.target_hz)

    def _task_reward(self, rates_hz, recording):
        error = np.abs(rates_hz[self.channels] - self.targets_hz) / self.targets_hz
        return -float(error.mean()), {"target_error": float(error.mean())}
