"""RecordEpisode: a Gymnasium wrapper that keeps everything each step of a livn_rl env did, episode by episode."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import gymnasium as gym
import numpy as np

from livn_rl.data.sampling import package_versions
from livn_rl.envs.base import LivnEnv
from livn_rl.export.metadata import EXPORT_PACKAGES, SystemInfo
from livn_rl.export.session import STIMULATION_DTYPE, Session, now_iso, pulse_table
from livn_rl.recording import Recording
from livn_rl.stimulus import NeuronDrive

__all__ = ["RecordEpisode"]


class RecordEpisode(gym.Wrapper):
    """Record the culture and the task of every step: the window's recording, the stimulation the env made
    (channels, onsets, amplitudes, phase widths), the agent's action, the decoded task action, the observation and
    the reward. A finished episode becomes a :class:`~livn_rl.export.Session` (``last_episode``) and, with a
    ``folder``, a session file ``folder/episode-00000.npz`` that ``livn-rl export nwb`` turns into NWB.

    >>> env = RecordEpisode(gym.make("livn_rl/Pendulum-S2-v0"), folder="episodes")
    >>> obs, info = env.reset(seed=0)
    >>> ...                                   # step until the episode ends
    >>> livn_rl.export.to_nwb(env.last_episode, "episode.nwb")

    An episode ends when the env terminates or truncates it; one that is cut short by ``reset()`` or ``close()``
    is kept too, with ``metadata["ended"]`` saying which. Works on any env whose unwrapped env is a
    :class:`~livn_rl.envs.LivnEnv` that owns its simulation (not on the copies of a vector env).

    :param env: the env to record
    :param folder: where to write the session file of each finished episode (``None``: keep it in memory only)
    :param episode_trigger: which episodes to write, by index (default: all)
    :param name_prefix: file names are ``{name_prefix}-{index:05d}.npz``
    """

    def __init__(self, env: gym.Env, folder: str | Path | None = None, *,
                 episode_trigger: Callable[[int], bool] | None = None, name_prefix: str = "episode") -> None:
        super().__init__(env)
        base = env.unwrapped
        if not isinstance(base, LivnEnv):
            raise ValueError(f"RecordEpisode records livn_rl envs (a LivnEnv inside); got {type(base).__name__}")
        self.folder = None if folder is None else Path(folder)
        self.episode_trigger = episode_trigger
        self.name_prefix = name_prefix
        self.system_info = SystemInfo.from_system(base.system, base.mea)
        #: the last finished episode, and the session files written so far
        self.last_episode: Session | None = None
        self.saved: list[Path] = []
        self.episode_index = -1
        self._steps: list[dict[str, Any]] | None = None

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        self._finish("reset")
        obs, info = self.env.reset(seed=seed, options=options)
        self.episode_index += 1
        self._seed, self._first_obs, self._steps = seed, self._numbers(obs, "observation"), []
        return obs, info

    def step(self, action):
        if self._steps is None:
            raise RuntimeError("call reset() before step()")
        obs, reward, terminated, truncated, info = self.env.step(action)
        base = self.env.unwrapped
        task_action = info.get("task_action")
        self._steps.append({
            "action": self._numbers(action, "action"), "stimulus": base.last_stimulus, "recording": base.last_recording,
            "task_action": None if task_action is None else self._numbers(task_action, "task action"),
            "observation": self._numbers(obs, "observation"), "reward": float(reward),
        })
        if terminated or truncated:
            self._finish("terminated" if terminated else "truncated")
        return obs, reward, terminated, truncated, info

    def close(self) -> None:
        self._finish("closed")
        super().close()

    @staticmethod
    def _numbers(value, what: str) -> np.ndarray:
        try:
            return np.asarray(value, dtype=np.float64).ravel()
        except (TypeError, ValueError):
            raise ValueError(f"RecordEpisode keeps numeric {what}s; got {type(value).__name__}") from None

    def _finish(self, ended: str) -> None:
        """Turn the steps of the current episode into a Session (and a file); nothing if it has no step."""
        steps, self._steps = self._steps, None
        if not steps:
            return
        self.last_episode = self._session(steps, ended)
        if self.folder is not None and (self.episode_trigger is None or self.episode_trigger(self.episode_index)):
            path = self.folder / f"{self.name_prefix}-{self.episode_index:05d}.npz"
            self.saved.append(self.last_episode.save(path))

    def _session(self, steps: list[dict[str, Any]], ended: str) -> Session:
        base = self.env.unwrapped
        windows: list[Recording] = [s["recording"] for s in steps]
        recording = Recording.concatenate(windows)
        dt_ms = base.simulation.dt_ms
        stimulation = [np.empty(0, STIMULATION_DTYPE)]
        currents = None
        for k, (step, window) in enumerate(zip(steps, windows)):
            stimulus = step["stimulus"]
            if isinstance(stimulus, (list, tuple)):
                stimulation.append(pulse_table(stimulus, window.t_start_ms, trial=k))
            elif isinstance(stimulus, NeuronDrive):
                continue  # the reference circuits' direct drive of neurons: no MEA stimulation to record
            elif stimulus is not None:  # channel currents on the simulation grid
                rows = int(round(window.duration_ms / dt_ms))
                if currents is None:
                    currents = np.zeros((rows * len(steps), base.mea.n_channels))
                currents[k * rows : (k + 1) * rows] = np.asarray(stimulus, float)
        n = len(steps)
        last = np.arange(n) == n - 1
        trials = {
            "start_ms": np.array([w.t_start_ms for w in windows]), "stop_ms": np.array([w.t_stop_ms for w in windows]),
            "step": np.arange(n), "terminated": last & (ended == "terminated"), "truncated": last & (ended == "truncated"),
        }
        task = {
            "action": np.stack([s["action"] for s in steps]),
            "observation": np.stack([self._first_obs] + [s["observation"] for s in steps]),
            "reward": np.array([s["reward"] for s in steps]),
        }
        if all(s["task_action"] is not None for s in steps):
            task["task_action"] = np.stack([s["task_action"] for s in steps])
        env_id = self.env.spec.id if self.env.spec is not None else type(base).__name__
        metadata = {
            "description": f"episode {self.episode_index} of {env_id}: {n} steps of {base.window_ms:g} ms, "
                           f"return {task['reward'].sum():.6g}, {ended}",
            "env_id": env_id, "episode": self.episode_index, "seed": self._seed, "culture_seed": base.culture_seed,
            "window_ms": base.window_ms, "ended": ended, "created": now_iso(),
            "versions": package_versions(EXPORT_PACKAGES),
        }
        return Session("episode", self.system_info, recording, dt_ms, np.concatenate(stimulation), currents, trials,
                       task, metadata)
