"""The closed-loop engine (numpy target): determinism, reset, random-state isolation, copies, stimulation effects,
windows, memory, voltages and input validation."""

from __future__ import annotations

import dataclasses
import json
import math
import re
import subprocess
import sys
import textwrap
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from livn_rl import Pulse, Recording, Simulation, make_system, pulse_train, render

from conftest import QUIET_CULTURE, TINY_CULTURE, as_arrays, assert_same_spikes, biphasic_array, protocol, spike_set


def _n_spikes(recs):
    return sum(r.neuron_i.size for r in recs)


# ------------------------------------------------------------------------------------------------- determinism
def test_same_seed_same_spikes_in_one_process(make_sim):
    a = protocol(make_sim("S1", seed=7))
    b = protocol(make_sim("S1", seed=7))
    assert _n_spikes(a) >= 10 and sum(r.channel_c.size for r in a) >= 10, "the protocol must evoke activity"
    assert_same_spikes(a, b)


def test_same_seed_same_spikes_for_interleaved_simulations(make_sim):
    """Two simulations stepped alternately (e.g. a training and an evaluation env) do not disturb each other."""
    alone = protocol(make_sim("S1", seed=4))
    x, y = make_sim("S1", seed=4), make_sim("S1", seed=5)
    other = iter(range(100))

    def step_the_other():
        k = next(other)
        y.step(pulse_train(k % 4, 15.0, 0.5), 5.0)
        if k == 2:
            y.reset(6)

    y.step(pulse_train(3, 12.0, 0.5), 3.0)
    assert_same_spikes(alone, protocol(x, between=step_the_other))


