"""Reference circuit 1, the LIF neuron: the discrete recurrence step by step, the Brian2 LIF against the analytic
F-I curve, resets, refractoriness, tau, adaptation, populations, the BrainPy tutorial's protocols with its numbers,
the MEA and direct current, the analysis helpers, the LIF-RateTrack env, and bad input. Every simulation runs on
the numpy target."""

from __future__ import annotations

import json
import math

import gymnasium as gym
import numpy as np
import pytest
from brian2 import Mohm, mV, ms, nA

from livn_rl import Simulation, make_system, pulse_train
from livn_rl.analysis import fi_curve, firing_rate, isi_stats, rheobase, spike_trains
from livn_rl.recording import Recording
from livn_rl.systems import LIFSystem, list_reference_systems, list_systems, simulate_lif
from livn_rl.experiments.lif import (
    TUTORIAL_R_SCALE, measure_fi_curve, tutorial_fi_curve, tutorial_neuron, tutorial_population, tutorial_trace,
)
from livn_rl.systems.lif import lif_rate

FAST = {"target": "numpy"}
EXAMPLE = {"num_steps": 200, "rate": 0.08, "threshold": 1.0, "spike_fraction": 0.4, "dv": 0.04, "du": 1.0,
           "bias": 0.0, "seed": 1}


# ------------------------------------------------------------------------------------------------ discrete time
def test_discrete_lif_follows_the_recurrence_step_by_step():
    trace = simulate_lif(**EXAMPLE)
    s_in = np.random.default_rng(1).random(200) < 0.08  # Bernoulli(rate) input, drawn from the seed
    np.testing.assert_array_equal(trace["input"], s_in.astype(int))
    w = 1.0 * 0.4
    u = v = 0.0
    for t in range(200):
        u = (1 - 1.0) * u + w * s_in[t]
        v = (1 - 0.04) * v + u + 0.0
        spike = v >= 1.0
        if spike:
            v = 0.0
        assert trace["spikes"][t] == int(spike), t
        assert trace["current"][t] == pytest.approx(u, abs=1e-12), t
        assert trace["membrane_potential"][t] == pytest.approx(v, abs=1e-12), t
    assert trace["t"] == list(range(200)) and trace["threshold"] == 1.0 and trace["weight"] == pytest.approx(0.4)
    assert sum(trace["spikes"]) == len(trace["spike_steps"]) >= 1
    assert max(trace["membrane_potential"]) < 1.0  # recorded after the reset


def test_discrete_lif_is_seeded_and_serialises_to_json():
    a, b = simulate_lif(**EXAMPLE), simulate_lif(**EXAMPLE)
    assert a == b
    assert json.loads(json.dumps(a)) == a
    assert simulate_lif(**{**EXAMPLE, "seed": 2})["input"] != a["input"]


def test_discrete_lif_with_bias_and_slow_synapse():
    # no input, constant bias b: v_t = b (1 - (1 - dv)^t) / dv reaches the threshold at a known step
    trace = simulate_lif(50, rate=0.0, threshold=1.0, spike_fraction=0.4, dv=0.1, du=0.5, bias=0.2, seed=0)
    first = math.ceil(math.log(1 - 1.0 * 0.1 / 0.2) / math.log(0.9)) - 1  # 0-based step where v_t >= 1
    assert trace["spike_steps"][0] == first == 6
    assert not any(trace["input"]) and not any(trace["current"])


@pytest.mark.parametrize(
    "kwargs, word",
    [
        ({"rate": -0.1}, "rate"), ({"rate": 1.5}, "rate"), ({"dv": 1.2}, "dv"), ({"du": -0.1}, "du"),
        ({"threshold": 0.0}, "threshold"), ({"threshold": -1.0}, "threshold"), ({"num_steps": 0}, "num_steps"),
        ({"num_steps": 2.5}, "num_steps"), ({"spike_fraction": float("nan")}, "spike_fraction"),
        ({"bias": float("inf")}, "bias"), ({"seed": -1}, "seed"),
    ],
)
def test_discrete_lif_rejects_bad_input_by_name(kwargs, word):
    with pytest.raises(ValueError, match=word) as err:
        simulate_lif(**{**EXAMPLE, **kwargs})
    assert repr(next(iter(kwargs.values()))) in str(err.value)


