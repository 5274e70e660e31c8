"""The simulated multi-electrode array (MEA): geometry and physics (:mod:`~livn_rl.mea.array`) and the electrodes'
spike detection (:mod:`~livn_rl.mea.detection`)."""

from livn_rl.mea.array import MEA
from livn_rl.mea.detection import ChannelDetector

__all__ = ["MEA", "ChannelDetector"]
