"""The lateral line as the original script ran it: every original flag parses and reaches the config (with its unit
conversion), modes and run-layout defaults, the network_params and run_summary keys, the figure names, the new
parameters' effects, and (slow) a multi-seed run folder with the thirteen figure kinds and an untrained network."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from livn_rl.cli import main
from livn_rl.cli.lateral_line import resolve_config
from livn_rl.cli.main import build_parser
from livn_rl.systems.lateral_line import LateralLineSystem, preset
from livn_rl.systems.lateral_line.config import LineConfig, SourceConfig
from livn_rl.systems.lateral_line.hydrodynamics import afferent_rates
from livn_rl.systems.lateral_line.original import (
    ORIGINAL_PARAMETERS, apply_original, mode_preset, original_values,
)
from livn_rl.experiments.lateral_line.figures import FIGURE_KINDS, THESIS_COPIES, figure_name, multiseed_name
from livn_rl.experiments.lateral_line.runs import flat_parameters, params_document, summary_document

DOCS = Path(__file__).parents[1] / "docs" / "lateral_line.md"
SMALL = ["mon.n=400", "ts.n=40", "ts.n_inhibitory=5"]

#: Every flag of the original's README (ll_stdp_brian2.py --help), in its order.
ORIGINAL_FLAGS = [
    "--mode", "--run-name", "--save-tag", "--multi-seed", "--seed-start", "--save-weights-dir",
    "--n-training-trials", "--distance-cm", "--training-distance-min-cm", "--training-distance-max-cm", "--ll-mon-topo",
    "--mon-ts-topo", "--ll-rate-mode", "--ll-baseline-subtract-hz", "--ll-rate-gain", "--use-ll-mon-stdp",
    "--ll-mon-apre", "--ll-mon-apost", "--ll-mon-wmax-mv", "--ll-mon-w-init-mv", "--mon-ts-sigma", "--mon-ts-out-degree",
    "--ts-lateral-radius", "--ts-local-inh-peak-mv", "--use-ts-feedback-inh", "--ts-feedback-drive-mv",
    "--ts-feedback-inh-mv", "--ts-feedback-p", "--mon-global-inh-mv", "--mon-ts-gain-mv", "--bg-rate-mon-hz",
    "--bg-rate-ts-hz", "--bg-w-ts-mv", "--keep-mon-ts-stdp-during-test", "--test-using-held-snapshots",
    "--disable-all-stdp",
]


def _parse(*argv: str):
    return build_parser().parse_args(["lateral-line", *argv])


def test_every_original_flag_exists_with_the_original_defaults():
    parser = build_parser()
    sub = next(a for a in parser._subparsers._group_actions[0].choices.values() if a.prog.endswith("lateral-line"))
    known = {option for action in sub._actions for option in action.option_strings}
    assert [flag for flag in ORIGINAL_FLAGS if flag not in known] == []
    args = _parse()
    assert (args.mode, args.seed_start, args.multi_seed, args.save_tag, args.run_name) == ("ll_thesis", 123, 1, "latest", None)
    assert mode_preset("ll_thesis") == "full" and mode_preset("ll_fast") == "fast" and mode_preset("fast") == "fast"
    assert _parse("--preset", "fast").mode == "fast" and _parse("--seeds", "4").multi_seed == 4
    with pytest.raises(ValueError, match="unknown mode 'thesis'"):
        mode_preset("thesis")


def test_original_flags_reach_the_config_with_their_units():
    args = _parse(
        "--mode", "ll_fast", "--n-training-trials", "0", "--distance-cm", "1.2", "--training-distance-min-cm", "0.5",
        "--training-distance-max-cm", "2.5", "--ll-mon-topo", "0.5", "--mon-ts-topo", "0.25", "--ll-rate-mode",
        "modulation", "--ll-baseline-subtract-hz", "3", "--ll-rate-gain", "1.5", "--use-ll-mon-stdp", "--ll-mon-apre",
        "0.2", "--ll-mon-apost", "-0.1", "--ll-mon-wmax-mv", "9", "--ll-mon-w-init-mv", "5", "--mon-ts-sigma", "16",
        "--mon-ts-out-degree", "10", "--ts-lateral-radius", "8", "--ts-local-inh-peak-mv", "1.5",
        "--no-use-ts-feedback-inh", "--ts-feedback-drive-mv", "3", "--ts-feedback-inh-mv", "0.4", "--ts-feedback-p",
        "0.3", "--mon-global-inh-mv", "0.01", "--mon-ts-gain-mv", "2", "--bg-rate-mon-hz", "400", "--bg-rate-ts-hz",
        "1500", "--bg-w-ts-mv", "0.8", "--keep-mon-ts-stdp-during-test", "--test-using-held-snapshots",
    )
    config, given = resolve_config(args)
    assert config.training.n_trials == 0 and config.source.test_distance_cm == 1.2
    assert config.source.distance_range_cm == (0.5, 2.5)
    assert (config.mon.topography, config.ts.topography) == (0.5, 0.25)
    assert (config.line.rate_mode, config.line.baseline_subtract_hz, config.line.rate_gain) == ("modulation", 3.0, 1.5)
    stdp = config.mon.stdp
    assert (stdp.enabled, stdp.a_pre_mv, stdp.a_post_mv, stdp.w_max_mv, config.mon.weight_mv) == (True, 0.2, -0.1, 9.0, 5.0)
    assert config.ts.sigma_cm == pytest.approx(2.0)  # 16 of 80 TS neurons on a 10 cm body
    assert config.ts.lateral_radius == pytest.approx(0.1)  # 8 of 80 TS neurons
    assert (config.ts.out_degree, config.ts.lateral_peak_mv, config.ts.feedback_inhibition) == (10, 1.5, False)
    assert (config.ts.ts_to_pool_mv, config.ts.pool_to_ts_mv, config.ts.p_ts_to_pool) == (3.0, 0.4, 0.3)
    assert (config.mon.global_inhibition_mv, config.ts.gain_mv) == (0.01, 2.0)
    assert (config.mon.background_rate_hz, config.ts.background_rate_hz, config.ts.background_weight_mv) == (400.0, 1500.0, 0.8)
    assert config.training.plastic_test is True and config.training.test_mode == "snapshots"
    assert given["--mon-ts-sigma"] == 16.0 and given["--use-ll-mon-stdp"] is True
    # every parameter reads back in the original's units
    values = original_values(config)
    assert values["mon_ts_sigma"] == pytest.approx(16.0) and values["ts_lateral_radius"] == pytest.approx(8.0)
    assert values["training_distance_min_cm"] == 0.5 and values["use_ts_feedback_inh"] is False
    assert values["keep_mon_ts_stdp_during_test"] is True and values["test_using_held_snapshots"] is True
    assert (values["n_ll"], values["n_mon"], values["n_ts"]) == (100, 800, 80)
    assert apply_original(preset("fast"), {p.name: values[p.name] for p in ORIGINAL_PARAMETERS}) == config
    # the lateral inhibition's radius in neurons comes back whole
    lateral = LateralLineSystem(config, seed=0).connections["ts_lateral"]
    assert np.abs(lateral["i"] - lateral["j"]).max() == 7
    # sizes from --set come first: the conversion uses them
    config, _ = resolve_config(_parse("--mode", "ll_fast", "--set", "ts.n=40", "--mon-ts-sigma", "16"))
    assert config.ts.sigma_cm == pytest.approx(4.0)
    # the control run
    assert _parse("--disable-all-stdp").disable_all_stdp and _parse("--no-stdp").disable_all_stdp
    with pytest.raises(SystemExit):
        _parse("--disable-all-stdp", "--no-control")


def test_the_docs_table_names_every_original_flag():
    text = DOCS.read_text()
    table = text[text.index("| original flag"):]
    for flag in ORIGINAL_FLAGS:
        assert f"`{flag}" in table, flag


def test_params_and_summary_keys_are_the_originals():
    config = apply_original(preset("fast"), {"mon_ts_sigma": 20.0, "mon_ts_gain_mV": 1.5})
    params = params_document(mode="ll_fast", seed_start=123, multi_seed=2, run_folder="20260101_120000", config=config,
                             runs=["stdp"])
    assert list(params)[:5] == ["mode", "seed_start", "multi_seed", "run_folder", "network_params"]
    flat = params["network_params"]
    assert not any(isinstance(v, dict) for v in flat.values())  # flat
    assert flat["mon_ts_sigma"] == pytest.approx(20.0) and flat["ts.sigma_cm"] == pytest.approx(2.5)
    assert flat["mon_ts_gain_mV"] == 1.5 and flat["ll_to_mon_topography_strength"] == 1.0
    assert set(flat_parameters(config)) <= set(flat) and flat["source.distance_range_cm"] == [0.8, 1.5]
    summary = summary_document(config, [], [], multi_seed=2, seconds=0.0, complete=False)
    assert (summary["ll_mon_topo"], summary["mon_ts_topo"], summary["mon_ts_gain_mV"]) == (1.0, 1.0, 1.5)
    assert summary["mon_ts_sigma"] == pytest.approx(20.0) and summary["complete"] is False


def test_figure_names_follow_the_original():
    config = preset("full")
    assert len(FIGURE_KINDS) == 13
    assert figure_name("spatial_two_stage", config) == "brian2_spatial_two_stage_u_10_nMON_3200_nTS_300.png"
    assert figure_name("ts_tuning", config, 124) == "brian2_ts_tuning_u_10_nMON_3200_nTS_300_seed_124.png"
    assert figure_name("ts_tuning", config, 124, control=True) == "brian2_ts_tuning_u_10_nMON_3200_nTS_300_control_seed_124.png"
    assert multiseed_name(3) == "brian2_multiseed_summary_n3.png"
    assert set(THESIS_COPIES.values()) == {"LL_THESIS_BASELINE_ACTIVE_latest.png", "LL_THESIS_BASELINE_TEST_ONLY_latest.png"}
    with pytest.raises(ValueError, match="unknown figure kind"):
        figure_name("summary", config)


def test_default_run_name_is_a_timestamp(tmp_path, capsys):
    assert main(["lateral-line", "--out-dir", str(tmp_path), "--mon-ts-topo", "2"]) == 2  # refused before any folder
    err = capsys.readouterr().err  # the message names the flag and the field it sets
    assert "--mon-ts-topo 2.0 sets ts.topography: ts.topography (a strength) must be a finite number in [0, 1]" in err
    assert not any(tmp_path.iterdir())
    from livn_rl.experiments.lateral_line.runs import default_run_name

    assert re.fullmatch(r"\d{8}_\d{6}", default_run_name())


def test_rate_gain_and_baseline_subtraction_in_hz():
    source = SourceConfig()
    plain = LineConfig(baseline_subtraction=False)
    steady, _ = afferent_rates(plain, source, 5.0, 1.0)
    scaled = LineConfig(baseline_subtraction=False, rate_gain=2.0, baseline_subtract_hz=7.0)
    np.testing.assert_allclose(afferent_rates(scaled, source, 5.0, 1.0)[0], np.clip(2.0 * steady - 7.0, 0, 300))
    assert np.all(afferent_rates(LineConfig(baseline_subtract_hz=5.0), source, None, 1.0)[0] == 0.0)  # 5 Hz baseline gone


def test_topography_strength_mixes_in_random_targets():
    x = {}
    for strength in (1.0, 0.0):
        system = LateralLineSystem(preset("fast").with_overrides(SMALL + [f"ts.topography={strength}", "ts.sigma_cm=0.5"]),
                                   seed=0)
        mon_ts = system.connections["mon_ts"]
        x[strength] = np.abs(system.body_x_cm[mon_ts["i"]] - system.body_x_cm[mon_ts["j"]]).mean()
    assert x[1.0] < 1.0 and 2.8 < x[0.0] < 3.9  # 12 of 40 neurons nearest: 0.8 cm; uniform on 10 cm: 3.3 cm
    default = LateralLineSystem(preset("fast").with_overrides(SMALL), seed=0).connections["mon_ts"]
    explicit = LateralLineSystem(preset("fast").with_overrides(SMALL + ["ts.topography=1.0"]), seed=0).connections["mon_ts"]
    np.testing.assert_array_equal(default["j"], explicit["j"])


def test_mon_ts_gain_scales_the_epsp():
    """One MON spike adds gain x w to the ve of each of its TS targets (numpy target, tiny network, nothing else
    firing: no background, no afferent input)."""
    from brian2 import volt

    from livn_rl import Simulation

    config = preset("fast").with_overrides(["mon.n=10", "ts.n=4", "ts.n_inhibitory=2", "ts.out_degree=2",
                                            "ts.gain_mv=2.5", "line.baseline_rate_hz=0", "mon.global_inhibition_mv=0"])
    system = LateralLineSystem(config, seed=0)
    with Simulation(system, seed=0, target="numpy", background=False) as sim:
        mon_ts, neurons = system.last_built["mon_ts"], system.last_built["neurons"]
        assert mon_ts.variables["gain"].get_value().item() == 2.5
        assert system.last_built["ll_mon"].variables["gain"].get_value().item() == 1.0
        pre = system.population("MON").start
        synapses = np.flatnonzero(np.asarray(mon_ts.i[:]) == pre)
        targets, weights = np.asarray(mon_ts.j[:])[synapses], np.asarray(mon_ts.w[:])[synapses]
        v = np.asarray(neurons.v[:]).copy()
        v[pre] = 0.0  # above threshold: MON neuron `pre` fires in the first step
        sim.set_neuron_variable("v", v * volt)
        sim.step(None, 1.0)
        decay = np.exp(-0.9 / config.neuron.tau_e_ms)  # the spike lands in the first of ten steps, then ve decays
        np.testing.assert_allclose(np.asarray(neurons.ve[:])[targets], 2.5 * weights * decay, rtol=1e-6)


@pytest.mark.slow
def test_multi_seed_run_writes_the_originals_files(tmp_path):
    """Two seeds, STDP only (as the original runs), two short trials each: the runs array, the thirteen kinds per
    seed with _seed_<seed>, the first seed's copy without it, and the multi-seed summary."""
    args = ["lateral-line", "--mode", "ll_fast", "--out-dir", str(tmp_path), "--run-name", "two", "--multi-seed", "2",
            "--no-control", "--quiet", "--n-training-trials", "2", "--save-tag", "weights",
            *[a for o in SMALL + ["training.trial_ms=100", "training.test_repeats=1", "source.speed_cm_s=40"]
              for a in ("--set", o)]]
    assert main(args) == 0
    folder = tmp_path / "two"
    summary = json.loads((folder / "run_summary.json").read_text())
    assert [r["seed"] for r in summary["runs"]] == [123, 124] and "seed" not in summary and "control_runs" not in summary
    assert all(set(r) >= {"seed", "ts_spikes_during_test_window", "pv_map_quality"} for r in summary["runs"])
    config = preset("fast").with_overrides(SMALL + ["source.speed_cm_s=40"])
    names = {p.name for p in (folder / "figures").iterdir()}
    expected = {figure_name(kind, config, seed) for kind in FIGURE_KINDS for seed in (123, 124, None)}
    assert names == expected | {multiseed_name(2)}
    assert (folder / "figures" / figure_name("learning_curves", config)).read_bytes() == \
        (folder / "figures" / figure_name("learning_curves", config, 123)).read_bytes()
    assert sorted(p.name for p in (folder / "artifacts").iterdir()) == [
        "weights_seed_123.npz", "weights_seed_123_params.json", "weights_seed_124.npz", "weights_seed_124_params.json"]
    assert json.loads((folder / "params.json").read_text())["multi_seed"] == 2


