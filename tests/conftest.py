"""Shared fixtures and helpers for the livn_rl test suite.

Every engine test uses Brian2's numpy target (no compiler, no compile wait) and closes its simulations; only
tests/test_no_recompile.py uses the Cython target. The suite runs the runtime backend unless a test asks for another
(``LIVN_RL_BACKEND=runtime`` below, inherited by the processes tests start): tests/test_standalone.py tests the
standalone backend, the default where a C++ compiler works, explicitly and as the default.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ["LIVN_RL_BACKEND"] = "runtime"

from livn_rl import Simulation, pulse_train
from livn_rl.recording import Recording

#: A small culture without synapses and without background noise: every spike is caused by the electrodes, so
#: stimulation tests do not depend on the (concurrently tuned) network parameters of the predefined systems.
QUIET_CULTURE = {
    "name": "quiet",
    "n_exc": 40,
    "n_inh": 10,
    "width_um": 600.0,
    "height_um": 600.0,
    "k_in_exc": 0,
    "k_in_inh": 0,
    "noise_exc_pA": 0.0,
    "noise_inh_pA": 0.0,
    "mea": {"rows": 2, "cols": 2, "pitch_um": 300.0},
    "seed": 0,
}

#: A small connected culture (not a predefined one, so parameter tuning of S1-S4 does not affect it).
TINY_CULTURE = {
    "name": "tiny",
    "n_exc": 16,
    "n_inh": 4,
    "width_um": 300.0,
    "height_um": 300.0,
    "k_in_exc": 6,
    "k_in_inh": 2,
    "mea": {"rows": 2, "cols": 2, "pitch_um": 100.0},
    "seed": 3,
}

RECORDING_ARRAYS = (
    "neuron_i", "neuron_t_ms", "neuron_copy", "channel_c", "channel_t_ms", "channel_unit", "channel_copy",
)


@pytest.fixture
def sim_s1():
    """S1 with seed 0 on the numpy target, closed after the test."""
    sim = Simulation("S1", seed=0, target="numpy")
    yield sim
    sim.close()


@pytest.fixture
def make_sim():
    """Factory for simulations (numpy target by default) that are all closed after the test."""
    sims: list[Simulation] = []

    def factory(system="S1", **kwargs) -> Simulation:
        kwargs.setdefault("target", "numpy")
        sim = Simulation(system, **kwargs)
        sims.append(sim)
        return sim

    yield factory
    for sim in sims:
        sim.close()


def biphasic_array(sim: Simulation, duration_ms: float, channel: int, onset_ms: float, amplitude_ua: float,
                   phase_steps: int = 2) -> np.ndarray:
    """A ``(n_timesteps, n_channels)`` array with one cathodic-first biphasic pulse."""
    rows = int(round(duration_ms / sim.dt_ms))
    wave = np.zeros((rows, sim.n_channels))
    start = int(round(onset_ms / sim.dt_ms))
    wave[start : start + phase_steps, channel] = -amplitude_ua
    wave[start + phase_steps : start + 2 * phase_steps, channel] = amplitude_ua
    return wave


def protocol(sim: Simulation, between=None) -> list[Recording]:
    """A short closed-loop episode: quiet, pulse trains, an array stimulus, quiet again, and a strong pulse right at
    the end of the last window (so that spikes and synaptic events are still in flight when it ends).

    :param between: called after every step (to do something else between steps)
    """
    steps = [
        (None, 10.0),
        (pulse_train(0, 8.0, 2.0, n_pulses=3, rate_hz=200.0), 20.0),
        (biphasic_array(sim, 10.0, 2 % sim.n_channels, 1.0, 6.0), 10.0),
        (None, 15.0),
        (pulse_train(1, 20.0, 4.0, n_pulses=1), 5.0),
    ]
    recs = []
    for stimulus, duration in steps:
        recs.append(sim.step(stimulus, duration))
        if between is not None:
            between()
    return recs


def as_arrays(recs: list[Recording]) -> dict[str, np.ndarray]:
    """The spike arrays of consecutive recordings, concatenated (plus the window starts)."""
    joined = Recording.concatenate(recs)
    data = {name: np.asarray(getattr(joined, name)) for name in RECORDING_ARRAYS}
    data["t_start_ms"] = np.array([r.t_start_ms for r in recs])
    return data


def assert_same_spikes(a: list[Recording] | dict, b: list[Recording] | dict, *, channels: bool = True) -> None:
    """Neuron spikes (and channel spikes) of two runs are identical, element by element."""
    a = a if isinstance(a, dict) else as_arrays(a)
    b = b if isinstance(b, dict) else as_arrays(b)
    names = RECORDING_ARRAYS if channels else ("neuron_i", "neuron_t_ms", "neuron_copy")
    for name in (*names, "t_start_ms"):
        np.testing.assert_array_equal(np.asarray(a[name]), np.asarray(b[name]), err_msg=f"{name} differs")


def spike_set(rec: Recording, copy: int = 0) -> set[tuple[int, float]]:
    """(neuron, time) pairs of one copy, times rounded to the time grid."""
    mask = rec.neuron_copy == copy
    return {(int(i), round(float(t), 6)) for i, t in zip(rec.neuron_i[mask], rec.neuron_t_ms[mask])}


@pytest.fixture
def start_view():
    """Start ``livn-rl view ARGS --port 0`` in its own process; returns ``(process, port)``. Every server is stopped
    with SIGINT after the test (SIGKILL if it does not stop within 30 s), so no process is left behind."""
    import queue
    import re
    import signal
    import subprocess
    import sys
    import threading

    processes = []

    def start(*args: str, timeout: float = 120.0):
        process = subprocess.Popen([sys.executable, "-m", "livn_rl.cli", "view", *args, "--port", "0"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        processes.append(process)
        process.lines = queue.Queue()
        def read() -> None:
            for line in process.stdout:
                process.lines.put(line)
            process.lines.put(None)  # the end of its output

        threading.Thread(target=read, daemon=True).start()
        try:
            line = process.lines.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"livn-rl view {' '.join(args)} printed nothing in {timeout} s")
        match = re.search(r"http://[^:]+:(\d+)/", line or "")
        if match is None:  # it exited (None) or printed something else
            process.wait(30)
            pytest.fail(f"livn-rl view {' '.join(args)} did not start: {line!r} {process.stderr.read()[-2000:]}")
        return process, int(match.group(1))

    yield start
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        process.stderr.close()
