"""What watching costs: the LIF stream's frame rate as clients are added, and an env view's work per step.

    python benchmarks/view_speed.py                      # LIF stream with 1, 4, 16 clients; Pendulum-S2 frames
    python benchmarks/view_speed.py --env livn_rl/RateClamp-S2-v0 --steps 200

1. The LIF stream at --delay-ms 0 (as fast as it runs), served by ``livn-rl view lif`` in its own process, with N
   websockets clients (in this process) reading for --seconds: the frames per second the run made (from the step
   counter the clients see) and the frames each client received (fewer when the clients cannot keep up: the server
   drops frames for them rather than slow down).
2. An env view: per step, the median time of ``env.step`` and of building and encoding the step frame (what the
   view adds to every step), and their ratio; the frame's size in bytes.

Prints a markdown table and writes benchmarks/results/view_speed.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from pathlib import Path

import numpy as np


async def lif_rate(n_clients: int, seconds: float) -> dict:
    """The LIF server in its own process (as users run it), ``n_clients`` clients here: the run's frames per second
    (from the step counter ``t`` the clients see) and the frames each client received per second."""
    import re
    import signal
    import subprocess
    import sys

    import websockets

    server = subprocess.Popen([sys.executable, "-m", "livn_rl.cli", "view", "lif", "--delay-ms", "0", "--port", "0",
                               "--quiet"], stdout=subprocess.PIPE, text=True)
    try:
        port = int(re.search(r":(\d+)/", server.stdout.readline()).group(1))
        url = f"ws://127.0.0.1:{port}/stream"
        clients = [await websockets.connect(url) for _ in range(n_clients)]
        seen: list[list[int]] = [[] for _ in range(n_clients)]
        stop = time.perf_counter() + 0.5 + seconds

        async def read(k: int) -> None:
            while time.perf_counter() < stop:
                t = json.loads(await clients[k].recv())["t"]
                if time.perf_counter() > stop - seconds:  # after a 0.5 s warm-up
                    seen[k].append(t)

        await asyncio.gather(*(read(k) for k in range(n_clients)))
        for client in clients:
            client.transport.abort()
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(30)
    made = max((s[-1] - s[0]) / seconds for s in seen)
    return {"clients": n_clients, "frames_per_s": made,
            "received_per_s_median": float(np.median([len(s) / seconds for s in seen]))}


def env_cost(env_id: str, steps: int, target: str) -> dict:
    import gymnasium as gym

    import livn_rl  # noqa: F401
    from livn_rl.view.env_frames import step_frame

    env = gym.make(env_id, target=target)
    obs, _ = env.reset(seed=0)
    env.action_space.seed(0)
    step_ms, frame_ms, sizes = [], [], []
    total = 0.0
    for k in range(steps + 5):
        action = env.action_space.sample()
        t0 = time.perf_counter()
        obs, reward, terminated, truncated, info = env.step(action)
        t1 = time.perf_counter()
        total += reward
        text = json.dumps(step_frame(env.unwrapped, episode=1, step=k + 1, action=action, override={}, observation=obs,
                                     reward=reward, episode_return=total, terminated=terminated, truncated=truncated,
                                     info=info))
        t2 = time.perf_counter()
        if k >= 5:  # the first steps compile and warm up
            step_ms.append(1000 * (t1 - t0))
            frame_ms.append(1000 * (t2 - t1))
            sizes.append(len(text))
        if terminated or truncated:
            obs, _ = env.reset()
    env.close()
    return {"env": env_id, "target": target, "steps": steps, "step_ms_median": float(np.median(step_ms)),
            "frame_ms_median": float(np.median(frame_ms)), "frame_over_step": float(np.median(frame_ms) / np.median(step_ms)),
            "frame_bytes_median": int(np.median(sizes))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--env", default="livn_rl/Pendulum-S2-v0")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--target", default="auto")
    parser.add_argument("--out", default="benchmarks/results/view_speed.json")
    args = parser.parse_args()
    load = os.getloadavg()
    lif = []
    for n in args.clients:
        runs = [asyncio.run(lif_rate(n, args.seconds)) for _ in range(args.repeats)]
        lif.append({"clients": n, "frames_per_s": float(np.median([r["frames_per_s"] for r in runs])),
                    "received_per_s_median": float(np.median([r["received_per_s_median"] for r in runs]))})
    env = env_cost(args.env, args.steps, args.target)
    result = {"load_average": load, "lif": lif, "env": env}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print("| clients | LIF frames/s made | frames/s each client received |\n|---|---|---|")
    for row in lif:
        print(f"| {row['clients']} | {row['frames_per_s']:,.0f} | {row['received_per_s_median']:,.0f} |")
    print(f"\n{env['env']} ({env['target']}): env.step {env['step_ms_median']:.2f} ms, step frame {env['frame_ms_median']:.3f} ms "
          f"({100 * env['frame_over_step']:.1f} % of a step), {env['frame_bytes_median']:,} bytes per frame")


if __name__ == "__main__":
    main()