# ------------------------------------------------------------------------------------------- the Brian2 LIF
def test_lif_is_a_named_system_with_an_mea_that_reaches_it():
    assert "LIF" in list_reference_systems() and "LIF" not in list_systems()  # the cultures' list is unchanged
    system = make_system("LIF", n_neurons=50, tau=20 * ms)
    assert isinstance(system, LIFSystem) and system.n_neurons == 50 and system.mea.n_channels == 4
    assert np.all(system.mea.cells_in_reach(system.positions_um) > 0)
    assert system.describe()["parameters"]["tau_ms"] == 20.0
    json.dumps(system.describe())
    assert float(system.rheobase()[0] / nA) == pytest.approx(0.15)
    text = LIFSystem(1, tau="20 ms", R="0.1 GOhm", V_th="-0.05 V", I_ext="150 pA")  # strings with units work too
    assert [float(text.params[k][0]) for k in ("tau", "R", "V_th", "I_ext")] == pytest.approx([0.02, 1e8, -0.05, 1.5e-10])
    with pytest.raises(ValueError, match="LIF"):
        make_system("LIFF")


@pytest.mark.parametrize("t_ref", [0 * ms, 2 * ms])
def test_fi_curve_matches_the_analytic_lif_rate_within_2_percent(t_ref):
    currents = np.linspace(0.1, 0.5, 41) * nA  # rheobase 0.15 nA; up to 280 Hz (180 Hz with t_ref = 2 ms)
    fi = measure_fi_curve(currents, duration_ms=300.0, dt_ms=0.025, t_ref=t_ref, **FAST)
    fires = fi["analytic_hz"] > 0
    assert np.all(fi["rate_hz"][~fires] == 0)  # silent below (and at) the rheobase
    error = np.abs(fi["rate_hz"][fires] / fi["analytic_hz"][fires] - 1)
    assert error.max() < 0.02, error.max()  # measured: 0.56 % (0.38 % with t_ref = 2 ms)
    assert np.nanmax(fi["cv"]) < 1e-6  # perfectly regular
    assert rheobase(fi["current_na"], fi["rate_hz"]) == pytest.approx(0.16)  # first grid current above 0.15 nA
    analytic = lif_rate(0.3 * nA, 10 * ms, 100 * Mohm, -65 * mV, -50 * mV, -65 * mV, t_ref)
    assert float(analytic) == pytest.approx(1 / (float(t_ref / ms) / 1e3 + 0.01 * math.log(30 / 15)))


def test_soft_reset_fires_more_than_hard_reset_under_strong_input():
    # in continuous time both resets start from V_reset; on a time grid the soft reset keeps the threshold
    # overshoot, so it fires at the continuous-time rate while the hard reset rounds every period up to the grid
    dt = 0.1
    rates = {reset: measure_fi_curve([1.0] * nA, 100.0, dt, reset=reset, **FAST) for reset in ("hard", "soft")}
    analytic = rates["hard"]["analytic_hz"][0]  # 1 / (10 ms ln(100 / 85)) = 615 Hz
    hard, soft = rates["hard"]["rate_hz"][0], rates["soft"]["rate_hz"][0]
    assert hard == pytest.approx(1000.0 / (dt * math.ceil(1000.0 / analytic / dt)), rel=1e-6)  # 588 Hz
    assert soft == pytest.approx(analytic, rel=0.01)
    assert soft > 1.03 * hard


def test_larger_tau_gives_a_lower_rate():
    taus = np.array([5.0, 10.0, 20.0, 40.0])
    system = LIFSystem(4, tau=taus * ms, I_ext=0.3 * nA)
    with Simulation(system, dt_ms=0.05, **FAST) as sim:
        rates = isi_stats(sim.run(200.0))["rate_hz"]
    assert np.all(np.diff(rates) < 0), rates
    np.testing.assert_allclose(rates, system.analytic_rate(0.3 * nA), rtol=0.02)


def test_adaptation_slows_firing_and_lengthens_intervals():
    plain = LIFSystem(2, I_ext=0.3 * nA, b_w=np.array([0.0, 0.02]) * nA, tau_w=100 * ms)
    with Simulation(plain, dt_ms=0.1, **FAST) as sim:
        rec = sim.run(300.0)
    trains = spike_trains(rec)
    rates = firing_rate(rec)
    assert rates[1] < 0.7 * rates[0]
    isi = np.diff(trains[1])
    assert isi[-1] > 1.5 * isi[0]  # spike-frequency adaptation
    stats = isi_stats(rec)
    assert stats["cv"][0] < 1e-6 < 0.1 < stats["cv"][1]


