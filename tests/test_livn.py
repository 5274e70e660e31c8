"""livn interoperability: observing neuron-level spikes through an MEA offline, livn's dataset layout both ways, and
wrapping any task instance."""

from __future__ import annotations

import dataclasses

import gymnasium as gym
import numpy as np
import pytest

from livn_rl import Pulse, Simulation
from livn_rl.stimulus import stack_copies
from conftest import QUIET_CULTURE


def test_channel_recording_detects_what_the_engine_detects_from_the_same_spikes():
    seed = 5
    with Simulation(QUIET_CULTURE, seed=seed, target="numpy") as sim:
        pulses = [Pulse(c, 2.0 + 5 * c, 30.0) for c in range(sim.n_channels)]
        recording = sim.step(pulses, 40.0)
        positions, mea = sim.system.positions_um, sim.mea
    assert recording.neuron_i.size > 0 and recording.channel_c.size > 0
    channel, t, unit = mea.channel_spikes(
        positions, recording.neuron_i, recording.neuron_t_ms, t_start_ms=recording.t_start_ms,
        t_end_ms=recording.t_start_ms + recording.duration_ms, seed=np.random.default_rng([seed, 1, 0]),
    )
    np.testing.assert_array_equal(channel, recording.channel_c)
    np.testing.assert_array_equal(t, recording.channel_t_ms)
    np.testing.assert_array_equal(unit, recording.channel_unit)
    # livn's form: dicts keyed by channel, and livn's (n, 4) [id, x, y, z] coordinates with ids that are not rows
    ids = np.arange(positions.shape[0]) + 1000
    units, times = mea.channel_recording(np.column_stack([ids, positions]), recording.neuron_i + 1000,
                                         recording.neuron_t_ms, t_start_ms=recording.t_start_ms,
                                         t_end_ms=recording.t_start_ms + recording.duration_ms,
                                         seed=np.random.default_rng([seed, 1, 0]))
    assert sorted(units) == list(range(mea.n_channels))
    for c in range(mea.n_channels):
        mine = recording.channel_c == c
        np.testing.assert_array_equal(times[c], recording.channel_t_ms[mine])
        expected = np.where(recording.channel_unit[mine] >= 0, recording.channel_unit[mine] + 1000, -1)
        np.testing.assert_array_equal(units[c], expected)


def test_channel_recording_is_seeded_and_its_bad_input_is_named():
    from livn_rl.systems import make_system

    system = make_system(QUIET_CULTURE)
    noisy = dataclasses.replace(system.mea, threshold_sd=2.0)  # ~230 noise crossings/s per channel
    it, t = np.arange(system.n_neurons).repeat(3), np.tile([1.0, 1.5, 30.0], system.n_neurons)
    first = noisy.channel_spikes(system.positions_um, it, t, t_end_ms=50.0, seed=3)
    again = noisy.channel_spikes(system.positions_um, it, t, t_end_ms=50.0, seed=3)
    other = noisy.channel_spikes(system.positions_um, it, t, t_end_ms=50.0, seed=4)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert any(a.shape != b.shape or np.any(a != b) for a, b in zip(first, other))
    channel, times, unit = first
    assert np.any(unit == -1) and np.any(unit >= 0)  # noise crossings and spikes
    trials = noisy.channel_spikes_of_trials(system.positions_um, [it, it[:5]], [t, t[:5]], [50.0, 40.0], seed=3)
    for k, (trial_it, trial_t, end) in enumerate(((it, t, 50.0), (it[:5], t[:5], 40.0))):
        alone = noisy.channel_spikes(system.positions_um, trial_it, trial_t, t_end_ms=end,
                                     seed=np.random.default_rng([3, k]))
        for a, b in zip(trials[k], alone):
            np.testing.assert_array_equal(a, b)
    for c in np.unique(channel):  # dead time: no channel detects twice within it
        assert np.all(np.diff(times[channel == c]) >= noisy.dead_time_ms)
    with pytest.raises(ValueError, match=f"neuron id {system.n_neurons} in it is not among the {system.n_neurons}"):
        system.mea.channel_spikes(system.positions_um, [system.n_neurons], [1.0])
    with pytest.raises(ValueError, match="spike time 60.0 ms is outside the recording"):
        system.mea.channel_spikes(system.positions_um, [0], [60.0], t_end_ms=50.0)
    with pytest.raises(ValueError, match="trial 1: spike time 45.0 ms is outside the recording"):
        system.mea.channel_spikes_of_trials(system.positions_um, [[0], [1]], [[1.0], [45.0]], 40.0)
    with pytest.raises(ValueError, match=r"shape \(3, 2\)"):
        system.mea.channel_spikes(np.zeros((3, 2)), [0], [1.0])


