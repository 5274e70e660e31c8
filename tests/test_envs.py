"""The Gymnasium environments: registration, Gymnasium and SB3 rules, seeding, actions, info, time limits,
rendering, vector envs (Gymnasium and stable-baselines3) and bad input. Every env runs on the numpy target."""

from __future__ import annotations

import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from gymnasium.vector import AutoresetMode
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import livn_rl
from livn_rl.encoders import LinearDecoder, PopulationVectorDecoder
from livn_rl.envs import LivnVectorEnv, NeuralTaskEnv, env_ids
from livn_rl.envs.sb3 import make_sb3_vec_env
from livn_rl.systems import list_systems

FAST = {"target": "numpy"}


@pytest.fixture
def make_env():
    envs = []

    def factory(env_id: str, **kwargs):
        env = gym.make(env_id, **{**FAST, **kwargs})
        envs.append(env)
        return env

    yield factory
    for env in envs:
        env.close()


def _rollout(env, seed: int, n: int = 4, action_seed: int = 0):
    obs, _ = env.reset(seed=seed)
    rng = np.random.default_rng(action_seed)
    trace = [obs]
    for _ in range(n):
        action = rng.uniform(-1, 1, env.action_space.shape).astype(np.float32)
        obs, reward, terminated, truncated, info = env.step(action)
        trace += [obs, np.array([reward]), np.array([info["spike_count"]])]
    return trace


# ---------------------------------------------------------------------------------------------- registration
def test_the_documented_envs_are_registered():
    ids = set(env_ids())
    for task in ("Pendulum", "MountainCarContinuous", "CartPole", "Acrobot", "RateClamp", "Pattern"):
        for system in ("S1", "S2", "S3"):
            assert f"livn_rl/{task}-{system}-v0" in ids
    assert {"livn_rl/BurstSuppression-S2-v0", "livn_rl/BurstSuppression-S3-v0"} <= ids
    s4 = {env_id for env_id in ids if "-S4-" in env_id}
    assert s4 == {"livn_rl/Pendulum-S4-v0", "livn_rl/RateClamp-S4-v0"}
    assert all(gym.spec(env_id).kwargs["system"] == "S4" for env_id in s4)
    for env_id in ids:
        assert gym.spec(env_id).max_episode_steps > 0
    assert gym.spec("livn_rl/Pendulum-S2-v0").max_episode_steps == 200


@pytest.mark.parametrize("env_id", sorted(env_id for env_id in env_ids() if "-S4-" not in env_id))
def test_every_registered_env_passes_gymnasium_and_sb3_checks(env_id):
    """(The S4 envs are the S2 envs' classes on a system built the same way, at 100x the cost per step.)"""
    # the checks concern the API, not the dynamics: a 5 ms window keeps S3's 200 ms Acrobot steps from costing
    # minutes (cultures only: a 5 ms window is too short for the ring's bump, whose position is then NaN)
    short = {"window_ms": 5.0} if gym.spec(env_id).kwargs.get("system") in list_systems() else {}
    env = gym.make(env_id, **FAST, **short)
    try:
        gym_check_env(env.unwrapped, skip_render_check=True)
        sb3_check_env(env.unwrapped, warn=False)
        assert isinstance(env.observation_space, gym.spaces.Box) and env.observation_space.dtype == np.float32
        space = env.action_space
        assert space.dtype == np.float32 and np.all(space.low == -1) and np.all(space.high == 1)
    finally:
        env.close()