_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    sys.path.insert(0, {tests_dir!r})
    from conftest import as_arrays, protocol
    from livn_rl import Simulation
    with Simulation("S1", seed=11, target="numpy") as sim:
        data = as_arrays(protocol(sim))
    json.dump({{k: v.tolist() for k, v in data.items()}}, sys.stdout)
    """
)


def test_same_seed_same_spikes_across_processes(tmp_path, make_sim):
    script = tmp_path / "episode.py"
    script.write_text(_SCRIPT.format(tests_dir=str(Path(__file__).parent)))
    outputs = []
    for _ in range(2):
        done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
        assert done.returncode == 0, done.stderr[-3000:]
        outputs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    first, second = outputs
    assert len(first["neuron_i"]) >= 10
    assert_same_spikes(first, second)
    # and the same as in this (pytest) process
    assert_same_spikes(first, as_arrays(protocol(make_sim("S1", seed=11))))


def test_reset_replays_the_episode_exactly(make_sim):
    sim = make_sim("S1", seed=3, record_voltages=[0, 5])
    first = protocol(sim)
    # the episode ended with a strong pulse 1 ms before its end: spikes and synaptic events are still in flight
    assert first[-1].neuron_i.size > 0
    sim.reset(3)
    assert sim.time_ms == 0.0
    second = protocol(sim)
    assert_same_spikes(first, second)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a.voltage_mv, b.voltage_mv)
    # a third time, after a different episode in between
    sim.reset(8)
    protocol(sim)
    sim.reset(3)
    assert_same_spikes(first, protocol(sim))


def test_reset_in_the_middle_of_activity_matches_a_fresh_simulation(make_sim):
    sim = make_sim("S2", seed=0)
    busy = sim.step(pulse_train(5, 20.0, 8.0, n_pulses=1), 10.0)  # reset 2 ms after a strong pulse
    assert busy.neuron_t_ms.size > 0 and busy.neuron_t_ms.max() >= 8.0, "activity must be under way at the reset"
    sim.reset(12)
    fresh = make_sim("S2", seed=12)
    for _ in range(3):
        assert_same_spikes([sim.step(None, 10.0)], [fresh.step(None, 10.0)])


def test_different_seeds_differ(make_sim):
    a_sim, b_sim = make_sim("S1", seed=1, record_voltages=[0, 1, 2]), make_sim("S1", seed=2, record_voltages=[0, 1, 2])
    a, b = protocol(a_sim), protocol(b_sim)
    va = np.concatenate([r.voltage_mv for r in a], axis=-1)
    vb = np.concatenate([r.voltage_mv for r in b], axis=-1)
    assert not np.allclose(va, vb), "different seeds must give different membrane trajectories"
    ca, cb = as_arrays(a), as_arrays(b)
    assert not (np.array_equal(ca["channel_t_ms"], cb["channel_t_ms"]) and np.array_equal(ca["channel_c"], cb["channel_c"]))


def test_reset_without_seed_follows_a_reproducible_sequence(make_sim):
    a, b = make_sim("S1", seed=0), make_sim("S1", seed=0)
    a.reset()
    b.reset()
    assert a.seed == b.seed != 0
    first = a.seed
    a.reset()
    assert a.seed != first
    b.reset()
    assert_same_spikes(protocol(a), protocol(b))


@pytest.mark.parametrize("seed", [-1, 1.5, True, "1"])
def test_bad_reset_seed_is_named(sim_s1, seed):
    with pytest.raises(ValueError, match="seed"):
        sim_s1.reset(seed)
    assert len(sim_s1.step(None, 1.0).neuron_counts) == 1  # still usable


# ----------------------------------------------------------------------------------- numpy.random isolation
def _user_draws():
    np.random.rand(7)
    np.random.randn(3)
    np.random.poisson(2.0, 4)
    np.random.binomial(3, 0.5, 2)
    np.random.uniform(size=5)
    np.random.normal(size=2)
    np.random.standard_normal(4)


def test_user_numpy_random_draws_do_not_change_the_trajectory(make_sim):
    sim = make_sim("S1", seed=5, record_voltages=[0, 3])
    reference = [sim.step(pulse_train(k % 4, 6.0, 1.0, n_pulses=2, rate_hz=100.0), 20.0) for k in range(6)]
    sim.reset(5)
    np.random.seed(999)
    disturbed = []
    for k in range(6):
        _user_draws()
        np.random.seed(k)  # even re-seeding the global generator changes nothing
        disturbed.append(sim.step(pulse_train(k % 4, 6.0, 1.0, n_pulses=2, rate_hz=100.0), 20.0))
        _user_draws()
    assert_same_spikes(reference, disturbed)
    for a, b in zip(reference, disturbed):
        np.testing.assert_array_equal(a.voltage_mv, b.voltage_mv)


def test_simulation_does_not_touch_the_users_numpy_random_stream(sim_s1):
    np.random.seed(42)
    expected = [np.random.rand(3) for _ in range(6)]
    np.random.seed(42)
    got = []
    for k in range(6):
        got.append(np.random.rand(3))
        sim_s1.step(pulse_train(k % 4, 10.0, 0.5) if k % 2 else None, 5.0)
    for a, b in zip(expected, got):
        np.testing.assert_array_equal(a, b)
    before = np.random.get_state()
    sim_s1.step(pulse_train(0, 10.0, 0.5), 5.0)
    sim_s1.reset(3)
    sim_s1.step(None, 2.0)
    after = np.random.get_state()
    assert before[0] == after[0]
    np.testing.assert_array_equal(before[1], after[1])
    assert before[2:] == after[2:]
    # and numpy.random's functions are the user's again between steps
    np.random.seed(1)
    a = np.random.rand(2)
    np.random.seed(1)
    np.testing.assert_array_equal(a, np.random.rand(2))


# ---------------------------------------------------------------------------------------------------- copies
def _copies_run(make_sim, stimulate_copy_1: bool, stimulate_others: bool):
    sim = make_sim("S1", seed=2, n_copies=3)
    rows = int(round(20.0 / sim.dt_ms))
    stim = np.zeros((3, rows, sim.n_channels))
    if stimulate_copy_1:  # early, strong pulses on copy 1
        stim[1] = biphasic_array(sim, 20.0, 3, 0.5, 20.0) + biphasic_array(sim, 20.0, 0, 10.0, 20.0)
    if stimulate_others:  # the same later pulse on copies 0 and 2
        stim[0] = stim[2] = biphasic_array(sim, 20.0, 0, 5.0, 8.0)
    return [sim.step(stim, 20.0), sim.step(None, 20.0), sim.step(None, 10.0)]


@pytest.mark.parametrize("stimulate_others", [False, True])
def test_stimulating_one_copy_does_not_leak_into_the_others(make_sim, stimulate_others):
    quiet = _copies_run(make_sim, False, stimulate_others)
    stimulated = _copies_run(make_sim, True, stimulate_others)
    for k in (0, 2):
        for a, b in zip(quiet, stimulated):
            assert spike_set(a, k) == spike_set(b, k), f"copy {k} changed when only copy 1 was stimulated"
    copy1_quiet = sum(r.neuron_counts[1].sum() for r in quiet)
    copy1_stim = sum(r.neuron_counts[1].sum() for r in stimulated)
    assert copy1_stim > copy1_quiet + 5
    if stimulate_others:
        assert sum(r.neuron_counts[0].sum() for r in quiet) > 0


def test_channel_detections_do_not_leak_between_copies(make_sim):
    """What copy 0 records on its electrodes must not depend on what happens in copy 1 (in a vector env, one
    env's action must not change another env's observation)."""
    quiet = _copies_run(make_sim, False, True)
    stimulated = _copies_run(make_sim, True, True)
    assert quiet[0].copy_of(0).channel_c.size > 0 and quiet[0].copy_of(2).channel_c.size > 0
    for k in (0, 2):
        for a, b in zip(quiet, stimulated):
            ca, cb = a.copy_of(k), b.copy_of(k)
            np.testing.assert_array_equal(ca.channel_c, cb.channel_c, err_msg=f"copy {k} channels changed")
            np.testing.assert_array_equal(ca.channel_t_ms, cb.channel_t_ms, err_msg=f"copy {k} channel times changed")


def test_copies_with_the_same_stimulus_are_independent_samples(make_sim):
    sim = make_sim("S1", seed=0, n_copies=2, record_voltages=[0])
    rec = sim.step(None, 20.0)
    assert rec.voltage_mv.shape == (2, 1, 200)
    assert not np.allclose(rec.voltage_mv[0], rec.voltage_mv[1]), "copies must have their own noise and initial state"


def test_2d_stimulus_applies_to_every_copy(make_sim):
    wave = render(pulse_train(0, 15.0, 1.0, n_pulses=2, rate_hz=200.0), 4, 10.0, 0.1)
    a = make_sim("S1", seed=9, n_copies=2).step(wave, 10.0)
    b = make_sim("S1", seed=9, n_copies=2).step(np.stack([wave, wave]), 10.0)
    c = make_sim("S1", seed=9, n_copies=2).step(pulse_train(0, 15.0, 1.0, n_pulses=2, rate_hz=200.0), 10.0)
    assert_same_spikes([a], [b])
    assert_same_spikes([a], [c])
    assert a.neuron_counts[0].sum() > 0 and a.neuron_counts[1].sum() > 0


def test_copy_spike_arrays_are_consistent(make_sim):
    sim = make_sim("S1", seed=1, n_copies=3)
    rec = sim.step(pulse_train(2, 20.0, 1.0), 10.0)
    assert rec.neuron_counts.shape == (3, sim.n_neurons)
    assert rec.channel_counts.shape == (3, sim.n_channels)
    assert set(rec.neuron_copy.tolist()) <= {0, 1, 2} and rec.neuron_i.max() < sim.n_neurons
    for k in range(3):
        copy = rec.copy_of(k)
        assert copy.neuron_counts.shape == (1, sim.n_neurons)
        np.testing.assert_array_equal(copy.neuron_counts[0], rec.neuron_counts[k])


# --------------------------------------------------------------------------------------------------- windows
def test_step_windows_are_consecutive_and_spike_times_inside(make_sim):
    sim = make_sim("S2", seed=0)
    t = 0.0
    for k, duration in enumerate([1.0, 5.0, 20.0, 3.0, 10.0, 50.0]):
        rec = sim.step(pulse_train(k % 16, 20.0, 0.0) if k % 2 == 0 else None, duration)
        assert rec.t_start_ms == pytest.approx(t)
        assert rec.duration_ms == pytest.approx(duration)
        assert rec.t_stop_ms == pytest.approx(t + duration)
        for times in (rec.neuron_t_ms, rec.channel_t_ms):
            assert np.all(times >= rec.t_start_ms - 1e-9), (times, rec.t_start_ms)
            assert np.all(times < rec.t_stop_ms - 1e-9), (times, rec.t_stop_ms)
        t += duration
        assert sim.time_ms == pytest.approx(t)


def test_channel_spikes_come_from_neuron_spikes(make_sim):
    sim = make_sim("S2", seed=1)
    rec = sim.step(pulse_train(5, 20.0, 1.0, n_pulses=3, rate_hz=200.0), 20.0)
    assert rec.channel_c.size > 0
    assert np.all(np.diff(rec.channel_t_ms) >= 0), "channel spikes are sorted by time"
    neuron = set(zip(rec.neuron_i.tolist(), np.round(rec.neuron_t_ms, 6).tolist()))
    for unit, t, c in zip(rec.channel_unit, rec.channel_t_ms, rec.channel_c):
        assert 0 <= c < sim.n_channels
        if unit >= 0:
            assert (int(unit), round(float(t), 6)) in neuron


def test_channels_detect_spikes_with_the_mea_detection_probability(make_sim):
    system = make_system("S1")
    mea = dataclasses.replace(system.mea, dead_time_ms=0.0)  # every spike is an independent chance of detection
    sim = make_sim(system, mea=mea, seed=0)
    pulses = [p for ch in range(4) for p in pulse_train(ch, 20.0, 1.0 + ch, n_pulses=8, rate_hz=100.0)]
    recs = [sim.step(pulses, 100.0) for _ in range(3)]
    p = mea.detection_probability(system.positions_um)  # (C, N)
    spikes = np.zeros(sim.n_neurons)
    detected = np.zeros_like(p)
    for rec in recs:
        np.add.at(spikes, rec.neuron_i, 1)
        sorted_ = rec.channel_unit >= 0
        np.add.at(detected, (rec.channel_c[sorted_], rec.channel_unit[sorted_]), 1)
    assert spikes.sum() > 200
    expected = p * spikes[None, :]
    sd = np.sqrt(np.sum(expected * (1 - p)))
    assert abs(detected.sum() - expected.sum()) < 5 * sd + 1, (detected.sum(), expected.sum())
    per_channel_sd = np.sqrt(np.sum(expected * (1 - p), axis=1))
    assert np.all(np.abs(detected.sum(axis=1) - expected.sum(axis=1)) < 5 * per_channel_sd + 1)


def _assert_dead_time(channel_c, channel_t_ms, channel_copy, dead_time_ms):
    for copy in np.unique(channel_copy):
        for c in np.unique(channel_c):
            t = np.sort(channel_t_ms[(channel_c == c) & (channel_copy == copy)])
            gaps = np.diff(t)
            assert np.all(gaps >= dead_time_ms - 1e-9), f"channel {c} detected twice within {gaps.min()} ms"


def test_channels_are_blind_for_the_dead_time_after_a_detection(make_sim):
    sim = make_sim("S1", seed=0, n_copies=2)
    assert sim.mea.dead_time_ms > 0
    pulses = [p for ch in range(4) for p in pulse_train(ch, 20.0, 1.0 + 0.3 * ch, n_pulses=8, rate_hz=200.0)]
    rec = sim.step(pulses, 50.0)
    assert rec.channel_c.size > 20
    _assert_dead_time(rec.channel_c, rec.channel_t_ms, rec.channel_copy, sim.mea.dead_time_ms)


def test_dead_time_holds_across_step_boundaries(make_sim):
    """Splitting time into control steps must not change what the detector can see: a channel that detected a
    spike at the end of one step is still blind at the start of the next."""
    sim = make_sim("S1", seed=0)
    recs = [sim.step(pulse_train(k % 4, 20.0, 0.5), 1.0) for k in range(60)]
    joined = Recording.concatenate(recs)
    assert joined.channel_c.size > 20
    _assert_dead_time(joined.channel_c, joined.channel_t_ms, joined.channel_copy, sim.mea.dead_time_ms)


def test_run_equals_the_same_duration_in_steps(make_sim):
    duration, window = 60.0, 10.0
    sim = make_sim("S1", seed=6)
    rows = int(round(duration / sim.dt_ms))
    stim = render(pulse_train(1, 12.0, 3.0, n_pulses=4, rate_hz=70.0) + [Pulse(3, 41.0, 20.0)], 4, duration, sim.dt_ms)
    run = sim.run(duration, stim)
    sim.reset(6)
    per = int(round(window / sim.dt_ms))
    steps = [sim.step(stim[k : k + per], window) for k in range(0, rows, per)]
    assert run.t_start_ms == 0.0 and run.duration_ms == pytest.approx(duration)
    assert run.neuron_i.size >= 10
    assert_same_spikes([run], [Recording.concatenate(steps)], channels=False)
    sim.reset(6)
    chunked = sim.run(duration, stim, progress=True, chunk_ms=20.0)
    assert_same_spikes([run], [chunked], channels=False)


def test_run_without_stimulus(sim_s1):
    rec = sim_s1.run(30.0)
    assert rec.duration_ms == pytest.approx(30.0)
    assert sim_s1.time_ms == pytest.approx(30.0)


# ------------------------------------------------------------------------------------------ stimulation effect
def test_stimulation_evokes_spikes_near_the_electrode(make_sim):
    sim = make_sim("S2", seed=0)
    channel = 5
    baseline = sim.step(None, 100.0).neuron_counts[0]
    sim.reset(0)
    evoked = sim.step(pulse_train(channel, 20.0, 5.0, n_pulses=5, rate_hz=50.0), 100.0).neuron_counts[0]
    near = sim.mea.distances_um(sim.system.positions_um)[channel] < 80.0
    assert near.sum() >= 1
    assert evoked[near].sum() >= baseline[near].sum() + 5 * near.sum(), "20 uA pulses must fire the nearby cells"
    assert np.all(evoked[near] > baseline[near])


def test_stimulation_falls_off_with_distance():
    """An unconnected, noiseless culture: spikes only come from the electrodes, and near cells respond most."""
    with Simulation(QUIET_CULTURE, seed=0, target="numpy") as sim:
        silent = sim.step(None, 50.0)
        assert silent.neuron_i.size == 0
        dist = sim.mea.distances_um(sim.system.positions_um)
        for channel in range(sim.n_channels):
            counts = sim.step(pulse_train(channel, 5.0, 2.0, n_pulses=4, rate_hz=100.0), 50.0).neuron_counts[0]
            near, far = dist[channel] < 60.0, dist[channel] > 250.0
            assert counts[near].min() > 0, "every cell within 60 um of a 5 uA electrode fires"
            assert counts[near].mean() > 2 * counts[far].mean()


def test_anodic_current_excites_five_times_less_than_cathodic():
    """mea.py: cathodic current depolarises; anodic current depolarises the flanking membrane ``anodic_efficacy``
    (0.2) times as effectively. So a 3 uA anodic pulse (worth 0.6 uA cathodic) fires nothing, while the same pulse
    cathodic does, and a strong anodic pulse fires fewer cells than the same pulse cathodic."""

    def fired(sim, amplitude_ua: float) -> int:
        sim.reset(0)
        sim.step(None, 50.0)
        wave = np.zeros((200, sim.n_channels))
        wave[20:22, 0] = amplitude_ua  # one 0.2 ms phase; positive = anodic
        return np.unique(sim.step(wave, 20.0).neuron_i).size

    with Simulation(QUIET_CULTURE, seed=0, target="numpy") as sim:
        assert sim.mea.anodic_efficacy == pytest.approx(0.2)
        assert fired(sim, -3.0) > 0
        assert fired(sim, 3.0) == 0
        assert 0 < fired(sim, 20.0) < fired(sim, -20.0)


def test_stimulation_keeps_membrane_potentials_physiological():
    """A small, within-limits stimulus (a 3 uA biphasic pulse, 0.2 ms per phase) must not drive membranes to
    hundreds of mV below rest."""
    with Simulation(QUIET_CULTURE, seed=0, target="numpy", record_voltages=list(range(50))) as sim:
        sim.step(None, 10.0)
        rec = sim.step(pulse_train(0, 3.0, 2.0), 20.0)  # 3 uA: the documented direct-activation amplitude
        assert rec.neuron_i.size > 0
        v = rec.voltage_mv
        assert np.all(np.isfinite(v))
        worst = np.unravel_index(np.argmin(v), v.shape)
        assert v.min() > -100.0, f"neuron {worst[1]} reached {v.min():.0f} mV at t = {rec.voltage_t_ms[worst[2]]} ms"
        assert v.max() < 60.0


@pytest.mark.parametrize("amplitude, reach", [(3.0, 50.0), (10.0, 100.0)])
def test_documented_direct_activation_radius(amplitude, reach):
    """mea.py: "a biphasic pulse of 0.2 ms per phase directly fires the cells within about 50 um at 3 uA, 100 um at
    10 uA" (noise and synapses off, so only the pulse acts)."""
    dense = {**QUIET_CULTURE, "n_exc": 400, "n_inh": 100, "width_um": 600.0, "height_um": 600.0,
             "mea": {"rows": 1, "cols": 1, "pitch_um": 100.0}}
    with Simulation(dense, seed=0, target="numpy") as sim:
        distance = sim.mea.distances_um(sim.system.positions_um)[0]
        sim.step(None, 20.0)
        fired = sim.step(pulse_train(0, amplitude, 1.0), 10.0).neuron_counts[0] > 0
    inside, outside = distance < reach, distance > 2 * reach
    assert inside.sum() >= 10
    assert fired[inside].mean() > 0.5, f"only {fired[inside].mean():.0%} of the cells within {reach} um fired"
    assert fired[outside].mean() < 0.1, f"{fired[outside].mean():.0%} of the cells beyond {2 * reach} um fired"


