"""Reference circuit 2: a ring attractor of Izhikevich neurons that holds a cued angle, under serotonin modulation.
See docs/ring.md.

- :mod:`~livn_rl.systems.ring.network`: the circuit (:class:`RingAttractorSystem`, :class:`RingConfig`, defaults in
  ``ring.yaml`` next to it)
- :mod:`~livn_rl.systems.ring.analysis`: decoding the bump from spikes and the reference termination criterion
- :mod:`~livn_rl.systems.ring.reference`: the reference trials, their table and figures
- :mod:`~livn_rl.systems.ring.command`: the ``livn-rl ring`` subcommand
"""

from livn_rl.systems.ring.analysis import (
    EXTINCT_HZ, RUNAWAY_HZ, STEP_MS, WINDOW_MS, Termination, bump_drift, bump_width, decode_bump, population_vector,
    termination, window_rates,
)
from livn_rl.systems.ring.network import (
    DEFAULT_CONFIG, SEROTONIN_LEVELS, RingAttractorSystem, RingConfig, make_ring, wrap_deg,
)
from livn_rl.systems.ring.reference import bump_figure, raster_gif, run_trial, run_trials, summarise, table_markdown

__all__ = [
    "DEFAULT_CONFIG", "EXTINCT_HZ", "RUNAWAY_HZ", "SEROTONIN_LEVELS", "STEP_MS", "WINDOW_MS", "RingAttractorSystem",
    "RingConfig", "Termination", "bump_drift", "bump_figure", "bump_width", "decode_bump", "make_ring",
    "population_vector", "raster_gif", "run_trial", "run_trials", "summarise", "table_markdown", "termination",
    "window_rates", "wrap_deg",
]
