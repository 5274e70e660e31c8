"""A user-written encoder and decoder, end to end: Pendulum driven through a simulated culture.

The agent's action (one value in [-1, 1]) does not reach the pendulum directly. A custom *encoder* turns it into
stimulation of the culture on its multi-electrode array, the culture is simulated for one 50 ms window, and a
custom *decoder* turns the spikes the electrodes recorded into the torque the pendulum receives:

    agent action --PushPullEncoder--> pulses on the MEA --S2 culture (100 cells)--> spikes --LeftRightDecoder--> torque

This script builds that env with ``gym.make``, checks it with Gymnasium's and stable-baselines3's env checkers,
measures how well a value travels through the culture, runs a random policy for a few episodes and trains SAC
briefly (a few hundred steps: enough to see it run, far too few to learn the task).

    python examples/custom_encoder.py                      # about a minute once Brian2's Cython code is compiled
    python examples/custom_encoder.py --timesteps 5000     # a longer SAC run
    python examples/custom_encoder.py --target numpy --episodes 1 --max-steps 10 --timesteps 20   # a smoke test

The first run with the default target compiles the culture's code with Cython (1-2 minutes, cached on disk);
``--target numpy`` starts at once but steps about 5x slower.
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np

import livn_rl  # noqa: F401  (registers the livn_rl/... envs)
from livn_rl.encoders import Decoder, Encoder, from_unit
from livn_rl.stimulus import Pulse


class PushPullEncoder(Encoder):
    """One value in [-1, 1] -> stimulation of the left and the right half of the array, in opposite directions.

    -1 drives every electrode left of the array's centre at ``max_amplitude_ua``, +1 every electrode right of it,
    0 both halves at half amplitude. Each driven electrode gets biphasic pulses at ``pulse_rate_hz`` through the
    window.
    """

    def __init__(self, max_amplitude_ua: float = 10.0, pulse_rate_hz: float = 100.0) -> None:
        # Only parameters here: the electrode array and the window are not known until bind().
        self.max_amplitude_ua = float(max_amplitude_ua)
        self.pulse_rate_hz = float(pulse_rate_hz)
        # The input space is the agent's action space: NeuralTaskEnv requires a Box in [-1, 1].
        self.input_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)

    def bind(self, context) -> None:
        """Called once by the env, before the first step: ``context`` holds the MEA, window_ms and dt_ms."""
        super().bind(context)  # stores self.context; always call it first
        if self.max_amplitude_ua > context.mea.max_current_ua:
            raise ValueError(f"{self.max_amplitude_ua} uA exceeds the MEA's limit of {context.mea.max_current_ua} uA")
        # What bind() derives gets a leading underscore, which keeps it out of the printed repr.
        x = context.channel_x()  # each electrode's x position, scaled to [-1, 1] across the array
        self._left, self._right = np.flatnonzero(x < 0), np.flatnonzero(x > 0)
        # Pulse onsets (ms, relative to the window): every pulse must end inside the window.
        pulse_ms = Pulse(0, 0.0, 0.0).duration_ms  # 0.4 ms: two 0.2 ms phases
        self._onsets_ms = np.arange(1.0, context.window_ms - pulse_ms, 1000.0 / self.pulse_rate_hz)

    def encode(self, x) -> list[Pulse]:
        """The stimulus of one window: a list of Pulse(channel, onset_ms, amplitude_ua). (None means no
        stimulation; an array of currents shaped (context.n_timesteps, context.n_channels) also works.)"""
        u = (float(np.clip(np.asarray(x).ravel()[0], -1.0, 1.0)) + 1.0) / 2.0  # 0 = all left ... 1 = all right
        pulses = []
        for channels, amplitude in ((self._left, (1.0 - u) * self.max_amplitude_ua), (self._right, u * self.max_amplitude_ua)):
            if amplitude >= 0.5:  # weaker pulses barely excite any cell: leave them out
                pulses += [Pulse(int(c), float(t), amplitude) for c in channels for t in self._onsets_ms]
        return pulses


class LeftRightDecoder(Decoder):
    """The recording of one window -> a value in ``output_space``: which half of the array was more active.

    ``(right - left) / (right + left)`` of the spikes the electrodes detected, times ``gain``, smoothed over windows
    (``smoothing`` is the weight of the previous value), then mapped linearly from [-1, 1] onto ``output_space``.
    A window without spikes keeps the previous value.
    """

    def __init__(self, output_space: gym.Space, gain: float = 1.5, smoothing: float = 0.3) -> None:
        # output_space must fit the task's action space (the env checks it): Box(-2, 2, (1,)) for Pendulum-v1.
        self.output_space = output_space
        self.gain = float(gain)
        self.smoothing = float(smoothing)
        self._value = 0.0

    def bind(self, context) -> None:
        super().bind(context)
        x = context.channel_x()
        self._left, self._right = np.flatnonzero(x < 0), np.flatnonzero(x > 0)

    def reset(self, rng: np.random.Generator | None = None) -> None:
        """Called at every env reset: forget the state carried between windows."""
        self._value = 0.0

    def decode(self, recording):
        counts = recording.channel_counts[0]  # spikes each electrode detected in this window (one culture copy)
        left, right = counts[self._left].sum(), counts[self._right].sum()
        if left + right > 0:
            raw = np.clip(self.gain * (right - left) / (right + left), -1.0, 1.0)
            self._value = self.smoothing * self._value + (1.0 - self.smoothing) * raw
        return from_unit([self._value], self.output_space)  # [-1, 1] -> the task's bounds, as float32


def make_env(target: str, max_steps: int | None) -> gym.Env:
    pendulum_actions = gym.spaces.Box(-2.0, 2.0, (1,), np.float32)  # Pendulum-v1's torque range
    kwargs = {} if max_steps is None else {"max_episode_steps": max_steps}
    return gym.make(
        "livn_rl/Pendulum-S2-v0",
        encoder=PushPullEncoder(max_amplitude_ua=10.0),
        decoder=LeftRightDecoder(pendulum_actions),
        target=target,  # Brian2 code generation target: "auto" (Cython when a compiler works) or "numpy"
        **kwargs,
    )


def transmission(env: gym.Env, steps_per_value: int) -> None:
    """Hold the action at -1, 0 and +1 for a few windows each and print the torque that arrives at the pendulum."""
    env.reset(seed=1)
    print("action -> torque decoded from the culture (mean over windows):")
    for action in (-1.0, 0.0, 1.0):
        torques = [env.step(np.array([action], np.float32))[4]["task_action"][0] for _ in range(steps_per_value)]
        print(f"  {action:+.0f} -> {np.mean(torques):+.2f}")


def run_random(env: gym.Env, episodes: int, seed: int) -> None:
    env.action_space.seed(seed)
    for episode in range(episodes):
        obs, info = env.reset(seed=seed + episode)
        total, steps, spikes, done = 0.0, 0, 0, False
        while not done:
            obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
            total, steps, spikes = total + reward, steps + 1, spikes + info["spike_count"]
            done = terminated or truncated
        print(f"random policy, episode {episode}: return {total:8.1f} over {steps} steps ({spikes} spikes)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--timesteps", type=int, default=300, help="SAC training steps (default: 300)")
    parser.add_argument("--episodes", type=int, default=3, help="random-policy episodes (default: 3)")
    parser.add_argument("--max-steps", type=int, default=None,
                        help="episode length (default: the registered 200 steps = 10 s of pendulum time)")
    parser.add_argument("--target", default="auto", choices=("auto", "cython", "numpy"),
                        help="Brian2 code generation target (default: auto)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    start = time.perf_counter()

    env = make_env(args.target, args.max_steps)
    print(f"{env.spec.id}: action {env.action_space}, observation {env.observation_space}")
    print(f"  encoder {env.unwrapped.encoder}\n  decoder {env.unwrapped.decoder}")

    # 1. The env follows the Gymnasium and stable-baselines3 API (spaces, dtypes, seeding, determinism).
    from gymnasium.utils.env_checker import check_env
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    check_env(env.unwrapped, skip_render_check=True)
    sb3_check_env(env.unwrapped, warn=True)
    print("check_env: Gymnasium and stable-baselines3 checks passed")

    # 2. Does a value survive the trip through the culture? (It should: -1 -> negative torque, +1 -> positive.)
    transmission(env, steps_per_value=3 if args.max_steps and args.max_steps < 20 else 10)

    # 3. A random policy.
    run_random(env, args.episodes, args.seed)

    # 4. A short SAC run on the same env (SB3 wraps it in a Monitor to record episode returns).
    import torch
    from stable_baselines3 import SAC

    # One torch thread: SAC's small networks gain nothing from more, and on a machine with few cores torch's
    # thread pool competes with the Brian2 simulation (measured on a busy 2-core machine: 300 SAC steps took
    # 100 s with torch's default 2 threads, 15 s with 1).
    torch.set_num_threads(1)

    model = SAC("MlpPolicy", env, learning_starts=min(100, args.timesteps // 2), seed=args.seed, verbose=0)
    t0 = time.perf_counter()
    model.learn(total_timesteps=args.timesteps)
    returns = [round(float(e["r"]), 1) for e in model.ep_info_buffer]
    print(f"SAC: {args.timesteps} steps in {time.perf_counter() - t0:.1f} s; training episode returns: "
          f"{returns if returns else 'no episode finished yet'}")

    obs, _ = env.reset(seed=100)
    total, done = 0.0, False
    while not done:
        action, _ = model.predict(obs, deterministic=True)
        obs, reward, terminated, truncated, _ = env.step(action)
        total, done = total + reward, terminated or truncated
    print(f"SAC policy, one evaluation episode: return {total:.1f}")
    env.close()
    print(f"done in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
