"""NWB export (livn_rl.export, livn-rl export nwb): read with pynwb, checked with nwbinspector, as users would."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from livn_rl import Simulation, make_system, pulse_train
from livn_rl.cli import main
from livn_rl.data import load_dataset, sample_dataset
from livn_rl.data.store import shard_path
from livn_rl.export import (
    ExportError, RecordEpisode, Session, SystemInfo, from_nwb, inspect_nwb, load_session, pulse_table,
    system_config_hash, to_nwb,
)
from livn_rl.recording import Recording
from livn_rl.stimulus import render

from conftest import RECORDING_ARRAYS

pynwb = pytest.importorskip("pynwb")
from pynwb import NWBHDF5IO  # noqa: E402

SCALARS = ("t_start_ms", "duration_ms", "n_neurons", "n_channels", "n_copies")


@pytest.fixture(autouse=True)
def _quiet_hdmf():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pynwb's namespace notices; the files are checked by nwbinspector instead
        yield


def _violations(path) -> list[str]:
    """nwbinspector's critical and best-practice violations (and validation errors) on a file."""
    return [f"{m.importance.name} {m.check_function_name}: {m.message}" for m in inspect_nwb(path)
            if m.importance.value >= 1]


def _assert_same_recording(a, b) -> None:
    for name in SCALARS:
        assert getattr(a, name) == getattr(b, name), name
    for name in RECORDING_ARRAYS:
        assert np.array_equal(getattr(a, name), getattr(b, name)), name  # exact: values, order and count
        assert getattr(b, name).dtype.kind == getattr(a, name).dtype.kind, name


def _run(name: str, duration_ms: float = 300.0):
    """A real open-loop run of ``name`` with a pulse train (numpy target), as a Session."""
    system = make_system(name)
    pulses = pulse_train(0, 10.0, 50.0, 4, 20.0)
    sim = Simulation(system, seed=2, target="numpy")
    try:
        recording = sim.run(duration_ms, stimulus=render(pulses, system.mea.n_channels, duration_ms, sim.dt_ms))
    finally:
        sim.close()
    metadata = {"description": f"test run of {name}", "seed": 2, "created": "2025-01-02T03:04:05+00:00"}
    return Session("recording", SystemInfo.from_system(system), recording, 0.1, pulse_table(pulses), metadata=metadata)


@pytest.fixture(scope="module", params=["S1", "S2"])
def run(request):
    return _run(request.param)


def test_recording_round_trip_through_the_session_file_and_nwb_is_exact(run, tmp_path):
    assert run.recording.neuron_i.size > 0 and run.recording.channel_c.size > 0
    saved = load_session(run.save(tmp_path / "run.npz"))
    _assert_same_recording(run.recording, saved.recording)
    assert saved.system.config_hash == run.system.config_hash and np.array_equal(saved.stimulation, run.stimulation)
    out = to_nwb(tmp_path / "run.npz", tmp_path / "run.nwb")
    _assert_same_recording(run.recording, from_nwb(out))
    assert _violations(out) == []
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left


def test_the_file_says_what_went_where(run, tmp_path):
    out = to_nwb(run, tmp_path / "run.nwb")
    info, rec = run.system, run.recording
    with NWBHDF5IO(str(out), "r") as io:
        nwb = io.read()
        assert "simulated" in nwb.subject.description and info.config_hash in nwb.subject.description
        assert nwb.subject.subject_id == f"{info.name}-{info.config_hash.removeprefix('sha256:')[:12]}"
        electrodes = nwb.electrodes.to_dataframe()
        assert electrodes["channel"].tolist() == list(range(info.mea.n_channels))
        assert np.allclose(electrodes[["rel_x", "rel_y", "rel_z"]].to_numpy(), info.mea.positions_um)
        units = nwb.units.to_dataframe()
        assert len(units) == info.n_neurons
        assert units["population"].tolist() == ["E"] * info.populations[0].size + ["I"] * info.populations[1].size
        assert set(units["cell_type"]) == {"RS", "FS"}
        assert np.allclose(np.stack(units["position_um"]), info.positions_um)
        counts = [len(t) for t in units["spike_times"]]
        assert counts == np.bincount(rec.neuron_i, minlength=info.n_neurons).tolist()
        detected = nwb.processing["ecephys"]["detected_spikes"].to_dataframe(index=True)
        assert len(detected) == rec.channel_c.size
        assert np.array_equal(detected["unit"].to_numpy(), rec.channel_unit)
        assert np.allclose(detected["spike_time"].to_numpy() * 1000.0, rec.channel_t_ms)
        stimulation = nwb.intervals["stimulation"].to_dataframe()
        assert stimulation["channel"].tolist() == [0] * 4
        assert np.allclose(stimulation["start_time"], [0.05, 0.1, 0.15, 0.2])
        assert np.allclose(stimulation["stop_time"] - stimulation["start_time"], 0.0004)  # two 0.2 ms phases
        assert stimulation["amplitude_ua"].tolist() == [10.0] * 4 and stimulation["phase_width_ms"].tolist() == [0.2] * 4
        assert json.loads(nwb.notes)["livn_rl"]["system"]["config_hash"] == info.config_hash


