"""The BrainPy LIF tutorial's protocols with its numbers, run on livn_rl's LIF (and the discrete LIF beside them).

    python examples/lif_tutorial.py --out out/lif        # six PNGs and the tutorial's printouts (about a minute;
                                                         # the first run compiles the LIF model once)
    python examples/lif_tutorial.py --target numpy       # no compiler needed (slower)

Parts as in the tutorial (V_rest = V_reset = -65 mV, V_th = -50 mV, tau = 10 ms, hard reset, dt = 0.1 ms):
3. a 2 nA current for 200 ms: spike count, rate, mean ISI and ISI CV (lif_step_response.png);
4. the F-I curve over 0-5 nA, 20 currents of 500 ms each, and the rheobase (lif_fi_curve.png);
5. hard against soft reset at 3 nA for 200 ms, and how many % more the soft reset fires (lif_reset.png);
6. 50 neurons with V(0) ~ Normal(-65 mV, 5 mV), 2.5 nA from 50 ms, 300 ms: raster and 10 ms population rate with
   the onset marked (lif_population.png);
7. tau = 5, 10 and 20 ms at 2 nA for 150 ms (lif_tau.png).
The tutorial's R (BrainPy's default, 1 Ohm) makes its nA currents a few nV of drive: nothing would fire. R is
scaled by 1e7 to 10 MOhm so that its currents mean the drive it plots (docs/lif.md). Every number printed comes
from the simulations drawn.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from brian2 import ms
from matplotlib.figure import Figure

from livn_rl.experiments.lif import (
    TUTORIAL_R_OHM, TUTORIAL_R_SCALE, tutorial_fi_curve, tutorial_population, tutorial_trace,
)
from livn_rl.systems.lif import simulate_lif

V_TH, V_REST = -50.0, -65.0


def _voltage(ax, trace: dict, colour: str = "tab:blue", label: str | None = None) -> None:
    ax.plot(trace["t_ms"], trace["v_mv"], color=colour, lw=1.5, label=label)
    ax.axhline(V_TH, color="r", ls="--", alpha=0.7, label="Threshold" if label is None else None)
    ax.set_ylabel("Voltage (mV)")
    ax.grid(True, alpha=0.3)


def figure_discrete(out: Path) -> None:
    trace = simulate_lif(200, rate=0.08, threshold=1.0, spike_fraction=0.4, dv=0.04, du=1.0, bias=0.0, seed=1)
    fig = Figure(figsize=(8, 4))
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[1, 3])
    top.eventplot(np.flatnonzero(trace["input"]), color="grey", lineoffsets=0, linelengths=0.8)
    top.set_yticks([])
    top.set_ylabel("input")
    bottom.plot(trace["t"], trace["membrane_potential"], color="tab:blue", lw=1.0)
    bottom.vlines(trace["spike_steps"], trace["threshold"], 1.5 * trace["threshold"], color="tab:blue")
    bottom.axhline(trace["threshold"], color="k", ls="--", lw=0.8, label="threshold")
    bottom.set_xlabel("time step")
    bottom.set_ylabel("v")
    bottom.legend(loc="upper left")
    fig.suptitle(f"Discrete-time LIF (rate 0.08, w = 0.4, dv = 0.04, du = 1): {len(trace['spike_steps'])} spikes")
    fig.tight_layout()
    fig.savefig(out / "lif_discrete.png", dpi=120)
    print(f"discrete LIF: {sum(trace['input'])} input spikes, output spikes at steps {trace['spike_steps']}")


def part3_step_response(out: Path, target: str) -> None:
    trace = tutorial_trace(2.0, 200.0, target)
    fig = Figure(figsize=(12, 5))
    top, bottom = fig.subplots(2, 1, sharex=True)
    _voltage(top, trace)
    top.axhline(V_REST, color="g", ls="--", alpha=0.7, label="Rest/Reset")
    top.set_title(f"LIF neuron response to constant input (I = 2 nA, R = {TUTORIAL_R_OHM * TUTORIAL_R_SCALE / 1e6:g} MOhm)")
    top.legend()
    bottom.scatter(trace["spike_ms"], np.zeros(trace["spike_ms"].size), marker="|", s=1000, c="black")
    bottom.set(ylabel="Spikes", xlabel="Time (ms)", ylim=(-0.5, 0.5), yticks=[])
    bottom.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "lif_step_response.png", dpi=120)
    print(f"[part 3] Number of spikes: {trace['n_spikes']}")
    print(f"[part 3] Firing rate: {trace['rate_hz']:.2f} Hz (theory for the hard reset: {trace['analytic_hz']:.2f} Hz)")
    print(f"[part 3] Mean ISI: {trace['mean_isi_ms']:.2f} ms")
    print(f"[part 3] ISI CV: {trace['isi_cv']:.3f}")


def part4_fi_curve(out: Path, target: str) -> None:
    fi = tutorial_fi_curve(target=target)
    fig = Figure(figsize=(8, 5))
    ax = fig.add_subplot()
    ax.plot(fi["current_na"], fi["rate_hz"], "o-", lw=2, ms=6, label="simulated: spikes in 500 ms / 0.5 s")
    ax.plot(fi["current_na"], fi["analytic_hz"], "k--", lw=1, label="theory (hard reset, continuous time)")
    ax.axvline(fi["rheobase_theory_na"], color="grey", ls=":", label=f"(V_th - V_rest) / R = {fi['rheobase_theory_na']:g} nA")
    ax.set(xlabel="Input Current (nA)", ylabel="Firing Rate (Hz)", title="F-I Curve: Firing Rate vs Input Current")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "lif_fi_curve.png", dpi=120)
    print(f"[part 4] Rheobase (minimum spiking current): {fi['rheobase_na']:.3f} nA (the first of the 20 currents "
          f"above the analytic {fi['rheobase_theory_na']:g} nA)")
    print("[part 4] rates: " + ", ".join(f"{i:.2f} nA {r:.0f} Hz" for i, r in zip(fi["current_na"], fi["rate_hz"]) if r > 0))


def part5_reset(out: Path, target: str) -> None:
    hard, soft = (tutorial_trace(3.0, 200.0, target, reset=reset) for reset in ("hard", "soft"))
    fig = Figure(figsize=(12, 8))
    top, bottom = fig.subplots(2, 1, sharex=True)
    _voltage(top, hard, label="Hard Reset")
    top.set_title("Hard Reset: V <- V_reset (discards extra charge)")
    top.legend()
    _voltage(bottom, soft, colour="orange", label="Soft Reset")
    bottom.set_title("Soft Reset: V <- V - (V_th - V_reset) (preserves extra charge)")
    bottom.set_xlabel("Time (ms)")
    bottom.legend()
    fig.tight_layout()
    fig.savefig(out / "lif_reset.png", dpi=120)
    print(f"[part 5] Hard reset: {hard['n_spikes']} spikes, {hard['rate_hz']:.2f} Hz (mean ISI {hard['mean_isi_ms']:.3f} ms)")
    print(f"[part 5] Soft reset: {soft['n_spikes']} spikes, {soft['rate_hz']:.2f} Hz (mean ISI {soft['mean_isi_ms']:.3f} ms)")
    print(f"[part 5] Soft reset fires {(soft['rate_hz'] / hard['rate_hz'] - 1) * 100:.1f}% more frequently")


def part6_population(out: Path, target: str) -> None:
    pop = tutorial_population(target=target)
    rec = pop["recording"]
    fig = Figure(figsize=(12, 8))
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 2])
    top.scatter(rec.neuron_t_ms, rec.neuron_i, s=2, c="black", alpha=0.6)
    top.set(ylabel="Neuron Index", title="Population Activity Raster Plot (50 LIF Neurons)")
    bottom.plot(pop["t_ms"], pop["rate_hz"], lw=2)
    bottom.set(xlabel="Time (ms)", ylabel="Population Rate (Hz)", title="Population Firing Rate (10 ms bins)")
    for ax in (top, bottom):
        ax.axvline(pop["onset_ms"], color="r", ls="--", alpha=0.5, label="Input onset")
        ax.legend()
        ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "lif_population.png", dpi=120)
    print(f"[part 6] after the onset: {pop['rate_after_onset_hz']:.1f} Hz per neuron (theory {pop['analytic_hz']:.1f} Hz); "
          f"10 ms bins from {pop['rate_hz'][pop['t_ms'] > pop['onset_ms'] + 10].min():.0f} to "
          f"{pop['rate_hz'].max():.0f} Hz")


def part7_tau(out: Path, target: str) -> None:
    fig = Figure(figsize=(12, 5))
    ax = fig.add_subplot()
    for tau, colour in ((5.0, "tab:orange"), (10.0, "tab:blue"), (20.0, "tab:purple")):
        trace = tutorial_trace(2.0, 150.0, target, tau=tau * ms)
        ax.plot(trace["t_ms"], trace["v_mv"], lw=2, color=colour, label=f"tau = {tau:g} ms")
        print(f"[part 7] tau = {tau:g} ms: {trace['n_spikes']} spikes in 150 ms ({trace['rate_hz']:.1f} Hz; "
              f"theory {trace['analytic_hz']:.1f} Hz)")
    ax.axhline(V_TH, color="r", ls="--", alpha=0.5, label="Threshold")
    ax.set(xlabel="Time (ms)", ylabel="Membrane Potential (mV)", title="Effect of Time Constant on LIF Dynamics")
    ax.legend(fontsize=10)
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "lif_tau.png", dpi=120)
    print("[part 7] Observation: Larger tau -> slower integration, lower firing rate")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="out/lif", help="directory for the PNGs (default out/lif)")
    parser.add_argument("--target", default="auto", choices=("auto", "cython", "numpy"), help="Brian2 target")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    figure_discrete(out)
    part3_step_response(out, args.target)
    part4_fi_curve(out, args.target)
    part5_reset(out, args.target)
    part6_population(out, args.target)
    part7_tau(out, args.target)
    print(f"wrote {', '.join(sorted(p.name for p in out.glob('lif_*.png')))} to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
