"""Datasets (sampling, resuming, loading, bad input), replay buffers and Minari export."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import pyarrow.parquet as pq
import pytest

import livn_rl  # noqa: F401  (registers the envs)
from livn_rl.cli import main
from livn_rl.data import DatasetError, fill_replay_buffer, load_dataset, sample_dataset, scale_action, transitions
from livn_rl.data.store import COLUMNS, read_meta, shard_path
from livn_rl.envs import LivnEnv

#: Small datasets on S1 (10 cells, 4 channels) with the numpy target: seconds, no compiler.
SMALL = dict(samples=30, trials_per_episode=5, n_copies=2, window_ms=50.0, target="numpy", progress=False)
#: The encoder of livn_rl/Pendulum-S1-v0 (population, one value), so its trials can be replayed in that env.
PENDULUM_ENCODER = "population"


@pytest.fixture(scope="module")
def pendulum_data(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("data") / "S1-population"
    sample_dataset("S1", folder, encoder=PENDULUM_ENCODER, **SMALL)
    return folder


def _table(path: Path) -> dict:
    return pq.read_table(path).to_pydict()


# ------------------------------------------------------------------------------------------------ sampling
def test_sampled_dataset_has_the_schema_the_layout_and_a_card(pendulum_data):
    data = load_dataset(pendulum_data)
    assert data.num_rows == 30
    assert data.column_names == list(COLUMNS)
    rows = data.to_dict()
    assert rows["trial"] == list(range(30))
    # episodes of 5 consecutive windows, 2 episodes per shard, contiguous in the dataset
    assert rows["episode"] == [t // 5 for t in range(30)]
    assert rows["step"] == [t % 5 for t in range(30)]
    assert all(len(f) == 1 and -1 <= f[0] <= 1 for f in rows["features"])
    assert len({f[0] for f in rows["features"]}) == 30  # drawn at random, not repeated
    assert all(t == 50.0 for t in rows["t_end"])
    assert all(len(t) == 1 and len(i) == 1 for t, i in zip(rows["trial_t"], rows["trial_it"]))  # one trial each
    spikes = np.concatenate([np.asarray(t[0]) for t in rows["trial_t"]])
    assert spikes.size > 0 and spikes.min() >= 0 and spikes.max() < 50.0
    neurons = np.concatenate([np.asarray(i[0]) for i in rows["trial_it"]])
    assert neurons.min() >= 0 and neurons.max() < 10
    channels = np.concatenate([np.asarray(c) for c in rows["channel_it"]])
    assert channels.size > 0 and channels.max() < 4
    assert all(len(u) == len(c) for u, c in zip(rows["channel_unit"], rows["channel_it"]))
    meta = read_meta(pendulum_data)
    assert meta["system"]["name"] == "S1" and meta["mea"]["n_channels"] == 4
    assert meta["encoder"]["repr"].startswith("PopulationEncoder(n_values=1")
    import datasets

    assert datasets.load_dataset(str(pendulum_data), split="train")["trial"] == rows["trial"]  # a plain HF dataset too
    card = (pendulum_data / "README.md").read_text()
    assert card.startswith("---\nconfigs:\n- config_name: S1")
    for fact in ("PopulationEncoder", "brian2", "Background noise was\non", "`trial_it`"):
        assert fact in card


def test_stimulation_evokes_more_spikes_than_no_stimulation(tmp_path):
    # the features are really encoded: the strongest pulse features evoke more than the weakest
    sample_dataset("S1", tmp_path / "d", encoder="pulse", noise=False, **SMALL)
    rows = load_dataset(tmp_path / "d").to_dict()
    amplitude = np.array([f[2] for f in rows["features"]])  # uA, livn's units
    assert amplitude.min() >= 0 and amplitude.max() <= 10.0
    counts = np.array([len(i[0]) for i in rows["trial_it"]])
    strong, weak = counts[amplitude > 7.5].mean(), counts[amplitude < 2.5].mean()
    assert strong > weak + 1


def test_a_restarted_sampler_makes_only_missing_shards_and_the_same_trials(tmp_path, pendulum_data):
    folder = tmp_path / "d"
    sample_dataset("S1", folder, encoder=PENDULUM_ENCODER, **SMALL)
    for k in range(3):
        assert _table(shard_path(folder, k)) == _table(shard_path(pendulum_data, k))  # deterministic
    kept = shard_path(folder, 0).stat().st_mtime_ns
    shard_path(folder, 1).unlink()
    stale = shard_path(folder, 1).with_name(".train-00001.parquet.partial-12345")
    stale.write_bytes(b"half a shard")  # what a killed writer leaves
    report = sample_dataset("S1", folder, encoder=PENDULUM_ENCODER, **SMALL)
    assert (report.shards_made, report.shards_kept, report.new_trials) == (1, 2, 10)
    assert shard_path(folder, 0).stat().st_mtime_ns == kept  # a finished shard is never rewritten
    assert not stale.exists()
    assert _table(shard_path(folder, 1)) == _table(shard_path(pendulum_data, 1))


def test_sampler_killed_mid_run_resumes_without_losing_or_repeating_trials(tmp_path, pendulum_data):
    folder = tmp_path / "killed"
    args = ["sample", "S1", "--samples", "30", "--trials-per-episode", "5", "--copies", "2", "--encoder",
            PENDULUM_ENCODER, "--target", "numpy", "--out", str(folder), "-q"]
    code = f"import sys; from livn_rl.cli import main; sys.exit(main({args!r}))"
    proc = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.time() + 120
    while not shard_path(folder, 0).exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished = sorted(p.name for p in (folder / "data").glob("train-*.parquet"))
    assert 1 <= len(finished) <= 3
    assert main(args) == 0
    assert read_meta(folder)["command"].startswith("livn-rl sample S1 --samples 30 --out ")  # the card's command
    data = load_dataset(folder)
    assert data["trial"] == list(range(30))
    reference = load_dataset(pendulum_data)
    assert data["features"] == reference["features"] and data["trial_t"] == reference["trial_t"]


@pytest.mark.slow
def test_two_workers_make_the_same_dataset_as_one(tmp_path, pendulum_data):
    report = sample_dataset("S1", tmp_path / "w2", encoder=PENDULUM_ENCODER, workers=2, **SMALL)
    assert report.new_trials == 30 and report.trials_per_second > 0
    for k in range(3):
        assert _table(shard_path(tmp_path / "w2", k)) == _table(shard_path(pendulum_data, k))


# ------------------------------------------------------------------------------------------------ bad input
def test_resuming_with_other_settings_is_refused(tmp_path):
    sample_dataset("S1", tmp_path / "d", **SMALL)
    with pytest.raises(DatasetError, match=r'other settings \(encoder.class: on disk ".*PulseEncoder", asked '
                                           r'".*PopulationEncoder"'):
        sample_dataset("S1", tmp_path / "d", encoder="population", **SMALL)
    with pytest.raises(DatasetError, match='system.config.name: on disk "S1", asked "S2"'):
        sample_dataset("S2", tmp_path / "d", **SMALL)
    with pytest.raises(DatasetError, match="samples: on disk 30, asked 40"):
        sample_dataset("S1", tmp_path / "d", **{**SMALL, "samples": 40})


def test_sampling_into_a_folder_that_is_not_a_dataset_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(DatasetError, match="not a livn_rl dataset"):
        sample_dataset("S1", tmp_path, **SMALL)
    assert (tmp_path / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("bad, message", [
    ({"samples": 0}, "samples must be a whole number >= 1, got 0"),
    ({"trials_per_episode": 2.5}, "trials_per_episode must be a whole number"),
    ({"window_ms": 0.5}, "window_ms=0.5 must be a whole multiple of dt_ms=0.1 and of the engine's 1.0 ms"),
    ({"window_ms": -3}, "window_ms must be a finite number > 0, got -3"),
    ({"encoder": "sparkle"}, "unknown encoder 'sparkle'"),
    ({"workers": 0}, "workers must be a whole number >= 1"),
])
def test_bad_sampling_arguments_name_the_value(tmp_path, bad, message):
    with pytest.raises(ValueError, match=message):
        sample_dataset("S1", tmp_path / "d", **{**SMALL, **bad})
    assert not (tmp_path / "d").exists()


def test_corrupt_partial_and_foreign_shards_are_reported(tmp_path, pendulum_data):
    import shutil

    folder = tmp_path / "d"
    shutil.copytree(pendulum_data, folder)
    shard_path(folder, 1).write_bytes(shard_path(folder, 1).read_bytes()[:200])  # truncated
    with pytest.raises(DatasetError, match=r"train-00001.parquet is corrupt or partial"):
        load_dataset(folder)
    with pytest.raises(DatasetError, match="corrupt or partial"):  # the sampler never overwrites it either
        sample_dataset("S1", folder, encoder=PENDULUM_ENCODER, **SMALL)
    shutil.copy(shard_path(pendulum_data, 0), shard_path(folder, 1))  # a shard from elsewhere
    with pytest.raises(DatasetError, match="expected trials 10...19"):
        load_dataset(folder)
    pq.write_table(pq.read_table(shard_path(pendulum_data, 1)).drop(["channel_unit"]), shard_path(folder, 1))
    with pytest.raises(DatasetError, match=r"missing columns \['channel_unit'\]"):
        load_dataset(folder)
    shard_path(folder, 1).unlink()
    with pytest.raises(DatasetError, match=r"incomplete: 20 of 30 trials, shard\(s\) \[1\] missing"):
        load_dataset(folder)
    assert load_dataset(folder, allow_incomplete=True).num_rows == 20
    (folder / "meta.json").write_text("{not json")
    with pytest.raises(DatasetError, match="meta.json is not valid JSON"):
        load_dataset(folder)


# ------------------------------------------------------------------------------------------------ identity
def test_meta_and_card_hold_the_identity_and_its_content_hash(pendulum_data):
    from livn_rl.identity import canonical, config_hash
    from livn_rl.systems import system_config

    meta = read_meta(pendulum_data)
    identity = meta["identity"]
    assert meta["content_hash"] == config_hash(identity)
    assert identity["system"]["config"] == canonical(system_config("S1").to_dict())  # seed and connectivity included
    assert identity["mea"]["positions_um"] == [[-50, -50, 0], [50, -50, 0], [-50, 50, 0], [50, 50, 0]]
    assert identity["mea"]["max_current_ua"] == 50 and identity["mea"]["threshold_sd"] == 4.5  # its physics too
    assert identity["encoder"] == {"class": "livn_rl.encoders.encoders.PopulationEncoder", "parameters": {
        "n_values": 1, "width": None, "max_amplitude_ua": 10, "min_amplitude_ua": 1, "pulse_rate_hz": 100,
        "onset_ms": 1, "phase_ms": 0.2, "shape": "biphasic"}}
    assert (identity["window_ms"], identity["dt_ms"], identity["noise"]) == (50, 0.1, True)
    assert identity["code"]["livn_rl"] == meta["versions"]["livn_rl"]
    card = (pendulum_data / "README.md").read_text()
    assert f"Content hash `{meta['content_hash']}`" in card
    assert json.dumps(identity, indent=2) in card  # the full identity, readable


def test_resuming_into_a_dataset_of_another_culture_of_the_same_name_is_refused(tmp_path):
    from livn_rl.systems import PREDEFINED

    tiny = {**SMALL, "samples": 2, "trials_per_episode": 1}
    sample_dataset("S1", tmp_path / "d", **tiny)
    for changed, field in (({"seed": 5}, "system.config.seed: on disk 0, asked 5"),
                           ({"k_in_exc": 3}, "system.config.k_in_exc: on disk 7, asked 3")):
        with pytest.raises(DatasetError, match=field):  # same name "S1", same neurons and populations
            sample_dataset({**PREDEFINED["S1"], **changed}, tmp_path / "d", **{**tiny, "samples": 4})
    assert read_meta(tmp_path / "d")["samples"] == 2  # nothing was touched
    with pytest.raises(DatasetError, match="noise: on disk true, asked false"):
        sample_dataset("S1", tmp_path / "d", **{**tiny, "noise": False})


def test_replay_into_another_culture_or_noise_is_refused_naming_the_fields(pendulum_data):
    from livn_rl.systems import PREDEFINED

    with pytest.raises(DatasetError, match="system.config.seed: dataset 0, env 1"):
        transitions(pendulum_data, "livn_rl/Pendulum-S1-v0", env_kwargs={"system": {**PREDEFINED["S1"], "seed": 1}})
    with pytest.raises(DatasetError, match="noise: dataset true, env false"):
        transitions(pendulum_data, "livn_rl/Pendulum-S1-v0", env_kwargs={"noise": False})
    with pytest.raises(DatasetError, match="encoder.parameters.max_amplitude_ua: dataset 10, env 5"):
        transitions(pendulum_data, "livn_rl/Pendulum-S1-v0",
                    env_kwargs={"encoder": {"name": "population", "max_amplitude_ua": 5.0}})


class _DirectS1(LivnEnv):
    """An env on S1 whose one action value reaches the culture without an encoder (it stimulates nothing)."""

    def __init__(self, **kwargs):
        super().__init__("S1", target="numpy", **kwargs)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
        self.observation_space = gym.spaces.Box(0.0, 1.0, (1,), np.float32)

    def _reset_episode(self, options):
        return np.zeros(1, np.float32), {}

    def _stimulus(self, action):
        return None

    def _outcome(self, action, recording):
        return np.zeros(1, np.float32), 0.0, False, False, {}


def test_replay_into_an_env_without_an_encoder_is_refused_with_the_reason(pendulum_data):
    env = _DirectS1()  # same system, window and action space as the dataset: only the encoder is missing
    with pytest.raises(DatasetError, match=r"encoded by PopulationEncoder\(.*but _DirectS1 has no encoder: it drives its "
                                           r"neurons directly"):
        transitions(pendulum_data, env)
    env.close()


def test_a_dataset_without_an_identity_is_refused_with_how_to_make_it_again(tmp_path, pendulum_data):
    import shutil

    folder = tmp_path / "old"
    shutil.copytree(pendulum_data, folder)
    meta = json.loads((folder / "meta.json").read_text())
    tampered = {**meta, "identity": {**meta["identity"], "noise": False}}
    (folder / "meta.json").write_text(json.dumps(tampered))
    with pytest.raises(DatasetError, match="meta.json of .*old is damaged: its identity does not match its content_hash"):
        transitions(folder, "livn_rl/Pendulum-S1-v0")
    old = {k: v for k, v in meta.items() if k not in ("identity", "content_hash")}  # what livn_rl wrote before
    (folder / "meta.json").write_text(json.dumps(old))
    again = r"Sample it again into a new folder: `livn_rl.data.sample_dataset\(...\)`"
    with pytest.raises(DatasetError, match=r"made by an older livn_rl that did not record the identity.*" + again):
        sample_dataset("S1", folder, encoder=PENDULUM_ENCODER, **SMALL)
    with pytest.raises(DatasetError, match="older livn_rl"):
        transitions(folder, "livn_rl/Pendulum-S1-v0")
    assert load_dataset(folder).num_rows == 30  # its trials can still be read


# ------------------------------------------------------------------------------------------------- loading
def test_a_local_copy_of_a_hub_dataset_loads_by_config(tmp_path):
    import pyarrow as pa

    # the layout of livn-org/livn: one config per system, livn's columns
    (tmp_path / "S2").mkdir()
    table = pa.table({"features": [[0.1, 0.2, 0.3]] * 4, "trial_it": [[[1, 2]]] * 4, "trial_t": [[[3.0, 4.5]]] * 4,
                      "t_end": [5000.0] * 4, "seed": [0, 1, 2, 3]})
    pq.write_table(table, tmp_path / "S2" / "train-00000.parquet")
    (tmp_path / "README.md").write_text(
        "---\nconfigs:\n- config_name: S2\n  data_files:\n  - split: train\n    path: S2/train-*.parquet\n---\n")
    data = load_dataset(tmp_path, "S2")
    assert data.num_rows == 4 and data["seed"] == [0, 1, 2, 3]
    with pytest.raises(DatasetError, match=r"has no config 'S9'; its configs: \['S2'\]"):
        load_dataset(tmp_path, "S9")
    with pytest.raises(DatasetError, match=r"has no split 'test'; its splits: \['train'\]"):
        load_dataset(tmp_path, "S2", split="test")


def test_hub_names_go_to_the_hub_and_fail_clearly_offline(monkeypatch):
    import datasets

    calls = []
    livn_like = datasets.Dataset.from_dict({"features": [[1.0, 5.0, 2.0]], "trial_it": [[[3]]], "trial_t": [[[7.5]]],
                                            "t_end": [5000.0]})
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: calls.append((a, k)) or livn_like)
    assert load_dataset("livn-org/livn", "S2") is livn_like
    assert calls == [(("livn-org/livn", "S2"), {"split": "train"})]

    def offline(*a, **k):
        raise ConnectionError("Couldn't reach 'livn-org/livn' on the Hub (LocalEntryNotFoundError)")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(DatasetError, match=r"could not load 'livn-org/livn' \(config 'S2'.*Without network"):
        load_dataset("livn-org/livn", "S2")
    with pytest.raises(DatasetError, match="not found"):
        load_dataset("no/such/folder")


# -------------------------------------------------------------------------------------------------- replay
def test_replay_decodes_each_response_and_steps_the_real_task(pendulum_data):
    from livn_rl.encoders import make_decoder
    from livn_rl.encoders.base import StimulationContext
    from livn_rl.recording import Recording

    env = gym.make("livn_rl/Pendulum-S1-v0")
    data = transitions(pendulum_data, env, seed=7)
    rows = load_dataset(pendulum_data).to_dict()
    assert data["action"].shape == (30, 1)
    np.testing.assert_array_equal(data["action"][:, 0], np.float32([f[0] for f in rows["features"]]))
    # an independent re-computation of episode 1: Pendulum reset with seed + episode, decoded responses
    inner = env.unwrapped
    decoder = make_decoder("population_vector", output_space=inner.task.action_space)
    decoder.bind(StimulationContext(inner.mea, 50.0, 0.1))
    task = gym.make("Pendulum-v1").unwrapped
    task.reset(seed=0)
    theta, speed = np.arctan2(data["obs"][5][1], data["obs"][5][0]), data["obs"][5][2]
    task.state = np.array([theta, speed])  # episode 1 (trials 5-9) from its first observation
    for t in range(5, 10):
        it, times = rows["trial_it"][t][0], rows["trial_t"][t][0]  # livn's access: the sample's first trial
        recording = Recording(0.0, 50.0, 10, 4, 1, np.asarray(it), np.asarray(times, float), np.zeros(len(it), int), np.asarray(rows["channel_it"][t]),
                              np.asarray(rows["channel_t"][t], float), np.asarray(rows["channel_unit"][t]),
                              np.zeros(len(rows["channel_it"][t]), int))
        next_obs, reward, *_ = task.step(decoder.decode(recording))
        np.testing.assert_allclose(data["next_obs"][t], next_obs, rtol=1e-5, atol=1e-5)
        assert data["reward"][t] == pytest.approx(reward, rel=1e-5)
        if t < 9:
            np.testing.assert_array_equal(data["obs"][t + 1], data["next_obs"][t])  # consecutive windows
    assert not np.allclose(data["obs"][0], data["obs"][5])  # each dataset episode starts a new task episode
    env.close()


def test_time_limits_are_truncations_never_terminal_states(pendulum_data):
    from stable_baselines3.common.buffers import ReplayBuffer

    env = gym.make("livn_rl/Pendulum-S1-v0", max_episode_steps=3)
    data = transitions(pendulum_data, env)
    # episodes of 5 trials: the limit ends steps 3; running out of the dataset episode ends step 5
    expected = np.array([False, False, True, False, True] * 6)
    np.testing.assert_array_equal(data["truncated"], expected)
    assert not data["terminated"].any()
    buffer = ReplayBuffer(100, env.observation_space, env.action_space, n_envs=1, handle_timeout_termination=True)
    assert fill_replay_buffer(buffer, pendulum_data, env) == 30
    np.testing.assert_array_equal(buffer.timeouts[:30, 0], expected)
    np.testing.assert_array_equal(buffer.dones[:30, 0], expected)  # stored as ends of episodes ...
    batch = buffer._get_samples(np.arange(30))
    assert float(batch.dones.sum()) == 0.0  # ... that SAC bootstraps through
    with pytest.raises(ValueError, match="handle_timeout_termination=True"):
        fill_replay_buffer(ReplayBuffer(100, env.observation_space, env.action_space, handle_timeout_termination=False),
                           pendulum_data, env)
    env.close()


def test_actions_are_stored_scaled_as_sb3_stores_them():
    import torch  # noqa: F401
    from stable_baselines3 import SAC

    space = gym.spaces.Box(np.float32([0.0, -2.0]), np.float32([10.0, 2.0]))
    env = gym.make("Pendulum-v1")
    model = SAC("MlpPolicy", env)
    model.policy.action_space = space
    actions = np.float32([[0.0, -2.0], [10.0, 2.0], [2.5, 1.0]])
    np.testing.assert_allclose(scale_action(actions, space), model.policy.scale_action(actions), atol=1e-6)
    np.testing.assert_allclose(scale_action(actions, space)[2], [-0.5, 0.5], atol=1e-6)


def test_a_dataset_that_does_not_fit_the_env_is_refused(tmp_path, pendulum_data):
    with pytest.raises(DatasetError, match=r'does not fit the env livn_rl/Pendulum-S2-v0: system.config.name: dataset '
                                           r'"S1", env "S2"; system.config.n_exc: dataset 8, env 80'):
        transitions(pendulum_data, "livn_rl/Pendulum-S2-v0")
    with pytest.raises(DatasetError, match="window_ms: dataset 50, env 20"):
        transitions(pendulum_data, "livn_rl/Pendulum-S1-v0", env_kwargs={"window_ms": 20.0})
    sample_dataset("S1", tmp_path / "pulse", **SMALL)
    with pytest.raises(DatasetError, match=r'encoder.class: dataset ".*PulseEncoder", env ".*PopulationEncoder".*'
                                           r"features have 3 values"):
        transitions(tmp_path / "pulse", "livn_rl/Pendulum-S1-v0")
    with pytest.raises(ValueError, match="needs a livn_rl env"):
        transitions(pendulum_data, "Pendulum-v1")


def test_export_to_minari(tmp_path, pendulum_data, monkeypatch):
    minari = pytest.importorskip("minari")
    from livn_rl.data import export_minari

    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
    exported = export_minari(pendulum_data, "livn_rl/Pendulum-S1-v0", "livn/pendulum-s1-random-v0")
    loaded = minari.load_dataset("livn/pendulum-s1-random-v0")
    assert loaded.total_steps == 30 and loaded.total_episodes == exported.total_episodes == 6
    episode = next(loaded.iterate_episodes())
    assert episode.observations.shape == (6, 3) and episode.actions.shape == (5, 1)
    assert episode.truncations[-1] and not episode.terminations.any()
    with pytest.raises(ValueError, match="already exists"):
        export_minari(pendulum_data, "livn_rl/Pendulum-S1-v0", "livn/pendulum-s1-random-v0")


def test_minari_records_each_episode_seed_and_the_full_env_spec(tmp_path, pendulum_data, monkeypatch):
    minari = pytest.importorskip("minari")
    from livn_rl.data import export_minari

    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
    kwargs = {"observe_neural": True, "target": "numpy", "max_episode_steps": 3}
    export_minari(pendulum_data, "livn_rl/Pendulum-S1-v0", "livn/neural-v0", env_kwargs=kwargs, seed=11)
    loaded = minari.load_dataset("livn/neural-v0")
    recovered = loaded.recover_environment()
    assert recovered.observation_space.shape == (3 + 4,)  # the task's observation and S1's four channel rates
    assert recovered.spec.max_episode_steps == 3 and recovered.spec.kwargs["observe_neural"] is True
    assert recovered.spec.kwargs["encoder"]["name"] == "population"
    seeds = [m["seed"] for m in loaded.storage.get_episode_metadata(range(loaded.total_episodes))]
    assert len(set(seeds)) == loaded.total_episodes == 12  # episodes of 3 and 2 steps, each reset with its own seed
    assert seeds[0] == 11 and seeds[2] == 12  # dataset episode e starts with seed + e
    for episode, seed in zip(loaded.iterate_episodes(), seeds):
        first, _ = recovered.unwrapped.replay_reset(seed=seed)  # reset(seed) without simulating the culture
        np.testing.assert_array_equal(first, episode.observations[0])
    recovered.close()
    with pytest.raises(ValueError, match="not JSON data"):
        export_minari(pendulum_data, "livn_rl/Pendulum-S1-v0", "livn/other-v0",
                      env_kwargs={"system": livn_rl.make_system("S1")})


# ------------------------------------------------------------------------------------------------ training
def test_training_logs_evaluations_and_pretrains_on_the_dataset(tmp_path, pendulum_data):
    import torch

    from livn_rl.experiments.sac import read_evaluations, train_sac

    torch.set_num_threads(1)
    log = tmp_path / "eval.jsonl"
    result = train_sac("livn_rl/Pendulum-S1-v0", timesteps=40, eval_every=20, eval_episodes=2, seed=0,
                       replay=pendulum_data, pretrain_steps=50, log_path=log,
                       env_kwargs={"target": "numpy", "max_episode_steps": 10},
                       run_name="pretrained", progress=False, hyperparameters={"learning_starts": 10, "batch_size": 16})
    assert result.pretrain_transitions == 30
    logged = read_evaluations(log)
    assert [e["steps"] for e in logged] == [0, 20, 40]
    assert all(len(e["returns"]) == 2 and e["run"] == "pretrained" for e in logged)
    assert logged == result.evaluations
    with log.open("a") as f:
        f.write('{"run": "cut sho')  # a run killed mid-write keeps its evaluations
    assert read_evaluations(log) == logged


def test_cli_sample_and_train(tmp_path, pendulum_data, capsys):
    assert main(["sample", "S1", "--samples", "0", "--out", str(tmp_path / "x")]) == 2
    assert "samples must be a whole number >= 1, got 0" in capsys.readouterr().err
    assert main(["sample", "S1", "--encoder", "{bad", "--out", str(tmp_path / "x")]) == 2
    assert "is not valid JSON" in capsys.readouterr().err
    assert main(["train", "livn_rl/Nope-v0"]) == 2
    assert "unknown env 'livn_rl/Nope-v0'" in capsys.readouterr().err
    assert main(["train", "--env-arg", "target"]) == 2
    assert "--env-arg 'target' must be KEY=VALUE" in capsys.readouterr().err
    out = tmp_path / "train"
    sb3_folders = set(Path(tempfile.gettempdir()).glob("SB3-*"))
    assert main(["train", "livn_rl/Pendulum-S1-v0", "--timesteps", "20", "--eval-every", "10", "--eval-episodes",
                 "1", "--out", str(out), "--replay", str(pendulum_data), "--pretrain-steps", "5", "--env-arg",
                 "target=numpy", "--env-arg", "max_episode_steps=10", "-q"]) == 0
    assert set(Path(tempfile.gettempdir()).glob("SB3-*")) == sb3_folders  # nothing written outside --out
    summary = json.loads((out / "summary.json").read_text())
    assert summary["run"] == "pretrained" and summary["pretrain_transitions"] == 30
    assert (out / "learning_curve.png").stat().st_size > 10_000 and (out / "model.zip").exists()
    assert main(["train", "livn_rl/Pendulum-S1-v0", "--out", str(out)]) == 2
    assert "already holds a training run" in capsys.readouterr().err
