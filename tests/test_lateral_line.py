"""Reference circuit 3, the lateral line: the dipole hydrodynamics against the formula, afferent rate modes, the
configuration and its checks, the circuit's connectivity, the population-vector metrics, run folders and the CLI's
bad-input messages, the Localize env, and (slow, Cython) the scientific result's direction on a reduced network."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest

from livn_rl.cli import main
from livn_rl.systems import make_system
from livn_rl.systems.lateral_line import LateralLineConfig, LateralLineSystem, preset
from livn_rl.systems.lateral_line.config import LineConfig, SourceConfig
from livn_rl.systems.lateral_line.hydrodynamics import (
    afferent_positions_cm, afferent_rates, drive, pressure_gradient_pa_per_m, wavelets,
)
from livn_rl.systems.lateral_line.metrics import CHANCE_SIGMA_THETA, decoded_position_cm, map_quality
from livn_rl.experiments.lateral_line.runs import prepare_run_folder, sanitise_run_name
from livn_rl.systems.lateral_line.artifacts import load_artifact

#: A reduced circuit for tests: every Cython test uses these sizes, so it compiles once.
SMALL = ["mon.n=400", "ts.n=40", "ts.n_inhibitory=5"]


# -------------------------------------------------------------------------------------------- hydrodynamics
def test_dipole_wavelets_match_the_formula():
    even, odd = wavelets(np.array([0.0, 1 / np.sqrt(2), 1.0, -1.0, np.sqrt(1.5)]))
    assert even[0] == 1.0 and even[1] == pytest.approx(0.0, abs=1e-12)  # zero crossing at rho = 1/sqrt(2)
    assert even[2] == pytest.approx(-1 / 2**2.5) and odd[2] == pytest.approx(-3 / 2**2.5) and odd[3] == -odd[2]
    rho = np.linspace(0.8, 1.8, 100001)
    assert rho[np.argmin(wavelets(rho)[0])] == pytest.approx(np.sqrt(1.5), abs=1e-4)  # side-lobe minimum
    assert odd[0] == 0.0


def test_pressure_gradient_amplitude_and_distance_law():
    source = SourceConfig(sphere_radius_cm=0.5, vibration_hz=50.0, vibration_amplitude_cm=0.01)
    # rho_w * omega * U * a^3 / (2 Y^3) at rho = 0, Y = 1 cm: 1000 * (100 pi) * (100 pi * 1e-4) * 1.25e-7 / 2e-6
    expected = 1000 * (100 * np.pi) ** 2 * 1e-4 * (0.005**3) / (2 * 0.01**3)
    assert pressure_gradient_pa_per_m(np.array([3.0]), 3.0, 1.0, source)[0] == pytest.approx(expected)
    x = np.linspace(0, 10, 1001)
    near, far = drive(x, 5.0, 1.0, source), drive(x, 5.0, 2.0, source)
    assert near.max() == pytest.approx(1.0, abs=1e-6)  # the reference distance's peak is 1
    assert far.max() == pytest.approx(1 / 8, rel=1e-3)  # 1 / Y^3
    perpendicular = SourceConfig(vibration_angle_deg=90.0)
    odd = drive(x, 5.0, 1.0, perpendicular)
    assert odd[500] == pytest.approx(0.0, abs=1e-9) and np.sign(odd[400]) == -np.sign(odd[600])


def test_afferent_rates_in_raw_and_modulation_modes():
    line = LineConfig(n=100, baseline_rate_hz=5.0, gain_hz=100.0, baseline_subtraction=False, max_rate_hz=1000.0)
    source = SourceConfig()
    x = afferent_positions_cm(line)
    assert x[0] == pytest.approx(0.05) and x[-1] == pytest.approx(9.95)
    steady, modulated = afferent_rates(line, source, 4.95, 1.0)
    g = drive(x, 4.95, 1.0, source)
    np.testing.assert_allclose(steady, 5.0 + 100.0 * np.abs(g))
    assert not modulated.any() and np.argmax(steady) == 49
    sub = LineConfig(n=100, baseline_rate_hz=5.0, gain_hz=100.0, baseline_subtraction=True, max_rate_hz=1000.0)
    np.testing.assert_allclose(afferent_rates(sub, source, 4.95, 1.0)[0], 5.0 + 100.0 * np.maximum(np.abs(g) - np.abs(g).mean(), 0))
    mod = LineConfig(n=100, rate_mode="modulation", baseline_subtraction=False, gain_hz=100.0)
    steady, modulated = afferent_rates(mod, source, 4.95, 1.0)
    assert np.all(steady == mod.baseline_rate_hz)
    assert modulated[49] > 0 > modulated[49 + 13]  # the side lobe (rho ~ 1.22) fires in antiphase
    capped = afferent_rates(LineConfig(gain_hz=1e4, max_rate_hz=300.0), source, 5.0, 0.5)[0]
    assert capped.max() == 300.0
    assert np.all(afferent_rates(line, source, None, 1.0)[0] == 5.0)
    noisy = afferent_rates(line, source, None, 1.0, noise_hz=np.full(100, -10.0))[0]
    assert np.all(noisy == 0.0)  # rates never go negative


# ---------------------------------------------------------------------------------------------------- config
def test_presets_and_overrides():
    full, fast = preset("full"), preset("fast")
    assert (full.line.n, full.mon.n, full.ts.n, full.training.n_trials) == (100, 3200, 300, 1000)
    assert (fast.line.n, fast.mon.n, fast.ts.n, fast.training.n_trials) == (100, 800, 80, 40)
    assert fast.training.trial_ms < full.training.trial_ms
    config = fast.with_overrides(["mon.n=400", "source.distance_range_cm=[1, 2]", "line.rate_mode=modulation",
                                  "ts.stdp.enabled=false"])
    assert config.mon.n == 400 and config.source.distance_range_cm == (1.0, 2.0)
    assert config.line.rate_mode == "modulation" and not config.ts.stdp.enabled
    assert LateralLineConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    control = fast.without_stdp()
    assert not control.ts.stdp.enabled and not control.mon.stdp.enabled and control.mon == fast.mon


@pytest.mark.parametrize("override, message", [
    ("source.distance_range_cm=[0, 1]", "source.distance_range_cm min (a distance) must be a finite number > 0, got 0"),
    ("source.distance_range_cm=[2, 1]", "min <= max, got [2.0, 1.0]"),
    ("source.test_distance_cm=-1", "source.test_distance_cm (a distance) must be a finite number > 0, got -1"),
    ("source.speed_cm_s=0", "source.speed_cm_s (a speed) must be a finite number > 0, got 0"),
    ("mon.p_connect=1.5", "mon.p_connect (a probability) must be a finite number in [0, 1], got 1.5"),
    ("ts.p_ts_to_pool=-0.1", "ts.p_ts_to_pool (a probability) must be a finite number in [0, 1], got -0.1"),
    ("ts.stdp.a_post_mv=0.1", "ts.stdp.a_post_mv must be a finite number <= 0"),
    ("line.rate_mode=linear", "line.rate_mode must be one of ['raw', 'modulation'], got 'linear'"),
    ("mon.n=0", "mon.n must be a whole number >= 1, got 0"),
    ("mon.nn=3", "unknown parameter 'mon.nn'"),
    ("training.trial_ms=10.05", "training.trial_ms must be a whole number of ms"),
    ("mon.n", "must look like section.field=value"),
])
def test_bad_parameters_have_clear_messages(override, message):
    with pytest.raises(ValueError) as err:
        preset("fast").with_overrides([override])
    assert message in str(err.value)


# --------------------------------------------------------------------------------------------------- circuit
def test_circuit_connectivity_is_topographic_and_seeded():
    config = preset("fast").with_overrides(SMALL)
    system = LateralLineSystem(config, seed=1)
    assert [p.name for p in system.populations] == ["LL", "MON", "TS", "INH"]
    assert system.n_neurons == 100 + 400 + 40 + 5
    x = system.body_x_cm
    ll_mon, mon_ts = system.connections["ll_mon"], system.connections["mon_ts"]
    assert np.bincount(ll_mon["j"] - 100, minlength=400).tolist() == [8] * 400  # fan_in, p_connect = 1
    assert np.bincount(mon_ts["i"] - 100, minlength=400).tolist() == [12] * 400  # out-degree
    assert len({(i, j) for i, j in zip(mon_ts["i"], mon_ts["j"])}) == mon_ts["i"].size  # no duplicates
    assert np.abs(x[ll_mon["i"]] - x[ll_mon["j"]]).mean() < 0.4  # sigma 0.3 cm: topographic
    assert 1.0 < np.abs(x[mon_ts["i"]] - x[mon_ts["j"]]).mean() < 3.3  # sigma 4 cm: weakly (uniform: 3.3)
    low, high = config.ts.w_init_range_mv
    assert low <= mon_ts["w_mv"].min() and mon_ts["w_mv"].max() <= high
    lateral = system.connections["ts_lateral"]
    distance = np.abs(lateral["i"] - lateral["j"])
    radius = config.ts.lateral_radius * 40
    assert distance.min() == 1 and distance.max() < radius
    np.testing.assert_allclose(lateral["w_mv"], config.ts.lateral_peak_mv * (1 - distance / radius))
    again = LateralLineSystem(config, seed=1).connections
    assert all(np.array_equal(again[k]["w_mv"], v["w_mv"]) for k, v in system.connections.items())
    other = LateralLineSystem(config, seed=2).connections["mon_ts"]
    assert not np.array_equal(other["j"], mon_ts["j"])
    assert isinstance(make_system("LateralLine", preset="fast", overrides=SMALL), LateralLineSystem)
    with pytest.raises(ValueError, match="has shape"):
        LateralLineSystem(config, seed=1, weights={"mon_ts": np.ones(3)})


# --------------------------------------------------------------------------------------------------- metrics
def test_population_vector_metrics():
    preferred = (np.arange(20) + 0.5) * 0.5  # 20 neurons on a 10 cm body
    true = np.array([preferred[3], preferred[12], preferred[7]])
    perfect = np.zeros((3, 20))
    perfect[[0, 1, 2], [3, 12, 7]] = 5
    q = map_quality(perfect, true, preferred, 10.0)
    assert q["sigma_theta"] == pytest.approx(0.0, abs=1e-12) and q["valid_fraction"] == 1.0
    np.testing.assert_allclose(decoded_position_cm(perfect, preferred, 10.0), true)
    shifted = np.roll(perfect, 2, axis=1)  # every decode 1 cm off: error 2 pi / 10 rad, constant across trials
    q = map_quality(shifted, true, preferred, 10.0)
    assert q["sigma_theta"] == pytest.approx(2 * np.pi / 10) and q["delta_trial"] == pytest.approx(0.0, abs=1e-12)
    assert q["mean_abs_error_cm"] == pytest.approx(1.0)
    sparse = perfect.copy()
    sparse[1] = 0
    sparse[2, 7] = 2
    q = map_quality(sparse, true, preferred, 10.0, min_spikes=3)
    assert q["valid_fraction"] == pytest.approx(1 / 3) and np.isnan(q["delta_trial"])
    rng = np.random.default_rng(0)
    noise = rng.poisson(1.0, (4000, 20))
    assert map_quality(noise, rng.uniform(0, 10, 4000), preferred, 10.0)["sigma_theta"] == pytest.approx(CHANCE_SIGMA_THETA, rel=0.05)


# ------------------------------------------------------------------------------------------ runs and the CLI
def test_run_names_are_sanitised_and_folders_never_overwritten(tmp_path):
    assert sanitise_run_name("a/b\\c") == "a_b_c" and sanitise_run_name("demo-1.x") == "demo-1.x"
    assert sanitise_run_name("../runs/x") == "runs_x"
    for bad in ("..", "/", "  ", "../.."):
        with pytest.raises(ValueError, match="no usable characters"):
            sanitise_run_name(bad)
    folder = prepare_run_folder(tmp_path, "demo", overwrite=False)
    (folder / "keep.txt").write_text("x")
    with pytest.raises(FileExistsError, match="already exists; choose another --run-name or pass --overwrite"):
        prepare_run_folder(tmp_path, "demo", overwrite=False)
    assert (folder / "keep.txt").exists()
    assert not (prepare_run_folder(tmp_path, "demo", overwrite=True) / "keep.txt").exists()


@pytest.mark.parametrize("extra, message", [
    (["--set", "source.distance_range_cm=[3,1]"], "min <= max"),
    (["--set", "source.speed_cm_s=-2"], "source.speed_cm_s (a speed) must be a finite number > 0, got -2"),
    (["--set", "mon.p_connect=2"], "mon.p_connect (a probability) must be a finite number in [0, 1], got 2"),
    (["--multi-seed", "0"], "--multi-seed must be a whole number >= 1, got 0"),
    (["--seeds", "0"], "--multi-seed must be a whole number >= 1, got 0"),
    (["--seed-start", "-1"], "--seed-start must be a whole number >= 0, got -1"),
    (["--save-tag", "a/b"], "--save-tag must be letters, digits"),
    (["--ll-mon-topo", "1.5"], "mon.topography (a strength) must be a finite number in [0, 1], got 1.5"),
    (["--ll-baseline-subtract-hz", "-3"], "line.baseline_subtract_hz (a rate) must be a finite number >= 0, got -3"),
    (["--n-training-trials", "-1"], "training.n_trials must be a whole number >= 0, got -1"),
    (["--mon-ts-out-degree", "5", "--set", "ts.out_degree=6"], "--mon-ts-out-degree and --set ts.out_degree"),
    (["--run-name", "../.."], "has no usable characters"),
])
def test_cli_bad_input(tmp_path, capsys, extra, message):
    assert main(["lateral-line", "--mode", "ll_fast", "--out-dir", str(tmp_path), "--run-name", "x", *extra]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_cli_refuses_an_existing_run_folder(tmp_path, capsys):
    (tmp_path / "demo").mkdir()
    assert main(["lateral-line", "--out-dir", str(tmp_path), "--run-name", "demo"]) == 2
    assert "already exists; choose another --run-name or pass --overwrite" in capsys.readouterr().err


# ------------------------------------------------------------------------------------- Cython runs (slow)
@pytest.mark.slow
def test_cli_run_folder_and_env_from_its_artifact(tmp_path, capsys):
    """The CLI end to end on a tiny run (one seed with its paired control, no figures; path separators in the name):
    the original's keys and files, then the Localize env loads the learned weights."""
    args = ["lateral-line", "--mode", "ll_fast", "--out-dir", str(tmp_path), "--run-name", "tiny/run", "--seed-start", "0",
            "--quiet", "--no-figures", "--n-training-trials", "3", "--save-weights-dir", str(tmp_path / "saved"),
            *[a for o in SMALL + ["training.trial_ms=100", "training.test_repeats=2", "source.speed_cm_s=40"]
              for a in ("--set", o)]]
    assert main(args) == 0
    folder = tmp_path / "tiny_run"
    assert "sanitised to 'tiny_run'" in capsys.readouterr().err
    params = json.loads((folder / "params.json").read_text())
    assert (params["mode"], params["seed_start"], params["multi_seed"], params["run_folder"]) == ("ll_fast", 0, 1, "tiny_run")
    assert params["network_params"]["n_mon"] == 400 and params["network_params"]["mon.n"] == 400
    assert params["network_params"]["n_training_trials"] == 3 and params["runs"] == ["stdp", "no_stdp"]
    summary = json.loads((folder / "run_summary.json").read_text())
    assert summary["complete"] is True and summary["seed"] == 0 and "runs" not in summary
    assert summary["mon_ts_sigma"] == pytest.approx(16.0)  # 4 cm of a 10 cm body of 40 TS neurons
    assert (summary["ll_mon_topo"], summary["mon_ts_topo"], summary["mon_ts_gain_mV"]) == (1.0, 1.0, 1.0)
    assert set(summary["pv_map_quality"]) == {"sigma_theta_rad", "delta_trial_rad", "valid_fraction"}
    assert summary["ts_spikes_during_test_window"] == summary["seeds"]["stdp_seed_0"]["test_ts_spikes"] > 0
    assert [r["seed"] for r in summary["control_runs"]] == [0]
    assert summary["topology"]["populations"] == {"LL": 100, "MON": 400, "TS": 40, "INH": 5}
    assert sorted(p.name for p in (folder / "artifacts").iterdir()) == [
        "latest_control_seed_0.npz", "latest_control_seed_0_params.json", "latest_seed_0.npz", "latest_seed_0_params.json"]
    assert sorted(p.name for p in (tmp_path / "saved").iterdir()) == sorted(p.name for p in (folder / "artifacts").iterdir())
    assert not any((folder / "figures").iterdir())
    sidecar = json.loads((folder / "artifacts" / "latest_control_seed_0_params.json").read_text())
    assert sidecar["mode"] == "ll_fast" and sidecar["direction"] == 1 and sidecar["weights_learned"] is False
    assert {"n_ll", "n_mon", "n_ts", "speed_cm_s", "distance_cm", "training_noise_scale_early",
            "training_noise_scale_late", "mon_ts_apre", "mon_ts_apost", "mon_ts_wmax"} <= set(sidecar)
    with np.load(folder / "artifacts" / "latest_control_seed_0.npz") as data:  # the control's weights never moved
        assert {"mon_ts_w", "mon_ts_i", "mon_ts_j", "ll_mon_i", "ll_mon_j", "ll_mon_w_mV"} <= set(data.files)
        np.testing.assert_array_equal(data["mon_ts_w"], data["mon_ts_w_before"])
        assert data["mon_ts_i"].max() == 399 and data["mon_ts_j"].max() == 39 and data["ll_mon_i"].max() <= 99
    config, seed, weights = load_artifact(folder / "artifacts" / "latest_seed_0.npz")
    assert seed == 0 and config.ts.stdp.enabled and config.training.n_trials == 3
    with np.load(folder / "artifacts" / "latest_seed_0.npz") as data:
        assert not np.array_equal(data["mon_ts_w"], data["mon_ts_w_before"])  # STDP learned something
    assert main(args) == 2  # the folder exists now

    from gymnasium.utils.env_checker import check_env
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    env = gym.make("livn_rl/LateralLine-Localize-v0", artifact=str(folder / "artifacts" / "latest_seed_0.npz"),
                   window_ms=20.0)
    np.testing.assert_allclose(env.unwrapped.system.connections["mon_ts"]["w_mv"], weights["mon_ts"])
    check_env(env.unwrapped, skip_render_check=True)
    sb3_check_env(env.unwrapped, warn=False)
    obs, info = env.reset(seed=3)
    assert obs.shape == (40,) and not obs.any() and 0 <= info["position_cm"] <= 10
    first = info["position_cm"]
    obs, reward, terminated, truncated, info = env.step(np.array([0.0], np.float32))
    assert info["true_cm"] == pytest.approx(first) and reward == pytest.approx(-abs(5.0 - first) / 10.0)
    moved = abs(info["next_position_cm"] - first)
    assert moved == pytest.approx(0.8) or min(first, 10 - first) < 0.8  # 40 cm/s x 20 ms, unless it reflected
    action = env.unwrapped.population_vector_action(obs)
    _, reward, *_ = env.step(action)
    assert -1.0 <= reward <= 0.0
    env.close()