def test_background_can_be_switched_off(make_sim):
    sim = make_sim("S2", seed=0, record_voltages=[0, 50, 90])
    sim.set_background(False)
    sim.step(None, 100.0)  # let the initial state settle
    rec = sim.step(None, 100.0)
    assert rec.neuron_i.size == 0
    v = rec.voltage_mv
    assert np.ptp(v[..., -100:], axis=-1).max() < 0.5, "without noise the membranes sit at rest"
    sim.set_background(True)
    v_on = sim.step(None, 100.0).voltage_mv
    assert np.ptp(v_on, axis=-1).min() > 0.5


# ------------------------------------------------------------------------------------------------------ memory
def test_memory_stays_flat_over_many_steps(sim_s1):
    def step(k):
        return sim_s1.step(pulse_train(k % 4, 20.0, 0.0) if k % 10 == 0 else None, 1.0)

    n_spikes = 0
    for k in range(800):
        rec = step(k)
        n_spikes += rec.neuron_i.size
        assert len(sim_s1._backend.monitors.spikes.variables["i"].get_value()) == 0, "the spike monitor must be emptied every step"
    assert n_spikes > 300, "the steps must produce spikes for the monitor check to mean anything"
    assert rec.t_start_ms == pytest.approx(799.0)
    assert rec.neuron_i.size == 0 or rec.neuron_t_ms.min() >= 799.0
    # nothing else accumulates either (keeping every step's Recording would add about 1.5 kB per step)
    tracemalloc.start()
    try:
        for k in range(20):
            step(k)
        start = tracemalloc.get_traced_memory()[0]
        for k in range(120):
            step(k)
        growth = tracemalloc.get_traced_memory()[0] - start
    finally:
        tracemalloc.stop()
    assert growth < 50_000, f"memory grew by {growth} bytes over 120 steps"


