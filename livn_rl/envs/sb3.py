"""livn_rl vector envs as stable-baselines3 ``VecEnv``s: K copies of a culture in one network, one SAC.

>>> venv = make_sb3_vec_env("livn_rl/Pendulum-S2-v0", n_envs=8, seed=0)
>>> model = SAC("MlpPolicy", venv).learn(10_000)
"""

from __future__ import annotations

import time
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode
from stable_baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvIndices

from livn_rl.envs.vector import LivnVectorEnv


class LivnSB3VecEnv(VecEnv):
    """A stable-baselines3 ``VecEnv`` over a :class:`~livn_rl.envs.vector.LivnVectorEnv` in SAME_STEP auto-reset
    mode, which behaves like SB3's ``VecMonitor`` around a vec env: a finished copy's last observation is in
    ``infos[k]["terminal_observation"]``, time-limit ends carry ``infos[k]["TimeLimit.truncated"] = True``, the
    returned observation already starts the next episode, and ``infos[k]["episode"]`` holds the episode's return
    ``r``, length ``l`` and the seconds ``t`` since this vec env was made (so SB3 logs ``rollout/ep_rew_mean`` and
    ``evaluate_policy`` counts whole episodes). ``set_options`` gives each copy its own reset options.

    :param venv: the vector env (must use ``AutoresetMode.SAME_STEP``)
    """

    def __init__(self, venv: LivnVectorEnv) -> None:
        if venv.autoreset_mode != AutoresetMode.SAME_STEP:
            raise ValueError(f"stable-baselines3 needs autoreset_mode SAME_STEP, got {venv.autoreset_mode}")
        self.venv = venv
        super().__init__(venv.num_envs, venv.single_observation_space, venv.single_action_space)
        self._actions: np.ndarray | None = None
        # the episode statistics, kept as VecMonitor keeps them (float32 returns, int32 lengths, time since creation)
        self.t_start = time.time()
        self.episode_returns = np.zeros(self.num_envs, np.float32)
        self.episode_lengths = np.zeros(self.num_envs, np.int32)

    @property
    def envs(self) -> list[gym.Env]:
        return self.venv.envs

    def reset(self) -> np.ndarray:
        seeds = None if all(s is None for s in self._seeds) else [s for s in self._seeds]
        options = [o or None for o in self._options]
        observations, self.reset_infos = self.venv.reset_copies(seed=seeds, options=options)
        self._reset_seeds()
        self._reset_options()
        self.episode_returns[:] = 0
        self.episode_lengths[:] = 0
        return self.venv.batch_observations(observations)

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self):
        observations, rewards, terminated, truncated, infos = self.venv.step_copies(self._actions)
        rewards = rewards.astype(np.float32)
        dones = terminated | truncated
        self.episode_returns += rewards
        self.episode_lengths += 1
        for k in np.flatnonzero(dones):
            reset_info = infos[k]
            infos[k] = dict(reset_info.pop("final_info"))
            infos[k]["terminal_observation"] = reset_info.pop("final_obs")
            infos[k]["TimeLimit.truncated"] = bool(truncated[k] and not terminated[k])
            infos[k]["episode"] = {"r": self.episode_returns[k], "l": self.episode_lengths[k],
                                   "t": round(time.time() - self.t_start, 6)}
            self.episode_returns[k] = 0
            self.episode_lengths[k] = 0
            self.reset_infos[k] = reset_info
        return self.venv.batch_observations(observations), rewards, dones, infos

    def close(self) -> None:
        self.venv.close()

    def get_images(self) -> list[np.ndarray | None]:
        frames = self.venv.render()
        return list(frames) if frames is not None else [None] * self.num_envs

    # --------------------------------------------------------------------------------- attribute forwarding
    def _targets(self, indices: VecEnvIndices) -> list[gym.Env]:
        return [self.venv.envs[i] for i in self._get_indices(indices)]

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        return [getattr(env, attr_name) for env in self._targets(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        for env in self._targets(indices):
            setattr(env, attr_name, value)

    def env_method(self, method_name: str, *method_args, indices: VecEnvIndices = None, **method_kwargs) -> list[Any]:
        return [getattr(env, method_name)(*method_args, **method_kwargs) for env in self._targets(indices)]

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None) -> list[bool]:
        """Whether each copy is wrapped in ``wrapper_class``. The vector env does for every copy what SB3's
        ``Monitor`` does (episode statistics in the infos) and, with a time limit, what ``TimeLimit`` does, so
        those (and their bases, ``gym.Wrapper`` included) count as wrapped; any other wrapper only if a copy
        really has it."""
        from stable_baselines3.common.env_util import is_wrapped
        from stable_baselines3.common.monitor import Monitor

        provided = [Monitor] + ([gym.wrappers.TimeLimit] if self.venv.max_episode_steps is not None else [])
        done_here = any(issubclass(cls, wrapper_class) for cls in provided)
        return [done_here or is_wrapped(env, wrapper_class) for env in self._targets(indices)]


def make_sb3_vec_env(env_id, n_envs: int = 1, seed: int | None = None, **kwargs: Any) -> LivnSB3VecEnv:
    """A stable-baselines3 ``VecEnv`` of ``n_envs`` copies of a registered livn_rl env in one simulation.

    :param env_id: a registered id such as ``"livn_rl/Pendulum-S2-v0"``, or the ``spec`` of an env made by
        :func:`~livn_rl.wrap`
    :param n_envs: number of copies
    :param seed: seed of the first reset (copy ``k`` gets ``seed + k``)
    :param kwargs: env arguments, as for ``gym.make``
    """
    venv = gym.make_vec(env_id, num_envs=n_envs, vectorization_mode="vector_entry_point",
                        autoreset_mode=AutoresetMode.SAME_STEP, **kwargs)
    sb3 = LivnSB3VecEnv(venv)
    if seed is not None:
        sb3.seed(seed)
    return sb3


__all__ = ["LivnSB3VecEnv", "make_sb3_vec_env"]
