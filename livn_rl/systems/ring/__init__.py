"""Reference circuit 2: a ring attractor of Izhikevich neurons that holds a cued angle, under serotonin modulation.
See docs/ring.md.

- :mod:`~livn_rl.systems.ring.network`: the circuit (:class:`RingAttractorSystem`, :class:`RingConfig`, defaults in
  ``ring.yaml`` next to it)
- :mod:`~livn_rl.systems.ring.analysis`: decoding the bump from spikes and the reference termination criterion (in
  our convention and in the original notebook's)

The reference trials, their table and figures are in :mod:`livn_rl.experiments.ring`; the ``livn-rl ring`` command
in :mod:`livn_rl.cli.ring`.
"""

from livn_rl.systems.ring.analysis import (
    EXTINCT_HZ, RUNAWAY_HZ, STEP_MS, WINDOW_MS, Termination, bump_drift, bump_width, decode_bump, population_vector,
    termination, termination_after_cue_s, window_rates,
)
from livn_rl.systems.ring.network import (
    DEFAULT_CONFIG, SEROTONIN_LEVELS, RingAttractorSystem, RingConfig, make_ring, wrap_deg,
)

__all__ = [
    "DEFAULT_CONFIG", "EXTINCT_HZ", "RUNAWAY_HZ", "SEROTONIN_LEVELS", "STEP_MS", "WINDOW_MS", "RingAttractorSystem",
    "RingConfig", "Termination", "bump_drift", "bump_width", "decode_bump", "make_ring", "population_vector",
    "termination", "termination_after_cue_s", "window_rates", "wrap_deg",
]
