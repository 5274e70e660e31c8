"""How faithfully the default encoder/decoder pair carries a value through a culture.

    python benchmarks/fidelity.py                          # S1, S2, S3 at 10 uA (and S1 at 3 uA), 300 inputs each
    python benchmarks/fidelity.py --systems S2 --amplitudes 5 10 --inputs 100

For each system and amplitude: uniform random inputs in [-1, 1] go through a ``PopulationEncoder`` (Gaussian bump
of pulses across the array) into the culture for one window each, and a ``PopulationVectorDecoder`` reads the value
back before its gain (``gain=1``). Prints the correlation with the input, the slope and the residual SD of a line
fit, and writes ``benchmarks/results/fidelity.json``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from livn_rl import Simulation
from livn_rl.encoders import PopulationEncoder, PopulationVectorDecoder, StimulationContext

RESULTS = Path(__file__).parent / "results" / "fidelity.json"


def measure(system: str, amplitude_ua: float, n_inputs: int, window_ms: float, seed: int) -> dict:
    """Send ``n_inputs`` random values through ``system`` and compare what comes back."""
    with Simulation(system, seed=seed) as sim:
        context = StimulationContext(sim.mea, window_ms, sim.dt_ms)
        encoder = PopulationEncoder(max_amplitude_ua=amplitude_ua)
        decoder = PopulationVectorDecoder(gain=1.0)
        encoder.bind(context)
        decoder.bind(context)
        inputs = np.random.default_rng(seed).uniform(-1.0, 1.0, n_inputs)
        decoded = np.array([
            decoder.values(sim.step(encoder.encode([x]), window_ms))[0]
            for x in tqdm(inputs, desc=f"{system} {amplitude_ua:g} uA", leave=False)
        ])
    slope, intercept = np.polyfit(inputs, decoded, 1)
    return {
        "system": system, "amplitude_ua": amplitude_ua, "inputs": n_inputs, "window_ms": window_ms,
        "correlation": round(float(np.corrcoef(inputs, decoded)[0, 1]), 3), "slope": round(float(slope), 3),
        "residual_sd": round(float(np.std(decoded - (slope * inputs + intercept))), 3),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--systems", nargs="+", default=["S1", "S2", "S3"], help="systems (default: S1 S2 S3)")
    parser.add_argument("--amplitudes", type=float, nargs="+", default=[10.0], help="bump amplitudes, uA (default: 10)")
    parser.add_argument("--inputs", type=int, default=300, help="random inputs per case (default: 300)")
    parser.add_argument("--window-ms", type=float, default=50.0, help="window per input, ms (default: 50)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the culture and of the inputs (default: 0)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="JSON output (default: %(default)s)")
    args = parser.parse_args(argv)

    cases = [(s, a) for s in args.systems for a in args.amplitudes]
    if args.systems == ["S1", "S2", "S3"] and args.amplitudes == [10.0]:
        cases.insert(0, ("S1", 3.0))  # S1's cells all lie within reach of 10 uA from every electrode
    rows = [measure(s, a, args.inputs, args.window_ms, args.seed) for s, a in cases]
    print(f"{'system':7s} {'uA':>5s} {'correlation':>12s} {'slope':>6s} {'residual SD':>12s}")
    for r in rows:
        print(f"{r['system']:7s} {r['amplitude_ua']:5g} {r['correlation']:12.3f} {r['slope']:6.3f} {r['residual_sd']:12.3f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
