"""What every livn_rl environment shares: a culture in a closed loop, stepped one window per env step.

:class:`LivnEnv` owns the loop (seeding, action checks, the simulation step, the info dict, rendering); subclasses
say what an episode is through three methods:

- ``_reset_episode(options)``: start an episode (the culture is already fresh) and return ``(obs, info)``;
- ``_stimulus(action)``: the stimulation of this window for a checked, clipped agent action: pulses or channel
  currents through the MEA, or a :class:`~livn_rl.stimulus.NeuronDrive` of the neurons themselves (reference
  circuits), which the step writes into the simulation;
- ``_outcome(action, recording)``: ``(obs, reward, terminated, truncated, info)`` from the window's recording.

``_stimulus`` and ``_outcome`` never touch the simulation, and ``_reset_episode`` never steps it:
:meth:`LivnEnv.replay_reset` and :meth:`LivnEnv.replay_step` run them on recorded windows to turn datasets into
replay buffers.

Because the three methods only ever see one copy, the same class also runs as copy ``k`` of a
:class:`~livn_rl.envs.vector.LivnVectorEnv`, where K copies share one Brian2 network.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import gymnasium as gym
import numpy as np

from livn_rl.checks import check_number
from livn_rl.encoders.base import StimulationContext
from livn_rl.engine import Simulation
from livn_rl.recording import Recording
from livn_rl.stimulus import NeuronDrive, Pulse, n_timesteps

__all__ = ["CONTROL_DT_MS", "LivnEnv", "RENDER_HISTORY_MS"]

#: Recent windows kept for the raster of :meth:`LivnEnv.render` (at most this much simulated time).
RENDER_HISTORY_MS = 1000.0
#: The engine's default control interval: windows are whole multiples of it.
CONTROL_DT_MS = 1.0


class LivnEnv(gym.Env):
    """Base class of livn_rl environments: one simulated culture on its MEA, one window per step.

    :param system: a predefined system name (``"S1"`` ... ``"S4"``), a config or a :class:`~livn_rl.systems.System`
    :param window_ms: simulated time per env step (ms)
    :param noise: background noise of the culture on (True) or off
    :param dt_ms: simulation time step (ms)
    :param target: Brian2 code generation target of the runtime backend (``"auto"``, ``"cython"`` or ``"numpy"``)
    :param backend: engine backend, ``"auto"``, ``"standalone"`` or ``"runtime"`` (:class:`~livn_rl.Simulation`)
    :param render_mode: ``None``, ``"rgb_array"`` or ``"human"``
    :param simulation: run as a copy of this shared multi-copy simulation (used by vector envs)
    :param copy: which copy of ``simulation`` this env is
    """

    metadata: dict[str, Any] = {"render_modes": ["human", "rgb_array"], "render_fps": 20}

    def __init__(
        self,
        system="S2",
        *,
        window_ms: float = 50.0,
        noise: bool = True,
        dt_ms: float = 0.1,
        target: str = "auto",
        backend: str = "auto",
        render_mode: str | None = None,
        simulation: Simulation | None = None,
        copy: int = 0,
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be None or one of {self.metadata['render_modes']}, got {render_mode!r}")
        if not isinstance(noise, (bool, np.bool_)):
            raise ValueError(f"noise must be True or False, got {noise!r}")
        check_number("window_ms", window_ms, 0.0, low_open=True)
        self.render_mode = render_mode
        self.window_ms = float(window_ms)
        self.noise = bool(noise)
        if simulation is None:
            from livn_rl.systems import make_system

            self.system = make_system(system)
            self.mea = self.system.mea
            if self.mea is None:
                raise ValueError(f"system {self.system.name!r} has no default MEA")
            self.mea.check_coverage(self.system.positions_um)
            self._simulation_kwargs = {"dt_ms": dt_ms, "target": target, "backend": backend, "background": bool(noise)}
            for grid_ms in (dt_ms, CONTROL_DT_MS):  # clear errors now rather than at the first reset
                try:
                    n_timesteps(self.window_ms, grid_ms)
                except ValueError:
                    raise ValueError(
                        f"window_ms={window_ms!r} must be a whole multiple of dt_ms={dt_ms} and of the engine's "
                        f"{CONTROL_DT_MS} ms control interval"
                    ) from None
            self._simulation = None  # built at the first reset, so that making an env is cheap
            self._owns_simulation = True
        else:
            simulation._chunks(self.window_ms)  # the window must be a whole number of control intervals
            self._simulation = simulation
            self.system, self.mea = simulation.system, simulation.mea
            self._owns_simulation = False
        self.copy = int(copy)
        self.context = StimulationContext(self.mea, self.window_ms, dt_ms if simulation is None else simulation.dt_ms)
        self.metadata = {**type(self).metadata, "render_fps": max(1, int(round(1000.0 / self.window_ms)))}
        self._history: deque[Recording] = deque(maxlen=max(1, int(RENDER_HISTORY_MS // self.window_ms)))
        self._stimulated_channels: list[int] = []  # channels stimulated in the last window
        self._last_drive: np.ndarray | None = None  # how strongly each neuron was driven directly in the last window
        #: the stimulation of the last window as the env made it (pulses, channel currents, a NeuronDrive or None)
        #: and what the window recorded; None before the first step of an episode (read by recorders such as
        #: RecordEpisode)
        self.last_stimulus: list[Pulse] | np.ndarray | NeuronDrive | None = None
        self.last_recording: Recording | None = None
        self._episode_steps: int | None = None
        self._figure = None

    @property
    def simulation(self) -> Simulation:
        """The closed-loop simulation this env steps (built on first use)."""
        if self._simulation is None:
            self._simulation = Simulation(self.system, seed=0, **self._simulation_kwargs)
        return self._simulation

    @property
    def stimulated_channels(self) -> list[int]:
        """The channels the last step's stimulus drove (with a positive amplitude)."""
        return list(self._stimulated_channels)

    # ----------------------------------------------------------------------------------------- for subclasses
    def _reset_episode(self, options: dict | None) -> tuple[np.ndarray, dict]:
        raise NotImplementedError

    def _stimulus(self, action: np.ndarray) -> list[Pulse] | np.ndarray | NeuronDrive | None:
        raise NotImplementedError

    def _outcome(self, action: np.ndarray, recording: Recording) -> tuple[np.ndarray, float, bool, bool, dict]:
        raise NotImplementedError

    def _task_frame(self) -> np.ndarray | None:
        """An RGB frame of the task, shown beside the culture by :meth:`render` (none by default)."""
        return None

    # ------------------------------------------------------------------------------------------- Gymnasium API
    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        return self._start_episode(seed, options, fresh_culture=self._owns_simulation)

    def replay_reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        """Start an episode whose windows come from recorded trials (:meth:`replay_step`) instead of the
        simulation: the task and the decoders start as in :meth:`reset`, the culture is not touched."""
        return self._start_episode(seed, options, fresh_culture=False)

    def replay_step(self, action, recording: Recording, *, describe_stimulus: bool = True
                    ) -> tuple[np.ndarray, float, bool, bool, dict]:
        """One step in which the culture's answer to ``action`` is a recorded window rather than a simulated one
        (how :func:`~livn_rl.data.fill_replay_buffer` turns a dataset into transitions). The stimulus is made and
        recorded as in :meth:`step` but not applied: the recording already holds the answer to it.

        :param action: the agent's action
        :param recording: the window the culture answered it with
        :param describe_stimulus: make the stimulus for the info (``stimulated_channels``, ``driven_neurons``) and
            the rendered frame; without it those describe no stimulation, which saves the encoding where nobody
            reads them (two thirds of the time of turning a dataset into transitions)
        """
        action, clipped = self.check_action(action)
        if describe_stimulus:
            self.stimulus(action)
        else:
            self._stimulated_channels, self._last_drive, self.last_stimulus = [], None, None
        return self.finish_step(action, clipped, recording)

    def _start_episode(self, seed: int | None, options: dict | None, fresh_culture: bool) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.culture_seed = int(self.np_random.integers(2**31))
        if fresh_culture:
            self.simulation.reset(self.culture_seed)
        self._begin_episode()
        obs, info = self._reset_episode(options)
        info.update(self._common_info())
        return obs, info

    def _begin_episode(self) -> None:
        self._history.clear()
        self._stimulated_channels = []
        self._last_drive = None
        self.last_stimulus = self.last_recording = None
        self._episode_steps = 0

    def step(self, action) -> tuple[np.ndarray, float, bool, bool, dict]:
        if not self._owns_simulation:
            raise RuntimeError("this env is a copy of a vector env; step the vector env instead")
        action, clipped = self.check_action(action)
        stimulus = self.apply_stimulus(self.stimulus(action))
        recording = self.simulation.step(stimulus, self.window_ms)
        return self.finish_step(action, clipped, recording)

    def check_action(self, action) -> tuple[np.ndarray, int]:
        """The action as a float array of the action space's shape, clipped to its bounds, and how many of its
        values needed clipping. NaN, infinite values and wrong shapes raise ``ValueError``."""
        if self._episode_steps is None:
            raise RuntimeError("call reset() before step()")
        space = self.action_space
        try:
            array = np.asarray(action, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"action must be numbers of shape {space.shape}, got {action!r}") from None
        if array.shape != space.shape and array.size == int(np.prod(space.shape)):
            array = array.reshape(space.shape)
        if array.shape != space.shape:
            raise ValueError(f"action has shape {array.shape}, expected {space.shape} (the action space is {space})")
        if not np.all(np.isfinite(array)):
            raise ValueError(f"action must be finite, got {array.tolist()}")
        clipped = np.clip(array, space.low, space.high)
        return clipped, int(np.count_nonzero(clipped != array))

    def stimulus(self, action: np.ndarray):
        """The stimulation of one window for a checked action; the stimulated channels and directly driven
        neurons are remembered for the step's info and :meth:`render`."""
        stimulus = self._stimulus(action)
        self._last_drive = None
        if isinstance(stimulus, NeuronDrive):
            self._stimulated_channels = []
            self._last_drive = stimulus.strength(self.system.n_neurons)
        elif isinstance(stimulus, (list, tuple)):
            self._stimulated_channels = sorted({p.channel for p in stimulus if p.amplitude_ua > 0})
        elif stimulus is None:
            self._stimulated_channels = []
        else:
            self._stimulated_channels = np.flatnonzero(np.any(np.asarray(stimulus) != 0, axis=0)).tolist()
        self.last_stimulus = stimulus
        return stimulus

    def apply_stimulus(self, stimulus):
        """Write a :class:`~livn_rl.stimulus.NeuronDrive` into this env's copy of the simulation (it holds until
        the next one) and return what remains for the MEA: ``None`` for a drive, any other stimulus as it is."""
        if not isinstance(stimulus, NeuronDrive):
            return stimulus
        for name, values in stimulus.values.items():
            self.simulation.set_neuron_variable(name, values, copy=self.copy)
        return None

    def finish_step(self, action: np.ndarray, clipped: int, recording: Recording) -> tuple[np.ndarray, float, bool, bool, dict]:
        """The step's return value from this copy's recording of the window."""
        self._history.append(recording)
        self.last_recording = recording
        self._episode_steps += 1
        obs, reward, terminated, truncated, info = self._outcome(action, recording)
        info.update(self._common_info())
        info["spike_count"] = int(recording.neuron_i.size)
        info["channel_spike_count"] = int(recording.channel_c.size)
        info["action_clipped"] = clipped
        info["stimulated_channels"] = len(self._stimulated_channels)
        info["driven_neurons"] = 0 if self._last_drive is None else int(np.count_nonzero(self._last_drive))
        if self.render_mode == "human":
            self.render()
        return obs, float(reward), bool(terminated), bool(truncated), info

    def _common_info(self) -> dict:
        return {"time_ms": self._episode_steps * self.window_ms}

    # ----------------------------------------------------------------------------------------------- rendering
    def render(self) -> np.ndarray | None:
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode='rgb_array' or 'human' to gym.make")
            return None
        from livn_rl.envs.rendering import draw_frame, show_frame

        frame = draw_frame(self, list(self._history), self._task_frame())
        if self.render_mode == "rgb_array":
            return frame
        self._figure = show_frame(frame, self._figure, type(self).__name__)
        return None

    def close(self) -> None:
        if self._figure is not None:
            import matplotlib.pyplot as plt

            plt.close(self._figure)
            self._figure = None
        if self._owns_simulation and self._simulation is not None:
            self._simulation.close()
        super().close()
