"""Turn a dataset of stimulus-response trials into a stable-baselines3 replay buffer for a livn_rl env.

Each trial becomes one transition: its ``features`` are the agent's action (stored scaled to [-1, 1], as SB3
stores actions), its recorded response is decoded into the task's action exactly as the env decodes a simulated
window, and the real task is stepped with it for the observation, next observation and reward. The trials of one
dataset episode are consecutive windows of one culture, so they are replayed as consecutive env steps. The env's
time limit ends an episode as a truncation (``TimeLimit.truncated``, kept apart from terminal states by
``handle_timeout_termination=True``), and so does running out of trials in a dataset episode; only the task's
own termination is a terminal state.
"""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np

from livn_rl.data.identity import describe_differences, env_identity, require_identity
from livn_rl.data.loading import load_dataset
from livn_rl.data.store import REPLAY_COLUMNS, DatasetError, read_meta
from livn_rl.recording import Recording


def scale_action(action: np.ndarray, space: gym.spaces.Box) -> np.ndarray:
    """``action`` mapped from ``[space.low, space.high]`` to [-1, 1]: what SB3's ``policy.scale_action`` stores in
    its replay buffer for a Box action space."""
    low, high = space.low.astype(np.float64), space.high.astype(np.float64)
    return (2.0 * (np.asarray(action, np.float64) - low) / (high - low) - 1.0).astype(np.float32)


def _env(env: gym.Env | str, env_kwargs: dict | None) -> tuple[gym.Env, int | None]:
    from livn_rl.envs.base import LivnEnv

    made = gym.make(env, **(env_kwargs or {})) if isinstance(env, str) else env
    limit = made.spec.max_episode_steps if made.spec is not None else None
    if not isinstance(made.unwrapped, LivnEnv):
        raise ValueError(f"replay needs a livn_rl env (a LivnEnv), got {type(made.unwrapped).__name__}")
    return made, limit


def check_compatible(meta: dict, env: gym.Env, folder: str | Path = "the dataset") -> None:
    """Raise :class:`DatasetError` unless the dataset's trials can stand for ``env``'s windows: the same identity
    (system config, MEA, encoder and its parameters, window, time step, noise, code versions; every differing field
    is named) and features that fit the action space. An env without an encoder is refused: it drives its neurons
    directly, so no dataset of MEA stimulation fits it."""
    recorded = require_identity(meta, folder)
    try:
        problems = describe_differences(recorded, env_identity(env), "dataset", "env")
    except DatasetError as err:
        problems = [f"its features were encoded by {meta['encoder']['repr']}, but {err}"]
    space = env.action_space
    n_features = len(meta["encoder"]["input_low"])
    if not isinstance(space, gym.spaces.Box) or space.shape != (n_features,):
        problems.append(f"its features have {n_features} values, the env's action space is {space}")
    elif not (np.allclose(meta["encoder"]["input_low"], space.low) and np.allclose(meta["encoder"]["input_high"], space.high)):
        problems.append(f"its features span [{meta['encoder']['input_low']}, {meta['encoder']['input_high']}], the "
                        f"env's actions {space}")
    if problems:
        raise DatasetError(f"{folder} does not fit the env {_env_name(env)}: " + "; ".join(problems))


def _env_name(env: gym.Env) -> str:
    return env.spec.id if env.spec is not None else type(env.unwrapped).__name__


