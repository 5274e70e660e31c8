"""Turn a dataset of stimulus-response trials into a stable-baselines3 replay buffer for a livn_rl env.

Each sample becomes one transition: its ``features``, turned back into the env's action by the env's encoder
(:meth:`~livn_rl.encoders.Encoder.from_features`), are the agent's action (stored scaled to [-1, 1], as SB3 stores
actions), its recorded response is decoded into the task's action exactly as the env decodes a simulated
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
from livn_rl.data.loading import LIVN_COLUMNS, load_dataset
from livn_rl.data.store import REPLAY_COLUMNS, DatasetError, is_dataset_folder, read_meta
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


def transitions(source: str | Path, env: gym.Env | str, *, env_kwargs: dict | None = None, seed: int = 0,
                config: str | None = None, split: str | None = None) -> dict[str, np.ndarray]:
    """The dataset's samples as transitions of ``env``: arrays ``obs``, ``next_obs``, ``action`` (scaled to
    [-1, 1]), ``reward``, ``terminated``, ``truncated`` and ``reset_seed`` (the seed of the reset that started the
    transition's episode: ``env.reset(seed=...)`` gives its first observation), in sample order.

    A livn_rl dataset is checked against the env's identity and replays what its MEA detected. A dataset in livn's
    layout (a local copy of livn's hub dataset, or anything in its layout) carries neuron-level spikes only: they are
    observed through the env's MEA offline (:meth:`~livn_rl.mea.MEA.channel_spikes_of_trials`, seeded by ``seed``
    and the sample's place in the order) and decoded by the env's decoder; its samples are consecutive steps of one episode (the env's
    time limit and the task's own ends cut it), its neuron ids must exist in the env's system, its ``t_end`` must be
    the env's window and its features must lie in the env's encoder's feature space.

    :param source: a livn_rl dataset folder, a folder in livn's layout or a hub name (see :func:`load_dataset`)
    :param env: a registered env id or an env (its time limit is read from its spec)
    :param env_kwargs: env arguments, with an env id
    :param seed: seed of the task's resets (episode ``e`` of the dataset starts the task with ``seed + e``) and of
        the offline observation of livn-layout samples
    :param config: the config of a hub dataset (livn's: the system, e.g. ``"S2"``)
    :param split: the split to replay (default: a livn_rl folder's own, ``"train"`` otherwise)
    """
    made, limit = _env(env, env_kwargs)
    try:
        rows = _replay_rows(source, made, config, split, seed)
        inner = made.unwrapped
        space = made.action_space
        out: dict[str, list] = {k: [] for k in ("obs", "next_obs", "action", "reward", "terminated", "truncated",
                                                "reset_seed")}
        n_trials = len(rows["episode"])
        obs, elapsed, episode, reset_seed = None, 0, None, None
        for i in range(n_trials):
            if rows["episode"][i] != episode or obs is None:
                episode = rows["episode"][i]
                reset_seed = seed + int(episode)
                obs, _ = inner.replay_reset(seed=reset_seed)
                elapsed = 0
            window = float(rows["t_end"][i])
            t0 = elapsed * window
            it, channel = rows["trial_it"][i], rows["channel_it"][i]
            recording = Recording(
                t0, window, inner.system.n_neurons, inner.mea.n_channels, 1,
                it, t0 + rows["trial_t"][i], np.zeros(it.size, np.int64),
                channel, t0 + rows["channel_t"][i], rows["channel_unit"][i], np.zeros(channel.size, np.int64),
            )
            action = rows["action"][i]
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


def _replay_rows(source, env: gym.Env, config, split, seed: int) -> dict[str, list]:
    """Every sample as the arrays replay needs (episode, action, t_end, neuron and channel spikes), in order, from
    a livn_rl dataset or from one in livn's layout."""
    inner = env.unwrapped
    livn_rl_folder = is_dataset_folder(source)
    if livn_rl_folder:
        check_compatible(read_meta(source), env, source)
    elif getattr(inner, "encoder", None) is None:
        raise DatasetError(f"{type(inner).__name__} has no encoder, so the features of {source} cannot be its actions")
    dataset = load_dataset(source, config, split=split)
    names = REPLAY_COLUMNS if livn_rl_folder else tuple(LIVN_COLUMNS) + tuple(
        c for c in ("episode", "trial") if c in dataset.column_names)
    missing = [c for c in names if c not in dataset.column_names]
    if missing:
        raise DatasetError(f"{source} lacks the columns {missing} that replay needs")
    table = dataset.select_columns(list(names)).to_dict()
    n = len(table["features"])
    order = np.argsort(table["trial"], kind="stable") if "trial" in table else np.arange(n)
    n_neurons = inner.system.n_neurons
    rows: dict[str, list] = {k: [] for k in ("episode", "action", "t_end", "trial_it", "trial_t", "channel_it",
                                             "channel_t", "channel_unit")}
    for i in order.tolist():
        where = f"{source}: sample {i}"
        trials_it, trials_t = table["trial_it"][i], table["trial_t"][i]
        if not trials_it or len(trials_it) != len(trials_t):
            raise DatasetError(f"{where} has {len(trials_it)} trial(s) in trial_it and {len(trials_t)} in trial_t; "
                               f"replay takes the first trial of samples that have one")
        it, t = np.asarray(trials_it[0], np.int64), np.asarray(trials_t[0], np.float64)
        t_end = float(table["t_end"][i])
        if it.size != t.size:
            raise DatasetError(f"{where}: trial_it[0] has {it.size} spikes, trial_t[0] {t.size}")
        if it.size and (it.min() < 0 or it.max() >= n_neurons):
            bad = int(it.max() if it.max() >= n_neurons else it.min())
            raise DatasetError(f"{where}: trial_it holds neuron id {bad}, but the env's system {inner.system.name!r} "
                               f"has {n_neurons} neurons (ids 0..{n_neurons - 1}); replay it on the system the "
                               f"dataset was recorded on")
        if abs(t_end - inner.window_ms) > 1e-6:
            raise DatasetError(f"{where}: t_end is {t_end:g} ms, the env's window is {inner.window_ms:g} ms; make "
                               f"the env with window_ms={t_end:g}")
        try:
            action = inner.encoder.from_features(table["features"][i])
        except ValueError as err:
            raise DatasetError(f"{where}: features do not fit the env's encoder: {err}") from None
        rows["episode"].append(int(table["episode"][i]) if "episode" in table else 0)
        for name, value in (("action", action), ("t_end", t_end), ("trial_it", it), ("trial_t", t)):
            rows[name].append(value)
        if livn_rl_folder:  # what our MEA detected while sampling
            rows["channel_it"].append(np.asarray(table["channel_it"][i], np.int64))
            rows["channel_t"].append(np.asarray(table["channel_t"][i], np.float64))
            rows["channel_unit"].append(np.asarray(table["channel_unit"][i], np.int64))
    if not livn_rl_folder:  # neuron-level only: observe it through the env's MEA, sample k from [seed, k]
        try:
            observed = inner.mea.channel_spikes_of_trials(inner.system.positions_um, rows["trial_it"],
                                                          rows["trial_t"], rows["t_end"], seed=seed)
        except ValueError as err:  # a spike time outside [0, t_end)
            raise DatasetError(f"{source}: the samples' trial_t do not fit their t_end (in sample order, {err})") from None
        for channel, t_channel, unit in observed:
            rows["channel_it"].append(channel)
            rows["channel_t"].append(t_channel)
            rows["channel_unit"].append(unit)
    return rows


def fill_replay_buffer(buffer, source: str | Path, env: gym.Env | str, *, env_kwargs: dict | None = None,
                       seed: int = 0, config: str | None = None, split: str | None = None) -> int:
    """Add the dataset's samples to an SB3 ``ReplayBuffer`` as transitions of ``env`` and return how many were added.

    A buffer of ``n_envs`` envs takes transitions ``n_envs`` at a time (a remainder that does not fill a row is
    left out).

    :param buffer: a ``stable_baselines3.common.buffers.ReplayBuffer`` with ``handle_timeout_termination=True``
        and ``optimize_memory_usage=False``
    :param source: a livn_rl dataset folder, or a dataset in livn's layout (see :func:`transitions`)
    :param env: a registered env id or an env
    :param env_kwargs: env arguments, with an env id
    :param seed: seed of the task's resets and of the offline observation of livn-layout samples
    :param config: the config of a hub dataset (livn's: the system)
    :param split: the split to replay
    """
    if not getattr(buffer, "handle_timeout_termination", False):
        raise ValueError("the replay buffer must have handle_timeout_termination=True, or time-limit ends would be "
                         "stored as terminal states")
    if getattr(buffer, "optimize_memory_usage", False):
        raise ValueError("the replay buffer must have optimize_memory_usage=False: replayed transitions are not one "
                         "continuous stream per env")
    return _add(buffer, transitions(source, env, env_kwargs=env_kwargs, seed=seed, config=config, split=split))


def _add(buffer, data: dict[str, np.ndarray]) -> int:
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
                               env_kwargs: dict | None = None, seed: int = 0, device: str = "cpu",
                               config: str | None = None, split: str | None = None):
    """A new SB3 ``ReplayBuffer`` holding the dataset's samples as transitions of ``env``.

    :param source: a livn_rl dataset folder, or a dataset in livn's layout (see :func:`transitions`)
    :param env: a registered env id or an env
    :param buffer_size: capacity (default: the number of samples)
    :param env_kwargs: env arguments, with an env id
    :param seed: seed of the task's resets and of the offline observation of livn-layout samples
    :param device: torch device of the sampled batches
    :param config: the config of a hub dataset (livn's: the system)
    :param split: the split to replay
    """
    from stable_baselines3.common.buffers import ReplayBuffer

    made, _ = _env(env, env_kwargs)
    try:
        data = transitions(source, made, seed=seed, config=config, split=split)
        buffer = ReplayBuffer(int(buffer_size or max(len(data["obs"]), 1)), made.observation_space, made.action_space,
                              device=device, n_envs=1, handle_timeout_termination=True)
        _add(buffer, data)
    finally:
        if isinstance(env, str):
            made.close()
    return buffer


__all__ = ["check_compatible", "fill_replay_buffer", "replay_buffer_from_dataset", "scale_action", "transitions"]
