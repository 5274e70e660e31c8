"""Reference circuit 2, the ring attractor: structure and config, the bump decoder and the termination criterion (ours
and the original notebook's convention) on synthetic spikes, a bump that holds the cue under normal serotonin (and
fails sooner with more serotonin), the original-style GIF, the state traces, the ring in the closed loop
(electrodes, sectors), the RingAttractor-Steer env, the ``livn-rl ring`` command and bad input."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest

from livn_rl import Simulation, make_system, pulse_train
from livn_rl.cli import main
from livn_rl.systems import list_reference_systems
from livn_rl.systems.cells import FAST_SPIKING, REGULAR_SPIKING
from livn_rl.systems.ring import (
    RingAttractorSystem, RingConfig, bump_drift, bump_width, decode_bump, population_vector, termination,
    termination_after_cue_s, wrap_deg,
)


# ----------------------------------------------------------------------------------------------- structure
def test_ring_structure_follows_the_config():
    ring = make_system("Ring")
    assert "Ring" in list_reference_systems() and isinstance(ring, RingAttractorSystem)
    assert ring.config.exc_cell == REGULAR_SPIKING and ring.config.inh_cell == FAST_SPIKING  # the published values
    assert [(p.name, p.size, p.cell) for p in ring.populations] == [("E", 360, "RS"), ("I", 90, "FS")]
    np.testing.assert_allclose(ring.exc_angles_deg[[0, 1, 100, 359]], [0.0, 1.0, 100.0, 359.0])
    pre, post, w = ring.connections["pre"], ring.connections["post"], ring.connections["w_nS"]
    assert not np.any(pre == post)
    cfg = ring.config
    ee = (pre < 360) & (post < 360)
    d = np.abs(wrap_deg(pre[ee] - post[ee]))  # one cell per degree
    np.testing.assert_allclose(w[1, ee], cfg["j_ee"] * cfg["g_ee_nmda_nS"] * np.exp(-d**2 / cfg["sigma_deg"] ** 2))
    assert d.max() == 43 and np.all(w[2:, ee] == 0)  # cut where exp(-d^2 / sigma^2) < 1e-4; no GABA from E cells
    assert np.bincount(post[ee], minlength=360).tolist() == [86] * 360  # every E cell: 43 neighbours each side
    ie = (pre >= 360) & (post < 360)
    assert ie.sum() == 90 * 360 and np.all(w[2, ie] == cfg["j_ie"] * cfg["g_ie_gaba_a_nS"]) and np.all(w[:2, ie] == 0)
    assert ((pre >= 360) & (post >= 360)).sum() == 90 * 89 and ((pre < 360) & (post >= 360)).sum() == 360 * 90
    assert ring.mea.n_channels == 8 and np.all(ring.mea.cells_in_reach(ring.positions_um) > 0)
    facts = ring.describe()
    json.dumps(facts)
    assert facts["serotonin"] == "normal" and facts["parameters"]["cue_angle_deg"] == 100.0


def test_serotonin_levels_and_cue_profile():
    gains = {level: RingAttractorSystem(serotonin=level).serotonin_gain for level in
             ("normal", "increased", "decreased", "slightly_decreased")}
    expected = {"normal": (1.0, 1.0), "increased": (0.97, 1.0), "decreased": (1.02, 1.02), "slightly_decreased": (1.01, 1.01)}
    for level, (e, i) in expected.items():
        assert np.all(gains[level][:360] == e) and np.all(gains[level][360:] == i), level
    custom = np.linspace(0.9, 1.1, 450)
    np.testing.assert_array_equal(RingAttractorSystem(serotonin=custom).serotonin_gain, custom)
    ring = RingAttractorSystem(cue_angle_deg=250.0, cue_amplitude=3.0, cue_eta=5.0)
    cue = ring.cue_gain()
    assert cue.argmax() == 250 and cue[250] == pytest.approx(3.0) and np.all(cue[360:] == 0)
    assert cue[250 + 30] == pytest.approx(3.0 * np.exp(5.0 * (np.cos(np.radians(30)) - 1)))
    sectors = ring.sector_current([10.0, 20.0, 30.0, 40.0])  # sectors centred on 0, 90, 180, 270 degrees
    assert sectors[[0, 44, 45, 90, 134, 135, 180, 315, 359]].tolist() == [10, 10, 20, 20, 20, 30, 30, 10, 10]
    assert np.all(sectors[360:] == 0)


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"serotonin": np.ones(449)}, "shape (449,), expected (450,)"),
        ({"serotonin": np.r_[np.ones(449), 0.0]}, "neuron 449 has 0.0"),
        ({"serotonin": np.r_[-1.0, np.ones(449)]}, "> 0; neuron 0"),
        ({"serotonin": np.r_[np.ones(449), np.nan]}, "finite"),
        ({"serotonin": "tired"}, "unknown serotonin level 'tired'"),
        ({"serotonin": {"E": 1.0, "I": 0.0}}, "gain of I must be a finite number > 0"),
        ({"cue_angle_deg": float("nan")}, "cue_angle_deg must be a finite number"),
        ({"cue_angle_deg": float("inf")}, "cue_angle_deg must be a finite number"),
        ({"cue_stop_ms": 6000.0}, "cue window must lie inside the trial"),
        ({"cue_start_ms": -10.0}, "cue_start_ms must be >= 0"),
        ({"cue_start_ms": 1300.0}, "cue_start_ms=1300"),
        ({"trial_ms": 1200.0}, "cue window must lie inside the trial"),
        ({"sigma_deg": 0.0}, "sigma_deg must be > 0"),
        ({"n_exc": 0}, "n_exc must be a whole number"),
        ({"j_eee": 1.0}, "unknown ring parameter 'j_eee'"),
    ],
)
def test_ring_rejects_bad_input_by_name(kwargs, words):
    with pytest.raises(ValueError) as err:
        RingAttractorSystem(**kwargs)
    assert words in str(err.value)


def test_ring_config_file_is_checked(tmp_path):
    bad = tmp_path / "ring.yaml"
    bad.write_text("cells: {}\n")
    with pytest.raises(ValueError, match="missing section"):
        RingConfig.load(bad)
    with pytest.raises(ValueError, match="does not exist"):
        RingConfig.load(tmp_path / "none.yaml")
    assert RingConfig.load(j_ee=1.5)["j_ee"] == 1.5


# -------------------------------------------------------------------------------------- analysis, synthetic
def _train(neuron: int, start: float, stop: float, rate_hz: float) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(start, stop, 1000.0 / rate_hz)
    return np.full(t.size, neuron), t


def _join(*trains):
    return np.concatenate([i for i, _ in trains]), np.concatenate([t for _, t in trains])


def test_termination_criterion_on_synthetic_spikes():
    # 40 Hz until 3 s: the window starting at s holds (3000 - s) / 25 spikes, i.e. (3000 - s) / 12.5 Hz, which is
    # no longer above 12 Hz from s = 2850 (6 spikes = 12 Hz)
    i, t = _train(100, 1250.0, 3000.0, 40.0)
    end = termination(i, t, 360, 1250.0, 5000.0)
    assert (end.time_ms, end.reason, end.duration_ms) == (2850.0, "extinct", 1600.0)
    # a 300 Hz burst of 60 spikes from 2 s: the window [1700, 2200) holds all of them (120 Hz > 100 Hz), [1650, 2150)
    # only 45 (90 Hz)
    burst = (np.full(60, 5), 2000.0 + np.arange(60) * 10.0 / 3.0)
    end = termination(*_join((i, t), burst), 360, 1250.0, 5000.0)
    assert (end.time_ms, end.reason) == (1700.0, "runaway")
    held = _train(7, 1250.0, 5000.0, 40.0)
    inhibitory = _train(400, 1250.0, 5000.0, 300.0)  # inhibitory cells do not count
    end = termination(*_join(held, inhibitory), 360, 1250.0, 5000.0)
    assert (end.time_ms, end.reason, end.duration_ms) == (5000.0, "persisted", 3750.0)
    assert termination(np.empty(0), np.empty(0), 360, 1250.0, 5000.0).reason == "extinct"
    with pytest.raises(ValueError, match="no 500 ms window fits"):
        termination(i, t, 360, 4800.0, 5000.0)
    with pytest.raises(ValueError, match="same length"):
        termination(i, t[:-1], 360, 1250.0, 5000.0)


def test_termination_in_the_original_convention_on_synthetic_spikes():
    """The original counts 5001 steps per window (both ends), centres its windows 250 ms into them and answers in
    seconds after the cue's end (3.75 s, the trial's end after the cue, if the state persists)."""
    # 40 Hz until 3 s (as above): the window centred c ms after the cue holds steps [c - 250, c + 250] ms, 21 spikes
    # while it is full, then 70 - 2 j for c = 250 + 50 j; 6 spikes (12 Hz, not above 12 Hz) at j = 32, c = 1850 ms
    i, t = _train(100, 1250.0, 3000.0, 40.0)
    assert termination_after_cue_s(i, t, 360, 1250.0, 5000.0) == (1.85, "extinct")
    assert termination(i, t, 360, 1250.0, 5000.0).time_ms == 2850.0  # ours: the same window's start, ms of the trial
    # a cell at 20 Hz throughout holds the state; a 200 Hz cell from 2.5 s (1.25 s after the cue) runs away in the
    # window centred at 1.25 s: steps [1000, 1500] ms hold its spikes at 1250, 1255, ..., 1500: 51 spikes = 102 Hz.
    # Ours needs the window [1050, 1550) ms: its window [1000, 1500) holds 50 (100 Hz, not above 100 Hz)
    held = _train(7, 1250.0, 5000.0, 20.0)
    assert termination_after_cue_s(*held, 360, 1250.0, 5000.0) == (3.75, "persisted")
    burst = _join(held, _train(3, 2500.0, 5000.0, 200.0))
    assert termination_after_cue_s(*burst, 360, 1250.0, 5000.0) == (1.25, "runaway")
    assert (termination(*burst, 360, 1250.0, 5000.0).time_ms, termination(*burst, 360, 1250.0, 5000.0).reason) == (2300.0, "runaway")
    # no spikes: the first window (centre 0.25 s) fails; inhibitory cells never count
    assert termination_after_cue_s(np.empty(0), np.empty(0), 360, 1250.0, 5000.0) == (0.25, "extinct")
    assert termination_after_cue_s(*_train(400, 1250.0, 5000.0, 300.0), 360, 1250.0, 5000.0) == (0.25, "extinct")
    with pytest.raises(ValueError, match="no 500 ms window fits"):
        termination_after_cue_s(i, t, 360, 4800.0, 5000.0)


def test_bump_decoding_width_and_drift_on_synthetic_spikes():
    angles = np.arange(360.0)
    angle, strength = population_vector(np.where(np.abs(wrap_deg(angles - 100)) < 20, 1.0, 0.0), angles)
    assert angle == pytest.approx(100.0) and strength == pytest.approx(np.sinc(40 / 360) * 1, rel=0.01)
    angle, strength = population_vector(np.ones(360), angles)
    assert strength == pytest.approx(0.0, abs=1e-12)
    assert np.isnan(population_vector(np.zeros(360), angles)[0])
    # a 40-cell bump (cells 80..119) that moves by one cell every 100 ms from t = 0
    trains = [_train(80 + k + step, 100.0 * step, 100.0 * (step + 1), 50.0) for step in range(10) for k in range(40)]
    i, t = _join(*trains)
    decoded = decode_bump(i, t, 360, 0.0, 1000.0, window_ms=100.0, step_ms=100.0)
    np.testing.assert_allclose(decoded["angle_deg"], 99.5 + np.arange(10), atol=1e-9)
    np.testing.assert_allclose(decoded["t_ms"], 50.0 + 100.0 * np.arange(10))
    assert np.all(decoded["max_rate_hz"] == 50.0)
    assert bump_width(i, t, 360, 0.0, 1000.0) == 40.0
    assert bump_drift(decoded, 0.0, 1000.0) == pytest.approx(9.0)


# ----------------------------------------------------------------------------------------------- the ring
@pytest.mark.slow
def test_bump_holds_the_cue_under_normal_serotonin_and_fails_earlier_with_more():
    from livn_rl.experiments.ring import run_trials

    normal, increased = run_trials(["normal", "increased"], seeds=[0])
    # spontaneous state before the cue: a few Hz, no bump
    before = (normal["t_ms"] < 1000.0) & (normal["neuron_i"] < 360)
    assert 0.5 < before.sum() / 360 < 5.0
    assert np.all(normal["decoded"]["strength"][(normal["decoded"]["t_ms"] < 900)] < 0.5)
    # the bump forms at the cue and outlives it: every window after the cue passes the criterion
    assert normal["termination"] == {"time_ms": 5000.0, "reason": "persisted", "duration_ms": 3750.0}
    d = normal["decoded"]
    delay = d["t_ms"] > 1250.0
    error = np.abs(wrap_deg(d["angle_deg"][delay] - 100.0))
    assert error.max() < 15.0 and normal["cue_error_deg"] < 5.0  # measured: max 5.2, mean 1.6 degrees
    assert np.all(d["strength"][delay] > 0.8)  # measured: 0.93 or more
    assert 30.0 < normal["width_deg"] < 50.0  # measured: 40 degrees
    # more serotonin (gain 0.97 on E cells): the bump fades below the criterion's 12 Hz (3150 ms with this seed)
    assert increased["termination"]["reason"] == "extinct" and increased["termination"]["time_ms"] < 4000.0


@pytest.mark.slow
def test_electrodes_and_sectors_drive_the_ring():
    ring = RingAttractorSystem(cue_amplitude=0.0)
    with Simulation(ring, seed=1, background=False) as sim:
        assert sim.run(100.0).neuron_i.size == 0  # no background, no cue: silent
        rec = sim.step(pulse_train(2, 20.0, 5.0, n_pulses=5, rate_hz=50.0), 100.0)  # 20 uA; electrode 2 sits at 90 degrees
        exc = rec.neuron_i[rec.neuron_i < 360]
        assert exc.size > 0 and np.all(np.abs(wrap_deg(exc - 90.0)) < 30.0)
        from brian2 import pA

        sim.set_neuron_variable("I_ext", ring.sector_current([0, 0, 0, 0, 0, 0, 300.0, 0]) * pA)  # 270 degrees
        rec = sim.step(None, 100.0)
        angle, strength = population_vector(np.bincount(rec.neuron_i[rec.neuron_i < 360], minlength=360),
                                            ring.exc_angles_deg)
        assert abs(wrap_deg(angle - 270.0)) < 10.0 and strength > 0.8


# ----------------------------------------------------------------------------------------------- the env
@pytest.mark.slow
def test_ring_steer_env_passes_the_checkers_and_steering_beats_doing_nothing():
    from gymnasium.utils.env_checker import check_env
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    env = gym.make("livn_rl/RingAttractor-Steer-v0", serotonin="normal")
    try:
        check_env(env.unwrapped, skip_render_check=True)
        sb3_check_env(env.unwrapped)
        means = {}
        for name, policy in (("steer", lambda e: e.unwrapped.target_action()), ("idle", lambda e: -np.ones(8, np.float32))):
            obs, info = env.reset(seed=3)
            assert obs[2] == 0.0 and obs[3:] == pytest.approx([np.cos(np.radians(info["target_deg"])),
                                                               np.sin(np.radians(info["target_deg"]))], abs=1e-6)
            rewards = [env.step(policy(env))[1] for _ in range(20)]
            means[name] = float(np.mean(rewards[10:]))
        assert means["steer"] > 0.7 and means["steer"] > means["idle"] + 0.3, means
        venv = gym.make_vec("livn_rl/RingAttractor-Steer-v0", num_envs=2)  # two rings in one network
        try:
            obs, infos = venv.reset(seed=0)
            for _ in range(6):  # past the start cue
                obs, rewards, _, _, infos = venv.step(np.full((2, 8), -1.0, np.float32))
            assert obs.shape == (2, 5) and np.all(obs[:, 2] > 0.8)  # each copy holds its own bump, at its start
            starts = np.array([env.start_deg for env in venv.unwrapped.envs])
            assert abs(wrap_deg(starts[0] - starts[1])) > 20.0
            assert np.all(np.abs(wrap_deg(infos["bump_deg"] - starts)) < 20.0)
        finally:
            venv.close()
        with pytest.raises(ValueError, match="n_sectors"):
            gym.make("livn_rl/RingAttractor-Steer-v0", n_sectors=1)
        with pytest.raises(ValueError, match="RingAttractorSystem"):
            gym.make("livn_rl/RingAttractor-Steer-v0", system="S1")
    finally:
        env.close()


# ------------------------------------------------------------------------------------------------ the CLI
def test_serotonin_gif_is_drawn_like_the_original(tmp_path):
    """50 frames of 100 ms over the 5 s trial, named <level>_serotonin.gif (synthetic spikes: no simulation)."""
    from PIL import Image

    from livn_rl.experiments.ring import gif_name, serotonin_gif

    i, t = _join(_train(100, 1000.0, 5000.0, 30.0), _train(400, 0.0, 5000.0, 10.0))
    trial = {"level": "slightly_decreased", "seed": 42, "neuron_i": i, "t_ms": t, "termination_s_after_cue": 2.0,
             "termination_reason_after_cue": "extinct"}
    path = tmp_path / gif_name("slightly_decreased")
    serotonin_gif(trial, RingAttractorSystem(), path)
    assert path.name == "slightly_decreased_serotonin.gif"
    gif = Image.open(path)
    assert gif.n_frames == 50 and gif.info["duration"] == 100 and gif.size[0] == 2 * gif.size[1]
    frames = []
    for k in (0, 49):
        gif.seek(k)
        frames.append(np.asarray(gif.convert("RGB"), dtype=float))
    blue = [(f[..., 2] > 150) & (f[..., 0] < 100) for f in frames]
    assert blue[1].sum() > blue[0].sum() + 100  # the raster (blue E spikes, the cue bar) fills in


def test_record_traces_is_checked_by_name():
    with pytest.raises(ValueError, match="needs the cells to record: pass record_voltages"):
        Simulation(RingAttractorSystem(), target="numpy", record_traces=("u",))
    with pytest.raises(ValueError, match=r"has no variable\(s\) \['g_serotonin'\]"):
        Simulation(RingAttractorSystem(), target="numpy", record_voltages=[0], record_traces=("u", "g_serotonin"))


@pytest.mark.slow
def test_state_traces_of_chosen_cells_leave_the_spikes_unchanged():
    """The original's state traces (v, u, synaptic input per receptor, conductances, background) for two cells:
    the receptor currents sum to I_syn, the background is a part of the AMPA conductance, and recording changes
    no spike."""
    from livn_rl.experiments.ring import STATE_TRACES, state_arrays

    ring = RingAttractorSystem()
    with Simulation(ring, seed=5) as sim:
        plain = sim.run(300.0)
    with Simulation(ring, seed=5, record_voltages=[100, 400], record_traces=tuple(STATE_TRACES)) as sim:
        traced = sim.run(300.0)
    np.testing.assert_array_equal(plain.neuron_i, traced.neuron_i)
    np.testing.assert_array_equal(plain.neuron_t_ms, traced.neuron_t_ms)
    states = state_arrays(traced, ring)
    assert states["v_mV"].shape == states["g_ampa_nS"].shape == (2, 3000)
    assert list(states["cells"]) == [100, 400] and list(states["serotonin_gain"]) == [1.0, 1.0]
    parts = sum(states[f"I_{r}_pA"] for r in ("ampa", "nmda", "gaba_a", "gaba_b"))
    np.testing.assert_allclose(parts, states["I_syn_pA"], rtol=1e-9, atol=1e-9)
    assert np.all(states["g_background_nS"] <= states["g_ampa_nS"] + 1e-12) and states["g_background_nS"].max() > 0
    np.testing.assert_allclose(states["I_background_pA"], states["g_background_nS"] * (0.0 - states["v_mV"]), rtol=1e-9)


@pytest.mark.slow
def test_ring_command_writes_table_gif_and_figure_and_never_overwrites(tmp_path, capsys):
    out = tmp_path / "ring"
    assert main(["ring", "--serotonin", "normal", "--seeds", "1", "--out", str(out), "-q", "--record-states", "100", "400"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["seeds"] == [42] and summary["summary"]["normal"]["reasons"] == {"persisted": 1}
    assert summary["trials"][0]["termination_s_after_cue"] == 3.75
    assert summary["summary"]["normal"]["termination_s_after_cue"] == {"mean": 3.75, "sd": 0.0, "n": 1}
    assert "| normal | 3.75 +- 0.00 | 5000 +- 0 |" in (out / "table.md").read_text()
    from PIL import Image

    gif = Image.open(out / "images" / "normal_serotonin.gif")
    assert gif.n_frames == 50  # 100 ms frames over 5 s
    assert (out / "bump_normal.png").stat().st_size > 10_000
    with np.load(out / "states" / "normal_seed_42.npz") as states:
        assert states["v_mV"].shape == (2, 50000) and {"u_pA", "I_syn_pA", "g_nmda_nS", "I_background_pA"} <= set(states.files)
    assert main(["ring", "--serotonin", "normal", "--seeds", "1", "--out", str(out), "-q"]) == 2
    assert "exist already" in capsys.readouterr().err
    assert main(["ring", "--serotonin", "sleepy"]) == 2
    assert main(["ring", "--seeds", "0"]) == 2
    assert main(["ring", "--record-states", "450", "--out", str(tmp_path / "other")]) == 2
    assert "cell(s) [450] do not exist" in capsys.readouterr().err
    assert main(["ring", "--cue-angle", "nan", "--out", str(tmp_path / "other")]) == 2
    capsys.readouterr()
    assert main(["systems", "Ring", "--json"]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert facts["model"] == "ring attractor" and facts["n_neurons"] == 450 and facts["docs"] == "docs/ring.md"