def test_registered_specs_carry_every_argument_that_defines_the_env():
    from livn_rl.envs.registration import RUN_ARGUMENTS, valid_kwargs

    for env_id in env_ids():
        env = gym.make(env_id, **FAST)
        kwargs = gym.spec(env_id).kwargs
        assert set(kwargs) == set(valid_kwargs(type(env.unwrapped))) - set(RUN_ARGUMENTS), env_id
        env.close()
    pendulum = gym.spec("livn_rl/Pendulum-S2-v0").kwargs
    assert pendulum["encoder"] == {"name": "population", "width": None, "max_amplitude_ua": 10.0,
                                   "min_amplitude_ua": 1.0, "pulse_rate_hz": 100.0, "onset_ms": 1.0, "phase_ms": 0.2,
                                   "shape": "biphasic"}
    assert pendulum["decoder"] == {"name": "population_vector", "baseline_hz": 0.0, "gain": 1.5}
    assert (pendulum["window_ms"], pendulum["dt_ms"], pendulum["noise"]) == (50.0, 0.1, True)
    assert gym.spec("livn_rl/CartPole-S1-v0").kwargs["window_ms"] == 20.0
    assert gym.spec("livn_rl/RateClamp-S2-v0").kwargs["target_hz"] == 60.0
    assert gym.spec("livn_rl/LIF-RateTrack-v0").kwargs["current_range_na"] == (0.1, 0.3)


@pytest.mark.parametrize("env_id", ["livn_rl/Pendulum-S2-v0", "livn_rl/CartPole-S1-v0", "livn_rl/RateClamp-S1-v0",
                                    "livn_rl/LIF-RateTrack-v0", "livn_rl/RingAttractor-Steer-v0",
                                    "livn_rl/LateralLine-Localize-v0"])
def test_an_env_rebuilt_from_its_json_spec_is_the_same_env(env_id):
    """What Minari's recover_environment() and rl-zoo do: rebuild an env from its spec alone."""
    from livn_rl.identity import config_hash

    env = gym.make(env_id, **FAST)
    rebuilt = gym.make(gym.envs.registration.EnvSpec.from_json(env.spec.to_json()))
    try:
        assert rebuilt.spec.to_json() == env.spec.to_json() and rebuilt.spec.max_episode_steps > 0
        assert rebuilt.observation_space == env.observation_space and rebuilt.action_space == env.action_space
        mine, theirs = env.unwrapped, rebuilt.unwrapped
        assert repr(getattr(mine, "encoder", None)) == repr(getattr(theirs, "encoder", None))
        assert repr(getattr(mine, "decoder", None)) == repr(getattr(theirs, "decoder", None))
        assert config_hash(mine.system.identity()) == config_hash(theirs.system.identity())
        assert (mine.window_ms, mine.noise, mine.context.dt_ms) == (theirs.window_ms, theirs.noise, theirs.context.dt_ms)
    finally:
        env.close()
        rebuilt.close()


