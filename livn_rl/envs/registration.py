"""The registered envs: ``livn_rl/<Task>-<System>-v0``, registered when ``livn_rl`` is imported.

Every argument that defines an env is in its registered kwargs with its value (the task, the system, the encoder and
decoder with all their parameters, the window, the time step, noise, ...), so ``env.spec`` rebuilds the env as it
was made, and so do Minari's ``recover_environment()`` and rl-zoo. Only the arguments that say how to run an env
(``target``, ``backend``, ``render_mode``) are left to the caller. An id's version goes up when a registered value that changes
behaviour changes (docs/envs.md lists the versions).

>>> import gymnasium as gym, livn_rl
>>> env = gym.make("livn_rl/Pendulum-S2-v0")                      # or "livn_rl:livn_rl/Pendulum-S2-v0" without the import
>>> env = gym.make("livn_rl/Pendulum-S2-v0", window_ms=100, encoder="rate", noise=False)
>>> venv = gym.make_vec("livn_rl/Pendulum-S2-v0", num_envs=16)   # 16 copies in one network
"""

from __future__ import annotations

import copy
import inspect
from typing import Any

import gymnasium as gym

from livn_rl.envs.base import LivnEnv
from livn_rl.envs.burst_suppression import BurstSuppressionEnv
from livn_rl.envs.lateral_line_localize import LateralLineLocalizeEnv
from livn_rl.envs.lif_rate_track import LIFRateTrackEnv
from livn_rl.envs.neural_task import TASK_WINDOWS_MS, NeuralTaskEnv, task_instance, wrap
from livn_rl.envs.pattern import PatternEnv
from livn_rl.envs.rate_clamp import RateClampEnv
from livn_rl.envs.ring_steer import RingSteerEnv
from livn_rl.envs.vector import LivnVectorEnv

__all__ = [
    "CONTROL", "NAMESPACE", "REFERENCE", "RUN_ARGUMENTS", "S4_TASKS", "SYSTEMS", "TASKS", "env_ids",
    "make_burst_suppression", "make_burst_suppression_vector", "make_lateral_line_localize", "make_lateral_line_localize_vector",
    "make_lif_rate_track", "make_lif_rate_track_vector", "make_neural_task", "make_neural_task_vector", "make_pattern",
    "make_pattern_vector", "make_rate_clamp", "make_rate_clamp_vector", "make_ring_steer", "make_ring_steer_vector",
    "named_with_defaults", "register_envs", "registered_defaults", "valid_kwargs",
]

NAMESPACE = "livn_rl"
SYSTEMS = ("S1", "S2", "S3")
#: Neural-in-the-loop tasks: short name -> (Gymnasium id, max_episode_steps).
TASKS = {
    "Pendulum": ("Pendulum-v1", 200),
    "MountainCarContinuous": ("MountainCarContinuous-v0", 999),
    "CartPole": ("CartPole-v1", 500),
    "Acrobot": ("Acrobot-v1", 500),
}
#: Culture-control envs: short name -> (class, max_episode_steps, systems). S1's ten cells do not burst.
CONTROL = {
    "RateClamp": (RateClampEnv, 200, (*SYSTEMS, "S4")),
    "Pattern": (PatternEnv, 100, SYSTEMS),
    "BurstSuppression": (BurstSuppressionEnv, 200, ("S2", "S3")),
}
#: Envs on a reference circuit rather than a culture: name -> (class, max_episode_steps, kwargs); id ``livn_rl/<name>-v0``.
REFERENCE = {
    "LIF-RateTrack": (LIFRateTrackEnv, 100, {"system": "LIF"}),
    "RingAttractor-Steer": (RingSteerEnv, 60, {"system": "Ring"}),
    "LateralLine-Localize": (LateralLineLocalizeEnv, 100, {"system": "LateralLine"}),
}
#: Neural-in-the-loop tasks also registered on S4 (10,000 cells), whose steps take the standalone backend's compiled
#: loop to be practical (docs/performance.md has its step time); RateClamp is registered on it through CONTROL.
S4_TASKS = ("Pendulum",)
_INTERNAL = {"self", "simulation", "copy", "args", "kwargs"}
_VECTOR_ONLY = ("max_episode_steps", "autoreset_mode")
#: Arguments that say how to run an env, not what it is: never registered.
RUN_ARGUMENTS = ("target", "backend", "render_mode")
#: What the caller's env derives and therefore never registers: a population encoder's size (the task's action
#: size) and a decoder's output space (the task's action space).
_DERIVED = {"n_values", "output_space"}