def test_population_with_random_initial_voltages_and_a_step_current():
    system = LIFSystem(50, v_init=-65 * mV, v_init_sd=5 * mV, t_ref=2 * ms)
    with Simulation(system, seed=3, dt_ms=0.1, record_voltages=[0, 1], **FAST) as sim:
        before = sim.run(100.0)
        sim.set_neuron_variable("I_ext", 0.25 * nA)
        after = sim.run(400.0)
        v = before.voltage_mv[0]  # (2 recorded neurons, time): different starts that relax to V_rest
        assert abs(v[0, 0] - v[1, 0]) > 0.1 and v[:, -1] == pytest.approx([-65.0, -65.0], abs=0.01)
        assert firing_rate(before, start_ms=20.0).max() == 0  # at most one spike from V0 > V_th, then rest
        centres, rate = after.population_rate_hz(bin_ms=10.0)
        assert centres.size == 40 and np.allclose(np.diff(centres), 10.0)
        expected = float(system.analytic_rate(0.25 * nA, neuron=0))  # 89.6 Hz
        assert rate[10:].mean() == pytest.approx(expected, rel=0.03)
        assert isi_stats(after, start_ms=150.0)["rate_hz"] == pytest.approx(np.full(50, expected), rel=0.02)
        sim.reset(seed=3)  # restores the built current: silent again, same initial voltages
        again = sim.run(100.0)
        np.testing.assert_array_equal(again.voltage_mv, before.voltage_mv)
        np.testing.assert_array_equal(again.neuron_t_ms, before.neuron_t_ms)


# ------------------------------------------------------------------------------- the BrainPy tutorial's protocols
def test_the_tutorials_resistance_cannot_fire_and_is_scaled():
    from brian2 import ohm

    assert float(tutorial_neuron(1, R=1 * ohm).analytic_rate(5 * nA)[0]) == 0.0  # R I = 5 nV: no spike at 5 nA
    scaled = tutorial_neuron()
    assert TUTORIAL_R_SCALE == 1e7 and float(scaled.rheobase()[0] / nA) == pytest.approx(1.5)


def test_tutorial_step_current_statistics():
    """Part 3: 2 nA for 200 ms. The period is tau ln(R I / (R I - 15 mV)) = 10 ln 4 = 13.86 ms; a hard reset on a
    0.1 ms grid rounds it up to 13.9 ms: 14 spikes, 70 Hz, ISI CV 0."""
    trace = tutorial_trace(2.0, 200.0, **FAST)
    period = 10.0 * math.log(4.0)
    assert trace["mean_isi_ms"] == pytest.approx(0.1 * math.ceil(period / 0.1))
    assert (trace["n_spikes"], trace["rate_hz"]) == (14, 70.0) and trace["isi_cv"] < 1e-9
    assert trace["analytic_hz"] == pytest.approx(1000.0 / period)


def test_tutorial_fi_curve_and_rheobase():
    """Part 4: 20 currents over 0-5 nA, 500 ms each: silent up to the rheobase (1.5 nA), the first grid current
    above it is 30/19 nA, and every count rate is within the grid's rounding of theory."""
    fi = tutorial_fi_curve(**FAST)
    assert fi["current_na"].size == 20 and fi["current_na"][-1] == 5.0
    assert fi["rheobase_na"] == pytest.approx(30 / 19) and fi["rheobase_theory_na"] == pytest.approx(1.5)
    assert np.all(fi["rate_hz"][fi["current_na"] < 1.5] == 0)
    fires = fi["analytic_hz"] > 0
    assert np.all(np.abs(fi["rate_hz"][fires] - fi["analytic_hz"][fires]) < 0.03 * fi["analytic_hz"][fires] + 2.0)


def test_tutorial_hard_and_soft_reset_at_3_na():
    """Part 5: at 3 nA the period is 10 ln 2 = 6.93 ms; the hard reset rounds it to 7.0 ms, the soft reset keeps the
    overshoot and averages 6.93 ms: 28 spikes each in 200 ms, the soft reset fires 0 % more (the difference per
    period is 0.07 ms, less than one spike in 200 ms)."""
    hard, soft = (tutorial_trace(3.0, 200.0, reset=reset, **FAST) for reset in ("hard", "soft"))
    assert hard["mean_isi_ms"] == pytest.approx(7.0) and soft["mean_isi_ms"] == pytest.approx(10 * math.log(2), rel=0.005)
    assert hard["n_spikes"] == soft["n_spikes"] == 28 and (soft["rate_hz"] / hard["rate_hz"] - 1) * 100 == 0.0