def test_make_without_importing_livn_rl_first():
    code = (
        "import gymnasium as gym, sys\n"
        "env = gym.make('livn_rl:livn_rl/CartPole-S1-v0', target='numpy')\n"
        "assert 'livn_rl' in sys.modules\n"
        "obs, _ = env.reset(seed=0)\n"
        "print(env.step(env.action_space.sample())[0].shape)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("(4,)")


def test_unknown_keyword_fails_at_make_time_with_the_valid_ones():
    with pytest.raises(TypeError) as err:
        gym.make("livn_rl/Pendulum-S2-v0", windw_ms=20)
    message = str(err.value)
    assert "windw_ms" in message and "window_ms" in message and "encoder" in message and "noise" in message
    with pytest.raises(TypeError, match="target_hz"):
        gym.make("livn_rl/RateClamp-S2-v0", target_rate=20)


def test_keyword_arguments_choose_system_encoder_decoder_window_and_noise(make_env):
    env = make_env("livn_rl/Pendulum-S2-v0", system="S1", encoder="rate", decoder="linear", window_ms=20.0, noise=False)
    inner = env.unwrapped
    assert inner.system.name == "S1" and inner.window_ms == 20.0
    assert env.action_space.shape == (4,)  # one value per S1 channel
    assert isinstance(inner.decoder, LinearDecoder)
    env.reset(seed=0)
    _, _, _, _, info = env.step(-np.ones(4, np.float32))  # no stimulation, no noise: a silent culture
    assert info["spike_count"] == 0 and info["time_ms"] == 20.0


# ------------------------------------------------------------------------------------------- Gymnasium rules
@pytest.mark.parametrize("env_id", ["livn_rl/Pendulum-S2-v0", "livn_rl/RateClamp-S1-v0", "livn_rl/CartPole-S1-v0"])
def test_same_seed_same_trajectory_and_different_seeds_differ(make_env, env_id):
    env = make_env(env_id)
    first, second = _rollout(env, seed=3), _rollout(env, seed=3)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    other = make_env(env_id)
    assert any(not np.array_equal(a, b) for a, b in zip(first, _rollout(other, seed=4)))
    # a second env with the same seed follows the same trajectory as well
    for a, b in zip(first, _rollout(other, seed=3)):
        np.testing.assert_array_equal(a, b)


def test_step_types_and_info(make_env):
    env = make_env("livn_rl/Pendulum-S2-v0")
    obs, info = env.reset(seed=0)
    assert info["time_ms"] == 0.0 and obs.dtype == np.float32
    for k in range(1, 4):
        obs, reward, terminated, truncated, info = env.step(np.array([0.5], np.float32))
        assert type(reward) is float and type(terminated) is bool and type(truncated) is bool
        assert info["time_ms"] == pytest.approx(50.0 * k)
        assert info["spike_count"] > 0 and info["channel_spike_count"] > 0
        assert env.unwrapped.task.action_space.contains(info["task_action"])
        assert info["action_clipped"] == 0


def test_decoded_action_follows_the_agent_action_through_the_culture(make_env):
    """The default pair carries the agent's action to the task: +1 pushes the pendulum one way, -1 the other."""
    env = make_env("livn_rl/Pendulum-S2-v0")
    env.reset(seed=0)
    decoded = {a: [float(env.step(np.array([a], np.float32))[4]["task_action"][0]) for _ in range(6)] for a in (-1.0, 1.0)}
    assert np.mean(decoded[1.0]) > 0.8 and np.mean(decoded[-1.0]) < -0.8  # torque in [-2, 2]


def test_time_limit_truncates_and_never_terminates(make_env):
    env = make_env("livn_rl/Pendulum-S1-v0", max_episode_steps=3)
    env.reset(seed=0)
    flags = [env.step(env.action_space.sample())[2:4] for _ in range(3)]
    assert flags == [(False, False), (False, False), (False, True)]


def test_observe_neural_appends_channel_rates(make_env):
    env = make_env("livn_rl/Pendulum-S2-v0", observe_neural=True)
    assert env.observation_space.shape == (3 + 16,)
    obs, _ = env.reset(seed=0)
    assert np.all(obs[3:] == 0)
    obs, *_ = env.step(np.array([1.0], np.float32))
    assert np.all((obs[3:] >= 0) & (obs[3:] <= 1)) and obs[3:].sum() > 0


def test_each_reset_starts_a_fresh_culture(make_env):
    """Activity of episode 1 does not leak into episode 2: after a reset with the same seed the trajectory repeats
    even though the first episode ended in the middle of stimulation."""
    env = make_env("livn_rl/RateClamp-S1-v0")
    first = _rollout(env, seed=1, n=3)
    env.step(np.ones(4, np.float32))  # leave the culture excited
    second = _rollout(env, seed=1, n=3)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("action, word", [([np.nan], "finite"), ([np.inf], "finite"), ([0.1, 0.2], "shape"), ("x", "numbers")])
def test_bad_actions_raise(make_env, action, word):
    env = make_env("livn_rl/Pendulum-S1-v0")
    env.reset(seed=0)
    with pytest.raises(ValueError, match=word):
        env.step(action)
    env.step(np.zeros(1, np.float32))  # the env still works


def test_out_of_range_actions_are_clipped_and_counted(make_env):
    env = make_env("livn_rl/RateClamp-S1-v0")
    env.reset(seed=0)
    _, _, _, _, info = env.step(np.array([2.0, -3.0, 0.5, 1.0], np.float32))
    assert info["action_clipped"] == 2
    assert info["energy"] == pytest.approx(np.mean(np.array([1.0, 0.0, 0.75, 1.0]) ** 2))


def test_step_before_reset_is_refused():
    env = NeuralTaskEnv("Pendulum-v1", "S1", target="numpy")
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.zeros(1, np.float32))
    env.close()