@pytest.mark.slow
def test_an_untrained_network_runs_and_draws_every_figure(tmp_path):
    """--n-training-trials 0 tests the untrained network: pre-test and post-test see the same weights; every figure
    kind draws without training data (numpy target, tiny network)."""
    from livn_rl.experiments.lateral_line.figures import save_seed_figures
    from livn_rl.experiments.lateral_line.training import run_lateral_line

    config = preset("fast").with_overrides(["mon.n=60", "ts.n=10", "ts.n_inhibitory=3", "ts.out_degree=4",
                                            "training.n_trials=0", "training.test_repeats=1", "source.speed_cm_s=100"])
    result = run_lateral_line(config, seed=0, target="numpy", progress=False)
    np.testing.assert_array_equal(result.weights_after_mv["mon_ts"], result.weights_before_mv["mon_ts"])
    assert result.last_rest is None and not result.kept_trials and result.trial_ts_counts.shape == (0, 10)
    (tmp_path / "figures").mkdir()
    paths = save_seed_figures(tmp_path, result, several_seeds=False, control=False)
    assert len(paths) == 13 and all(p.stat().st_size > 10_000 for p in paths)
    assert result.summary()["training_rates_hz"]["TS"] is None


def _seed_entry(seed: int, stdp: bool, post: float) -> dict:
    quality = {"sigma_theta": 0.9, "delta_trial": 0.6, "valid_fraction": 0.95, "mean_abs_error_cm": 1.1}
    return {"seed": seed, "stdp": stdp, "seconds": 10.0, "test_ts_spikes": 100, "pre_test_ts_spikes": 90,
            "pre_test": quality, "post_test": {**quality, "sigma_theta": post},
            "mean_weight_mv": {"before": 1.0, "after": 1.5 if stdp else 1.0}}


