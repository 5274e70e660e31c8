"""Lateral-line localisation: read the TS place map of the lateral-line circuit and report where the source is."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from livn_rl.checks import check_number, check_whole
from livn_rl.envs.base import LivnEnv
from livn_rl.recording import Recording
from livn_rl.stimulus import NeuronDrive

__all__ = ["LateralLineLocalizeEnv"]


class LateralLineLocalizeEnv(LivnEnv):
    """Report the position of a vibrating sphere moving along the fish from the activity of the lateral-line
    circuit's torus semicircularis (TS) or MON.

    The sphere moves along the body at ``speed_cm_s``, reflecting at head and tail, ``distance_cm`` from the lateral
    line; the circuit (:class:`~livn_rl.systems.lateral_line.LateralLineSystem`) turns it into afferent spikes, MON
    and TS activity. Each step simulates one window with the source at its current position; the agent then sees the
    population's spike counts and reports the position. Start from the weights learned by ``livn-rl lateral-line``
    with ``artifact=".../artifacts/latest_seed_0.npz"``. :meth:`population_vector_action` is the reference readout: the
    population vector of the nominal TS map.

    ## Action space
    ``Box(-1, 1, (1,), float32)``: the reported position, -1 at the head (0 cm) and +1 at the tail (body length).

    ## Observation space
    ``Box(0, 1, (n_bins,), float32)``: the population's spike counts in the last window, pooled into ``n_bins``
    consecutive groups along the body (one per neuron, at most 80, by default) and divided by ``count_scale`` (clipped to 1);
    zeros after reset (no window simulated yet).

    ## Reward
    ``-|reported - true| / body length``: between -1 and 0, where "true" is the position of the window the
    observation came from (for the first step after a reset, the starting position, which the agent has not seen).

    ## Starting state
    A fresh circuit (membranes drawn from the reset seed, plasticity frozen unless ``plastic=True``); the source
    starts at a uniformly drawn position, moving head- or tailwards with equal probability (``np_random``).

    ## Episode end
    Episodes never terminate; the registered ``livn_rl/LateralLine-Localize-v0`` truncates at 100 steps (5 s of
    circuit time with the default 50 ms window, 2.5 body lengths of travel).

    ## Arguments
    :param system: ``"LateralLine"`` (built from ``preset``, ``network_seed`` and ``overrides``) or a
        :class:`~livn_rl.systems.lateral_line.LateralLineSystem`
    :param preset: ``"fast"`` (80 TS neurons) or ``"full"`` (300)
    :param network_seed: seed of the circuit's connectivity and initial weights
    :param overrides: dotted parameter overrides (``["mon.n=400"]``)
    :param artifact: an ``artifacts/<tag>_seed_<seed>.npz`` of ``livn-rl lateral-line``: its config, seed and
        learned weights replace ``preset``, ``network_seed`` and ``overrides``
    :param population: ``"TS"`` or ``"MON"``, the population the agent observes
    :param n_bins: groups the population is pooled into (default: its size, at most 80)
    :param speed_cm_s: the source's speed (default: the config's ``source.speed_cm_s``)
    :param distance_cm: the source's distance from the line (default: the config's ``source.test_distance_cm``)
    :param count_scale: spike count of a bin observed as 1 (default: 2 spikes per neuron of the bin)
    :param plastic: keep STDP on during episodes (the circuit goes on learning; reset restores its weights)
    :param window_ms: simulated time per step (ms)
    :param noise: background Poisson input to MON and TS on (True) or off
    :param dt_ms: simulation time step (ms)
    :param target: Brian2 code generation target (``"auto"``, ``"cython"`` or ``"numpy"``)
    :param backend: engine backend (``"auto"``, ``"standalone"`` or ``"runtime"``)
    :param render_mode: ``None``, ``"rgb_array"`` or ``"human"``
    """

    def __init__(
        self,
        system="LateralLine",
        *,
        preset: str = "fast",
        network_seed: int = 0,
        overrides: list[str] | dict | None = None,
        artifact: str | None = None,
        population: str = "TS",
        n_bins: int | None = None,
        speed_cm_s: float | None = None,
        distance_cm: float | None = None,
        count_scale: float | None = None,
        plastic: bool = False,
        window_ms: float = 50.0,
        noise: bool = True,
        dt_ms: float = 0.1,
        target: str = "auto",
        backend: str = "auto",
        render_mode: str | None = None,
        simulation=None,
        copy: int = 0,
    ) -> None:
        from livn_rl.systems.lateral_line import LateralLineSystem, make_lateral_line
        from livn_rl.systems.lateral_line.artifacts import load_artifact

        if simulation is None:
            if artifact is not None:
                config, seed, weights = load_artifact(artifact)
                system = LateralLineSystem(config, seed=seed, weights=weights)
            elif isinstance(system, str) and system == "LateralLine":
                system = make_lateral_line(preset=preset, seed=network_seed, overrides=overrides)
            elif not isinstance(system, LateralLineSystem):
                raise ValueError(f"LateralLine-Localize needs system='LateralLine' or a LateralLineSystem, got {system!r}")
        elif not isinstance(simulation.system, LateralLineSystem):
            raise ValueError(f"LateralLine-Localize needs a LateralLineSystem, the simulation runs {simulation.system.name!r}")
        if population not in ("TS", "MON"):
            raise ValueError(f"population must be 'TS' or 'MON', got {population!r}")
        if not isinstance(plastic, (bool, np.bool_)):
            raise ValueError(f"plastic must be True or False, got {plastic!r}")
        super().__init__(system, window_ms=window_ms, noise=noise, dt_ms=dt_ms, target=target, backend=backend,
                         render_mode=render_mode, simulation=simulation, copy=copy)
        config = self.system.config
        self.length_cm = config.line.body_length_cm
        self.speed_cm_s = check_number("speed_cm_s (a speed)", config.source.speed_cm_s if speed_cm_s is None else speed_cm_s,
                                       0.0, low_open=True)
        self.distance_cm = check_number("distance_cm (a distance)",
                                        config.source.test_distance_cm if distance_cm is None else distance_cm, 0.0, low_open=True)
        self.observed = self.system.population(population)
        n_bins = min(self.observed.size, 80) if n_bins is None else n_bins
        self.n_bins = check_whole(f"n_bins ({population} has {self.observed.size} cells)", n_bins, 1, self.observed.size)
        self._bin_of = np.arange(self.observed.size) * self.n_bins // self.observed.size
        per_bin = self.observed.size / self.n_bins
        self.count_scale = check_number("count_scale", 2.0 * per_bin if count_scale is None else count_scale, 0.0, low_open=True)
        self.bin_positions_cm = (np.arange(self.n_bins) + 0.5) * self.length_cm / self.n_bins
        self.plastic = bool(plastic)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
        self.observation_space = gym.spaces.Box(0.0, 1.0, (self.n_bins,), np.float32)
        self.position_cm = self.length_cm / 2
        self._direction = 1.0
        self._observed_position_cm = self.position_cm

    # ----------------------------------------------------------------------------------------------- helpers
    def position_of(self, action) -> float:
        """The position (cm) that an action in -1 .. 1 reports."""
        return (float(np.asarray(action).ravel()[0]) + 1.0) / 2.0 * self.length_cm

    def population_vector_action(self, observation: np.ndarray) -> np.ndarray:
        """The reference readout: the population-vector position of an observation on the nominal map (the
        middle of the body for an empty observation)."""
        from livn_rl.systems.lateral_line.metrics import decoded_position_cm

        decoded = decoded_position_cm(np.asarray(observation, float), self.bin_positions_cm, self.length_cm)
        position = self.length_cm / 2 if not np.isfinite(decoded) else float(decoded)
        return np.array([2.0 * position / self.length_cm - 1.0], np.float32)

    def _move(self) -> None:
        """Advance the source by one window, reflecting at head and tail."""
        step = self._direction * self.speed_cm_s * self.window_ms / 1000.0
        position = self.position_cm + step
        while position < 0 or position > self.length_cm:
            position = -position if position < 0 else 2 * self.length_cm - position
            self._direction = -self._direction
        self.position_cm = position

    # ------------------------------------------------------------------------------------------- LivnEnv hooks
    def _reset_episode(self, options):
        self.system.set_plasticity(self.plastic)
        self.position_cm = float(self.np_random.uniform(0.0, self.length_cm))
        self._direction = 1.0 if self.np_random.random() < 0.5 else -1.0
        self._observed_position_cm = self.position_cm
        return np.zeros(self.n_bins, np.float32), {"position_cm": self.position_cm}

    def _stimulus(self, action):
        from brian2 import Hz

        steady, modulated = self.system.afferent_rates(self.position_cm, self.distance_cm)
        return NeuronDrive({"rate_steady": steady * Hz, "rate_modulated": modulated * Hz})

    def _outcome(self, action, recording: Recording):
        reported = self.position_of(action)
        error_cm = abs(reported - self._observed_position_cm)
        counts = recording.neuron_counts[0][self.observed.start : self.observed.stop]
        binned = np.bincount(self._bin_of, counts, self.n_bins)
        obs = np.clip(binned / self.count_scale, 0.0, 1.0).astype(np.float32)
        info = {"reported_cm": reported, "true_cm": self._observed_position_cm, "error_cm": error_cm,
                "population_spikes": int(counts.sum())}
        self._observed_position_cm = self.position_cm
        self._move()
        info["next_position_cm"] = self.position_cm
        return obs, -error_cm / self.length_cm, False, False, info