@pytest.mark.slow
def test_stdp_improves_the_map_and_beats_the_control():
    """The scientific result's direction on a reduced network (400 MON, 40 TS, 40 trials of 200 ms, two seeds):
    after training, the STDP circuit's map is better than before training and better than the no-STDP control's
    on the same seeds and stimuli."""
    from livn_rl.experiments.lateral_line.training import run_lateral_line

    config = preset("fast").with_overrides(SMALL + ["training.trial_ms=200", "training.test_window_ms=50"])
    gains = []
    for seed in (0, 1):
        stdp = run_lateral_line(config, seed=seed, progress=False)
        control = run_lateral_line(config, seed=seed, stdp=False, progress=False)
        np.testing.assert_array_equal(stdp.trial_position_cm, control.trial_position_cm)  # same stimuli
        assert stdp.pre.quality == pytest.approx(control.pre.quality, nan_ok=True)  # same network before training
        np.testing.assert_array_equal(control.weights_after_mv["mon_ts"], control.weights_before_mv["mon_ts"])
        assert stdp.weights_after_mv["mon_ts"].mean() > stdp.weights_before_mv["mon_ts"].mean()
        assert stdp.post.quality["sigma_theta"] < stdp.pre.quality["sigma_theta"] - 0.05, seed
        gains.append(control.post.quality["sigma_theta"] - stdp.post.quality["sigma_theta"])
    assert np.mean(gains) > 0.05 and min(gains) > 0, gains


def test_localize_env_runs_as_copies_of_a_vector_env():
    """Two copies of the circuit in one network (numpy target, 10 ms windows): each copy has its own source."""
    venv = gym.make_vec("livn_rl/LateralLine-Localize-v0", num_envs=2, target="numpy", window_ms=10.0)
    try:
        obs, info = venv.reset(seed=0)
        assert obs.shape == (2, 80) and not obs.any() and info["position_cm"][0] != info["position_cm"][1]
        start = info["position_cm"].copy()
        obs, reward, terminated, truncated, info = venv.step(np.zeros((2, 1), np.float32))
        np.testing.assert_allclose(info["true_cm"], start)
        np.testing.assert_allclose(reward, -np.abs(5.0 - start) / 10.0)
        assert obs.shape == (2, 80) and obs.dtype == np.float32 and not terminated.any()
    finally:
        venv.close()