def test_copies_voltages_and_stimulation_currents_are_kept(tmp_path):
    system = make_system("S1")
    currents = np.zeros((1000, system.mea.n_channels))
    currents[100:102, 1], currents[102:104, 1] = -10.0, 10.0  # a biphasic pulse given as an array
    sim = Simulation(system, seed=0, target="numpy", record_voltages=[0, 3], n_copies=2)
    try:
        recording = sim.step(currents, 100.0)
    finally:
        sim.close()
    session = Session("recording", SystemInfo.from_system(system), recording, 0.1, currents=currents,
                      metadata={"created": "2025-01-02T03:04:05+00:00", "seed": 0})
    out = to_nwb(session, tmp_path / "copies.nwb")
    back = from_nwb(out)
    _assert_same_recording(recording, back)
    assert np.array_equal(back.voltage_index, [0, 3]) and np.array_equal(back.voltage_mv, recording.voltage_mv)
    assert np.allclose(back.voltage_t_ms, recording.voltage_t_ms, rtol=0, atol=1e-9)  # from the series' rate
    assert _violations(out) == []
    with NWBHDF5IO(str(out), "r") as io:
        nwb = io.read()
        assert len(nwb.electrodes) == 2 * system.mea.n_channels and set(nwb.electrode_groups) == {"mea_copy0", "mea_copy1"}
        assert len(nwb.units) == 2 * system.n_neurons
        series = nwb.stimulus["stimulation_currents"]
        assert np.array_equal(series.data[:], currents) and series.conversion == 1e-6 and series.rate == 10_000.0


def test_config_hash_changes_with_the_config_only():
    from livn_rl.identity import config_hash

    assert system_config_hash(make_system("S2")) == system_config_hash(make_system("S2"))
    # the one function that hashes configs, over the system's identity, as dataset identities are hashed
    s2 = make_system("S2")
    assert system_config_hash(s2) == config_hash({"system": s2.identity(), "mea": s2.mea.to_dict()})
    assert system_config_hash(make_system("S2")) != system_config_hash(make_system("S2", seed=1))
    assert system_config_hash(make_system("S1")) != system_config_hash(make_system("S2"))


def test_a_short_episode_round_trips_with_its_task(tmp_path):
    env = RecordEpisode(gym.make("livn_rl/Pendulum-S1-v0", target="numpy", max_episode_steps=6), folder=tmp_path / "eps")
    env.reset(seed=4)
    actions, rewards, done = [], [], False
    while not done:
        action = env.action_space.sample()
        _, reward, terminated, truncated, _ = env.step(action)
        actions.append(action)
        rewards.append(reward)
        done = terminated or truncated
    episode = env.last_episode
    assert env.saved == [tmp_path / "eps" / "episode-00000.npz"] and episode.metadata["ended"] == "truncated"
    env.reset(seed=5)
    env.step(env.action_space.sample())
    env.close()  # an episode cut short is kept too, and says so
    assert env.saved[1].name == "episode-00001.npz" and load_session(env.saved[1]).metadata["ended"] == "closed"
    assert not env.last_episode.trials["truncated"].any() and env.last_episode.recording.duration_ms == 50.0
    assert episode.recording.duration_ms == 6 * 50.0 and episode.stimulation.size > 0
    out = to_nwb(env.saved[0], tmp_path / "episode.nwb")
    _assert_same_recording(episode.recording, from_nwb(out))
    assert _violations(out) == []
    with NWBHDF5IO(str(out), "r") as io:
        nwb = io.read()
        behavior = nwb.processing["behavior"]
        assert np.allclose(behavior["agent_action"].data[:], np.array(actions).reshape(6, -1))
        assert np.allclose(behavior["reward"].data[:], rewards) and behavior["reward"].starting_time == 0.05
        assert behavior["observation"].data.shape == (7, 3) and behavior["task_action"].data.shape == (6, 1)
        trials = nwb.trials.to_dataframe()
        assert trials["step"].tolist() == list(range(6)) and trials["truncated"].tolist() == [False] * 5 + [True]
        stimulation = nwb.intervals["stimulation"].to_dataframe()
        starts = trials["start_time"].to_numpy()[stimulation["trial"].to_numpy()]
        assert np.all((stimulation["start_time"] >= starts) & (stimulation["start_time"] < starts + 0.05))