def test_decoder_that_does_not_fit_the_task_is_rejected_at_construction():
    with pytest.raises(ValueError, match="action space"):
        gym.make("livn_rl/CartPole-S1-v0", decoder=PopulationVectorDecoder())  # Box output for a Discrete task
    with pytest.raises(ValueError, match="outside"):
        gym.make("livn_rl/Pendulum-S1-v0", decoder=PopulationVectorDecoder(gym.spaces.Box(-5, 5, (1,), np.float32)))


@pytest.mark.parametrize(
    "kwargs, word",
    [({"window_ms": 0}, "window_ms"), ({"window_ms": 2.5}, "window_ms=2.5 must be a whole multiple"), ({"render_mode": "ascii"}, "render_mode"),
     ({"system": "S9"}, "S9"), ({"encoder": "telepathy"}, "telepathy"), ({"noise": "yes"}, "noise")],
)
def test_bad_arguments_are_named(kwargs, word):
    with pytest.raises(ValueError, match=word):
        gym.make("livn_rl/Pendulum-S2-v0", **FAST, **kwargs)


# ------------------------------------------------------------------------------------------------- rendering
def test_rgb_array_frame_shows_culture_and_task(make_env):
    env = make_env("livn_rl/Pendulum-S2-v0", render_mode="rgb_array")
    env.reset(seed=0)
    before = env.render()
    env.step(np.array([1.0], np.float32))
    frame = env.render()
    assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3 and frame.shape[1] > frame.shape[0]
    assert not np.array_equal(before, frame)
    assert env.metadata["render_fps"] == 20
    plain = make_env("livn_rl/RateClamp-S1-v0", render_mode="rgb_array")
    plain.reset(seed=0)
    plain.step(plain.action_space.sample())
    assert plain.render().shape[1] < frame.shape[1]  # no task panel


def test_human_mode_draws_into_a_window_each_step(make_env):
    import matplotlib
    import matplotlib.pyplot as plt

    backend = matplotlib.get_backend()
    plt.switch_backend("Agg")  # no screen here: the window is drawn off-screen
    try:
        env = make_env("livn_rl/Pendulum-S1-v0", render_mode="human")
        env.reset(seed=0)
        env.step(np.zeros(1, np.float32))
        figure = env.unwrapped._figure
        assert figure is not None and plt.fignum_exists(figure.number)
        assert env.render() is None
        env.close()
        assert not plt.fignum_exists(figure.number)
    finally:
        plt.switch_backend(backend)


# ----------------------------------------------------------------------------------------------- vector envs
def _vec(env_id="livn_rl/Pendulum-S1-v0", n=3, **kwargs):
    return gym.make_vec(env_id, num_envs=n, **{**FAST, **kwargs})


@pytest.mark.parametrize("env_id, kwargs, driven", [
    ("livn_rl/LIF-RateTrack-v0", {}, 50),  # every neuron gets the input current
    ("livn_rl/RingAttractor-Steer-v0", {"cue_steps": 0}, 45),  # one sector of 360 / 8 excitatory cells
    ("livn_rl/LateralLine-Localize-v0", {}, 100),  # the afferents of the line, nothing else
])
def test_reference_circuits_stimulate_through_a_drive_that_info_render_and_replay_see(env_id, kwargs, driven):
    env = gym.make(env_id, render_mode="rgb_array", **FAST, **kwargs)
    replayed = gym.make(env_id, **FAST, **kwargs).unwrapped
    try:
        env.reset(seed=3)
        replayed.replay_reset(seed=3)
        rng = np.random.default_rng(0)
        for _ in range(3):
            inner = env.unwrapped
            action = inner.target_action(1.0) if hasattr(inner, "target_action") else rng.uniform(-1, 1, (1,))
            obs, reward, _, _, info = env.step(np.float32(action))
            assert info["stimulated_channels"] == 0 and info["driven_neurons"] == driven  # no electrode, N neurons
            # the recorded window replayed: same step, same drive, no simulation touched
            again = replayed.replay_step(np.float32(action), inner._history[-1])
            np.testing.assert_array_equal(again[0], obs)
            assert again[1] == reward and again[4]["driven_neurons"] == driven
        assert replayed._simulation is None
        frame = env.render()
        orange = np.all(np.abs(frame.astype(int) - [0xE0, 0xA1, 0x00]) < 40, axis=-1)  # plots.STIMULUS_COLOUR
        assert orange.sum() > 50  # the driven neurons are ringed on the map
    finally:
        env.close()
        replayed.close()