# ------------------------------------------------------------------------------------------- livn's layout
#: livn's published splits, written as livn's merge step lays them out (one config per system, one folder each)
LIVN_SPLITS = ("train", "test", "train_with_noise")
T_END = 5000.0  # livn's samples are 5 s long


def write_livn_fixture(folder, n_samples: int = 6, *, seed: int = 0, n_neurons: int = 10, n_channels: int = 4,
                       features=None):
    """A local copy of a livn hub dataset for system S1: nested per-trial spike lists, features in livn's units
    (``[channel, t_stim ms, amplitude uA]``), ``t_end``, voltages, the three published splits and a card."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    (folder / "S1").mkdir(parents=True)
    for split in LIVN_SPLITS:
        rows = []
        for _ in range(n_samples):
            it = rng.integers(0, n_neurons, 40)
            t = np.sort(rng.uniform(0, T_END, 40))
            rows.append({
                "features": features if features is not None else
                [float(rng.integers(0, n_channels)), float(rng.integers(0, 4900)), float(rng.uniform(0, 10))],
                "trial_it": [it.tolist(), rng.integers(0, n_neurons, 5).tolist()],  # two trials
                "trial_t": [t.tolist(), np.sort(rng.uniform(0, T_END, 5)).tolist()],
                "trial_iv": [[0, 1]], "trial_vv": [[[-65.0, -64.0], [-70.0, -69.5]]],
                "t_end": T_END,
            })
        table = pa.Table.from_pylist(rows)
        pq.write_table(table, folder / "S1" / f"{split}-00000-of-00001.parquet")
    data_files = "".join(f"  - split: {s}\n    path: S1/{s}-*\n" for s in LIVN_SPLITS)
    (folder / "README.md").write_text(f"---\nconfigs:\n- config_name: S1\n  data_files:\n{data_files}---\n# livn\n")
    return folder


def _pulse_env(**kwargs):
    import gymnasium as gym

    return gym.make("livn_rl/Pendulum-S1-v0", encoder={"name": "pulse", "max_amplitude_ua": 10.0}, window_ms=T_END,
                    target="numpy", **kwargs)


def test_a_livn_layout_dataset_is_read_observed_through_an_mea_and_replayed(tmp_path):
    from stable_baselines3.common.buffers import ReplayBuffer

    from livn_rl.data import load_dataset, transitions
    from livn_rl.systems import make_system

    folder = write_livn_fixture(tmp_path / "livn")
    data = load_dataset(folder, "S1", split="train_with_noise")
    assert data.num_rows == 6
    sample = data[0]  # livn's own access pattern
    it, t = np.array(sample["trial_it"][0]), np.array(sample["trial_t"][0])
    assert it.size == 40 and int(sample["features"][1]) == sample["features"][1] and sample["t_end"] == T_END
    system = make_system("S1")
    units, times = system.mea.channel_recording(system.positions_um, it, t, t_end_ms=sample["t_end"], seed=0)
    assert sum(v.size for v in times.values()) > 0
    assert all(np.all(np.isin(units[c][units[c] >= 0], it)) for c in units)

    env = _pulse_env()
    replayed = transitions(folder, env, config="S1", split="train_with_noise", seed=3)
    assert replayed["obs"].shape == (6, 3) and replayed["action"].shape == (6, 3)
    # the action is the features turned back into the encoder's input, whose encoding is livn's pulse
    encoder = env.unwrapped.encoder
    for k in range(6):
        features = data[k]["features"]
        action = encoder.from_features(features)
        np.testing.assert_allclose(replayed["action"][k], action, atol=1e-6)  # float32, as SB3 stores actions
        (pulse,) = encoder.encode(action)
        assert (pulse.channel, pulse.onset_ms) == (int(features[0]), pytest.approx(features[1], abs=1e-9))
        assert pulse.amplitude_ua == pytest.approx(features[2], rel=1e-12)
    # consecutive samples are consecutive steps; the last one ends the episode as a truncation, never a terminal
    np.testing.assert_array_equal(replayed["obs"][1:], replayed["next_obs"][:-1])
    assert not replayed["terminated"].any() and replayed["truncated"].tolist() == [False] * 5 + [True]
    buffer = ReplayBuffer(10, env.observation_space, env.action_space, handle_timeout_termination=True)
    from livn_rl.data import fill_replay_buffer

    assert fill_replay_buffer(buffer, folder, env, config="S1", split="train_with_noise", seed=3) == 6
    np.testing.assert_array_equal(buffer.observations[:6, 0], replayed["obs"])
    assert buffer.timeouts[5, 0] and not buffer.dones[:5].any()
    env.close()


def test_bad_livn_layout_data_is_refused_naming_the_field_and_nothing_is_added(tmp_path):
    from stable_baselines3.common.buffers import ReplayBuffer

    from livn_rl.data import DatasetError, fill_replay_buffer, load_dataset, transitions

    env = _pulse_env()
    buffer = ReplayBuffer(10, env.observation_space, env.action_space, handle_timeout_termination=True)
    too_many = write_livn_fixture(tmp_path / "ids", n_neurons=12)  # S1 has 10 neurons
    with pytest.raises(DatasetError, match=r"sample \d+: trial_it holds neuron id 1[01], but the env's system 'S1' has "
                                           r"10 neurons \(ids 0..9\)"):
        fill_replay_buffer(buffer, too_many, env, config="S1")
    strong = write_livn_fixture(tmp_path / "amp", features=[1.0, 200.0, 25.0])  # 25 uA > the encoder's 10 uA
    with pytest.raises(DatasetError, match=r"sample 0: features do not fit the env's encoder: PulseEncoder feature 2 is "
                                           r"25.0, outside the encoder's range \[0, 10\]"):
        fill_replay_buffer(buffer, strong, env, config="S1")
    assert buffer.size() == 0  # nothing added half-way
    with pytest.raises(DatasetError, match=r"has no split 'validation'; its splits: \['test', 'train', "
                                           r"'train_with_noise'\]"):
        load_dataset(too_many, "S1", split="validation")
    shard = tmp_path / "ids" / "S1" / "test-00000-of-00001.parquet"
    shard.write_bytes(shard.read_bytes()[:100])
    with pytest.raises(DatasetError, match=r"test-00000-of-00001.parquet is corrupt or not Parquet"):
        load_dataset(too_many, "S1", split="test")
    with pytest.raises(DatasetError, match=r"t_end is 5000 ms, the env's window is 50 ms; make the env with "
                                           r"window_ms=5000"):
        transitions(strong, "livn_rl/Pendulum-S1-v0", config="S1",
                    env_kwargs={"encoder": {"name": "pulse"}, "target": "numpy"})
    env.close()


@pytest.fixture(scope="module")
def livn_style_data(tmp_path_factory):
    """Our own sampler in livn's style: long samples of several pulses, each on a fresh culture, voltages too."""
    from livn_rl.data import sample_dataset

    folder = tmp_path_factory.mktemp("ours") / "S1"
    sample_dataset("S1", folder, samples=4, window_ms=200.0, trials_per_episode=1, n_copies=2, noise=False,
                   encoder={"name": "pulse", "n_pulses": 3, "max_amplitude_ua": 30.0}, split="train",
                   record_voltage=True, target="numpy", progress=False)
    return folder


