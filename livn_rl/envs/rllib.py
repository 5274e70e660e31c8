"""livn_rl's registered envs as RLlib environments (the optional extra ``livn_rl[rllib]``).

RLlib builds envs inside its env-runner processes, where Gymnasium's registry holds only what those processes
imported: ``"livn_rl/Pendulum-S2-v0"`` is unknown there unless ``livn_rl`` is imported. :func:`register_rllib_envs`
registers each id with Ray Tune's registry (which Ray ships to every worker) under a creator that imports
``livn_rl`` first; RLlib's ``env_config`` becomes the env's keyword arguments.

>>> from ray.rllib.algorithms.ppo import PPOConfig
>>> from livn_rl.envs.rllib import register_rllib_envs
>>> register_rllib_envs()
>>> config = (PPOConfig().environment("livn_rl/Pendulum-S2-v0", env_config={"target": "numpy"})
...           .env_runners(num_env_runners=2))
>>> algo = config.build_algo(); algo.train()
"""

from __future__ import annotations

from functools import partial
from typing import Any, Iterable

import gymnasium as gym

from livn_rl.cluster import import_ray

__all__ = ["livn_env_ids", "make_rllib_env", "register_rllib_envs"]


def livn_env_ids() -> list[str]:
    """Every env id livn_rl registers with Gymnasium (``livn_rl/...``)."""
    import livn_rl  # noqa: F401  (registers the envs)

    return sorted(env_id for env_id, spec in gym.registry.items() if spec.namespace == "livn_rl")


def make_rllib_env(env_id: str, env_config: dict[str, Any] | None = None) -> gym.Env:
    """The env ``env_id`` built in whichever process asks (livn_rl imported there first); ``env_config`` (RLlib's
    ``EnvContext``, a dict) gives the env's keyword arguments."""
    import livn_rl  # noqa: F401  (registers the envs in this Ray worker)

    return gym.make(env_id, **dict(env_config or {}))


def register_rllib_envs(env_ids: Iterable[str] | None = None) -> list[str]:
    """Register ``env_ids`` (default: all of :func:`livn_env_ids`) with Ray Tune's registry under the same ids, so
    that ``config.environment("livn_rl/...")`` works in every RLlib worker; the ids registered.

    :raises ValueError: an id that is not one of livn_rl's envs
    :raises ClusterError: Ray is not installed
    """
    import_ray()
    from ray.tune.registry import register_env

    known = livn_env_ids()
    ids = known if env_ids is None else list(env_ids)
    unknown = [env_id for env_id in ids if env_id not in known]
    if unknown:
        raise ValueError(f"not livn_rl envs: {unknown}; choose from `livn-rl envs` (e.g. {known[0]})")
    for env_id in ids:
        register_env(env_id, partial(make_rllib_env, env_id))
    return ids
