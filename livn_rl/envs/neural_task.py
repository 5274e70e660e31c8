"""A Gymnasium task with a simulated culture between the agent and the task: :func:`wrap` puts one in front of any
task env instance (as livn's ``LivnGym(benchmark, env, encoding, decoding)`` does), and the registered
``livn_rl/<Task>-<System>-v0`` envs are made by it."""

from __future__ import annotations

from typing import Callable

import gymnasium as gym
import numpy as np

from gymnasium.envs.registration import EnvSpec

from livn_rl.encoders import ChannelRateDecoder, check_fits, make_decoder, make_encoder, unit_dims
from livn_rl.envs.base import LivnEnv
from livn_rl.recording import Recording

__all__ = ["DEFAULT_WINDOW_MS", "NeuralTaskEnv", "TASK_WINDOWS_MS", "task_instance", "wrap"]

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
    :param task: a task env instance (already wrapped or not; its own time limit and wrappers stay), a Gymnasium
        env id (``gym.make(id).unwrapped``: the registration holds the time limit) or a callable that returns one
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
        self.task = task_instance(task, task_kwargs, render_mode)
        spec = self.task.unwrapped.spec
        self.task_id = spec.id if spec is not None else type(self.task.unwrapped).__name__
        task_space = self.task.action_space
        unit_dims(task_space)  # a clear error for spaces we cannot decode into
        if window_ms is None:
            window_ms = TASK_WINDOWS_MS.get(self.task_id, DEFAULT_WINDOW_MS)
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


def task_instance(task, task_kwargs: dict | None = None, render_mode: str | None = None) -> gym.Env:
    """The task env a :class:`NeuralTaskEnv` drives: ``task`` itself if it is an env instance, ``gym.make(task)``
    unwrapped for an id (our registration holds the time limit, so the task must not truncate on its own as well),
    or what the callable ``task`` returns."""
    if isinstance(task, gym.Env):
        if task_kwargs:
            raise ValueError(f"task_kwargs={task_kwargs!r} cannot apply to a task env that is already made")
        return task
    kwargs = dict(task_kwargs or {})
    if render_mode is not None:
        kwargs.setdefault("render_mode", "rgb_array")
    if isinstance(task, str):
        return gym.make(task, **kwargs).unwrapped
    if callable(task):
        env = task(**kwargs)
        if not isinstance(env, gym.Env):
            raise ValueError(f"task() must return a gymnasium.Env, got {type(env).__name__}")
        return env
    raise ValueError(f"task must be a Gymnasium env, an env id or a callable that returns an env, got {task!r}")


def wrap(task_env: gym.Env, system="S2", *, encoder="population", decoder="population_vector",
         window_ms: float | None = None, **kwargs) -> NeuralTaskEnv:
    """Put a simulated culture between an agent and ``task_env``, any Gymnasium env instance (already wrapped or
    not), as livn's ``LivnGym(benchmark, env, encoding, decoding)`` does: each step the agent's action is encoded into
    stimulation, the culture answers, and its recording is decoded into ``task_env``'s action.

    >>> import gymnasium as gym, livn_rl
    >>> env = livn_rl.wrap(gym.make("Pendulum-v1"), system="S2", encoder="rate", decoder="population_vector")
    >>> venv = gym.make_vec(env.spec, num_envs=8)        # 8 cultures in one network, each with its own task copy
    >>> sb3_venv = livn_rl.make_sb3_vec_env(env.spec, n_envs=8)

    ``task_env``'s own wrappers stay: a ``TimeLimit`` truncates the episodes. The returned env's ``spec`` rebuilds
    it, each rebuild (and each copy of a vector env) driving its own deep copy of ``task_env``.

    :param task_env: the task (observation space a Box; action space a Box with finite bounds or Discrete)
    :param system: the culture (``"S1"``, ``"S2"``, ``"S3"``, a config or a System)
    :param encoder: agent action -> stimulation (see :class:`NeuralTaskEnv`)
    :param decoder: recording -> task action; its output must fit ``task_env``'s action space
    :param window_ms: simulated time per step (default: the task's own time step where known, else 50 ms)
    :param kwargs: the other arguments of :class:`NeuralTaskEnv` (``observe_neural``, ``noise``, ``dt_ms``, ...)
    """
    if not isinstance(task_env, gym.Env):
        raise ValueError(f"wrap() takes a Gymnasium env instance, got {type(task_env).__name__}; for an env id use "
                         f"gym.make('livn_rl/<Task>-<System>-v0') or wrap(gym.make(id))")
    env = NeuralTaskEnv(task_env, system, encoder=encoder, decoder=decoder, window_ms=window_ms, **kwargs)
    task_name = "".join(c for c in env.task_id.split("-v")[0] if c.isalnum()) or "Task"
    system_name = "".join(c for c in env.system.name if c.isalnum()) or "Culture"
    build = {k: v for k, v in kwargs.items() if k not in ("target", "render_mode")}
    env.spec = EnvSpec(
        id=f"livn_rl/Wrapped{task_name}-{system_name}-v0",
        entry_point="livn_rl.envs.registration:make_neural_task",
        vector_entry_point="livn_rl.envs.registration:make_neural_task_vector",
        kwargs={"task": task_env, "system": system, "encoder": encoder, "decoder": decoder,
                "window_ms": env.window_ms, **build},
    )
    return env
