"""Measurements of the LIF reference circuit that run the engine: the F-I curve (see docs/lif.md)."""

from __future__ import annotations

from typing import Any

import numpy as np

from livn_rl.analysis import fi_curve, isi_stats
from livn_rl.engine import Simulation
from livn_rl.systems.lif import LIFSystem, as_quantity

__all__ = ["measure_fi_curve"]


def measure_fi_curve(
    currents,
    duration_ms: float = 300.0,
    dt_ms: float = 0.025,
    target: str = "auto",
    start_ms: float = 0.0,
    **lif_kwargs: Any,
) -> dict[str, np.ndarray]:
    """Simulate the F-I curve of a LIF neuron: one neuron per current, driven by ``I_ext``, in one Brian2 run.

    :param currents: the input currents, a Brian2 quantity array in nA
    :param duration_ms: simulated time (ms), a whole number of ms
    :param dt_ms: integration step (ms); the rate error of the discrete spike times is below ``dt / ISI``
    :param target: Brian2 code generation target (``"auto"``, ``"cython"`` or ``"numpy"``)
    :param start_ms: ignore spikes before this time (ms)
    :param lif_kwargs: the other :class:`LIFSystem` parameters (``tau``, ``t_ref``, ``reset``, ...)
    :returns: ``{"current_na", "rate_hz", "analytic_hz", "cv"}`` in ascending order of current: the currents (nA),
        the simulated rates (``1 / mean ISI``, Hz), the analytic rates of :func:`lif_rate` (Hz) and the ISI
        coefficients of variation
    """
    from brian2 import nA

    current_na = np.sort(np.atleast_1d(as_quantity("I_ext", currents)) * 1e9)
    system = LIFSystem(current_na.size, I_ext=current_na * nA, **lif_kwargs)
    with Simulation(system, seed=0, dt_ms=dt_ms, target=target) as sim:
        recording = sim.run(duration_ms)
    current_na, rate = fi_curve(recording, current_na, start_ms=start_ms)
    return {
        "current_na": current_na,
        "rate_hz": rate,
        "analytic_hz": system.analytic_rate(current_na * nA),
        "cv": isi_stats(recording, start_ms=start_ms)["cv"],
    }
