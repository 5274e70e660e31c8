"""Gymnasium environments with a simulated culture in the loop (registered when ``livn_rl`` is imported)."""

from livn_rl.envs.base import LivnEnv
from livn_rl.envs.burst_suppression import BurstSuppressionEnv
from livn_rl.envs.culture_control import CultureControlEnv
from livn_rl.envs.lateral_line_localize import LateralLineLocalizeEnv
from livn_rl.envs.lif_rate_track import LIFRateTrackEnv
from livn_rl.envs.neural_task import TASK_WINDOWS_MS, NeuralTaskEnv, wrap
from livn_rl.envs.pattern import PatternEnv
from livn_rl.envs.rate_clamp import RateClampEnv
from livn_rl.envs.ring_steer import RingSteerEnv
from livn_rl.envs.registration import env_ids, register_envs, valid_kwargs
from livn_rl.envs.vector import LivnVectorEnv

register_envs()

__all__ = [
    "TASK_WINDOWS_MS", "BurstSuppressionEnv", "CultureControlEnv", "LIFRateTrackEnv", "LateralLineLocalizeEnv", "LivnEnv",
    "LivnVectorEnv", "NeuralTaskEnv", "PatternEnv", "RateClampEnv", "RingSteerEnv", "env_ids", "register_envs",
    "valid_kwargs", "wrap",
]