def test_our_dataset_read_as_livn_reads_it_holds_the_spikes_of_the_simulation(livn_style_data):
    import datasets

    from livn_rl.data import dataset_meta
    from livn_rl.encoders import StimulationContext, make_encoder

    meta = dataset_meta(livn_style_data)
    dataset = datasets.load_dataset(str(livn_style_data), split="train", download_mode="force_redownload")
    encoder = make_encoder(meta["encoder"]["spec"])
    samples = [dataset[k] for k in range(dataset.num_rows)]
    with Simulation("S1", seed=meta["seed"], n_copies=2, background=False, target="numpy",
                    record_voltages=range(10)) as sim:
        encoder.bind(StimulationContext(sim.mea, meta["window_ms"], meta["dt_ms"]))
        for shard in (samples[0:2], samples[2:4]):  # a shard: two copies of one network, one sample each
            stimuli = []
            for sample in shard:
                it, t = np.array(sample["trial_it"][0]), np.array(sample["trial_t"][0])  # livn's access pattern
                t_stim = int(sample["features"][1])  # livn's example: the first pulse's onset in ms
                assert 0 <= t_stim < sample["t_end"] == 200.0 and sample["seed"] == shard[0]["seed"]
                pulses = [(c, onset, amplitude) for c, onset, amplitude in
                          np.reshape(sample["features"], (3, 3)).tolist() if amplitude > 0]
                # livn's features describe the stimulation exactly: our encoder makes the same pulses of them
                stimuli.append(encoder.encode(encoder.from_features(sample["features"])))
                made = [(p.channel, p.onset_ms, p.amplitude_ua) for p in stimuli[-1]]
                assert len(made) == len(pulses) > 0
                np.testing.assert_allclose(sorted(made), sorted(pulses), rtol=1e-6)
            sim.reset(shard[0]["seed"])  # trials_per_episode=1: each sample is a fresh culture from its seed
            recording = sim.step(stack_copies(stimuli, sim.n_channels, 200.0, meta["dt_ms"]), 200.0)
            for k, sample in enumerate(shard):
                mine = recording.neuron_copy == k
                np.testing.assert_array_equal(sample["trial_it"][0], recording.neuron_i[mine])
                np.testing.assert_allclose(sample["trial_t"][0], recording.neuron_t_ms[mine] - recording.t_start_ms,
                                           atol=1e-4)
                assert sample["trial_iv"][0] == list(range(10))
                np.testing.assert_allclose(np.array(sample["trial_vv"][0]), recording.voltage_mv[k], atol=1e-3)
    assert sum(len(s[0]) for s in dataset["trial_it"]) > 0


