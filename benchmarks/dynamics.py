"""Measure the activity of the predefined cultures: spontaneous rates, network bursts and the evoked response.

    python benchmarks/dynamics.py                       # S1, S2, S3: 20 s spontaneous + stimulation
    python benchmarks/dynamics.py --systems S4 --spontaneous-ms 5000
    python benchmarks/dynamics.py --systems S2 --seeds 6 --backends runtime standalone   # the two engine backends

For each system and seed: mean spontaneous rate of E and I cells, the fraction of silent cells, network bursts per
minute (10 ms bins in which the population rate exceeds max(20 Hz, 5x its mean)), channel rates, then the rate of
cells within 100 um of the central electrode before and during 1 s of 20 Hz biphasic pulses at each amplitude.
Writes a JSON file and prints a markdown table (the one in docs/systems.md).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from livn_rl import Simulation, make_system, pulse_train, render
from livn_rl.analysis import detect_bursts


def measure(name: str, seed: int, spontaneous_ms: float, amplitudes: list[float], target: str, backend: str) -> dict:
    system = make_system(name)
    sim = Simulation(system, seed=seed, target=target if backend == "runtime" else "auto", backend=backend)
    try:
        start = time.perf_counter()
        spont = sim.run(spontaneous_ms)
        wall = time.perf_counter() - start
        rates = spont.neuron_rates_hz[0]
        exc, inh = system.population("E"), system.population("I")
        bursts = detect_bursts(spont, system)
        distances = sim.mea.distances_um(system.positions_um)
        channel = int(np.argmin(np.linalg.norm(sim.mea.positions_um[:, :2], axis=1)))
        near = np.flatnonzero(distances[channel] < 100.0)
        evoked = {}
        for k, amplitude in enumerate(amplitudes):
            sim.reset(seed + 1000 + k)
            before = sim.run(1000.0)
            wave = render(pulse_train(channel, amplitude, 0.0, 20, 20.0), sim.n_channels, 1000.0, sim.dt_ms)
            during = sim.step(wave, 1000.0)
            evoked[f"{amplitude:g}uA"] = {
                "near_before_hz": float(before.neuron_rates_hz[0][near].mean()),
                "near_during_hz": float(during.neuron_rates_hz[0][near].mean()),
                "all_during_hz": float(during.neuron_rates_hz[0].mean()),
                "channel_before_hz": float(before.channel_rates_hz[0][channel]),
                "channel_during_hz": float(during.channel_rates_hz[0][channel]),
            }
    finally:
        sim.close()
    return {
        "system": name,
        "backend": sim.backend,
        "seed": seed,
        "spontaneous_ms": spontaneous_ms,
        "rate_exc_hz": float(rates[exc.start : exc.stop].mean()),
        "rate_inh_hz": float(rates[inh.start : inh.stop].mean()),
        "silent_fraction": float((rates == 0).mean()),
        "bursts_per_min": len(bursts) / (spontaneous_ms / 60000.0),
        "channel_rate_hz": float(spont.channel_rates_hz[0].mean()),
        "cells_near_stimulated_electrode": int(near.size),
        "evoked": evoked,
        "wall_s_per_simulated_s": wall / (spontaneous_ms / 1000.0),
    }


def table(results: list[dict], amplitudes: list[float]) -> str:
    systems = sorted({(r["system"], r["backend"]) for r in results}, key=lambda s: (len(s[0]), s))
    head = "| system | backend | E rate (Hz) | I rate (Hz) | silent | bursts/min | channel rate (Hz) |"
    head += "".join(f" near, {a:g} uA at 20 Hz (Hz) |" for a in amplitudes)
    lines = [head, "|" + "---|" * (7 + len(amplitudes))]

    def mean_sd(values) -> str:
        values = np.asarray(values, dtype=float)
        return f"{values.mean():.2f} +- {values.std():.2f}" if values.size > 1 else f"{values.mean():.2f}"

    for name, backend in systems:
        rows = [r for r in results if r["system"] == name and r["backend"] == backend]
        cells = [
            mean_sd([r["rate_exc_hz"] for r in rows]), mean_sd([r["rate_inh_hz"] for r in rows]),
            mean_sd([r["silent_fraction"] for r in rows]), mean_sd([r["bursts_per_min"] for r in rows]),
            mean_sd([r["channel_rate_hz"] for r in rows]),
        ]
        for a in amplitudes:
            key = f"{a:g}uA"
            before = mean_sd([r["evoked"][key]["near_before_hz"] for r in rows])
            during = mean_sd([r["evoked"][key]["near_during_hz"] for r in rows])
            cells.append(f"{before} -> {during}")
        lines.append(f"| {name} | {backend} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--systems", nargs="+", default=["S1", "S2", "S3"], help="systems to measure")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per system (default 3)")
    parser.add_argument("--spontaneous-ms", type=float, default=20000.0, help="length of the spontaneous run (ms)")
    parser.add_argument("--amplitudes", type=float, nargs="+", default=[5.0, 10.0], help="pulse amplitudes (uA)")
    parser.add_argument("--target", default="auto", choices=["auto", "cython", "numpy"], help="the runtime backend's target")
    parser.add_argument("--backends", nargs="+", default=["auto"], choices=["auto", "runtime", "standalone"],
                        help="engine backends to measure, each on the same seeds (default: the one Simulation chooses)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/dynamics.json"))
    args = parser.parse_args()

    from tqdm.auto import tqdm

    results = []
    jobs = [(name, seed, backend) for name in args.systems for backend in args.backends for seed in range(args.seeds)]
    for name, seed, backend in tqdm(jobs, desc="systems x backends x seeds"):
        results.append(measure(name, seed, args.spontaneous_ms, args.amplitudes, args.target, backend))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(table(results, args.amplitudes))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
