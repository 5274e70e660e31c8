"""The ``livn-rl`` command line: listings, a short simulation with its outputs, and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from livn_rl.cli import main


def test_systems_lists_every_predefined_system(capsys):
    assert main(["systems"]) == 0
    out = capsys.readouterr().out
    for name, size in (("S1", "10"), ("S2", "100"), ("S3", "1,000"), ("S4", "10,000")):
        assert name in out and size in out


def test_systems_json_describes_one_system(capsys):
    assert main(["systems", "S2", "--json"]) == 0
    facts = json.loads(capsys.readouterr().out)
    text = json.dumps(facts)
    assert "S2" in text and "16" in text  # the name and its 4x4 MEA


def test_simulate_writes_a_figure_and_a_summary(tmp_path, capsys):
    png, summary = tmp_path / "s1.png", tmp_path / "s1.json"
    code = main([
        "simulate", "S1", "--duration", "300", "--stimulate", "0:10uA@100msx4/20Hz", "--target", "numpy",
        "--quiet", "--out", str(png), "--json", str(summary),
    ])
    assert code == 0
    assert png.stat().st_size > 10_000 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = json.loads(summary.read_text())
    assert "E" in json.dumps(data) and "I" in json.dumps(data)
    assert "S1" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args, words",
    [
        (["simulate", "S9"], ["S9"]),
        (["simulate", "S2", "--duration", "-5"], ["-5"]),
        (["simulate", "S2", "--duration", "nan"], ["nan"]),
        (["simulate", "S2", "--stimulate", "99:3uA@10ms"], ["99"]),
        (["simulate", "S2", "--stimulate", "5:999uA@10ms"], ["999"]),
        (["simulate", "S2", "--stimulate", "five volts"], ["five volts"]),
    ],
)
def test_bad_input_is_one_line_naming_the_value_with_exit_code_2(args, words, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    for word in words:
        assert word in err


def test_malformed_config_file_is_a_clear_error(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    assert main(["simulate", str(bad), "--duration", "10"]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml" in err and "Traceback" not in err


def test_console_script_help_explains_the_commands():
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from livn_rl.cli import main; sys.exit(main(['--help']))"],
        capture_output=True, text=True, check=False,
    )
    assert done.returncode == 0
    assert "simulate" in done.stdout and "systems" in done.stdout and "envs" in done.stdout


# ------------------------------------------------------------------------------------------------ `envs`
def test_envs_lists_every_registered_env_with_its_spaces(capsys):
    from livn_rl.envs import env_ids

    assert main(["envs"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    for env_id in env_ids():
        assert env_id in out
    pendulum = next(line for line in lines if line.startswith("livn_rl/Pendulum-S2-v0 "))
    assert "(3,)" in pendulum and "Box(-1, 1, (1,))" in pendulum and "50 ms" in pendulum and "200" in pendulum
    clamp = next(line for line in lines if line.startswith("livn_rl/RateClamp-S2-v0 "))
    assert "(32,)" in clamp and "(16,)" in clamp and "100 ms" in clamp
    # an aligned table: every id row has its columns at the same offsets as the header
    header = lines[0]
    rows = [line for line in lines if line.startswith("livn_rl/")]
    assert len(rows) == len(env_ids())
    for column in ("task", "system", "obs", "action"):
        start = header.index(column)
        assert all(row[start - 2 : start] == "  " and row[start] != " " for row in rows), column


def test_envs_json_has_every_env_and_field(capsys):
    from livn_rl.envs import env_ids

    assert main(["envs", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in rows] == env_ids()
    fields = {"id", "task", "kind", "system", "observation_shape", "action_space", "action_shape", "window_ms",
              "max_episode_steps"}
    for row in rows:
        assert fields <= set(row), row
    by_id = {r["id"]: r for r in rows}
    assert by_id["livn_rl/Pendulum-S2-v0"]["observation_shape"] == [3]
    assert by_id["livn_rl/Pendulum-S2-v0"]["task"] == "Pendulum-v1"
    assert by_id["livn_rl/CartPole-S1-v0"]["window_ms"] == 20.0
    assert by_id["livn_rl/BurstSuppression-S3-v0"]["action_shape"] == [64]
    assert by_id["livn_rl/Acrobot-S3-v0"]["max_episode_steps"] == 500


def test_envs_describes_one_env(capsys):
    assert main(["envs", "livn_rl/Pendulum-S2-v0"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("livn_rl/Pendulum-S2-v0: Neural-in-the-loop control of a Gymnasium task.")
    for word in ("NeuralTaskEnv", "Pendulum-v1", "PopulationEncoder", "PopulationVectorDecoder", "Box(-2.0, 2.0",
                 "50 ms", "200 steps", "observe_neural", "encoder", "'population_vector'", "max_episode_steps"):
        assert word in out, word
    # every argument that defines the env is registered (*); how to run it is not
    marked = {line.split()[0][1:] for line in out.splitlines() if line.startswith("  *")}
    assert {"task", "system", "encoder", "decoder", "window_ms", "noise", "dt_ms"} <= marked
    assert "   target" in out and "target" not in marked and "render_mode" not in marked


def test_envs_detail_json_and_short_ids(capsys):
    assert main(["envs", "RateClamp-S2-v0", "--json"]) == 0  # no namespace
    facts = json.loads(capsys.readouterr().out)
    assert facts["id"] == "livn_rl/RateClamp-S2-v0" and facts["class"].endswith("RateClampEnv")
    assert facts["kwargs"]["target_hz"]["default"] == 60.0 and facts["kwargs"]["system"]["default"] == "S2"
    assert facts["kwargs"]["energy_cost"]["help"]
    assert facts["observation_space"]["shape"] == [32] and facts["action_space_detail"]["shape"] == [16]
    assert main(["envs", "livn_rl:livn_rl/CartPole-S1-v0", "--json"]) == 0  # the module-prefixed form
    facts = json.loads(capsys.readouterr().out, parse_constant=lambda c: pytest.fail(f"non-standard JSON {c}"))
    assert facts["task_action_space"] == "Discrete(2)" and facts["observation_space"]["high"][1] == "inf"


@pytest.mark.parametrize("env_id, suggestion", [
    ("livn_rl/Pendulum-S5-v0", "livn_rl/Pendulum-S4-v0"),
    ("BurstSuppression-S1-v0", "livn_rl/BurstSuppression-S2-v0"),
    ("nothing-like-it", None),
])
def test_envs_unknown_id_is_one_line_with_close_matches(env_id, suggestion, capsys):
    assert main(["envs", env_id]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert env_id in err and "unknown env" in err
    if suggestion:
        assert "did you mean" in err and suggestion in err
    else:
        assert "did you mean" not in err


def test_envs_listing_stays_cheap():
    """Listing constructs all envs: that must not build or compile any simulation."""
    done = subprocess.run(
        [sys.executable, "-c", "import sys, time; t = time.perf_counter(); from livn_rl.cli import main; code = main(['envs']);"
         " print(time.perf_counter() - t, 'brian2' in sys.modules, file=sys.stderr); sys.exit(code)"],
        capture_output=True, text=True, check=False, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    seconds, brian2_imported = done.stderr.split()[-2:]
    assert brian2_imported == "False"  # no simulation was built
    assert float(seconds) < 30.0


def test_envs_help_explains_the_command():
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from livn_rl.cli import main; sys.exit(main(['envs', '--help']))"],
        capture_output=True, text=True, check=False,
    )
    assert done.returncode == 0
    for word in ("max_episode_steps", "window", "gym.make", "--json", "ENV", "Pendulum-S2-v0"):
        assert word in done.stdout, word


def test_reference_circuits_are_listed_and_described(capsys):
    assert main(["systems"]) == 0
    assert "reference circuits: LIF" in capsys.readouterr().out
    assert main(["systems", "LIF", "--json"]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert facts["model"] == "LIF" and facts["parameters"]["tau_ms"] == 10.0
    assert main(["envs", "--json"]) == 0
    lif = [row for row in json.loads(capsys.readouterr().out) if row["id"] == "livn_rl/LIF-RateTrack-v0"]
    assert lif and lif[0]["task"] == "LIF-RateTrack" and lif[0]["kind"] == "reference_circuit"


def test_an_internal_error_shows_where_it_failed_with_exit_code_1(tmp_path, capsys, monkeypatch):
    """A ValueError deep inside a run is not a usage error: the traceback is shown and the status is 1."""
    from livn_rl.engine import Simulation

    def broken_run(self, *args, **kwargs):
        raise ValueError("a bug deep inside the run")

    monkeypatch.setattr(Simulation, "run", broken_run)
    code = main(["simulate", "S1", "--duration", "10", "--target", "numpy", "--quiet", "--out", str(tmp_path / "x.png")])
    err = capsys.readouterr().err
    assert code == 1
    assert "Traceback" in err and "broken_run" in err
    assert err.strip().splitlines()[-1] == ("livn-rl simulate: internal error: ValueError: a bug deep inside the run "
                                            "(the traceback above shows where)")


def test_an_internal_error_while_sampling_is_not_a_usage_error(tmp_path, capsys, monkeypatch):
    from livn_rl.data import sampling

    def broken_make(self, index, counter=None):
        raise ValueError("a bug while making a shard")

    monkeypatch.setattr(sampling._ShardMaker, "make", broken_make)
    code = main(["sample", "S1", "--samples", "10", "--trials-per-episode", "5", "--copies", "1", "--window-ms", "10",
                 "--target", "numpy", "--quiet", "--out", str(tmp_path / "d")])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" in err and "a bug while making a shard" in err
    # and bad arguments stay usage errors, before anything runs
    assert main(["sample", "S1", "--samples", "10", "--window-ms", "10.5", "--out", str(tmp_path / "e")]) == 2
    assert main(["sample", "S1", "--samples", "10", "--workers", "0", "--out", str(tmp_path / "f")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 2


def test_envs_lists_the_others_when_one_env_cannot_be_built(capsys):
    import gymnasium as gym

    gym.register(id="livn_rl/Broken-S1-v0", entry_point="livn_rl.envs:NoSuchEnv")
    try:
        assert main(["envs"]) == 1
        captured = capsys.readouterr()
        assert "livn_rl/Pendulum-S2-v0" in captured.out and "livn_rl/RateClamp-S1-v0" in captured.out
        assert "livn_rl/Broken-S1-v0  error: cannot construct livn_rl/Broken-S1-v0" in captured.out
        assert "1 registered env(s) could not be constructed: livn_rl/Broken-S1-v0" in captured.err
        assert main(["envs", "--json"]) == 1
        rows = json.loads(capsys.readouterr().out)
        assert [r["id"] for r in rows if "error" in r] == ["livn_rl/Broken-S1-v0"]
        assert main(["envs", "livn_rl/Broken-S1-v0"]) == 1  # described alone: an internal error, with its traceback
        assert "Traceback" in capsys.readouterr().err
    finally:
        gym.registry.pop("livn_rl/Broken-S1-v0")


def test_our_own_deprecation_warnings_are_errors_in_the_tests():
    """The test configuration no longer hides every DeprecationWarning: ours fail the test run."""
    code = compile("import warnings\nwarnings.warn('an old API', DeprecationWarning)", "livn_rl/old_api.py", "exec")
    with pytest.raises(DeprecationWarning, match="an old API"):
        exec(code, {"__name__": "livn_rl.old_api"})


def test_ctrl_c_while_building_a_network_ends_on_the_interrupted_line(tmp_path):
    """Brian2 objects a Ctrl-C leaves unused are freed quietly before the last line (CI once saw Brian2's warning
    about them printed after it)."""
    script = """
import gc, sys, brian2
from livn_rl.cli import main
from livn_rl.engine import Simulation

def stopped_while_building(self, *args, **kwargs):
    half_built = brian2.NeuronGroup(3, "dv/dt = -v / (10*ms) : 1", name="half_built")
    raise KeyboardInterrupt

Simulation.run = stopped_while_building
code = main(["simulate", "S1", "--duration", "10", "--target", "numpy", "--quiet", "--out", sys.argv[1]])
gc.collect()  # what a later allocation would do at any moment
sys.exit(code)
"""
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "x.png")], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 130, done.stderr
    assert "WARNING" not in done.stderr, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "livn-rl simulate: interrupted", done.stderr
