"""What the env page is sent: the run's layout once, then one frame per step (all JSON-ready dicts).

``layout``: the env id, its populations (name, neuron range, excitatory or not, colour), the neurons' and the
electrodes' positions (um), the window, whether electrodes take clicks, the policy and the task kind.

``step``: the episode and step, the window's neuron spikes (``spike_i``, ``spike_t`` in ms; at most
:data:`MAX_SPIKES` per frame, the rest counted in ``spikes_dropped``), each electrode's spike count, the stimulated
electrodes, the population rates (Hz), the action (and the electrode ``override`` a person clicked), reward,
return and episode end, and the task's own state.

``reset``: the episode, its seed and the task's state at the start.

The task's state has a ``kind``: ``pendulum`` (angle, angular velocity, torque), ``cartpole`` (cart position,
pole angle, push), ``mountain_car``, ``acrobot``, ``ring`` (bump and target angles, bump strength, sector currents),
``lateral_line`` (source and reported positions along the fish), ``rate_track`` (population rate, target, current),
``culture`` (culture-control envs: the per-electrode goal, normalised by ``rate_scale_hz``, and the info's
numbers) or ``task`` (any other task: its
observation).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from livn_rl.envs.base import LivnEnv
from livn_rl.envs.culture_control import CultureControlEnv
from livn_rl.envs.lateral_line_localize import LateralLineLocalizeEnv
from livn_rl.envs.lif_rate_track import LIFRateTrackEnv
from livn_rl.envs.neural_task import NeuralTaskEnv
from livn_rl.envs.ring_steer import RingSteerEnv
from livn_rl.recording import Recording

__all__ = ["MAX_SPIKES", "TASK_KINDS", "layout", "reset_frame", "step_frame", "task_kind", "task_state"]

#: Neuron spikes sent per frame at most (a burst of a large culture is counted, not sent).
MAX_SPIKES = 20_000
#: Gymnasium task id -> task kind of a neural-in-the-loop env.
TASK_KINDS = {"Pendulum-v1": "pendulum", "CartPole-v1": "cartpole", "MountainCarContinuous-v0": "mountain_car",
              "Acrobot-v1": "acrobot"}


def _number(value: Any, digits: int = 4) -> float | None:
    """A float rounded for the page; ``None`` for NaN or infinity (JSON has neither)."""
    value = float(value)
    return round(value, digits) if math.isfinite(value) else None


def _numbers(values: Any, digits: int = 4) -> list[float | None]:
    return [_number(v, digits) for v in np.asarray(values, dtype=float).ravel()]


def task_kind(env: LivnEnv) -> str:
    """The kind of task state the page draws for ``env`` (an unwrapped livn_rl env)."""
    if isinstance(env, NeuralTaskEnv):
        return TASK_KINDS.get(env.task_id, "task")
    for cls, kind in ((RingSteerEnv, "ring"), (LateralLineLocalizeEnv, "lateral_line"), (LIFRateTrackEnv, "rate_track"),
                      (CultureControlEnv, "culture")):
        if isinstance(env, cls):
            return kind
    return "task"


def task_state(env: LivnEnv, observation: Any, info: dict) -> dict[str, Any]:
    """The task's own state after a reset or a step, for the page to draw.

    :param env: the unwrapped env
    :param observation: its observation
    :param info: the info dict of that reset or step
    """
    kind = task_kind(env)
    state: dict[str, Any] = {"kind": kind}
    if kind in TASK_KINDS.values():
        task = env.task.unwrapped
        raw = np.asarray(task.state, dtype=float).ravel()
        action = info.get("task_action")
        state["action"] = None if action is None else _numbers(action)
        if kind == "pendulum":
            state.update(theta=_number(raw[0]), theta_dot=_number(raw[1]), max_torque=float(task.max_torque))
        elif kind == "cartpole":
            state.update(x=_number(raw[0]), theta=_number(raw[2]), x_threshold=float(task.x_threshold))
        elif kind == "mountain_car":
            state.update(position=_number(raw[0]), velocity=_number(raw[1]), min_position=float(task.min_position),
                         max_position=float(task.max_position), goal_position=float(task.goal_position))
        else:
            state.update(theta1=_number(raw[0]), theta2=_number(raw[1]))
    elif kind == "ring":
        state.update(bump_deg=_number(info.get("bump_deg", math.nan)), strength=_number(info.get("strength", 0.0)),
                     target_deg=_number(env.target_deg), start_deg=_number(env.start_deg),
                     cueing=bool(info.get("cueing", True)), sectors=env.n_sectors)
    elif kind == "lateral_line":
        state.update(length_cm=float(env.length_cm), distance_cm=float(env.distance_cm),
                     source_cm=_number(info.get("true_cm", env.position_cm)),
                     reported_cm=_number(info.get("reported_cm", math.nan)), next_cm=_number(env.position_cm))
    elif kind == "rate_track":
        state.update(rate_hz=_number(info.get("rate_hz", 0.0)), target_hz=_number(info.get("target_hz", env.target_hz)),
                     next_target_hz=_number(env.target_hz), current_na=_number(info.get("current_na", math.nan)))
    else:
        obs = np.asarray(observation, dtype=float).ravel()
        if kind == "culture":
            n = env.mea.n_channels
            goal = obs[n:]
            state["goal"] = _numbers(goal) if goal.size == n else []
            state["rate_scale_hz"] = float(env.rate_scale_hz)  # the rate a goal of 1 stands for
        else:
            state["observation"] = _numbers(obs[:64])
        state["values"] = {key: _number(value) for key, value in info.items()
                           if isinstance(value, (int, float, np.number)) and not isinstance(value, (bool, np.bool_))}
    return state


def layout(env: LivnEnv, env_id: str, policy: str, pace: str, max_episode_steps: int | None) -> dict[str, Any]:
    """The ``layout`` message: what stays the same for the whole run.

    :param env: the unwrapped env
    :param env_id: its registered id
    :param policy: how its actions are chosen (``random``, ``none`` or a model file's name)
    :param pace: ``realtime`` or ``fast``
    :param max_episode_steps: the registered time limit
    """
    from livn_rl.plots import STIMULUS_COLOUR, population_colours

    colours = population_colours(env.system)
    return {
        "type": "layout",
        "env_id": env_id,
        "system": env.system.name,
        "n_neurons": env.system.n_neurons,
        "n_channels": env.mea.n_channels,
        "populations": [{"name": p.name, "start": p.start, "stop": p.stop, "excitatory": p.excitatory,
                         "colour": colours[p.name]} for p in env.system.populations],
        "neurons_xy": np.round(env.system.positions_um[:, :2], 1).tolist(),
        "electrodes_xy": np.round(env.mea.positions_um[:, :2], 1).tolist(),
        "window_ms": env.window_ms,
        "max_episode_steps": max_episode_steps,
        "clickable": isinstance(env, CultureControlEnv),
        "policy": policy,
        "pace": pace,
        "task_kind": task_kind(env),
        "stimulus_colour": STIMULUS_COLOUR,
    }


def reset_frame(env: LivnEnv, episode: int, seed: int, observation: Any, info: dict) -> dict[str, Any]:
    """The ``reset`` message of a new episode."""
    return {"type": "reset", "episode": episode, "seed": seed, "task": task_state(env, observation, info)}


def step_frame(env: LivnEnv, *, episode: int, step: int, action: np.ndarray, override: dict[int, float],
               observation: Any, reward: float, episode_return: float, terminated: bool, truncated: bool,
               info: dict) -> dict[str, Any]:
    """The ``step`` message of one env step (the window is ``env.last_recording``)."""
    window: Recording = env.last_recording
    spikes = window.neuron_copy == 0
    spike_i, spike_t = window.neuron_i[spikes], window.neuron_t_ms[spikes]
    counts = np.bincount(spike_i, minlength=env.system.n_neurons)
    seconds = window.duration_ms / 1000.0
    rates = {p.name: _number(counts[p.start : p.stop].sum() / max(p.size, 1) / seconds, 2) for p in env.system.populations}
    return {
        "type": "step",
        "episode": episode,
        "step": step,
        "t_start_ms": _number(window.t_start_ms, 3),
        "t_stop_ms": _number(window.t_stop_ms, 3),
        "spike_i": spike_i[:MAX_SPIKES].tolist(),
        "spike_t": np.round(spike_t[:MAX_SPIKES], 2).tolist(),
        "spikes_dropped": max(0, int(spike_i.size) - MAX_SPIKES),
        "channel_counts": window.channel_counts[0].tolist(),
        "stimulated": env.stimulated_channels,
        "population_rates_hz": rates,
        "action": _numbers(action, 3)[:256],
        "override": {str(c): a for c, a in sorted(override.items())},
        "reward": _number(reward),
        "return": _number(episode_return),
        "terminated": bool(terminated),
        "truncated": bool(truncated),
        "task": task_state(env, observation, info),
    }
