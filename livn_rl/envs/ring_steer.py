"""Ring steering: stimulate angular sectors of the ring attractor so that its bump moves to a target angle and
stays there."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from livn_rl.checks import check_number, check_whole
from livn_rl.envs.base import LivnEnv
from livn_rl.recording import Recording
from livn_rl.stimulus import NeuronDrive
from livn_rl.systems.ring import RingAttractorSystem, population_vector, wrap_deg

__all__ = ["RingSteerEnv"]


class RingSteerEnv(LivnEnv):
    """Move the ring attractor's bump to a target angle with direct current into angular sectors, and hold it.

    Each episode starts with a bump at a random angle: during the first ``cue_steps`` steps the env injects a cue
    current ``cue_pa exp(eta (cos(theta_i - theta_start) - 1))`` into the excitatory cells. The target lies at least
    ``min_distance_deg`` away. The agent drives ``n_sectors`` equal sectors of the ring (sector 0 centred on
    0 degrees); the bump, read out as the population vector of the window's excitatory spikes, must end up at the
    target and stay there with as little current as possible.

    ## Action space
    ``Box(-1, 1, (n_sectors,), float32)``: the current into every excitatory cell of each sector for the next window,
    ``(a + 1) / 2 * max_current_pa`` (from 0 to ``max_current_pa``).

    ## Observation space
    ``Box(-1, 1, (5,), float32)``: the decoded bump of the last window (cos and sin of its angle, its strength
    in 0..1; zeros without spikes) and the target (cos, sin).

    ## Reward
    ``strength * cos(bump - target) - current_cost * mean((a + 1) / 2)``: 1 for a sharp bump on the target without
    stimulation; from -1 - ``current_cost`` to 1.

    ## Starting state
    The ring's spontaneous state drawn from the reset seed; the start angle uniform on the ring and the target
    ``start + U(min_distance_deg, 180) * (+-1)``, both drawn with the env's ``np_random``.

    ## Episode end
    Episodes never terminate; the registered ``livn_rl/RingAttractor-Steer-v0`` truncates at 60 steps (3 s).

    ## Arguments
    :param system: ``"Ring"`` (the reference ring without its trial cue) or a
        :class:`~livn_rl.systems.ring.RingAttractorSystem`
    :param serotonin: serotonin level or gains of the default ring (see :class:`RingAttractorSystem`)
    :param n_sectors: number of angular sectors the agent drives
    :param max_current_pa: current per cell at action +1 (pA)
    :param cue_steps: steps at the start of an episode during which the env cues the start angle
    :param cue_pa: peak current of the start cue (pA)
    :param min_distance_deg: smallest distance between start angle and target (degrees, 0..180)
    :param current_cost: weight of the mean stimulation in the reward
    :param window_ms: simulated time per step (ms)
    :param noise: Poisson background of the ring on (True) or off
    :param dt_ms: simulation time step (ms)
    :param target: Brian2 code generation target (``"auto"``, ``"cython"`` or ``"numpy"``)
    :param backend: engine backend (``"auto"``, ``"standalone"`` or ``"runtime"``)
    :param render_mode: ``None``, ``"rgb_array"`` or ``"human"``
    """

    def __init__(
        self,
        system="Ring",
        *,
        serotonin="normal",
        n_sectors: int = 8,
        max_current_pa: float = 200.0,
        cue_steps: int = 5,
        cue_pa: float = 150.0,
        min_distance_deg: float = 60.0,
        current_cost: float = 0.2,
        window_ms: float = 50.0,
        noise: bool = True,
        dt_ms: float = 0.1,
        target: str = "auto",
        backend: str = "auto",
        render_mode: str | None = None,
        simulation=None,
        copy: int = 0,
    ) -> None:
        if simulation is None:
            if isinstance(system, str) and system == "Ring":
                system = RingAttractorSystem(serotonin=serotonin, cue_amplitude=0.0)  # the env cues by itself
            elif not isinstance(system, RingAttractorSystem):
                raise ValueError(f"RingAttractor-Steer needs system='Ring' or a RingAttractorSystem, got {system!r}")
        elif not isinstance(simulation.system, RingAttractorSystem):
            raise ValueError(f"RingAttractor-Steer needs a RingAttractorSystem, the simulation runs {simulation.system.name!r}")
        check_whole("n_sectors", n_sectors, 2)
        check_whole("cue_steps", cue_steps, 0)
        self.max_current_pa = check_number("max_current_pa", max_current_pa, 0.0, low_open=True)
        self.cue_pa = check_number("cue_pa", cue_pa, 0.0)
        self.min_distance_deg = check_number("min_distance_deg", min_distance_deg, 0.0, 180.0)
        self.current_cost = check_number("current_cost", current_cost, 0.0)
        super().__init__(system, window_ms=window_ms, noise=noise, dt_ms=dt_ms, target=target, backend=backend,
                         render_mode=render_mode, simulation=simulation, copy=copy)
        self.n_sectors = int(n_sectors)
        self.cue_steps = int(cue_steps)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (self.n_sectors,), np.float32)
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (5,), np.float32)
        self.start_deg = 0.0
        self.target_deg = 180.0

    # ----------------------------------------------------------------------------------------------- helpers
    def sector_centres_deg(self) -> np.ndarray:
        """The centre of every sector (degrees)."""
        return 360.0 * np.arange(self.n_sectors) / self.n_sectors

    def target_action(self, amplitude: float = 1.0) -> np.ndarray:
        """A hand-made policy: drive only the sector that contains the target, at ``amplitude`` (0..1) of the
        maximum current. A reference for learned policies."""
        action = -np.ones(self.n_sectors, np.float32)
        nearest = int(np.argmin(np.abs(wrap_deg(self.sector_centres_deg() - self.target_deg))))
        action[nearest] = 2.0 * float(amplitude) - 1.0
        return action

    def _cue_current_pa(self) -> np.ndarray:
        cfg = self.system.config
        current = np.zeros(self.system.n_neurons)
        angles = self.system.exc_angles_deg
        current[: angles.size] = self.cue_pa * np.exp(cfg["cue_eta"] * (np.cos(np.radians(angles - self.start_deg)) - 1.0))
        return current

    def _observe(self, recording: Recording | None) -> tuple[np.ndarray, float, float]:
        if recording is None:
            angle, strength = float("nan"), 0.0
        else:
            n_exc = self.system.populations[0].size
            exc = recording.neuron_i < n_exc
            counts = np.bincount(recording.neuron_i[exc], minlength=n_exc)
            angle, strength = (float(x) for x in population_vector(counts, self.system.exc_angles_deg))
        bump = (0.0, 0.0) if not np.isfinite(angle) else (np.cos(np.radians(angle)), np.sin(np.radians(angle)))
        target = (np.cos(np.radians(self.target_deg)), np.sin(np.radians(self.target_deg)))
        obs = np.clip(np.array([*bump, strength, *target], np.float32), -1.0, 1.0)
        return obs, angle, strength

    # ------------------------------------------------------------------------------------------- LivnEnv hooks
    def _reset_episode(self, options):
        self.start_deg = float(self.np_random.uniform(0.0, 360.0))
        offset = float(self.np_random.uniform(self.min_distance_deg, 180.0)) * float(self.np_random.choice([-1.0, 1.0]))
        self.target_deg = float((self.start_deg + offset) % 360.0)
        obs, _, _ = self._observe(None)
        return obs, {"start_deg": self.start_deg, "target_deg": self.target_deg}

    def _stimulus(self, action):
        from brian2 import pA

        sectors = (np.asarray(action, dtype=float) + 1.0) / 2.0 * self.max_current_pa
        current = self.system.sector_current(sectors)
        if self._episode_steps < self.cue_steps:
            current = current + self._cue_current_pa()
        return NeuronDrive({"I_ext": current * pA})

    def _outcome(self, action, recording: Recording):
        obs, angle, strength = self._observe(recording)
        error = abs(float(wrap_deg(angle - self.target_deg))) if np.isfinite(angle) else 180.0
        stimulation = float(np.mean((np.asarray(action) + 1.0) / 2.0))
        alignment = strength * np.cos(np.radians(error))
        reward = alignment - self.current_cost * stimulation
        info = {"bump_deg": angle, "strength": strength, "target_deg": self.target_deg, "error_deg": error,
                "stimulation": stimulation, "cueing": self._episode_steps <= self.cue_steps}
        return obs, float(reward), False, False, info