def test_make_vec_builds_one_multi_copy_simulation():
    venv = _vec(n=3)
    try:
        assert isinstance(venv.unwrapped, LivnVectorEnv)
        assert venv.unwrapped.simulation.n_copies == 3
        assert venv.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
        obs, info = venv.reset(seed=0)
        assert obs.shape == (3, 3) and obs.dtype == np.float32
        obs, rewards, terminated, truncated, info = venv.step(np.zeros((3, 1), np.float32))
        assert rewards.shape == (3,) and info["spike_count"].shape == (3,)
    finally:
        venv.close()


def test_vector_env_is_deterministic_and_copies_differ():
    def run():
        venv = _vec(n=3)
        try:
            venv.reset(seed=5)
            return [venv.step(np.full((3, 1), 0.3, np.float32))[0] for _ in range(3)]
        finally:
            venv.close()

    a, b = run(), run()
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0][0], a[0][1])  # different task seeds per copy


def test_vector_next_step_autoreset():
    venv = _vec(n=2, max_episode_steps=2)
    try:
        venv.reset(seed=0)
        actions = np.zeros((2, 1), np.float32)
        venv.step(actions)
        _, _, terminated, truncated, _ = venv.step(actions)
        assert truncated.all() and not terminated.any()
        obs, rewards, terminated, truncated, info = venv.step(actions)  # the reset step
        assert np.all(rewards == 0) and not truncated.any() and np.all(info["time_ms"] == 0)
        _, _, _, truncated, info = venv.step(actions)
        assert not truncated.any() and np.all(info["time_ms"] == 50.0)
    finally:
        venv.close()


def test_vector_same_step_autoreset_reports_final_observation():
    venv = _vec(n=2, max_episode_steps=2, autoreset_mode=AutoresetMode.SAME_STEP)
    try:
        venv.reset(seed=0)
        actions = np.zeros((2, 1), np.float32)
        venv.step(actions)
        obs, _, _, truncated, info = venv.step(actions)
        assert truncated.all()
        assert info["final_obs"].shape == (2,) and info["final_obs"][0].shape == (3,)
        assert not np.array_equal(info["final_obs"][0], obs[0])
        assert np.all(info["time_ms"] == 0)  # obs already starts the next episode
    finally:
        venv.close()


def test_vector_autoreset_gives_the_copy_a_fresh_culture():
    """A copy reset after an excited episode starts from a fresh culture, as quiet as at the very first reset."""
    venv = _vec("livn_rl/RateClamp-S1-v0", n=2, max_episode_steps=2, noise=False)
    try:
        venv.reset(seed=0)
        quiet = -np.ones((2, 4), np.float32)
        loud = np.ones((2, 4), np.float32)
        venv.step(loud)
        venv.step(loud)  # truncation of both copies, in full activity
        venv.step(quiet)  # the NEXT_STEP reset step
        _, _, _, _, info = venv.step(quiet)
        assert np.all(info["spike_count"] == 0)  # nothing left over: no noise, no stimulation, fresh state
    finally:
        venv.close()