# ---------------------------------------------------------------------------------------------------- voltages
def test_recorded_voltages(make_sim):
    index = [0, 4, 9]
    sim = make_sim("S1", seed=0, n_copies=2, record_voltages=index)
    sim.step(None, 5.0)
    rec = sim.step(None, 20.0)
    assert rec.voltage_mv.shape == (2, 3, 200)
    np.testing.assert_array_equal(rec.voltage_index, index)
    np.testing.assert_allclose(rec.voltage_t_ms, 5.0 + 0.1 * np.arange(200), atol=1e-9)
    v = rec.voltage_mv
    assert np.all(np.isfinite(v))
    assert v.min() > -100.0 and v.max() < 60.0, (v.min(), v.max())
    assert np.median(v) < -40.0, "membranes rest below threshold most of the time"
    assert np.ptp(v, axis=-1).min() > 0.1, "background noise moves every membrane"
    copy = rec.copy_of(1)
    assert copy.voltage_mv.shape == (1, 3, 200)
    np.testing.assert_array_equal(copy.voltage_mv[0], v[1])
    run = sim.run(10.0)
    assert run.voltage_mv.shape == (2, 3, 100)
    np.testing.assert_allclose(run.voltage_t_ms, 25.0 + 0.1 * np.arange(100), atol=1e-9)