def test_tutorial_population_and_tau():
    """Part 6: 50 neurons, V(0) ~ Normal(-65, 5) mV, 2.5 nA from 50 ms: after the onset they fire at the theoretical
    rate (109 Hz); part 7: at 2 nA a larger tau fires less."""
    pop = tutorial_population(**FAST)
    assert pop["t_ms"].size == 30 and pop["rate_after_onset_hz"] == pytest.approx(pop["analytic_hz"], rel=0.02)
    assert np.sum(pop["recording"].neuron_t_ms < 50.0) <= 1  # before the onset only a V(0) above V_th (p = 0.13 %)
    counts = [tutorial_trace(2.0, 150.0, tau=tau * ms, **FAST)["n_spikes"] for tau in (5.0, 10.0, 20.0)]
    assert counts == [21, 10, 5]


def test_the_mea_drives_lif_neurons():
    system = LIFSystem(4)
    with Simulation(system, dt_ms=0.1, **FAST) as sim:
        assert sim.run(50.0).neuron_i.size == 0
        rec = sim.step(pulse_train(0, 20.0, 5.0, n_pulses=5, rate_hz=100.0), 50.0)
    assert rec.neuron_i.size > 0 and rec.channel_c.size > 0


def test_set_neuron_variable_checks_name_units_shape_and_copy():
    with Simulation(LIFSystem(3), n_copies=2, **FAST) as sim:
        sim.set_neuron_variable("I_ext", np.array([0.1, 0.2, 0.3]) * nA, copy=1)
        sim.set_neuron_variable("I_ext", np.ones((2, 3)) * 0.05 * nA)
        sim.set_neuron_variable("I_ext", 0.4 * nA, copy=0)
        values = np.asarray(sim._backend.built.neurons.I_ext[:] / nA)
        np.testing.assert_allclose(values, [0.4, 0.4, 0.4, 0.05, 0.05, 0.05])
        for kwargs, word in [
            ({"name": "I_nope", "values": 0 * nA}, "I_ext"), ({"name": "I_ext", "values": 0.2}, "units"),
            ({"name": "I_ext", "values": 2 * mV}, "units"), ({"name": "I_ext", "values": np.ones(4) * nA}, "shape"),
            ({"name": "I_ext", "values": 0 * nA, "copy": 2}, "copy"), ({"name": "i", "values": 0}, "writable"),
        ]:
            with pytest.raises(ValueError, match=word):
                sim.set_neuron_variable(**kwargs)


@pytest.mark.parametrize(
    "kwargs, word",
    [
        ({"tau": 10}, "tau must be given in units of ms"), ({"tau": 10 * mV}, "tau must be given in units of ms"),
        ({"tau": -5 * ms}, "tau must be > 0 ms"), ({"R": 0 * Mohm}, "R must be > 0"),
        ({"t_ref": -1 * ms}, "t_ref must be >= 0"), ({"V_th": -50 * nA}, "V_th must be given in units of mV"),
        ({"V_reset": -40 * mV}, "V_reset must lie below V_th"), ({"reset": "medium"}, "reset"),
        ({"n_neurons": 0}, "n_neurons"), ({"tau": np.ones(3) * ms}, "one value per neuron"),
        ({"a_w": 1 * nA}, "a_w must be given in units of nS"), ({"v_init_sd": -1 * mV}, "v_init_sd"),
        ({"tau": "10 mV"}, "tau must be given in units of ms"), ({"R": "lots"}, "R must be given in units of Mohm"),
    ],
)
def test_lif_rejects_wrong_units_and_values_by_name(kwargs, word):
    with pytest.raises(ValueError, match=word):
        LIFSystem(**{"n_neurons": 2, **kwargs})


# ------------------------------------------------------------------------------------------ analysis helpers
def _recording(spikes: dict[int, list[float]], duration_ms: float = 100.0, n: int = 4) -> Recording:
    i = np.concatenate([[k] * len(t) for k, t in spikes.items()]).astype(np.int64)
    t = np.concatenate([t for t in spikes.values()]).astype(float)
    return Recording(0.0, duration_ms, n, 1, 1, i, t, np.zeros(i.size, np.int64))


