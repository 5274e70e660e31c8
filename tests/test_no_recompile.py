"""The Cython target compiles once: steps, stimuli, window lengths and resets never generate new code.

Compilations are counted where Brian2's Cython runtime turns generated code into a module:
``CythonExtensionManager._load_module`` runs once for every piece of generated code the process has not used
before (it then compiles it, or loads it from the on-disk cache if an earlier process compiled the very same code),
and ``Cython.Build.cythonize`` runs for every actual compilation. New generated code means a compile on any
machine whose cache does not have it yet, so both counters must stay at zero.

A cold Cython cache makes the first test compile the model once (about a minute); later runs load it from the cache
(``~/.cython/brian_extensions`` unless ``prefs.codegen.runtime.cython.cache_dir`` says otherwise).
"""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest

from livn_rl import Pulse, Simulation, pulse_train


class CompileCounter:
    def __init__(self) -> None:
        self.modules: list[str] = []
        self.compilations = 0

    def clear(self) -> None:
        self.modules.clear()
        self.compilations = 0


@pytest.fixture
def compile_counter(monkeypatch):
    from brian2.codegen.runtime.cython_rt import extension_manager as em

    counter = CompileCounter()
    create_extension = em.CythonExtensionManager.create_extension
    load_module = em.CythonExtensionManager._load_module
    cythonize = em.Cython_Build.cythonize
    owner = threading.local()

    def naming_create_extension(self, *args, owner_name="", **kwargs):
        owner.name = owner_name
        return create_extension(self, *args, owner_name=owner_name, **kwargs)

    def counting_load_module(self, module_path, *args, **kwargs):
        counter.modules.append(f"{getattr(owner, 'name', '')} ({os.path.basename(module_path)})")
        return load_module(self, module_path, *args, **kwargs)

    def counting_cythonize(*args, **kwargs):
        counter.compilations += 1
        return cythonize(*args, **kwargs)

    monkeypatch.setattr(em.CythonExtensionManager, "create_extension", naming_create_extension)
    monkeypatch.setattr(em.CythonExtensionManager, "_load_module", counting_load_module)
    monkeypatch.setattr(em.Cython_Build, "cythonize", counting_cythonize)
    yield counter


def test_counter_sees_new_code(compile_counter):
    """The counter works: code this process has not used yet goes through it."""
    import brian2

    previous = brian2.prefs.codegen.target
    brian2.prefs.codegen.target = "cython"
    try:
        group = brian2.NeuronGroup(
            1, "dv/dt = (livn_rl_probe_rest - v) / (7.5*ms) : 1", namespace={"livn_rl_probe_rest": 0.25},
            name="livn_rl_compile_probe",
        )
        brian2.Network(group, name="livn_rl_compile_probe_net").run(0.2 * brian2.ms, namespace={})
    finally:
        brian2.prefs.codegen.target = previous
    assert compile_counter.modules, "new generated code must go through the counter"


def _varied_steps(sim: Simulation) -> int:
    """Many steps with different stimuli and window lengths; returns the number of spikes, to show they did work."""
    rng = np.random.default_rng(0)
    n_spikes = 0
    for k in range(40):
        duration = float([1, 2, 3, 5, 10, 20][k % 6])
        kind = k % 5
        if kind == 0:
            stimulus = None
        elif kind == 1:
            stimulus = pulse_train(k % sim.n_channels, 1.0 + (k * 7) % 45, 0.0, n_pulses=1)
        elif kind == 2:
            stimulus = [Pulse(int(c), 0.1 * c, float(a), shape="monophasic") for c, a in
                        zip(range(sim.n_channels), rng.uniform(0.5, 30.0, sim.n_channels))]
        elif kind == 3:
            rows = int(round(duration / sim.dt_ms))
            stimulus = rng.uniform(-20.0, 20.0, (rows, sim.n_channels))
        else:
            rows = int(round(duration / sim.dt_ms))
            stimulus = np.zeros((sim.n_copies, rows, sim.n_channels))
            stimulus[:, 0:2, k % sim.n_channels] = -40.0
            stimulus[:, 2:4, k % sim.n_channels] = 40.0
        n_spikes += sim.step(stimulus, duration).neuron_i.size
    return n_spikes


def test_steps_stimuli_and_reset_do_not_recompile(compile_counter):
    with Simulation("S1", seed=0, target="cython", record_voltages=[0, 3]) as sim:
        sim.step(None, 1.0)  # builds (compiles or loads) every code object once
        compile_counter.clear()

        n_spikes = _varied_steps(sim)
        sim.set_background(False)
        sim.step(pulse_train(1, 10.0, 0.5), 2.0)
        sim.set_background(True)
        sim.run(15.0, np.full((150, sim.n_channels), -2.0))
        sim.reset(5)
        n_spikes += _varied_steps(sim)
        sim.reset()

        n_spikes += sim.step(pulse_train(2, 25.0, 1.0, n_pulses=3, rate_hz=500.0), 10.0).neuron_i.size
        assert n_spikes > 20, "the stimuli must have driven the network"
        assert compile_counter.modules == [], f"new code generated after the first step: {compile_counter.modules}"
        assert compile_counter.compilations == 0


def test_a_second_simulation_of_the_same_system_does_not_recompile(compile_counter):
    """Two simulations of the same system alive at once (a training and an evaluation environment, or a
    re-created environment whose predecessor was not garbage collected yet) run the same compiled code."""
    first = Simulation("S1", seed=0, target="cython")
    try:
        first.step(pulse_train(0, 10.0, 0.5), 2.0)
        compile_counter.clear()
        with Simulation("S1", seed=1, target="cython") as second:
            second.step(pulse_train(0, 10.0, 0.5), 2.0)
            second.reset(2)
            second.step(None, 2.0)
        assert compile_counter.modules == [], f"the second simulation generated new code: {compile_counter.modules}"
        assert compile_counter.compilations == 0
    finally:
        first.close()


def test_direct_calls_of_compiled_code_give_the_same_spikes(monkeypatch):
    """The engine lets Network.run call the compiled Cython code directly; Brian2's own call path gives the same
    spikes, and the direct calls are really in place."""
    from livn_rl.engine import parked_run

    def run(direct: bool):
        if not direct:
            monkeypatch.setattr(parked_run, "call_code_directly", lambda net, skip: [])
        with Simulation("S1", seed=3, target="cython", record_voltages=[0]) as sim:
            recs = [sim.step(pulse_train(k % sim.n_channels, 15.0, 0.5) if k % 2 else None, 10.0) for k in range(8)]
            sim.reset(4)
            recs.append(sim.run(30.0))
            patched = len(sim._backend.run.patched)
        monkeypatch.undo()
        return recs, patched

    direct, n_direct = run(True)
    plain, n_plain = run(False)
    assert n_direct >= 5 and n_plain == 0
    assert sum(r.neuron_i.size for r in direct) > 10
    for a, b in zip(direct, plain):
        np.testing.assert_array_equal(a.neuron_i, b.neuron_i)
        np.testing.assert_array_equal(a.neuron_t_ms, b.neuron_t_ms)
        np.testing.assert_array_equal(a.voltage_mv, b.voltage_mv)