def test_stimulus_acts_exactly_from_its_onset(make_sim):
    """Same seed with and without a pulse at 2.0 ms: the traces agree up to the pulse, then the cell next to the
    electrode is depolarised from the very next time step."""
    system = make_system("S1")
    nearest = int(np.argmin(system.mea.distances_um(system.positions_um)[0]))
    quiet = make_sim(system, seed=3, record_voltages=[nearest])
    pulsed = make_sim(system, seed=3, record_voltages=[nearest])
    quiet.step(None, 7.0)
    pulsed.step(None, 7.0)
    a = quiet.step(None, 5.0).voltage_mv[0, 0]
    b = pulsed.step([Pulse(0, 2.0, 1.0, shape="monophasic")], 5.0).voltage_mv[0, 0]
    onset = 20  # 2.0 ms at 0.1 ms steps; the trace is sampled at the start of each step
    np.testing.assert_array_equal(a[: onset + 1], b[: onset + 1])
    assert b[onset + 1] > a[onset + 1] + 1.0, "a cathodic pulse depolarises from the step it starts on"


def test_no_voltages_by_default(sim_s1):
    rec = sim_s1.step(None, 5.0)
    assert rec.voltage_mv.size == 0


@pytest.mark.parametrize("index", [[10], [-1], [0, 99]])
def test_bad_voltage_index_is_named(index):
    with pytest.raises(ValueError, match="record_voltages"):
        Simulation("S1", target="numpy", record_voltages=index)


