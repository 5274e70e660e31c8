"""Measurements of the LIF reference circuit that run the engine: the F-I curve against theory, and the BrainPy LIF
tutorial's protocols with its numbers (see docs/lif.md and examples/lif_tutorial.py)."""

from __future__ import annotations

from typing import Any

import numpy as np

from livn_rl.analysis import fi_curve, firing_rate, isi_stats, rheobase, spike_trains
from livn_rl.engine import Simulation
from livn_rl.recording import Recording
from livn_rl.systems.lif import LIFSystem, as_quantity

__all__ = [
    "TUTORIAL_DT_MS", "TUTORIAL_R_OHM", "TUTORIAL_R_SCALE", "measure_fi_curve", "tutorial_fi_curve", "tutorial_neuron",
    "tutorial_population", "tutorial_trace",
]


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


# ------------------------------------------------------------------------------------ the BrainPy tutorial's protocols
#: The tutorial's integration step (ms).
TUTORIAL_DT_MS = 0.1
#: The tutorial's membrane resistance is BrainPy's default, 1 Ohm: with its nA currents R I is a few nV and nothing
#: fires. Scaled by 1e7 to 10 MOhm, its currents mean what it plots: 1 nA drives 10 mV, the rheobase
#: (V_th - V_rest) / R is 1.5 nA, inside its 0-5 nA F-I range, and its 2, 2.5 and 3 nA steps fire.
TUTORIAL_R_OHM = 1.0
TUTORIAL_R_SCALE = 1e7


def tutorial_neuron(n_neurons: int = 1, **overrides: Any) -> LIFSystem:
    """The tutorial's LIF: V_rest = V_reset = -65 mV, V_th = -50 mV, tau = 10 ms, hard reset, no refractory period,
    R = 1 Ohm x :data:`TUTORIAL_R_SCALE`; ``overrides`` replace any of them (``tau``, ``reset``, ``I_ext``, ...)."""
    from brian2 import mV, ms, ohm

    params = {"V_rest": -65 * mV, "V_th": -50 * mV, "V_reset": -65 * mV, "tau": 10 * ms,
              "R": TUTORIAL_R_OHM * TUTORIAL_R_SCALE * ohm, "reset": "hard", **overrides}
    return LIFSystem(n_neurons, **params)


def _spike_stats(spike_ms: np.ndarray, duration_ms: float) -> dict[str, float]:
    """The tutorial's printed statistics: spike count, rate (count / duration), mean ISI and ISI CV (SD / mean)."""
    intervals = np.diff(spike_ms)
    return {"n_spikes": int(spike_ms.size), "rate_hz": spike_ms.size / (duration_ms / 1000.0),
            "mean_isi_ms": float(intervals.mean()) if intervals.size else float("nan"),
            "isi_cv": float(intervals.std() / intervals.mean()) if intervals.size else float("nan")}


def tutorial_trace(current_na: float, duration_ms: float, target: str = "auto", **overrides: Any) -> dict[str, Any]:
    """One tutorial neuron under a constant current from t = 0 (parts 3, 5 and 7): its voltage, spikes and
    :func:`_spike_stats`, with the analytic rate of the hard reset.

    :returns: ``t_ms``, ``v_mv``, ``spike_ms``, ``n_spikes``, ``rate_hz``, ``mean_isi_ms``, ``isi_cv``, ``analytic_hz``
    """
    from brian2 import nA

    system = tutorial_neuron(1, I_ext=current_na * nA, **overrides)
    with Simulation(system, seed=0, dt_ms=TUTORIAL_DT_MS, target=target, record_voltages=[0]) as sim:
        recording = sim.run(duration_ms)
    spikes = spike_trains(recording, [0])[0]
    return {"t_ms": recording.voltage_t_ms, "v_mv": recording.voltage_mv[0, 0], "spike_ms": spikes,
            **_spike_stats(spikes, duration_ms), "analytic_hz": float(system.analytic_rate(current_na * nA)[0])}


def tutorial_fi_curve(low_na: float = 0.0, high_na: float = 5.0, points: int = 20, duration_ms: float = 500.0,
                      target: str = "auto", **overrides: Any) -> dict[str, Any]:
    """Part 4: the rate (spike count / duration) at ``points`` currents from ``low_na`` to ``high_na`` (one neuron
    each, one run) and the rheobase, the first of them that fires.

    :returns: ``current_na``, ``rate_hz``, ``analytic_hz``, ``rheobase_na`` (None if none fires) and the analytic
        ``rheobase_theory_na``
    """
    from brian2 import nA

    currents = np.linspace(low_na, high_na, points)
    system = tutorial_neuron(points, I_ext=currents * nA, **overrides)
    with Simulation(system, seed=0, dt_ms=TUTORIAL_DT_MS, target=target) as sim:
        recording = sim.run(duration_ms)
    rates = firing_rate(recording)
    return {"current_na": currents, "rate_hz": rates, "analytic_hz": system.analytic_rate(currents * nA),
            "rheobase_na": rheobase(currents, rates), "rheobase_theory_na": float(system.rheobase()[0] / nA)}


def tutorial_population(n_neurons: int = 50, current_na: float = 2.5, onset_ms: float = 50.0, duration_ms: float = 300.0,
                        bin_ms: float = 10.0, seed: int = 0, target: str = "auto") -> dict[str, Any]:
    """Part 6: ``n_neurons`` tutorial neurons with V(0) ~ Normal(-65 mV, 5 mV), a current step at ``onset_ms``;
    the recording and the population rate in ``bin_ms`` bins (Hz per neuron).

    :returns: ``recording``, ``bin_ms`` centres ``t_ms`` and ``rate_hz``, ``onset_ms``, ``analytic_hz``, and the mean
        rate per neuron after the onset (``rate_after_onset_hz``)
    """
    from brian2 import mV, nA

    system = tutorial_neuron(n_neurons, v_init=-65 * mV, v_init_sd=5 * mV)
    with Simulation(system, seed=seed, dt_ms=TUTORIAL_DT_MS, target=target) as sim:
        before = sim.run(onset_ms)
        sim.set_neuron_variable("I_ext", current_na * nA)
        recording = Recording.concatenate([before, sim.run(duration_ms - onset_ms)])
    t, rate = recording.population_rate_hz(bin_ms=bin_ms)
    after = firing_rate(recording, start_ms=onset_ms).mean()
    return {"recording": recording, "t_ms": t, "rate_hz": rate, "onset_ms": onset_ms, "rate_after_onset_hz": float(after),
            "analytic_hz": float(system.analytic_rate(current_na * nA)[0])}
