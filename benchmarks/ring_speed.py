"""Wall time of one 5 s trial of the ring attractor (450 Izhikevich cells, about 104,000 synapses, dt 0.1 ms).

Builds the normal-serotonin ring once, then runs ``--trials`` trials of 5 s (reset to a new seed, run, collect the
spikes) and reports the median and the range. Writes ``<out>`` (JSON).

    python benchmarks/ring_speed.py                     # 7 trials on Cython, about 30 s once compiled
    python benchmarks/ring_speed.py --target numpy --trials 1
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=7, help="timed 5 s trials (default 7)")
    parser.add_argument("--target", default="auto", help="Brian2 target (auto, cython, numpy)")
    parser.add_argument("--out", default="benchmarks/results/ring_speed.json", help="JSON output")
    args = parser.parse_args(argv)

    from livn_rl import Simulation
    from livn_rl.systems.ring import RingAttractorSystem

    system = RingAttractorSystem()
    t0 = time.perf_counter()
    sim = Simulation(system, seed=0, target=args.target)
    build_s = time.perf_counter() - t0
    times, spikes = [], []
    for seed in range(args.trials):
        t0 = time.perf_counter()
        sim.reset(seed)
        rec = sim.run(system.config["trial_ms"])
        times.append(time.perf_counter() - t0)
        spikes.append(int(rec.neuron_i.size))
    sim.close()
    result = {
        "command": f"python benchmarks/ring_speed.py --trials {args.trials} --target {args.target}",
        "target": args.target, "n_neurons": system.n_neurons, "n_synapses": system.n_synapses, "trial_ms": 5000.0,
        "dt_ms": 0.1, "build_s": round(build_s, 2), "trial_s": [round(t, 3) for t in times],
        "median_trial_s": round(float(np.median(times)), 3), "spikes_per_trial": spikes,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
