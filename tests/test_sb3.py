"""The stable-baselines3 vec env behaves like SB3's own ``VecMonitor``-wrapped vec envs: episode statistics in the
infos, ``rollout/ep_rew_mean`` in the logs, ``evaluate_policy`` without warnings, per-copy reset options and true
answers from ``env_is_wrapped``. Every env runs on the numpy target."""

from __future__ import annotations

import copy
import csv
import warnings

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import VecEnvWrapper, VecMonitor

import livn_rl  # noqa: F401  (registers the envs)
from livn_rl.envs.sb3 import make_sb3_vec_env

FAST = {"target": "numpy"}


class _Recorder(VecEnvWrapper):
    """Keeps a copy of the infos the wrapped vec env returned, before anything above it changes them."""

    def __init__(self, venv):
        super().__init__(venv)
        self.infos: list[list[dict]] = []

    def reset(self):
        return self.venv.reset()

    def step_wait(self):
        obs, rewards, dones, infos = self.venv.step_wait()
        self.infos.append(copy.deepcopy(infos))
        return obs, rewards, dones, infos


def test_episode_statistics_are_those_of_sb3_vec_monitor():
    venv = make_sb3_vec_env("livn_rl/Pendulum-S1-v0", n_envs=2, seed=0, max_episode_steps=3, **FAST)
    recorder = _Recorder(venv)
    with pytest.warns(UserWarning, match="already wrapped with a `Monitor`"):  # SB3 sees the statistics are there
        monitor = VecMonitor(recorder)
    try:
        monitor.reset()
        rng = np.random.default_rng(0)
        finished = 0
        for _ in range(7):  # episodes of 3 steps: two endings per copy
            monitor.step_async(rng.uniform(-1, 1, (2, 1)).astype(np.float32))
            _, _, dones, infos = monitor.step_wait()
            for k in np.flatnonzero(dones):
                ours, theirs = recorder.infos[-1][k]["episode"], infos[k]["episode"]
                assert ours["r"] == theirs["r"] and ours["l"] == theirs["l"] == 3
                assert type(ours["r"]) is type(theirs["r"]) and type(ours["l"]) is type(theirs["l"])
                assert abs(ours["t"] - theirs["t"]) < 1.0
                finished += 1
            for k in np.flatnonzero(~dones):
                assert "episode" not in recorder.infos[-1][k]
        assert finished == 4
        # a reset forgets the running episodes, as VecMonitor's does
        monitor.step_async(np.zeros((2, 1), np.float32))
        monitor.step_wait()
        monitor.reset()
        for _ in range(3):
            monitor.step_async(np.zeros((2, 1), np.float32))
            _, _, dones, infos = monitor.step_wait()
        assert dones.all() and recorder.infos[-1][0]["episode"]["l"] == infos[0]["episode"]["l"] == 3
    finally:
        monitor.close()


def test_sac_logs_ep_rew_mean_and_evaluate_policy_does_not_warn(tmp_path):
    from stable_baselines3 import SAC
    from stable_baselines3.common.evaluation import evaluate_policy
    from stable_baselines3.common.logger import configure

    venv = make_sb3_vec_env("livn_rl/Pendulum-S1-v0", n_envs=2, seed=0, max_episode_steps=4, **FAST)
    try:
        model = SAC("MlpPolicy", venv, learning_starts=4, batch_size=8, seed=0)
        model.set_logger(configure(str(tmp_path), ["csv"]))
        model.learn(16, log_interval=1)  # 8 steps of each copy: two episodes each
        assert len(model.ep_info_buffer) == 4 and all(e["l"] == 4 for e in model.ep_info_buffer)
        with (tmp_path / "progress.csv").open() as f:
            logged = [row["rollout/ep_rew_mean"] for row in csv.DictReader(f)]
        assert logged and all(value != "" for value in logged)
        np.testing.assert_allclose(float(logged[-1]), np.mean([e["r"] for e in model.ep_info_buffer]), rtol=1e-5)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no "not wrapped with a Monitor wrapper" warning
            rewards, lengths = evaluate_policy(model, venv, n_eval_episodes=2, return_episode_rewards=True)
        assert lengths == [4, 4] and len(rewards) == 2
    finally:
        venv.close()


def test_each_copy_gets_its_own_reset_options():
    venv = make_sb3_vec_env("livn_rl/Pattern-S1-v0", n_envs=3, seed=0, **FAST)
    try:
        venv.set_options([{"pattern": 2}, {"pattern": 0}, {"pattern": 3}])
        obs = venv.reset()
        assert venv.get_attr("pattern_index") == [2, 0, 3]
        patterns = np.asarray(venv.get_attr("patterns")[0])
        np.testing.assert_array_equal(obs[:, 4:], patterns[[2, 0, 3]])  # the observation carries each copy's pattern
        venv.set_options({"pattern": 1})  # one dict: every copy
        venv.reset()
        assert venv.get_attr("pattern_index") == [1, 1, 1]
        with pytest.raises(ValueError, match="one options dict per copy"):
            venv.venv.reset_copies(options=[{"pattern": 0}])
    finally:
        venv.close()


def test_env_is_wrapped_answers_for_what_the_vec_env_does():
    limited = make_sb3_vec_env("livn_rl/Pendulum-S1-v0", n_envs=2, seed=0, max_episode_steps=5, **FAST)
    try:
        assert limited.env_is_wrapped(Monitor) == [True, True]  # episode statistics in the infos
        assert limited.env_is_wrapped(gym.wrappers.TimeLimit) == [True, True]
        assert limited.env_is_wrapped(gym.Wrapper, indices=[1]) == [True]
        assert limited.env_is_wrapped(gym.wrappers.RecordEpisodeStatistics) == [False, False]
        assert limited.env_is_wrapped(gym.wrappers.ClipAction) == [False, False]
    finally:
        limited.close()
    unlimited = make_sb3_vec_env("livn_rl/Pendulum-S1-v0", n_envs=1, max_episode_steps=None, **FAST)
    try:
        assert unlimited.env_is_wrapped(gym.wrappers.TimeLimit) == [False]
        assert unlimited.env_is_wrapped(Monitor) == [True]
    finally:
        unlimited.close()
