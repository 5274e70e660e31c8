"""livn_rl: simulated cortical cultures on multi-electrode arrays as reinforcement-learning environments."""

from livn_rl.engine import Simulation
from livn_rl.mea import MEA
from livn_rl.recording import Recording
from livn_rl.stimulus import Pulse, pulse_train, render
from livn_rl.systems import list_systems, make_system
from livn_rl import envs  # registers the livn_rl/... Gymnasium envs

__version__ = "0.1.0"

__all__ = ["MEA", "Pulse", "Recording", "Simulation", "__version__", "list_systems", "make_system", "pulse_train", "render"]
