"""Pattern: evoke a target spatial pattern of channel activity."""

from __future__ import annotations

import numpy as np

from livn_rl.checks import check_whole
from livn_rl.envs.culture_control import CultureControlEnv

__all__ = ["PatternEnv"]


class PatternEnv(CultureControlEnv):
    """Make the culture's activity across the array match a target pattern.

    Stimulating an electrode activates cells near it, but synapses spread the activity and network bursts recruit
    the whole array, so a pattern is more than the stimulation pattern itself.

    ## Action space
    ``Box(-1, 1, (n_channels,), float32)``: stimulation amplitude per channel (see ``CultureControlEnv``).

    ## Observation space
    ``Box(0, 1, (2 * n_channels,), float32)``: the normalised rate of every channel in the last window (zeros after
    reset), then the target pattern (1 on channels that should be active, 0 elsewhere).

    ## Reward
    The Pearson correlation between the channel rates of the window and the pattern (-1 to 1; 0 for a silent or
    uniform window) ``- energy_cost * energy``.

    ## Starting state and episode end
    A fresh culture; the episode's pattern is drawn from ``n_patterns`` fixed patterns (each ``active_channels``
    random channels, generated from ``pattern_seed``), or given with ``reset(options={"pattern": index})``.
    Episodes never terminate; registered ids truncate at 100 steps.

    ## Arguments
    :param n_patterns: size of the pattern set
    :param active_channels: active channels per pattern (default: a quarter of the array)
    :param pattern_seed: seed of the pattern set (the same for every episode and every env)

    and those of :class:`~livn_rl.envs.culture_control.CultureControlEnv`.
    """

    def __init__(self, system="S2", *, n_patterns: int = 4, active_channels: int | None = None, pattern_seed: int = 0,
                 **kwargs) -> None:
        super().__init__(system, **kwargs)
        n = self.mea.n_channels
        active = max(1, n // 4) if active_channels is None else active_channels
        if isinstance(active, bool) or not isinstance(active, (int, np.integer)) or not 1 <= active < n:
            raise ValueError(f"active_channels must be a whole number in 1..{n - 1}, got {active_channels!r}")
        check_whole("n_patterns", n_patterns, 1)
        rng = np.random.default_rng(pattern_seed)
        self.patterns = np.zeros((int(n_patterns), n), np.float32)
        for p in self.patterns:
            p[rng.choice(n, size=int(active), replace=False)] = 1.0
        self.pattern_index = 0

    def _goal_size(self) -> int:
        return self.mea.n_channels

    def _goal(self) -> np.ndarray:
        return self.patterns[self.pattern_index]

    def _new_goal(self, options) -> None:
        if options and "pattern" in options:
            index = options["pattern"]
            if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < len(self.patterns):
                raise ValueError(f"options['pattern'] must be an index in 0..{len(self.patterns) - 1}, got {index!r}")
            self.pattern_index = int(index)
        else:
            self.pattern_index = int(self.np_random.integers(len(self.patterns)))

    def _task_reward(self, rates_hz, recording):
        pattern = self.patterns[self.pattern_index]
        if np.ptp(rates_hz) == 0:
            return 0.0, {"pattern": self.pattern_index}
        return float(np.corrcoef(rates_hz, pattern)[0, 1]), {"pattern": self.pattern_index}
