"""LIF rate tracking: drive a small population of LIF neurons with a current so that it fires at a moving target."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from livn_rl.checks import check_number
from livn_rl.envs.base import LivnEnv
from livn_rl.recording import Recording
from livn_rl.stimulus import NeuronDrive

__all__ = ["LIFRateTrackEnv"]


class LIFRateTrackEnv(LivnEnv):
    """Set the input current of LIF neurons so that their mean firing rate follows a target that jumps during the
    episode.

    The smallest closed loop with a known answer: under a constant current ``I`` a LIF neuron fires at
    ``f(I) = 1 / (t_ref + tau ln((R I + V_rest - V_reset) / (R I + V_rest - V_th)))``, so the best policy inverts
    ``f`` (:meth:`oracle_action`). The neurons' time constants spread evenly over ``tau * (1 +- tau_spread)`` and their
    initial voltages are drawn around rest at every reset, so they do not fire in lockstep and the population rate
    of a window is a smooth function of the current.

    ## Action space
    ``Box(-1, 1, (1,), float32)``: the input current ``I_ext`` of every neuron for the next window, mapped linearly
    from -1 .. 1 to ``current_range_na``.

    ## Observation space
    ``Box([0, 0, -1], [1, 1, 1], (3,), float32)``: the target rate for the next window and the population rate
    measured in the last one, both divided by ``rate_scale_hz`` (clipped to 1), and the last action (0 after reset).

    ## Reward
    ``-min(1, |rate - target| / rate_scale_hz)``: between -1 and 0, 0 when the population fires exactly at the
    target.

    ## Starting state
    Neurons at ``V ~ Normal(V_rest, 5 mV)`` drawn from the reset seed, no input; a first target drawn uniformly from
    ``target_range_hz`` with the env's ``np_random``.

    ## Episode end
    The target is redrawn every ``switch_every`` steps. Episodes never terminate; the registered
    ``livn_rl/LIF-RateTrack-v0`` truncates at 100 steps (5 s of neuron time, four targets).

    ## Arguments
    :param system: ``"LIF"`` (the default population: ``n_neurons`` LIF neurons, 2 ms refractory period,
        initial voltages with 5 mV spread) or a :class:`~livn_rl.systems.lif.LIFSystem`
    :param n_neurons: neurons of the default population
    :param window_ms: simulated time per step (ms)
    :param current_range_na: input current (nA) at action -1 and at action +1
    :param target_range_hz: range of the uniformly drawn target rates (Hz)
    :param switch_every: steps between target changes
    :param rate_scale_hz: rate observed as 1 and error that costs the whole reward (Hz)
    :param tau_spread: relative spread of the default population's membrane time constants (0 for identical cells)
    :param noise: accepted for interface compatibility (LIF systems have no background noise)
    :param dt_ms: simulation time step (ms)
    :param target: Brian2 code generation target (``"auto"``, ``"cython"`` or ``"numpy"``)
    :param backend: engine backend (``"auto"``, ``"standalone"`` or ``"runtime"``)
    :param render_mode: ``None``, ``"rgb_array"`` or ``"human"``
    """

    def __init__(
        self,
        system="LIF",
        *,
        n_neurons: int = 50,
        window_ms: float = 50.0,
        current_range_na: tuple[float, float] = (0.1, 0.3),
        target_range_hz: tuple[float, float] = (5.0, 80.0),
        switch_every: int = 25,
        rate_scale_hz: float = 100.0,
        tau_spread: float = 0.1,
        noise: bool = True,
        dt_ms: float = 0.1,
        target: str = "auto",
        backend: str = "auto",
        render_mode: str | None = None,
        simulation=None,
        copy: int = 0,
    ) -> None:
        from livn_rl.systems.lif import LIFSystem

        if simulation is None:
            check_number("tau_spread", tau_spread, 0.0, 1.0, high_open=True)
            if isinstance(system, str) and system == "LIF":
                system = LIFSystem(n_neurons, t_ref="2 ms", v_init_sd="5 mV")
                # membrane time constants spread evenly over tau * (1 +- tau_spread) (SI units, as params holds
                # them): identical cells fall into lockstep, and a window then sees the rate in steps of 1/window
                system.params["tau"] = system.params["tau"] * np.linspace(1 - tau_spread, 1 + tau_spread, system.n_neurons)
            elif not isinstance(system, LIFSystem):
                raise ValueError(f"LIF-RateTrack needs system='LIF' or a LIFSystem, got {system!r}")
        elif not isinstance(simulation.system, LIFSystem):
            raise ValueError(f"LIF-RateTrack needs a LIFSystem, the simulation runs {simulation.system.name!r}")
        lo, hi = self._pair("current_range_na", current_range_na)
        if not lo < hi:
            raise ValueError(f"current_range_na must be (low, high) with low < high, got {current_range_na!r}")
        t_lo, t_hi = self._pair("target_range_hz", target_range_hz)
        if not 0 <= t_lo <= t_hi:
            raise ValueError(f"target_range_hz must be (low, high) with 0 <= low <= high, got {target_range_hz!r}")
        if isinstance(switch_every, bool) or not isinstance(switch_every, (int, np.integer)) or switch_every < 1:
            raise ValueError(f"switch_every must be a whole number of steps >= 1, got {switch_every!r}")
        check_number("rate_scale_hz", rate_scale_hz, 0.0, low_open=True)
        super().__init__(system, window_ms=window_ms, noise=noise, dt_ms=dt_ms, target=target, backend=backend,
                         render_mode=render_mode, simulation=simulation, copy=copy)
        self.current_range_na = (lo, hi)
        self.target_range_hz = (t_lo, t_hi)
        self.switch_every = int(switch_every)
        self.rate_scale_hz = float(rate_scale_hz)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
        self.observation_space = gym.spaces.Box(
            np.array([0.0, 0.0, -1.0], np.float32), np.array([1.0, 1.0, 1.0], np.float32), (3,), np.float32
        )
        self.target_hz = t_lo
        self._last_action = 0.0

    @staticmethod
    def _pair(name: str, value) -> tuple[float, float]:
        try:
            low, high = (float(v) for v in value)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a pair of numbers (low, high), got {value!r}") from None
        if not (np.isfinite(low) and np.isfinite(high)):
            raise ValueError(f"{name} must be finite, got {value!r}")
        return low, high

    # ----------------------------------------------------------------------------------------------- helpers
    def current_na(self, action: np.ndarray) -> float:
        """The input current (nA) that an action in -1 .. 1 sets."""
        lo, hi = self.current_range_na
        return lo + (float(np.asarray(action).ravel()[0]) + 1.0) / 2.0 * (hi - lo)

    def oracle_action(self, target_hz: float | None = None) -> np.ndarray:
        """The action whose constant current makes the neurons' mean analytic LIF rate equal ``target_hz`` (the
        current target by default), clipped to the action space: the best constant-current policy, a reference for
        learned ones."""
        from brian2 import nA

        target_hz = self.target_hz if target_hz is None else float(target_hz)
        lo, hi = self.current_range_na
        grid = np.linspace(lo, hi, 2001)
        rates = np.mean([self.system.analytic_rate(grid * nA, neuron=k) for k in range(self.system.n_neurons)], axis=0)
        current = grid[int(np.argmin(np.abs(rates - target_hz)))]
        return np.array([np.clip(2.0 * (current - lo) / (hi - lo) - 1.0, -1.0, 1.0)], np.float32)

    def _observe(self, rate_hz: float) -> np.ndarray:
        return np.array([
            min(self.target_hz / self.rate_scale_hz, 1.0), min(rate_hz / self.rate_scale_hz, 1.0), self._last_action,
        ], np.float32)

    def _new_target(self) -> None:
        self.target_hz = float(self.np_random.uniform(*self.target_range_hz))

    # ------------------------------------------------------------------------------------------- LivnEnv hooks
    def _reset_episode(self, options):
        self._last_action = 0.0
        self._new_target()
        return self._observe(0.0), {"target_hz": self.target_hz}

    def _stimulus(self, action):
        from brian2 import nA

        return NeuronDrive({"I_ext": self.current_na(action) * nA})

    def _outcome(self, action, recording: Recording):
        rate_hz = float(recording.neuron_rates_hz[0].mean())
        target_hz = self.target_hz
        error = abs(rate_hz - target_hz) / self.rate_scale_hz
        self._last_action = float(np.asarray(action).ravel()[0])
        if self._episode_steps % self.switch_every == 0:
            self._new_target()
        info = {"rate_hz": rate_hz, "target_hz": target_hz, "next_target_hz": self.target_hz,
                "current_na": self.current_na(action), "rate_error_hz": abs(rate_hz - target_hz)}
        return self._observe(rate_hz), -min(1.0, error), False, False, info