def test_runs_of_separate_processes_combine_into_one_table_and_figure(tmp_path):
    """benchmarks/lateral_line_seeds.py reads the run folders of one-seed runs (as docs/lateral_line.md's ll_thesis
    table was made) and refuses a seed that two folders hold."""
    import subprocess
    import sys

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "lateral_line_seeds.py"
    folders = []
    for seed, post in ((123, 0.5), (124, 0.7)):
        folder = tmp_path / f"seed_{seed}"
        folder.mkdir()
        (folder / "run_summary.json").write_text(json.dumps({"complete": True, "seeds": {
            f"stdp_seed_{seed}": _seed_entry(seed, True, post), f"no_stdp_seed_{seed}": _seed_entry(seed, False, 0.85)}}))
        folders.append(str(folder))
    figure = tmp_path / "seeds.png"
    result = subprocess.run([sys.executable, str(script), *folders, "--figure", str(figure)], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "| 123 | 0.900 | **0.500** | 0.850 |" in result.stdout
    assert "| mean | 0.900 | **0.600** | 0.850 |" in result.stdout
    assert figure.stat().st_size > 10_000
    again = subprocess.run([sys.executable, str(script), folders[0], folders[0]], capture_output=True, text=True,
                           timeout=120)
    assert again.returncode == 1 and "seed 123 (STDP) appears in two folders" in again.stderr