def transitions(source: str | Path, env: gym.Env | str, *, env_kwargs: dict | None = None, seed: int = 0) -> dict[str, np.ndarray]:
    """The dataset's trials as transitions of ``env``: arrays ``obs``, ``next_obs``, ``action`` (scaled to
    [-1, 1]), ``reward``, ``terminated``, ``truncated`` and ``reset_seed`` (the seed of the reset that started the
    transition's episode: ``env.reset(seed=...)`` gives its first observation), in trial order.

    :param source: a livn_rl dataset folder
    :param env: a registered env id or an env (its time limit is read from its spec)
    :param env_kwargs: env arguments, with an env id
    :param seed: seed of the task's resets (episode ``e`` of the dataset starts the task with ``seed + e``)
    """
    meta = read_meta(source)
    made, limit = _env(env, env_kwargs)
    try:
        check_compatible(meta, made, source)
        dataset = load_dataset(source)
        missing = [c for c in REPLAY_COLUMNS if c not in dataset.column_names]
        if missing:
            raise DatasetError(f"{source} lacks the columns {missing} that replay needs")
        rows = dataset.select_columns(list(REPLAY_COLUMNS)).to_dict()
        order = np.argsort(rows["trial"], kind="stable")
        rows = {k: [v[i] for i in order] for k, v in rows.items()}
        inner = made.unwrapped
        space = made.action_space
        out: dict[str, list] = {k: [] for k in ("obs", "next_obs", "action", "reward", "terminated", "truncated",
                                                "reset_seed")}
        n_trials = len(rows["trial"])
        obs, elapsed, episode, reset_seed = None, 0, None, None
        for i in range(n_trials):
            if rows["episode"][i] != episode or obs is None:
                episode = rows["episode"][i]
                reset_seed = seed + int(episode)
                obs, _ = inner.replay_reset(seed=reset_seed)
                elapsed = 0
            window = float(rows["t_end"][i])
            t0 = elapsed * window
            recording = Recording(
                t0, window, inner.system.n_neurons, inner.mea.n_channels, 1,
                np.asarray(rows["trial_it"][i], np.int64), t0 + np.asarray(rows["trial_t"][i], np.float64),
                np.zeros(len(rows["trial_it"][i]), np.int64),
                np.asarray(rows["channel_it"][i], np.int64), t0 + np.asarray(rows["channel_t"][i], np.float64),
                np.asarray(rows["channel_unit"][i], np.int64), np.zeros(len(rows["channel_it"][i]), np.int64),
            )
            action = np.asarray(rows["features"][i], np.float32)
            # the infos are not kept, so the stimulus need not be made for them
            next_obs, reward, terminated, truncated, _ = inner.replay_step(action, recording, describe_stimulus=False)
            elapsed += 1
            last_of_episode = i + 1 == n_trials or rows["episode"][i + 1] != episode
            truncated = bool(truncated or (limit is not None and elapsed >= limit) or last_of_episode) and not terminated
            out["obs"].append(obs)
            out["next_obs"].append(next_obs)
            out["action"].append(scale_action(action, space))
            out["reward"].append(reward)
            out["terminated"].append(bool(terminated))
            out["truncated"].append(truncated)
            out["reset_seed"].append(reset_seed)
            obs = None if terminated or truncated else next_obs
            if obs is None and not last_of_episode:
                # the task's episode ended inside a dataset episode: the next one starts on the same culture
                reset_seed = seed + int(episode) + 1_000_003 * elapsed
                obs, _ = inner.replay_reset(seed=reset_seed)
                elapsed = 0
    finally:
        if isinstance(env, str):
            made.close()
    return {k: np.asarray(v) for k, v in out.items()}


def fill_replay_buffer(buffer, source: str | Path, env: gym.Env | str, *, env_kwargs: dict | None = None,
                       seed: int = 0) -> int:
    """Add the dataset's trials to an SB3 ``ReplayBuffer`` as transitions of ``env`` and return how many were added.

    A buffer of ``n_envs`` envs takes transitions ``n_envs`` at a time (a remainder that does not fill a row is
    left out).

    :param buffer: a ``stable_baselines3.common.buffers.ReplayBuffer`` with ``handle_timeout_termination=True``
        and ``optimize_memory_usage=False``
    :param source: a livn_rl dataset folder
    :param env: a registered env id or an env
    :param env_kwargs: env arguments, with an env id
    :param seed: seed of the task's resets
    """
    if not getattr(buffer, "handle_timeout_termination", False):
        raise ValueError("the replay buffer must have handle_timeout_termination=True, or time-limit ends would be "
                         "stored as terminal states")
    if getattr(buffer, "optimize_memory_usage", False):
        raise ValueError("the replay buffer must have optimize_memory_usage=False: replayed transitions are not one "
                         "continuous stream per env")
    data = transitions(source, env, env_kwargs=env_kwargs, seed=seed)
    if data["obs"].shape[1:] != buffer.obs_shape or data["action"].shape[1:] != (buffer.action_dim,):
        raise DatasetError(f"the env's transitions (obs {data['obs'].shape[1:]}, action {data['action'].shape[1:]}) do "
                           f"not fit the buffer (obs {buffer.obs_shape}, action ({buffer.action_dim},))")
    k = buffer.n_envs
    usable = (len(data["obs"]) // k) * k
    for start in range(0, usable, k):
        rows = slice(start, start + k)
        infos = [{"TimeLimit.truncated": bool(t)} for t in data["truncated"][rows]]
        done = data["terminated"][rows] | data["truncated"][rows]
        buffer.add(data["obs"][rows], data["next_obs"][rows], data["action"][rows], data["reward"][rows], done, infos)
    return usable


def replay_buffer_from_dataset(source: str | Path, env: gym.Env | str, *, buffer_size: int | None = None,
                               env_kwargs: dict | None = None, seed: int = 0, device: str = "cpu"):
    """A new SB3 ``ReplayBuffer`` holding the dataset's trials as transitions of ``env``.

    :param source: a livn_rl dataset folder
    :param env: a registered env id or an env
    :param buffer_size: capacity (default: the number of trials)
    :param env_kwargs: env arguments, with an env id
    :param seed: seed of the task's resets
    :param device: torch device of the sampled batches
    """
    from stable_baselines3.common.buffers import ReplayBuffer

    made, _ = _env(env, env_kwargs)
    try:
        size = int(buffer_size or read_meta(source)["samples"])
        buffer = ReplayBuffer(size, made.observation_space, made.action_space, device=device, n_envs=1,
                              handle_timeout_termination=True)
        fill_replay_buffer(buffer, source, made, seed=seed)
    finally:
        if isinstance(env, str):
            made.close()
    return buffer


__all__ = ["check_compatible", "fill_replay_buffer", "replay_buffer_from_dataset", "scale_action", "transitions"]