def test_record_episode_refuses_envs_that_are_not_livn_envs():
    with pytest.raises(ValueError, match="LivnEnv"):
        RecordEpisode(gym.make("Pendulum-v1"))


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ds") / "S1"
    sample_dataset("S1", folder, samples=12, trials_per_episode=4, n_copies=2, target="numpy", progress=False)
    return folder


def test_a_dataset_shard_holds_every_trial_once(dataset, tmp_path):
    out = to_nwb(dataset, tmp_path / "shard1.nwb", shard=1)
    trials = load_dataset(dataset).to_pandas().set_index("trial")
    assert _violations(out) == []
    with NWBHDF5IO(str(out), "r") as io:
        nwb = io.read()
        table = nwb.trials.to_dataframe()
        assert table["trial"].tolist() == list(range(8, 12))  # shard 1 of 12 trials in shards of 8
        units = nwb.units.to_dataframe()
        for row in table.itertuples():
            spikes = sorted((int(u), round(float(t) - row.start_time, 6))
                            for u, times in zip(units["neuron"], units["spike_times"]) for t in times
                            if row.start_time <= t < row.stop_time)
            stored = trials.loc[row.trial]
            it, t = stored.trial_it[0], stored.trial_t[0]  # the sample's one trial (livn's nesting)
            assert spikes == sorted(zip(it.tolist(), np.round(np.asarray(t, np.float64) / 1000.0, 6).tolist()))
        stimulation = nwb.intervals["stimulation"].to_dataframe()
        assert set(stimulation["trial"]) <= set(range(4)) and len(stimulation) > 0
    whole = from_nwb(to_nwb(dataset, tmp_path / "all.nwb"))
    assert whole.duration_ms == 12 * 50.0
    assert whole.neuron_i.size == sum(len(v[0]) for v in trials["trial_it"])


def test_a_dataset_is_exported_only_with_the_system_of_its_identity(dataset, tmp_path):
    from livn_rl.systems import PREDEFINED

    other = {**PREDEFINED["S1"], "seed": 2}  # same name, neurons, populations and electrodes: another culture
    with pytest.raises(ExportError, match="not the one the dataset was made with: system.config.seed: dataset 0, "
                                          "rebuilt 2"):
        to_nwb(dataset, tmp_path / "other.nwb", shard=0, system=other)
    assert not (tmp_path / "other.nwb").exists()


def test_a_dataset_with_a_missing_shard_is_refused_and_nothing_is_written(dataset, tmp_path, capsys):
    broken = tmp_path / "broken"
    broken.mkdir()
    for item in ("meta.json", "README.md"):
        (broken / item).write_bytes((dataset / item).read_bytes())
    shard_path(broken, 0).parent.mkdir()
    shard_path(broken, 0).write_bytes(shard_path(dataset, 0).read_bytes())
    with pytest.raises(ExportError, match="incomplete"):
        to_nwb(broken, tmp_path / "out.nwb")
    with pytest.raises(ExportError, match="shard 1 .* is missing"):
        to_nwb(broken, tmp_path / "out.nwb", shard=1)
    assert main(["export", "nwb", str(broken), "--per-shard", "--out", str(tmp_path / "per")]) == 2
    assert "missing" in capsys.readouterr().err
    assert not (tmp_path / "out.nwb").exists() and not (tmp_path / "per").exists()
    assert to_nwb(broken, tmp_path / "shard0.nwb", shard=0).is_file()  # the finished shard is fine