# -------------------------------------------------------------------------------------------------- bad input
def _nan():
    w = np.zeros((10, 4))
    w[3, 1] = np.nan
    return w


def _inf():
    w = np.zeros((10, 4))
    w[7, 2] = -np.inf
    return w


def _too_strong():
    w = np.zeros((10, 4))
    w[2, 0] = -60.0
    return w


BAD_STEPS = [
    pytest.param(_nan, 1.0, r"nan", id="nan-current"),
    pytest.param(_inf, 1.0, r"inf", id="inf-current"),
    pytest.param(_too_strong, 1.0, r"-60.*50|50.*-60", id="over-limit"),
    pytest.param(lambda: [Pulse(0, 0.0, 55.0)], 1.0, r"55", id="pulse-over-limit"),
    pytest.param(lambda: np.zeros((10, 5)), 1.0, r"\(10, 5\)", id="wrong-channels"),
    pytest.param(lambda: np.zeros((20, 4)), 1.0, r"\(20, 4\)", id="wrong-timesteps"),
    pytest.param(lambda: np.zeros((2, 10, 4)), 1.0, r"\(2, 10, 4\)", id="wrong-copies"),
    pytest.param(lambda: np.zeros(10), 1.0, r"\(10,\)", id="1d"),
    pytest.param(lambda: "stim", 1.0, r"str", id="string"),
    pytest.param(lambda: [Pulse(7, 0.0, 5.0)], 1.0, r"channel 7", id="pulse-channel"),
    pytest.param(lambda: [Pulse(0, 3.0, 5.0)], 1.0, r"3(\.0)? ms", id="pulse-outside-window"),
    pytest.param(lambda: None, 0.0, r"\b0(\.0)?\b", id="zero-duration"),
    pytest.param(lambda: None, -5.0, r"-5", id="negative-duration"),
    pytest.param(lambda: None, float("nan"), r"nan", id="nan-duration"),
    pytest.param(lambda: None, float("inf"), r"inf", id="inf-duration"),
    pytest.param(lambda: None, 1.5, r"1\.5", id="not-a-multiple-of-control-dt"),
    pytest.param(lambda: None, 0.05, r"0\.05", id="not-a-multiple-of-dt"),
    pytest.param(lambda: None, "10", r"'10'", id="string-duration"),
]


