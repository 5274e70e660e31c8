"""A Gymnasium task with a simulated culture between the agent and the task."""

from __future__ import annotations

from typing import Callable

import gymnasium as gym
import numpy as np

from livn_rl.encoders import ChannelRateDecoder, check_fits, make_decoder, make_encoder, unit_dims
from livn_rl.envs.base import LivnEnv
from livn_rl.recording import Recording

__all__ = ["DEFAULT_WINDOW_MS", "NeuralTaskEnv", "TASK_WINDOWS_MS"]

#: Neural time equals task time: the window of each task is its own time step.
TASK_WINDOWS_MS = {
    "Pendulum-v1": 50.0,  # dt = 0.05 s
    "CartPole-v1": 20.0,  # tau = 0.02 s
    "Acrobot-v1": 200.0,  # dt = 0.2 s
    "MountainCarContinuous-v0": 50.0,  # no physical time step; Pendulum's
}
DEFAULT_WINDOW_MS = 50.0


class NeuralTaskEnv(LivnEnv):
    """Neural-in-the-loop control of a Gymnasium task.

    Each step, the agent's action is encoded into stimulation of the culture, the culture is simulated for one
    window, and the recorded response is decoded into the task's action; the task then steps with it. The agent
    learns to drive the task *through* the culture. By default a :class:`~livn_rl.encoders.PopulationEncoder`
    places a Gaussian bump of stimulation across the array and a :class:`~livn_rl.encoders.PopulationVectorDecoder`
    reads where the culture responded, so each agent action value travels through the culture as a position.

    ## Action space
    The encoder's input space, ``Box(-1, 1, (d,), float32)``; for the default encoder ``d`` is the number of values
    the task's action needs (1 for a Discrete task). Values outside [-1, 1] are clipped and counted in
    ``info["action_clipped"]``.

    ## Observation space
    The task's observation as float32, followed, with ``observe_neural=True``, by the normalised rate of every
    channel in the last window (``Box(0, 1)``; zeros after reset).

    ## Rewards, starting state and episode end
    The task's own. Every episode also starts a fresh culture (drawn from the reset seed). ``max_episode_steps`` of
    the registered envs is the task's usual time limit (a truncation, never a termination).

    | registered id | task | window | max_episode_steps |
    |---|---|---|---|
    | ``livn_rl/Pendulum-S{1,2,3}-v0`` | Pendulum-v1 | 50 ms | 200 |
    | ``livn_rl/MountainCarContinuous-S{1,2,3}-v0`` | MountainCarContinuous-v0 | 50 ms | 999 |
    | ``livn_rl/CartPole-S{1,2,3}-v0`` | CartPole-v1 | 20 ms | 500 |
    | ``livn_rl/Acrobot-S{1,2,3}-v0`` | Acrobot-v1 | 200 ms | 500 |

    ## Info
    ``time_ms`` (simulated time in the episode), ``spike_count`` (neuron spikes in the window),
    ``channel_spike_count``, ``task_action`` (the decoded action the task received), ``action_clipped``,
    ``stimulated_channels``, ``driven_neurons`` (0: the culture is stimulated through the MEA) and whatever the
    task's info holds.

    ## Arguments
    :param task: a Gymnasium env id, or a callable that returns a new task env
    :param system: the culture (``"S1"``, ``"S2"``, ``"S3"``, a config or a System)
    :param encoder: agent action -> stimulation: a built-in name, ``{"name": ..., **params}`` or an Encoder
    :param decoder: recording -> task action: a built-in name, ``{"name": ..., **params}`` or a Decoder whose
        ``output_space`` fits the task's action space
    :param window_ms: simulated time per step (default: the task's own time step, see the table)
    :param observe_neural: append the channel rates of the last window to the observation
    :param rate_scale_hz: channel rate that counts as 1 in the appended features (Hz)
    :param noise: background noise of the culture on or off
    :param task_kwargs: keyword arguments for ``gym.make(task)``
    :param dt_ms: simulation time step (ms)
    :param target: Brian2 code generation target
    :param backend: engine backend (``"auto"``, ``"standalone"`` or ``"runtime"``)
    :param render_mode: ``None``, ``"rgb_array"`` or ``"human"``
    """

    def __init__(
        self,
        task: str | Callable[[], gym.Env] = "Pendulum-v1",
        system="S2",
        *,
        encoder="population",
        decoder="population_vector",
        window_ms: float | None = None,
        observe_neural: bool = False,
        rate_scale_hz: float = 200.0,
        noise: bool = True,
        task_kwargs: dict | None = None,
        dt_ms: float = 0.1,
        target: str = "auto",
        backend: str = "auto",
        render_mode: str | None = None,
        simulation=None,
        copy: int = 0,
    ) -> None:
        self.task = _make_task(task, task_kwargs, render_mode)
        self.task_id = task if isinstance(task, str) else type(self.task).__name__
        task_space = self.task.action_space
        unit_dims(task_space)  # a clear error for spaces we cannot decode into
        if window_ms is None:
            window_ms = TASK_WINDOWS_MS.get(task if isinstance(task, str) else "", DEFAULT_WINDOW_MS)
        if not isinstance(self.task.observation_space, gym.spaces.Box):
            raise ValueError(f"the task's observation space must be a Box, got {self.task.observation_space}")
        self.encoder = make_encoder(encoder, n_values=unit_dims(task_space))
        self.decoder = make_decoder(decoder, output_space=task_space)
        super().__init__(system, window_ms=window_ms, noise=noise, dt_ms=dt_ms, target=target, backend=backend,
                         render_mode=render_mode, simulation=simulation, copy=copy)
        self.encoder.bind(self.context)
        self.decoder.bind(self.context)
        check_fits(self.decoder, task_space)  # after bind: some decoders learn their output size from the MEA
        space = self.encoder.input_space
        if not (isinstance(space, gym.spaces.Box) and np.all(space.low == -1) and np.all(space.high == 1)):
            raise ValueError(f"the encoder's input space must be a Box in [-1, 1] (the agent's actions), got {space}")
        self.action_space = gym.spaces.Box(-1.0, 1.0, space.shape, np.float32)
        self.observe_neural = bool(observe_neural)
        self._features = ChannelRateDecoder(rate_scale_hz=rate_scale_hz) if self.observe_neural else None
        task_obs = self.task.observation_space
        low, high = task_obs.low.astype(np.float32).ravel(), task_obs.high.astype(np.float32).ravel()
        if self._features is not None:
            self._features.bind(self.context)
            low = np.concatenate([low, np.zeros(self.mea.n_channels, np.float32)])
            high = np.concatenate([high, np.ones(self.mea.n_channels, np.float32)])
        self.observation_space = gym.spaces.Box(low, high, low.shape, np.float32)

    def _observation(self, task_obs, recording: Recording | None) -> np.ndarray:
        obs = np.asarray(task_obs, dtype=np.float32).ravel()
        if self._features is None:
            return obs
        rates = np.zeros(self.mea.n_channels, np.float32) if recording is None else self._features.decode(recording)
        return np.concatenate([obs, rates])

    def _reset_episode(self, options):
        task_obs, info = self.task.reset(seed=int(self.np_random.integers(2**31)), options=options)
        for part in (self.encoder, self.decoder, self._features):
            if part is not None:
                part.reset(self.np_random)
        return self._observation(task_obs, None), dict(info)

    def _stimulus(self, action):
        return self.encoder.encode(action)

    def _outcome(self, action, recording):
        task_action = self.decoder.decode(recording)
        task_obs, reward, terminated, truncated, info = self.task.step(task_action)
        info = dict(info)
        info["task_action"] = task_action
        return self._observation(task_obs, recording), float(reward), terminated, truncated, info

    def _task_frame(self):
        try:
            frame = self.task.render()
        except gym.error.DependencyNotInstalled as err:
            gym.logger.warn(f"the task cannot draw itself ({err}); rendering the culture only")
            return None
        return frame if isinstance(frame, np.ndarray) else None

    def close(self) -> None:
        self.task.close()
        super().close()


def _make_task(task, task_kwargs: dict | None, render_mode: str | None) -> gym.Env:
    kwargs = dict(task_kwargs or {})
    if render_mode is not None:
        kwargs.setdefault("render_mode", "rgb_array")
    if isinstance(task, str):
        # unwrapped: our own registration holds the time limit, so the task must not truncate on its own as well
        return gym.make(task, **kwargs).unwrapped
    if callable(task):
        env = task(**kwargs)
        if not isinstance(env, gym.Env):
            raise ValueError(f"task() must return a gymnasium.Env, got {type(env).__name__}")
        return env
    raise ValueError(f"task must be a Gymnasium env id or a callable that returns an env, got {task!r}")