def test_livns_own_mea_observes_our_data(livn_style_data):
    livn_io = pytest.importorskip("livn.io", reason="the livn package is not installed (pip install 'livn_rl[livn]'); "
                                                    "the fixture tests of livn's layout stand for it")
    from livn_rl.data import load_dataset
    from livn_rl.systems import make_system

    system = make_system("S1")
    radius = 120.0
    # livn's MEA over our electrodes and livn's (n, 4) [id, x, y, z] coordinates of our neurons
    mea = livn_io.MEA(np.column_stack([np.arange(system.mea.n_channels), system.mea.positions_um]),
                      output_radius=radius)
    coordinates = np.column_stack([np.arange(system.n_neurons), system.positions_um])
    distances = system.mea.distances_um(system.positions_um)
    seen = 0
    for sample in load_dataset(livn_style_data):
        it, t = np.array(sample["trial_it"][0]), np.array(sample["trial_t"][0])
        cit, ct = mea.channel_recording(coordinates, it, t)  # livn's own call, as in its README
        for c in range(system.mea.n_channels):
            near = distances[c][it] <= radius  # livn's model: every spike within output_radius, no noise
            np.testing.assert_array_equal(np.sort(np.asarray(ct.get(c, []))), np.sort(t[near]))
            np.testing.assert_array_equal(np.sort(np.asarray(cit.get(c, []))), np.sort(it[near]))
            seen += int(near.sum())
    assert seen > 0


