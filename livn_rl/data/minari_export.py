"""Export a dataset's trials, as transitions of a livn_rl env, to a Minari dataset (``pip install livn_rl[minari]``)."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import numpy as np

from livn_rl.data.identity import package_version
from livn_rl.data.replay import transitions


def export_minari(source: str | Path, env_id: str, dataset_id: str, *, env_kwargs: dict | None = None, seed: int = 0,
                  description: str | None = None):
    """Write the dataset's trials as a Minari dataset of ``env_id`` episodes and return the ``MinariDataset``.

    Episodes are the replayed ones of :func:`~livn_rl.data.transitions` (time limits as truncations), each with the
    seed of the reset that started it; actions are stored as the env takes them. The dataset records the env's full
    spec, ``env_kwargs`` included, so ``recover_environment()`` rebuilds the env the transitions belong to. Minari
    keeps datasets under ``MINARI_DATASETS_PATH`` (default ``~/.minari``) and never overwrites one: an existing
    ``dataset_id`` is an error.

    :param source: a livn_rl dataset folder
    :param env_id: the registered env whose transitions the trials become, e.g. ``"livn_rl/Pendulum-S2-v0"``
    :param dataset_id: Minari id, ``namespace/name-v0``
    :param env_kwargs: env arguments (JSON data: Minari stores the env's spec as JSON)
    :param seed: seed of the task's resets
    :param description: dataset description (default: where the trials came from)
    """
    try:
        import minari
        from minari.data_collector.episode_buffer import EpisodeBuffer
    except ImportError:
        raise ImportError("export to Minari needs the minari package: pip install 'livn_rl[minari]'") from None

    env = gym.make(env_id, **(env_kwargs or {}))
    try:
        try:
            json.dumps(env.spec.kwargs)
        except (TypeError, ValueError) as err:
            raise ValueError(f"Minari stores the env's spec as JSON, but env_kwargs hold something that is not JSON "
                             f"data ({err}); give systems, encoders and decoders by name or as dicts") from None
        data = transitions(source, env, seed=seed)
        # transitions() stores actions scaled to [-1, 1]; Minari keeps actions as the env takes them
        low, high = env.action_space.low, env.action_space.high
        actions = low + (data["action"] + 1.0) * (high - low) / 2.0
        ends = np.flatnonzero(data["terminated"] | data["truncated"])
        episodes, start = [], 0
        for k, end in enumerate(ends):
            steps = slice(start, end + 1)
            episodes.append(EpisodeBuffer(
                id=k, seed=int(data["reset_seed"][start]),
                observations=[*data["obs"][steps], data["next_obs"][end]],
                actions=list(actions[steps].astype(np.float32)),
                rewards=list(data["reward"][steps].astype(np.float64)),
                terminations=list(data["terminated"][steps]),
                truncations=list(data["truncated"][steps]),
                infos={},
            ))
            start = end + 1
        return minari.create_dataset_from_buffers(
            dataset_id, episodes, env=env, algorithm_name="livn-rl sample (random features)",
            description=description or f"stimulus-response trials of {source} replayed as {env_id} transitions",
            data_format="arrow",
            # recover_environment() warns when the installed livn_rl is not the one whose env made the transitions
            requirements=[f"livn_rl=={package_version('livn_rl')}"],
        )
    finally:
        env.close()


__all__ = ["export_minari"]
