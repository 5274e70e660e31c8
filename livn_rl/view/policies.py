"""Who acts in a watched (or animated) run: a random policy, nobody, or a saved stable-baselines3 model.

>>> policy = make_policy("random", env, seed=0)          # env.action_space.sample(), seeded
>>> policy = make_policy("none", env)                    # the rest action: no stimulation where that exists
>>> policy = make_policy("out/train/model.zip", env)     # the model's deterministic action
>>> action = policy(observation)
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any, Callable

import gymnasium as gym
import numpy as np

from livn_rl.envs.culture_control import CultureControlEnv
from livn_rl.envs.ring_steer import RingSteerEnv

__all__ = ["POLICY_WORDS", "Policy", "PolicyError", "load_model", "make_policy", "rest_action"]

Policy = Callable[[Any], np.ndarray]
#: The policies named by a word rather than a model file.
POLICY_WORDS = ("random", "none")


class PolicyError(ValueError):
    """A policy that cannot act in the env (missing file, not a model, spaces that do not match)."""


def rest_action(env: gym.Env) -> np.ndarray:
    """The action that asks for nothing: no stimulation in culture-control and ring envs (-1 on every value),
    the middle of the action space elsewhere."""
    space = env.action_space
    if not isinstance(space, gym.spaces.Box):
        raise PolicyError(f"the rest action needs a Box action space, got {space}")
    if isinstance(env.unwrapped, (CultureControlEnv, RingSteerEnv)):
        return space.low.astype(space.dtype).copy()
    return ((space.low + space.high) / 2).astype(space.dtype)


def make_policy(spec: str, env: gym.Env, seed: int | None = None) -> Policy:
    """The policy ``spec`` names, for ``env``.

    :param spec: ``"random"`` (the action space's own sampler, seeded with ``seed``), ``"none"`` (:func:`rest_action`
        every step) or the path of a stable-baselines3 model zip (SAC, TD3, PPO, ...; its deterministic action)
    :param env: the env it acts in (its spaces must match the model's)
    :param seed: seed of the random policy
    :raises PolicyError: a missing or unreadable model, or one whose spaces differ from the env's
    """
    if spec == "random":
        env.action_space.seed(seed)
        return lambda observation: env.action_space.sample()
    if spec == "none":
        action = rest_action(env)
        return lambda observation: action.copy()
    model = load_model(spec, env)
    return lambda observation: model.predict(observation, deterministic=True)[0]


def load_model(path: str | Path, env: gym.Env):
    """A stable-baselines3 model from ``path`` whose observation and action spaces are ``env``'s."""
    import stable_baselines3
    from stable_baselines3.common.save_util import load_from_zip_file

    path = Path(path)
    if not path.is_file():
        raise PolicyError(f"policy {str(path)!r} is not a file; give a stable-baselines3 model .zip "
                          f"(livn-rl train writes OUT/model.zip) or one of {list(POLICY_WORDS)}")
    try:
        data, _, _ = load_from_zip_file(path, device="cpu", print_system_info=False)
    except (zipfile.BadZipFile, ValueError, KeyError, OSError) as err:
        raise PolicyError(f"policy {str(path)!r} is not a stable-baselines3 model ({err})") from None
    if not data or "policy_class" not in data:
        raise PolicyError(f"policy {str(path)!r} is not a stable-baselines3 model (it has no policy class)")
    for what in ("observation_space", "action_space"):
        theirs, ours = data.get(what), getattr(env, what)
        if theirs != ours:
            raise PolicyError(f"policy {str(path)!r} was trained with {what} {theirs}, but the env has {ours}; "
                              f"use a model trained on this env")
    module = getattr(data["policy_class"], "__module__", "")  # stable_baselines3.<algorithm>.policies
    parts = module.split(".")
    algorithm = getattr(stable_baselines3, parts[1].upper(), None) if len(parts) > 2 and parts[0] == "stable_baselines3" else None
    if algorithm is None:
        raise PolicyError(f"policy {str(path)!r} holds a {module or 'unknown'} policy; livn-rl loads stable-baselines3's "
                          f"own algorithms (SAC, TD3, PPO, A2C, DDPG, DQN)")
    return algorithm.load(path, device="cpu")
