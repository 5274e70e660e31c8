"""K livn_rl envs as K copies of one culture in one Brian2 network, stepped together.

Copies are independent cultures (block-diagonal connectivity, their own initial states and electrodes); one
Brian2 network integrates all of them, which costs far less than K networks. :class:`LivnVectorEnv` is a
Gymnasium ``VectorEnv`` (``gym.make_vec("livn_rl/Pendulum-S2-v0", num_envs=16)``);
:func:`~livn_rl.envs.sb3.make_sb3_vec_env` exposes the same thing as a stable-baselines3 ``VecEnv``.

Auto-reset: when copy ``k``'s episode ends, its culture is reset in place (state, in-flight spikes, electrodes)
while the other copies run on. The background noise stream is shared by all copies, so a copy reset in the middle
of a run is a fresh culture with fresh noise, not a replay of an earlier episode.
"""

from __future__ import annotations

import copy as copy_module
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from livn_rl.checks import check_whole
from livn_rl.engine import Simulation
from livn_rl.envs.base import LivnEnv
from livn_rl.stimulus import stack_copies

__all__ = ["LivnVectorEnv"]


class LivnVectorEnv(VectorEnv):
    """``num_envs`` copies of a livn_rl env class in one simulation.

    :param env_class: a :class:`~livn_rl.envs.base.LivnEnv` subclass
    :param num_envs: number of copies
    :param max_episode_steps: truncate each copy's episode after this many steps (None: never)
    :param autoreset_mode: ``AutoresetMode.NEXT_STEP`` (Gymnasium's default) or ``AutoresetMode.SAME_STEP``
    :param system: the culture, as for the single env
    :param noise: background noise on or off
    :param dt_ms: simulation time step (ms)
    :param target: Brian2 code generation target of the runtime backend
    :param backend: engine backend, ``"auto"``, ``"standalone"`` or ``"runtime"``
    :param render_mode: ``None`` or ``"rgb_array"`` (:meth:`render` returns one frame per copy)
    :param env_kwargs: the single env's other arguments (each copy gets its own deep copy)
    """

    def __init__(
        self,
        env_class: type[LivnEnv],
        num_envs: int,
        *,
        max_episode_steps: int | None = None,
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        system="S2",
        noise: bool = True,
        dt_ms: float = 0.1,
        target: str = "auto",
        backend: str = "auto",
        render_mode: str | None = None,
        **env_kwargs: Any,
    ) -> None:
        check_whole("num_envs", num_envs, 1)
        if max_episode_steps is not None and (isinstance(max_episode_steps, bool) or not isinstance(max_episode_steps, (int, np.integer)) or max_episode_steps < 1):
            raise ValueError(f"max_episode_steps must be a whole number >= 1 or None, got {max_episode_steps!r}")
        try:
            self.autoreset_mode = AutoresetMode(autoreset_mode)
        except ValueError:
            raise ValueError(f"autoreset_mode must be one of {[m.value for m in AutoresetMode][:2]}, got {autoreset_mode!r}") from None
        if self.autoreset_mode == AutoresetMode.DISABLED:
            raise ValueError("autoreset_mode DISABLED is not supported: copies reset themselves when their episode ends")
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"a vector env renders with render_mode=None or 'rgb_array', got {render_mode!r}")
        # a probe env validates the arguments and builds the system before anything is simulated
        probe = env_class(system=system, noise=noise, dt_ms=dt_ms, target=target, **copy_module.deepcopy(env_kwargs))
        self.simulation = Simulation(probe.system, seed=0, n_copies=int(num_envs), dt_ms=dt_ms, target=target,
                                     backend=backend, background=bool(noise))
        probe.close()
        self.envs: list[LivnEnv] = [
            env_class(system=self.simulation.system, noise=noise, dt_ms=dt_ms, target=target, render_mode=render_mode,
                      simulation=self.simulation, copy=k, **copy_module.deepcopy(env_kwargs))
            for k in range(int(num_envs))
        ]
        first = self.envs[0]
        self.num_envs = int(num_envs)
        self.max_episode_steps = None if max_episode_steps is None else int(max_episode_steps)
        self.render_mode = render_mode
        self.window_ms = first.window_ms
        self.metadata = {**first.metadata, "autoreset_mode": self.autoreset_mode}
        self.single_observation_space = first.observation_space
        self.single_action_space = first.action_space
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._steps = np.zeros(self.num_envs, np.int64)
        self._pending_reset = np.zeros(self.num_envs, bool)
        self._started = False

    # --------------------------------------------------------------------------------------------------- reset
    def reset(self, *, seed: int | list[int | None] | None = None, options: dict | None = None):
        observations, per_copy = self.reset_copies(seed=seed, options=options)
        infos: dict = {}
        for k, info in enumerate(per_copy):
            infos = self._add_info(infos, info, k)
        return self.batch_observations(observations), infos

    def reset_copies(self, *, seed: int | list[int | None] | None = None,
                     options: dict | list[dict | None] | None = None) -> tuple[list, list[dict]]:
        """Reset every copy; per-copy observations and infos (for adapters). ``seed`` is an int (copy ``k`` gets
        ``seed + k``), one seed per copy, or None; ``options`` one dict for every copy, one per copy, or None."""
        if options is None or isinstance(options, dict):
            per_copy = [options] * self.num_envs
        else:
            per_copy = list(options)
            if len(per_copy) != self.num_envs:
                raise ValueError(f"reset needs one options dict per copy ({self.num_envs}) or a single dict, got "
                                 f"{len(per_copy)}")
        if seed is None:
            seeds: list[int | None] = [None] * self.num_envs
        elif isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
            seeds = [int(seed) + k for k in range(self.num_envs)]
        else:
            seeds = list(seed)
            if len(seeds) != self.num_envs:
                raise ValueError(f"reset needs one seed per copy ({self.num_envs}) or a single int, got {len(seeds)}")
        self._np_random, self._np_random_seed = gym.utils.seeding.np_random(seeds[0])
        results = [env.reset(seed=s, options=o) for env, s, o in zip(self.envs, seeds, per_copy)]
        self.simulation.reset(int(self._np_random.integers(2**31)))
        self.simulation.reset_copies(range(self.num_envs), [env.culture_seed for env in self.envs])
        self._steps[:] = 0
        self._pending_reset[:] = False
        self._started = True
        return [obs for obs, _ in results], [info for _, info in results]

    # ---------------------------------------------------------------------------------------------------- step
    def step_copies(self, actions) -> tuple[list, np.ndarray, np.ndarray, np.ndarray, list[dict]]:
        """Step every copy; per-copy results (for adapters): observations, rewards, terminations, truncations and
        infos. In SAME_STEP mode a finished copy's info holds ``final_obs`` and ``final_info``, and its
        observation is the first of its next episode."""
        if not self._started:
            raise RuntimeError("call reset() before step()")
        actions = np.asarray(actions)
        if actions.shape[:1] != (self.num_envs,):
            raise ValueError(f"actions must have shape {self.action_space.shape} (one action per copy), got {actions.shape}")
        checked: list[tuple[np.ndarray, int] | None] = []
        per_copy = []
        for k, env in enumerate(self.envs):
            if self._pending_reset[k]:
                checked.append(None)
                per_copy.append(None)
                continue
            action, clipped = env.check_action(actions[k])
            checked.append((action, clipped))
            per_copy.append(env.apply_stimulus(env.stimulus(action)))
        stimuli = stack_copies(per_copy, self.simulation.n_channels, self.window_ms, self.simulation.dt_ms)
        recording = self.simulation.step(stimuli if np.any(stimuli) else None, self.window_ms)

        observations, infos = [None] * self.num_envs, [dict() for _ in range(self.num_envs)]
        rewards = np.zeros(self.num_envs)
        terminated = np.zeros(self.num_envs, bool)
        truncated = np.zeros(self.num_envs, bool)
        to_reset = []
        for k, env in enumerate(self.envs):
            if checked[k] is None:  # NEXT_STEP: this step starts the copy's next episode
                observations[k], infos[k] = env.reset()
                to_reset.append(k)
                self._pending_reset[k] = False
                self._steps[k] = 0
                continue
            obs, rewards[k], terminated[k], truncated[k], info = env.finish_step(*checked[k], recording.copy_of(k))
            self._steps[k] += 1
            if self.max_episode_steps is not None and self._steps[k] >= self.max_episode_steps:
                truncated[k] = True
            if terminated[k] or truncated[k]:
                if self.autoreset_mode == AutoresetMode.SAME_STEP:
                    final_obs, final_info = obs, info
                    obs, info = env.reset()
                    info["final_obs"], info["final_info"] = final_obs, final_info
                    to_reset.append(k)
                    self._steps[k] = 0
                else:
                    self._pending_reset[k] = True
            observations[k], infos[k] = obs, info
        if to_reset:
            self.simulation.reset_copies(to_reset, [self.envs[k].culture_seed for k in to_reset])
        return observations, rewards, terminated, truncated, infos

    def step(self, actions):
        observations, rewards, terminated, truncated, per_copy = self.step_copies(actions)
        infos: dict = {}
        for k, info in enumerate(per_copy):
            infos = self._add_info(infos, info, k)
        return self.batch_observations(observations), rewards, terminated, truncated, infos

    def batch_observations(self, observations: list[np.ndarray]) -> np.ndarray:
        """Per-copy observations as one array of the batched observation space's dtype."""
        return np.stack(observations).astype(self.single_observation_space.dtype)

    # ----------------------------------------------------------------------------------------------- the rest
    def render(self) -> tuple[np.ndarray | None, ...] | None:
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode='rgb_array'")
            return None
        return tuple(env.render() for env in self.envs)

    def close_extras(self, **kwargs: Any) -> None:
        for env in self.envs:
            env.close()
        self.simulation.close()