def valid_kwargs(env_class: type[LivnEnv]) -> list[str]:
    """The keyword arguments ``gym.make`` accepts for ``env_class``."""
    names: list[str] = []
    for cls in env_class.__mro__:
        if cls is LivnEnv or not issubclass(cls, LivnEnv):
            continue
        for name in inspect.signature(cls.__init__).parameters:
            if name not in _INTERNAL and name not in names:
                names.append(name)
    for name in inspect.signature(LivnEnv.__init__).parameters:
        if name not in _INTERNAL and name not in names:
            names.append(name)
    return names


def _signature_defaults(cls: type) -> dict[str, Any]:
    return {name: p.default for name, p in inspect.signature(cls.__init__).parameters.items()
            if p.default is not inspect.Parameter.empty}


def registered_defaults(env_class: type[LivnEnv]) -> dict[str, Any]:
    """Every argument that defines an env of ``env_class`` with its default (that of the most derived signature
    that has one), without :data:`RUN_ARGUMENTS`."""
    defaults: dict[str, Any] = {}
    for cls in env_class.__mro__:
        if isinstance(cls, type) and issubclass(cls, LivnEnv):
            for name, value in _signature_defaults(cls).items():
                defaults.setdefault(name, value)
    return {name: defaults[name] for name in valid_kwargs(env_class) if name in defaults and name not in RUN_ARGUMENTS}


def named_with_defaults(registry: dict[str, type], name: str) -> dict[str, Any]:
    """``{"name": name, **every parameter's default}`` of a built-in encoder or decoder, without what the env
    derives (its size, its output space)."""
    defaults = _signature_defaults(registry[name])
    return {"name": name, **{k: v for k, v in defaults.items() if k not in _DERIVED}}


def _task_kwargs(task: str, system: str) -> dict[str, Any]:
    """The registered kwargs of a task through the culture: every default, with the task's own window."""
    from livn_rl.encoders import DECODERS, ENCODERS

    defaults = registered_defaults(NeuralTaskEnv)
    return {**defaults, "task": task, "system": system, "window_ms": TASK_WINDOWS_MS[task],
            "encoder": named_with_defaults(ENCODERS, defaults["encoder"]),
            "decoder": named_with_defaults(DECODERS, defaults["decoder"])}


def _check(env_class: type[LivnEnv], kwargs: dict, extra: tuple[str, ...] = ()) -> None:
    valid = valid_kwargs(env_class) + list(extra)
    unknown = sorted(set(kwargs) - set(valid))
    if unknown:
        raise TypeError(f"{env_class.__name__} got unknown argument(s) {unknown}; valid ones: {sorted(valid)}")


def _single(env_class: type[LivnEnv], kwargs: dict) -> LivnEnv:
    _check(env_class, kwargs)
    return env_class(**kwargs)


def _vector(env_class: type[LivnEnv], num_envs: int, kwargs: dict) -> LivnVectorEnv:
    _check(env_class, kwargs, _VECTOR_ONLY)
    return LivnVectorEnv(env_class, num_envs, **kwargs)


# entry points by module path, so that specs stay picklable and printable
def make_neural_task(**kwargs: Any) -> NeuralTaskEnv:
    """A registered task env (or the rebuild of a :func:`~livn_rl.envs.neural_task.wrap` spec): the task made from
    its id, or a deep copy of the wrapped instance, put behind a culture by ``wrap``."""
    _check(NeuralTaskEnv, kwargs)
    task = kwargs.pop("task", registered_defaults(NeuralTaskEnv)["task"])
    task_kwargs = kwargs.pop("task_kwargs", None)
    made = copy.deepcopy(task) if isinstance(task, gym.Env) else task_instance(task, task_kwargs, kwargs.get("render_mode"))
    return wrap(made, **kwargs)