@pytest.mark.parametrize("make_stimulus, duration, pattern", BAD_STEPS)
def test_bad_step_raises_and_changes_nothing(make_sim, make_stimulus, duration, pattern):
    sim = make_sim("S1", seed=21)
    clean = make_sim("S1", seed=21)
    first = [sim.step(pulse_train(0, 20.0, 1.0), 5.0)]
    expected = [clean.step(pulse_train(0, 20.0, 1.0), 5.0)]
    with pytest.raises(ValueError, match=pattern):
        sim.step(make_stimulus(), duration)
    assert sim.time_ms == pytest.approx(5.0), "a rejected step must not advance time"
    # the simulation continues exactly as if the bad call had never happened
    first += [sim.step(pulse_train(2, 20.0, 0.5), 5.0), sim.step(None, 5.0)]
    expected += [clean.step(pulse_train(2, 20.0, 0.5), 5.0), clean.step(None, 5.0)]
    assert_same_spikes(first, expected)


def test_bad_run_raises_and_changes_nothing(sim_s1):
    with pytest.raises(ValueError, match="nan"):
        sim_s1.run(float("nan"))
    with pytest.raises(ValueError, match="-70"):
        sim_s1.run(1.0, np.full((10, 4), -70.0))
    assert sim_s1.time_ms == 0.0
    assert sim_s1.run(2.0).duration_ms == pytest.approx(2.0)


def test_empty_pulse_list_means_no_stimulation(make_sim):
    """An agent that chooses no pulses passes an empty list of Pulse; that is the same as no stimulus."""
    a, b = make_sim("S1", seed=2), make_sim("S1", seed=2)
    assert_same_spikes([a.step([], 5.0)], [b.step(None, 5.0)])


@pytest.mark.parametrize("n_copies", [0, -1, 1.5, True, None, "2"])
def test_bad_n_copies_is_named(n_copies):
    with pytest.raises(ValueError, match=r"n_copies.*" + re.escape(repr(n_copies))):
        Simulation("S1", target="numpy", n_copies=n_copies)


@pytest.mark.parametrize("name", ["S9", "s2", "culture.txt"])
def test_unknown_system_name_is_named(name):
    with pytest.raises(ValueError, match=repr(name).replace(".", r"\.")):
        Simulation(name, target="numpy")