def test_cli_exports_a_saved_simulation_and_refuses_to_overwrite(tmp_path, capsys):
    saved, summary, out = tmp_path / "s1.npz", tmp_path / "s1.json", tmp_path / "s1.nwb"
    assert main(["simulate", "S1", "--duration", "200", "--stimulate", "0:10uA@50ms", "--target", "numpy", "--quiet",
                 "--out", str(tmp_path / "s1.png"), "--json", str(summary), "--save", str(saved)]) == 0
    assert json.loads(summary.read_text())["recording"] == str(saved)
    assert main(["export", "nwb", str(summary), "--out", str(out), "--inspect", "--quiet"]) == 0
    report = capsys.readouterr().out
    assert "nwbinspector" in report and "CRITICAL" not in report and "VIOLATION" not in report
    _assert_same_recording(load_session(saved).recording, from_nwb(out))
    before = out.read_bytes()
    assert main(["export", "nwb", str(saved), "--out", str(out)]) == 2
    assert "exists" in capsys.readouterr().err and out.read_bytes() == before
    assert main(["export", "nwb", str(saved), "--out", str(out), "--overwrite"]) == 0
    assert out.read_bytes() != before  # a new file (new identifier)


def _bad_source(kind: str, folder: Path) -> Path:
    path = folder / {"text": "notes.txt", "folder": "folder", "npz": "other.npz", "summary": "summary.json",
                     "missing": "missing.npz"}[kind]
    if kind == "text":
        path.write_text("hello")
    elif kind == "folder":
        path.mkdir()
    elif kind == "npz":
        np.savez(path, x=np.arange(3))
    elif kind == "summary":
        path.write_text('{"system": "S1"}')  # a --json summary written without --save
    return path


@pytest.mark.parametrize("kind, words", [
    ("text", ["unknown source type", "notes.txt"]),
    ("folder", ["no meta.json"]),
    ("npz", ["not a livn_rl session"]),
    ("summary", ["without spikes", "--save"]),
    ("missing", ["does not exist"]),
])
def test_bad_sources_are_one_clear_line_and_write_nothing(kind, words, tmp_path, capsys):
    source = _bad_source(kind, tmp_path)
    assert main(["export", "nwb", str(source), "--out", str(tmp_path / "x.nwb")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and all(w in err for w in words), err
    assert not (tmp_path / "x.nwb").exists()


def test_the_raster_example_reads_a_file_with_plain_pynwb(run, tmp_path):
    out = to_nwb(run, tmp_path / "run.nwb")
    png = tmp_path / "raster.png"
    done = subprocess.run([sys.executable, str(Path(__file__).parent.parent / "examples" / "nwb_raster.py"), str(out),
                           "--out", str(png)], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    assert f"{run.system.n_neurons} units, {run.recording.neuron_i.size} spikes" in done.stdout


def test_without_pynwb_the_error_names_the_extra(tmp_path):
    system = make_system("S1")
    empty = Recording(0.0, 10.0, system.n_neurons, system.mea.n_channels)
    saved = Session("recording", SystemInfo.from_system(system), empty, 0.1,
                    metadata={"created": "2025-01-02T03:04:05+00:00"}).save(tmp_path / "run.npz")
    out = tmp_path / "run.nwb"
    script = ("import sys; sys.modules['pynwb'] = None\n"  # what an environment without the package raises
              "from livn_rl.cli import main\n"
              f"sys.exit(main(['export', 'nwb', {str(saved)!r}, '--out', {str(out)!r}]))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          cwd=Path(__file__).parent)
    assert done.returncode == 1 and "pip install 'livn_rl[nwb]'" in done.stderr, done.stderr
    assert not out.exists()


def test_record_episode_of_a_reference_circuit_driven_without_the_mea():
    env = RecordEpisode(gym.make("livn_rl/LIF-RateTrack-v0", target="numpy", max_episode_steps=3))
    try:
        env.reset(seed=0)
        for _ in range(3):
            env.step(env.action_space.sample())
        session = env.last_episode
        assert session.recording.neuron_i.size > 0 and len(session.task["reward"]) == 3
        assert session.stimulation.size == 0 and session.currents is None  # its input current is no MEA stimulation
    finally:
        env.close()
