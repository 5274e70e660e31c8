"""Quickstart: a livn_rl env, stepped by hand, one rendered frame saved as a PNG, and a vector env of 4 copies.

    python examples/quickstart.py                            # writes out/quickstart_frame.png
    python examples/quickstart.py --target numpy --steps 5   # no Cython compile (slower steps)

The first run with the default target compiles the culture's code with Cython (1-2 minutes, cached on disk).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import gymnasium as gym
import matplotlib.image
import numpy as np

import livn_rl  # noqa: F401  (registers the livn_rl/... envs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=40, help="steps of the single env (default: 40 = 2 s)")
    parser.add_argument("--out", default="out/quickstart_frame.png", help="where to save the rendered frame")
    parser.add_argument("--target", default="auto", choices=("auto", "cython", "numpy"),
                        help="Brian2 code generation target (default: auto)")
    args = parser.parse_args()

    # ---- one env: Pendulum driven through the S2 culture (100 cells on a 4x4 MEA), 50 ms of culture per step
    env = gym.make("livn_rl/Pendulum-S2-v0", render_mode="rgb_array", target=args.target)
    print(f"{env.spec.id}: observation {env.observation_space}, action {env.action_space}, "
          f"{env.unwrapped.window_ms:g} ms per step, {env.spec.max_episode_steps} steps per episode")
    obs, info = env.reset(seed=0)  # the culture's simulation is built here, at the first reset
    env.action_space.seed(0)
    total = 0.0
    for step in range(args.steps):
        action = env.action_space.sample()  # the agent's action in [-1, 1] ...
        obs, reward, terminated, truncated, info = env.step(action)
        total += reward
        if step % 10 == 0:  # ... reached the pendulum as the torque decoded from the culture's response
            print(f"  step {step:3d}: action {action[0]:+.2f} -> torque {info['task_action'][0]:+.2f}, "
                  f"{info['spike_count']} spikes, reward {reward:.2f}")
        if terminated or truncated:
            obs, info = env.reset()
    print(f"  return over {args.steps} steps: {total:.1f}; simulated {info['time_ms']:g} ms of culture time")

    # ---- a frame: spike raster of the last second, the MEA's last window and the pendulum
    frame = env.render()  # (height, width, 3) uint8
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    matplotlib.image.imsave(out, frame)
    print(f"frame {frame.shape} -> {out}")
    env.close()

    # ---- a vector env: 4 independent copies of the culture in one Brian2 network, stepped together
    venv = gym.make_vec("livn_rl/Pendulum-S2-v0", num_envs=4, target=args.target)
    obs, infos = venv.reset(seed=0)  # copy k is seeded with 0 + k
    venv.action_space.seed(0)
    for _ in range(5):
        obs, rewards, terminated, truncated, infos = venv.step(venv.action_space.sample())
    print(f"vector env: observations {obs.shape}, actions {venv.action_space.shape}, "
          f"rewards of the last step {np.round(rewards, 2).tolist()}, spikes {infos['spike_count'].tolist()}")
    venv.close()


if __name__ == "__main__":
    main()