def test_sb3_vec_env_terminal_observation_and_truncation():
    venv = make_sb3_vec_env("livn_rl/Pendulum-S1-v0", n_envs=2, seed=0, max_episode_steps=2, **FAST)
    try:
        obs = venv.reset()
        assert obs.shape == (2, 3)
        venv.step(np.zeros((2, 1), np.float32))
        obs, rewards, dones, infos = venv.step(np.zeros((2, 1), np.float32))
        assert dones.all()
        for k in range(2):
            assert infos[k]["TimeLimit.truncated"] is True
            assert infos[k]["terminal_observation"].shape == (3,)
            assert not np.array_equal(infos[k]["terminal_observation"], obs[k])
        assert venv.get_attr("window_ms") == [50.0, 50.0]
        assert venv.env_is_wrapped(gym.wrappers.ClipAction) == [False, False]  # tests/test_sb3.py: the others
    finally:
        venv.close()


def test_sac_trains_on_the_sb3_vec_env():
    from stable_baselines3 import SAC

    venv = make_sb3_vec_env("livn_rl/Pendulum-S1-v0", n_envs=2, seed=0, max_episode_steps=5, **FAST)
    try:
        model = SAC("MlpPolicy", venv, learning_starts=4, batch_size=8, seed=0, verbose=0)
        model.learn(16)
        assert model.num_timesteps == 16 and model.replay_buffer.size() == 8
        # SB3 stored the time-limit ends as truncations (timeouts), not as terminal states
        size = model.replay_buffer.size()
        dones, timeouts = model.replay_buffer.dones[:size], model.replay_buffer.timeouts[:size]
        assert timeouts.sum() >= 2 and not np.any(dones * (1 - timeouts))
    finally:
        venv.close()


@pytest.mark.parametrize("vec_cls", ["dummy", "subproc"])
def test_single_env_works_under_sb3_vec_envs(vec_cls):
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

    cls = DummyVecEnv if vec_cls == "dummy" else SubprocVecEnv
    venv = make_vec_env("livn_rl:livn_rl/Pendulum-S1-v0", n_envs=2, seed=0, vec_env_cls=cls, env_kwargs=FAST)
    try:
        obs = venv.reset()
        assert obs.shape == (2, 3)
        obs, rewards, dones, infos = venv.step(np.zeros((2, 1), np.float32))
        assert infos[0]["spike_count"] >= 0 and rewards.shape == (2,)
    finally:
        venv.close()


def test_vector_rejects_bad_arguments():
    with pytest.raises(TypeError, match="valid ones"):
        _vec(n=2, wndow_ms=3)
    with pytest.raises(ValueError, match="num_envs"):
        LivnVectorEnv(NeuralTaskEnv, 0)
    venv = _vec(n=2)
    try:
        venv.reset(seed=0)
        with pytest.raises(ValueError, match="shape"):
            venv.step(np.zeros((3, 1), np.float32))
        with pytest.raises(ValueError, match="finite"):
            venv.step(np.full((2, 1), np.nan, np.float32))
    finally:
        venv.close()


def test_package_exports_envs():
    assert livn_rl.envs.NeuralTaskEnv is NeuralTaskEnv


def test_decoder_whose_size_comes_from_the_mea_is_checked_after_binding():
    with pytest.raises(ValueError, match="Discrete"):
        gym.make("livn_rl/CartPole-S2-v0", decoder="channel_rates", **FAST)


class _TwoActionTask(gym.Env):
    """A task that needs two action values (for encoder sizing)."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
    action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(1, np.float32), {}

    def step(self, action):
        return np.zeros(1, np.float32), 0.0, False, False, {}


@pytest.mark.parametrize("encoder", ["population", {"name": "population", "max_amplitude_ua": 5.0}])
def test_population_encoder_by_name_gets_one_value_per_task_action_value(encoder):
    env = NeuralTaskEnv(_TwoActionTask, "S2", encoder=encoder, target="numpy")
    assert env.encoder.n_values == 2 and env.action_space.shape == (2,)
    env.close()