@pytest.mark.parametrize("kwargs, word", [
    (dict(target="cuda"), "cuda"), (dict(dt_ms=0.0), "dt_ms"), (dict(dt_ms=float("nan")), "dt_ms"),
    (dict(control_dt_ms=0.15), "0.15"), (dict(control_dt_ms=-1.0), "-1"),
])
def test_bad_constructor_arguments_are_named(kwargs, word):
    with pytest.raises(ValueError, match=re.escape(word)):
        Simulation("S1", **{"target": "numpy", **kwargs})


def test_custom_control_dt(make_sim):
    sim = make_sim("S1", seed=0, control_dt_ms=2.0)
    assert sim.step(None, 4.0).duration_ms == pytest.approx(4.0)
    with pytest.raises(ValueError, match="3"):
        sim.step(None, 3.0)
    assert sim.time_ms == pytest.approx(4.0)


def test_closed_simulation_refuses_to_step():
    sim = Simulation("S1", target="numpy")
    sim.step(None, 1.0)
    sim.close()
    with pytest.raises(RuntimeError):
        sim.step(None, 1.0)
    with pytest.raises(RuntimeError):
        sim.reset(0)
    sim.close()  # closing twice is harmless


def test_context_manager_closes():
    with Simulation("S1", target="numpy") as sim:
        sim.step(None, 1.0)
    with pytest.raises(RuntimeError):
        sim.step(None, 1.0)


def test_accepts_system_objects_and_properties(make_sim):
    system = make_system("S2")
    sim = make_sim(system, seed=0)
    assert sim.system is system
    assert (sim.n_neurons, sim.n_channels) == (100, 16)
    assert math.isclose(sim.time_ms, 0.0)


# ------------------------------------------------------------------------------------------- per-copy reset
def _in_flight_copies(sim: Simulation) -> set[int]:
    """Copies that still have synaptic events waiting in a spike queue."""
    copies: set[int] = set()
    for obj in sim._backend.net.objects:
        for pathway in getattr(obj, "_pathways", []):
            pre = np.asarray(obj.variables["_synaptic_pre"].get_value())
            _offset, slots = pathway.queue._full_state()
            for slot in slots:
                copies.update((pre[np.asarray(slot, dtype=int)] // sim.n_neurons).tolist())
    return copies


def test_reset_copies_leaves_the_other_copies_untouched():
    burst = pulse_train(0, 20.0, 1.0, 3, 100.0)

    def run(reset_copy_1: bool):
        with Simulation(TINY_CULTURE, n_copies=3, seed=5, target="numpy") as sim:
            sim.step(burst, 30.0)
            if reset_copy_1:
                sim.reset_copies([1], [11])
            rec = sim.step(None, 60.0)
            return [rec.copy_of(k) for k in range(3)]

    plain, with_reset = run(False), run(True)
    for k in (0, 2):
        assert np.array_equal(plain[k].neuron_i, with_reset[k].neuron_i)
        assert np.array_equal(plain[k].neuron_t_ms, with_reset[k].neuron_t_ms)
        assert np.array_equal(plain[k].channel_t_ms, with_reset[k].channel_t_ms)


def test_reset_copies_gives_the_copy_its_fresh_state_and_drops_its_in_flight_spikes():
    with Simulation(TINY_CULTURE, n_copies=2, seed=5, target="numpy") as sim:
        n = sim.n_neurons
        neurons = sim._backend.built.neurons
        sim.reset(9)
        fresh_v = np.array(neurons.variables["v"].get_value()[n:])
        fresh_u = np.array(neurons.variables["u"].get_value()[n:])
        sim.reset(5)
        found = False
        for _ in range(40):  # stimulate until copy 1 has events in flight at a step boundary
            sim.step([Pulse(c, 0.5, 30.0) for c in range(sim.n_channels)], 1.0)
            if 1 in _in_flight_copies(sim):
                found = True
                break
        assert found, "the test needs in-flight spikes of copy 1"
        sim.reset_copies([1], [9])
        assert 1 not in _in_flight_copies(sim)
        assert np.array_equal(neurons.variables["v"].get_value()[n:], fresh_v)
        assert np.array_equal(neurons.variables["u"].get_value()[n:], fresh_u)
        assert np.all(np.asarray(neurons.variables["g_ampa"].get_value()[n:]) == 0)


@pytest.mark.parametrize("copies, seeds", [([3], [1]), ([0, 0], [1, 2]), ([-1], [1]), ([0], [1, 2]), ([0], [-4])])
def test_reset_copies_rejects_bad_indices_and_seeds(copies, seeds):
    with Simulation(TINY_CULTURE, n_copies=3, seed=5, target="numpy") as sim:
        with pytest.raises(ValueError):
            sim.reset_copies(copies, seeds)
        sim.step(None, 5.0)  # still usable
