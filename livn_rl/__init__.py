"""livn_rl: simulated cortical cultures on multi-electrode arrays as reinforcement-learning environments.

The names most code needs are here: the engine (:class:`Simulation`), systems (:func:`make_system`), the MEA,
stimulation (:class:`Pulse`), recordings, encoders and decoders, the env classes, and (imported on first use,
since they pull in stable-baselines3 or Hugging Face datasets) :func:`make_sb3_vec_env` and the dataset functions.
Importing ``livn_rl`` registers the ``livn_rl/...`` Gymnasium envs. docs/architecture.md maps the package.
"""

from __future__ import annotations

import importlib
from typing import Any

from livn_rl import envs  # registers the livn_rl/... Gymnasium envs
from livn_rl.encoders import Decoder, Encoder, make_decoder, make_encoder
from livn_rl.engine import Simulation
from livn_rl.envs import LivnEnv, LivnVectorEnv, NeuralTaskEnv, env_ids, wrap
from livn_rl.mea import MEA
from livn_rl.recording import Recording
from livn_rl.stimulus import Pulse, pulse_train, render
from livn_rl.systems import list_systems, make_system

__version__ = "0.1.0"

#: Names imported from their module on first use (they import stable-baselines3 or Hugging Face datasets).
_LAZY = {
    "make_sb3_vec_env": "livn_rl.envs.sb3",
    "load_dataset": "livn_rl.data",
    "sample_dataset": "livn_rl.data",
    "replay_buffer_from_dataset": "livn_rl.data",
}

__all__ = [
    "MEA", "Decoder", "Encoder", "LivnEnv", "LivnVectorEnv", "NeuralTaskEnv", "Pulse", "Recording", "Simulation",
    "__version__", "env_ids", "envs", "list_systems", "load_dataset", "make_decoder", "make_encoder",
    "make_sb3_vec_env", "make_system", "pulse_train", "render", "replay_buffer_from_dataset", "sample_dataset",
    "wrap",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'livn_rl' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
