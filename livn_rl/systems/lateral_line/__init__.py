"""Reference circuit 3: a fish's lateral line (LL -> MON -> TS) that learns a place map of a vibrating source with
STDP. See docs/lateral_line.md."""

from livn_rl.systems.lateral_line.config import PRESETS, LateralLineConfig, preset
from livn_rl.systems.lateral_line.network import LateralLineSystem, make_lateral_line

__all__ = ["PRESETS", "LateralLineConfig", "LateralLineSystem", "make_lateral_line", "preset"]