# ------------------------------------------------------------------------------------------ wrapping a task
class _Corridor(gym.Env):
    """A task of our own, not registered anywhere: walk right along a corridor (Discrete actions)."""

    observation_space = gym.spaces.Box(0.0, 10.0, (1,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.x = 0.0
        return np.array([self.x], np.float32), {}

    def step(self, action):
        self.x = min(10.0, self.x + (1.0 if action == 1 else 0.0))
        return np.array([self.x], np.float32), float(action == 1), self.x >= 10.0, False, {}


def test_wrap_puts_a_culture_in_front_of_any_task_instance_and_keeps_its_wrappers():
    import livn_rl

    task = gym.make("Pendulum-v1", max_episode_steps=3)  # already wrapped: TimeLimit, order enforcing, checker
    env = livn_rl.wrap(task, system="S1", encoder="rate", decoder="population_vector", target="numpy")
    assert env.task is task and env.window_ms == 50.0  # the instance itself, Pendulum's own time step
    obs, info = env.reset(seed=0)
    assert obs.shape == (3,) and env.action_space.shape == (4,)  # the rate encoder: one value per channel
    ends = [env.step(env.action_space.sample())[3] for _ in range(3)]
    assert ends == [False, False, True]  # the task's own TimeLimit truncates
    env.close()
    corridor = livn_rl.wrap(_Corridor(), system="S1", encoder="population", decoder="first_spike", window_ms=20.0,
                            target="numpy")
    assert corridor.task_id == "_Corridor"
    corridor.reset(seed=1)
    obs, reward, *_ = corridor.step(np.zeros(1, np.float32))
    assert obs.shape == (1,) and reward in (0.0, 1.0)
    corridor.close()
    with pytest.raises(ValueError, match="wrap\\(\\) takes a Gymnasium env instance, got str"):
        livn_rl.wrap("Pendulum-v1")


def test_the_registered_envs_are_wrap_and_a_wrapped_env_vectorises_for_gymnasium_and_sb3():
    import livn_rl
    from livn_rl.envs.sb3 import make_sb3_vec_env

    registered = gym.make("livn_rl/Pendulum-S1-v0", target="numpy")
    wrapped = livn_rl.wrap(gym.make("Pendulum-v1").unwrapped, system="S1", target="numpy")
    action = np.array([0.5], np.float32)
    first, _ = registered.reset(seed=4)
    again, _ = wrapped.reset(seed=4)
    np.testing.assert_array_equal(first, again)
    for _ in range(3):
        np.testing.assert_array_equal(registered.step(action)[0], wrapped.step(action)[0])  # the same env
    registered.close()

    venv = gym.make_vec(wrapped.spec, num_envs=2, target="numpy")  # two cultures in one network, own task copies
    assert len({id(e.task) for e in venv.envs} | {id(wrapped.task)}) == 3
    obs, _ = venv.reset(seed=0)
    assert obs.shape == (2, 3)
    obs, reward, terminated, truncated, _ = venv.step(np.zeros((2, 1), np.float32))
    assert reward.shape == (2,)
    venv.close()
    sb3 = make_sb3_vec_env(wrapped.spec, n_envs=2, seed=0, target="numpy")
    assert sb3.reset().shape == (2, 3)
    sb3.close()
    wrapped.close()


def test_train_replay_takes_a_livn_layout_dataset_and_names_a_missing_split(tmp_path, capsys):
    from livn_rl.cli import main

    folder = write_livn_fixture(tmp_path / "livn")
    words = ["train", "livn_rl/Pendulum-S1-v0", "--replay", str(folder), "--replay-config", "S1", "--out",
             str(tmp_path / "run"), "--env-arg", "target=numpy", "--env-arg", "window_ms=5000",
             "--env-arg", 'encoder={"name": "pulse"}']
    assert main([*words, "--replay-split", "validation"]) == 2
    assert "has no split 'validation'; its splits: ['test', 'train', 'train_with_noise']" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()  # nothing written


def test_a_seed_sweep_replays_the_config_and_split_it_was_given(tmp_path, monkeypatch):
    """``livn-rl train --seeds N`` hands --replay-config and --replay-split to every seed's training (the sweep's
    training itself is tested in tests/test_seed_sweep.py; here only what each seed is asked to replay)."""
    import json

    from livn_rl.cli import main
    from livn_rl.experiments import seed_sweep

    folder = write_livn_fixture(tmp_path / "livn")
    out = tmp_path / "sweep"
    out.mkdir()
    (out / "random_policy.json").write_text(json.dumps({"mean_return": -1000.0, "episodes": 1}))  # kept, as on resume
    asked = []

    def record(runs, *args, **kwargs):
        asked.extend(runs)
        raise KeyboardInterrupt

    monkeypatch.setattr(seed_sweep, "run_sweep", record)
    assert main(["train", "livn_rl/Pendulum-S1-v0", "--replay", str(folder), "--replay-config", "S1",
                 "--replay-split", "test", "--seeds", "2", "--out", str(out), "--env-arg", "target=numpy",
                 "--env-arg", "window_ms=5000", "--env-arg", 'encoder={"name": "pulse"}', "-q"]) == 130
    assert [run.seed for run in asked] == [0, 1]
    assert {(r.train_kwargs["replay"], r.train_kwargs["replay_config"], r.train_kwargs["replay_split"])
            for r in asked} == {(str(folder), "S1", "test")}
