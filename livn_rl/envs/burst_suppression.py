"""Burst suppression: keep network bursts down with as little stimulation as possible."""

from __future__ import annotations

from livn_rl.checks import check_number
from livn_rl.envs.culture_control import CultureControlEnv

__all__ = ["BurstSuppressionEnv"]


class BurstSuppressionEnv(CultureControlEnv):
    """Prevent the culture's spontaneous network bursts, spending as little stimulation energy as possible.

    Cultured cortical networks burst every few seconds; distributed stimulation can quiet them (Wagenaar, Madhavan,
    Pine & Potter, 2005), at the price of stimulating. Whether it works here depends on the culture's synaptic
    depression, as in the dish.

    ## Action space
    ``Box(-1, 1, (n_channels,), float32)``: stimulation amplitude per channel (see ``CultureControlEnv``).

    ## Observation space
    ``Box(0, 1, (n_channels,), float32)``: the normalised rate of every channel in the last window (zeros after
    reset).

    ## Reward
    ``-1`` for a window in which the array-wide mean channel rate exceeds ``burst_threshold_hz`` (a network burst),
    else 0, ``- energy_cost * energy``. ``info["burst"]`` says whether the window held a burst; the mean rate is in
    ``info["mean_channel_rate_hz"]``.

    ## Starting state and episode end
    A fresh culture; episodes never terminate; registered ids truncate at 200 steps (20 s, several bursts of the
    unstimulated S2 and S3 cultures).

    ## Arguments
    :param burst_threshold_hz: array-wide mean channel rate that marks a burst window (Hz); the spontaneous median
        is about 2 Hz on S2 and 6 Hz on S3, bursts reach 130-280 Hz

    and those of :class:`~livn_rl.envs.culture_control.CultureControlEnv` (``energy_cost`` defaults to 0.5 here).
    """

    def __init__(self, system="S2", *, burst_threshold_hz: float = 40.0, energy_cost: float = 0.5, **kwargs) -> None:
        check_number("burst_threshold_hz", burst_threshold_hz, 0.0, low_open=True)
        super().__init__(system, energy_cost=energy_cost, **kwargs)
        self.burst_threshold_hz = float(burst_threshold_hz)

    def _task_reward(self, rates_hz, recording):
        mean_rate = float(rates_hz.mean())
        burst = mean_rate > self.burst_threshold_hz
        return (-1.0 if burst else 0.0), {"burst": bool(burst), "mean_channel_rate_hz": mean_rate}