def test_rate_isi_and_fi_helpers_on_a_known_recording():
    rec = _recording({0: [10, 20, 30, 40], 1: [50, 10, 30], 3: [5.0]})  # unsorted on purpose
    np.testing.assert_allclose(firing_rate(rec), [40.0, 30.0, 0.0, 10.0])
    np.testing.assert_allclose(firing_rate(rec, [1], start_ms=25.0, stop_ms=75.0), [40.0])
    stats = isi_stats(rec)
    np.testing.assert_allclose(stats["mean_ms"][:2], [10.0, 20.0])
    np.testing.assert_allclose(stats["cv"][:2], [0.0, 0.0])
    assert np.isnan(stats["mean_ms"][2]) and np.isnan(stats["cv"][3]) and stats["rate_hz"][3] == 0.0
    np.testing.assert_array_equal(stats["n_intervals"], [3, 2, 0, 0])
    irregular = isi_stats(_recording({0: [0, 10, 40]}))  # intervals 10, 30: CV = 10 / 20
    assert irregular["cv"][0] == pytest.approx(0.5)
    currents, rates = fi_curve(rec, [0.3, 0.2, 0.0, 0.1])
    np.testing.assert_allclose(currents, [0.0, 0.1, 0.2, 0.3])
    np.testing.assert_allclose(rates, [0.0, 10.0, 50.0, 100.0])  # ISI rate, the count rate with one spike
    assert rheobase(currents, rates) == 0.1 and rheobase(currents, rates, min_rate_hz=60.0) == 0.3
    assert rheobase(currents, np.zeros(4)) is None
    with pytest.raises(ValueError, match="one current per neuron"):
        fi_curve(rec, [0.1, 0.2], neurons=[0, 1, 2])
    with pytest.raises(ValueError, match="neurons"):
        firing_rate(rec, [7])
    with pytest.raises(ValueError, match="start_ms < stop_ms"):
        isi_stats(rec, start_ms=50.0, stop_ms=10.0)


# ------------------------------------------------------------------------------------------ LIF-RateTrack-v0
def _episode(env, seed: int, n: int, policy) -> tuple[np.ndarray, np.ndarray]:
    """Observations (n + 1) and rewards (n) of an episode."""
    obs, _ = env.reset(seed=seed)
    observations, rewards = [obs], []
    for _ in range(n):
        obs, reward, *_ = env.step(policy(env))
        observations.append(obs)
        rewards.append(reward)
    return np.array(observations), np.array(rewards)


def test_rate_track_env_is_deterministic_and_the_oracle_beats_a_constant_current():
    env = gym.make("livn_rl/LIF-RateTrack-v0", switch_every=4, **FAST)
    try:
        oracle = lambda e: e.unwrapped.oracle_action()  # noqa: E731
        observations, rewards = _episode(env, 5, 8, oracle)
        again = _episode(env, 5, 8, oracle)
        np.testing.assert_array_equal(observations, again[0])
        np.testing.assert_array_equal(rewards, again[1])
        assert observations[0, 0] != _episode(env, 6, 0, oracle)[0][0, 0]  # another seed, another target
        assert len(set(observations[:, 0].tolist())) == 3  # targets of steps 1-4, 5-8 and the one after
        _, low = _episode(env, 5, 8, lambda e: np.array([-1.0], np.float32))
        assert rewards.mean() > -0.1 and rewards.mean() > low.mean() + 0.1
        obs, reward, terminated, truncated, info = env.step(np.array([1.0], np.float32))
        assert info["current_na"] == pytest.approx(0.3) and -1.0 <= reward <= 0.0 and not terminated
        assert obs[2] == 1.0 and env.observation_space.contains(obs)
    finally:
        env.close()


def test_rate_track_vector_env_gives_each_copy_its_own_current():
    venv = gym.make_vec("livn_rl/LIF-RateTrack-v0", num_envs=2, **FAST)
    try:
        venv.reset(seed=0)
        for _ in range(2):
            obs, rewards, *_ = venv.step(np.array([[-1.0], [1.0]], np.float32))
        assert obs[0, 1] == 0.0 and obs[1, 1] > 0.5  # 0.1 nA is below the rheobase; 0.3 nA gives about 112 Hz
        venv.reset(seed=0)  # the built current returns: nothing fires in the first window of an episode at -1
        obs, *_ = venv.step(np.array([[-1.0], [-1.0]], np.float32))
        assert np.all(obs[:, 1] == 0.0)
    finally:
        venv.close()


@pytest.mark.parametrize(
    "kwargs, word",
    [
        ({"system": "S1"}, "LIFSystem"), ({"current_range_na": (0.3, 0.1)}, "current_range_na"),
        ({"target_range_hz": (-1, 5)}, "target_range_hz"), ({"switch_every": 0}, "switch_every"),
        ({"rate_scale_hz": 0}, "rate_scale_hz"),
    ],
)
def test_rate_track_env_rejects_bad_arguments(kwargs, word):
    with pytest.raises(ValueError, match=word):
        gym.make("livn_rl/LIF-RateTrack-v0", **{**FAST, **kwargs})