def make_rate_clamp(**kwargs: Any) -> RateClampEnv:
    return _single(RateClampEnv, kwargs)


def make_pattern(**kwargs: Any) -> PatternEnv:
    return _single(PatternEnv, kwargs)


def make_burst_suppression(**kwargs: Any) -> BurstSuppressionEnv:
    return _single(BurstSuppressionEnv, kwargs)


def make_lif_rate_track(**kwargs: Any) -> LIFRateTrackEnv:
    return _single(LIFRateTrackEnv, kwargs)


def make_ring_steer(**kwargs: Any) -> RingSteerEnv:
    return _single(RingSteerEnv, kwargs)


def make_lateral_line_localize(**kwargs: Any) -> LateralLineLocalizeEnv:
    return _single(LateralLineLocalizeEnv, kwargs)


def make_neural_task_vector(num_envs: int = 1, **kwargs: Any) -> LivnVectorEnv:
    return _vector(NeuralTaskEnv, num_envs, kwargs)


def make_rate_clamp_vector(num_envs: int = 1, **kwargs: Any) -> LivnVectorEnv:
    return _vector(RateClampEnv, num_envs, kwargs)


def make_pattern_vector(num_envs: int = 1, **kwargs: Any) -> LivnVectorEnv:
    return _vector(PatternEnv, num_envs, kwargs)


def make_burst_suppression_vector(num_envs: int = 1, **kwargs: Any) -> LivnVectorEnv:
    return _vector(BurstSuppressionEnv, num_envs, kwargs)


def make_lif_rate_track_vector(num_envs: int = 1, **kwargs: Any) -> LivnVectorEnv:
    return _vector(LIFRateTrackEnv, num_envs, kwargs)


def make_ring_steer_vector(num_envs: int = 1, **kwargs: Any) -> LivnVectorEnv:
    return _vector(RingSteerEnv, num_envs, kwargs)


def make_lateral_line_localize_vector(num_envs: int = 1, **kwargs: Any) -> LivnVectorEnv:
    return _vector(LateralLineLocalizeEnv, num_envs, kwargs)


_ENTRY = {
    NeuralTaskEnv: "neural_task",
    RateClampEnv: "rate_clamp",
    PatternEnv: "pattern",
    BurstSuppressionEnv: "burst_suppression",
    LIFRateTrackEnv: "lif_rate_track",
    RingSteerEnv: "ring_steer",
    LateralLineLocalizeEnv: "lateral_line_localize",
}


def env_ids() -> list[str]:
    """Every registered livn_rl env id."""
    return [env_id for env_id in gym.registry if env_id.startswith(f"{NAMESPACE}/")]


def register_envs() -> None:
    """Register every livn_rl env (idempotent)."""
    module = __name__
    registrations = [(f"{NAMESPACE}/{name}-{system}-v0", NeuralTaskEnv, steps, _task_kwargs(task, system))
                     for name, (task, steps) in TASKS.items()
                     for system in SYSTEMS + (("S4",) if name in S4_TASKS else ())]
    registrations += [(f"{NAMESPACE}/{name}-{system}-v0", cls, steps, {**registered_defaults(cls), "system": system})
                      for name, (cls, steps, systems) in CONTROL.items() for system in systems]
    registrations += [(f"{NAMESPACE}/{name}-v0", cls, steps, {**registered_defaults(cls), **kwargs})
                      for name, (cls, steps, kwargs) in REFERENCE.items()]
    for env_id, cls, steps, kwargs in registrations:
        if env_id in gym.registry:
            continue
        gym.register(
            id=env_id,
            entry_point=f"{module}:make_{_ENTRY[cls]}",
            vector_entry_point=f"{module}:make_{_ENTRY[cls]}_vector",
            max_episode_steps=steps,
            kwargs=kwargs,
        )
