"""The LIF tutorial figures: the discrete LIF, a voltage trace, the F-I curve against theory, hard vs soft reset, a
population raster and rate, and the effect of tau.

    python examples/lif_tutorial.py --out out/lif        # six PNGs; the first run compiles the LIF model (~1 min)
    python examples/lif_tutorial.py --target numpy       # no compiler needed (slower)

Every number printed comes from the simulations drawn; docs/lif.md explains the model.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from brian2 import mV, ms, nA
from matplotlib.figure import Figure

from livn_rl import Simulation
from livn_rl.analysis import spike_trains
from livn_rl.recording import Recording
from livn_rl.experiments.lif import measure_fi_curve
from livn_rl.systems.lif import LIFSystem, simulate_lif

SPIKE_TOP_MV = 20.0  # spikes are drawn as lines from the threshold up to here


def _voltage_run(system: LIFSystem, steps: list[tuple[float, float]], target: str, dt_ms: float = 0.1):
    """Run ``system`` through ``[(duration_ms, current_nA), ...]`` recording neuron 0; returns t, V (mV), spikes, I."""
    with Simulation(system, seed=0, dt_ms=dt_ms, target=target, record_voltages=[0]) as sim:
        parts = []
        for duration, current in steps:
            sim.set_neuron_variable("I_ext", current * nA)
            parts.append(sim.run(duration))
    t = np.concatenate([p.voltage_t_ms for p in parts])
    v = np.concatenate([p.voltage_mv[0, 0] for p in parts])
    spikes = np.concatenate([spike_trains(p, [0])[0] for p in parts])
    current = np.concatenate([np.full(p.voltage_t_ms.size, c) for p, (_, c) in zip(parts, steps)])
    return t, v, spikes, current


def _draw_voltage(ax, t, v, spikes, v_th: float, colour: str = "tab:blue", label: str | None = None) -> None:
    ax.plot(t, v, color=colour, lw=1.0, label=label)
    ax.vlines(spikes, v_th, SPIKE_TOP_MV, color=colour, lw=1.0)
    ax.axhline(v_th, color="k", ls="--", lw=0.8)
    ax.set_ylabel("V (mV)")


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


def figure_voltage(out: Path, target: str) -> None:
    system = LIFSystem(1, t_ref=2 * ms)
    t, v, spikes, current = _voltage_run(system, [(20.0, 0.0), (160.0, 0.2), (20.0, 0.0)], target)
    fig = Figure(figsize=(8, 4))
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1])
    _draw_voltage(top, t, v, spikes, -50.0)
    top.set_title(f"LIF neuron, 0.2 nA step: {spikes.size} spikes in 160 ms "
                  f"(theory {float(system.analytic_rate(0.2 * nA)[0]):.1f} Hz)")
    bottom.plot(t, current, color="tab:orange")
    bottom.set_ylabel("I (nA)")
    bottom.set_xlabel("time (ms)")
    fig.tight_layout()
    fig.savefig(out / "lif_voltage.png", dpi=120)


def figure_fi(out: Path, target: str) -> None:
    currents = np.linspace(0.1, 0.5, 41) * nA
    fig = Figure(figsize=(6.5, 4.5))
    ax = fig.add_subplot()
    for t_ref, colour in ((0.0, "tab:blue"), (2.0, "tab:green")):
        fi = measure_fi_curve(currents, 300.0, 0.025, target=target, t_ref=t_ref * ms)
        fires = fi["analytic_hz"] > 0
        error = np.max(np.abs(fi["rate_hz"][fires] / fi["analytic_hz"][fires] - 1)) * 100
        ax.plot(fi["current_na"], fi["analytic_hz"], color=colour, lw=1.2)
        ax.plot(fi["current_na"], fi["rate_hz"], "o", ms=3, color=colour,
                label=f"t_ref = {t_ref:g} ms: simulated (dots), theory (line); max error {error:.2f} %")
        print(f"F-I, t_ref = {t_ref:g} ms: max |simulated / analytic - 1| = {error:.2f} % over "
              f"{fires.sum()} firing currents")
    ax.axvline(0.15, color="grey", ls=":", label="rheobase (V_th - V_rest) / R = 0.15 nA")
    ax.set_xlabel("input current (nA)")
    ax.set_ylabel("rate (Hz)")
    ax.set_title("F-I curve: tau 10 ms, R 100 MOhm, V_rest = V_reset = -65 mV, V_th = -50 mV")
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(out / "lif_fi_curve.png", dpi=120)


def figure_reset(out: Path, target: str) -> None:
    fig = Figure(figsize=(10, 4))
    left, right = fig.subplots(1, 2)
    for reset, colour in (("hard", "tab:blue"), ("soft", "tab:red")):
        t, v, spikes, _ = _voltage_run(LIFSystem(1, reset=reset), [(20.0, 1.0)], target, dt_ms=0.1)
        _draw_voltage(left, t, v, spikes, -50.0, colour, f"{reset} reset: {spikes.size} spikes")
        fi = measure_fi_curve(np.linspace(0.2, 2.0, 19) * nA, 200.0, 0.1, target=target, reset=reset)
        right.plot(fi["current_na"], fi["rate_hz"], "o-", ms=3, color=colour, label=f"{reset} reset (dt = 0.1 ms)")
        print(f"{reset} reset at 1 nA, dt 0.1 ms: {float(np.interp(1.0, fi['current_na'], fi['rate_hz'])):.1f} Hz")
    right.plot(fi["current_na"], fi["analytic_hz"], "k--", lw=1, label="continuous-time theory")
    left.set_xlabel("time (ms)")
    left.set_title("1 nA: the soft reset keeps the threshold overshoot")
    left.legend(fontsize=8, loc="lower right")
    right.set_xlabel("input current (nA)")
    right.set_ylabel("rate (Hz)")
    right.set_title("soft reset fires more under strong input")
    right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "lif_reset.png", dpi=120)


def figure_population(out: Path, target: str) -> None:
    taus = np.random.default_rng(0).uniform(8.0, 12.0, 50)  # heterogeneous membranes: the neurons dephase
    system = LIFSystem(50, tau=taus * ms, v_init=-65 * mV, v_init_sd=5 * mV, t_ref=2 * ms)
    with Simulation(system, seed=0, dt_ms=0.1, target=target) as sim:
        before = sim.run(50.0)
        sim.set_neuron_variable("I_ext", 0.25 * nA)
        rec = Recording.concatenate([before, sim.run(450.0)])
    centres, rate = rec.population_rate_hz(bin_ms=10.0)
    expected = float(np.mean(system.analytic_rate(0.25 * nA)))
    fig = Figure(figsize=(8, 5))
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[2, 1])
    top.plot(rec.neuron_t_ms, rec.neuron_i, "|", color="tab:blue", ms=3)
    top.set_ylabel("neuron")
    top.set_title("50 LIF neurons, tau ~ U(8, 12) ms, V(0) ~ Normal(-65 mV, 5 mV), 0.25 nA step at 50 ms", fontsize=10)
    bottom.step(centres, rate, where="mid", color="tab:blue")
    bottom.axhline(expected, color="k", ls="--", lw=0.8, label=f"mean of the neurons' theoretical rates {expected:.1f} Hz")
    bottom.set_ylabel("rate (Hz, 10 ms bins)")
    bottom.set_xlabel("time (ms)")
    bottom.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(out / "lif_population.png", dpi=120)
    late = centres > 150
    print(f"population: rate after 150 ms {rate[late].mean():.1f} Hz (theory {expected:.1f} Hz), "
          f"10 ms bins from {rate[late].min():.0f} to {rate[late].max():.0f} Hz")


def figure_tau(out: Path, target: str) -> None:
    taus = [5.0, 10.0, 20.0]
    fig = Figure(figsize=(10, 4))
    left, right = fig.subplots(1, 2)
    colours = ("tab:orange", "tab:blue", "tab:purple")
    for tau, colour in zip(taus, colours):
        t, v, spikes, _ = _voltage_run(LIFSystem(1, tau=tau * ms), [(100.0, 0.2)], target)
        _draw_voltage(left, t, v, spikes, -50.0, colour, f"tau = {tau:g} ms")
        fi = measure_fi_curve(np.linspace(0.1, 0.5, 21) * nA, 300.0, 0.05, target=target, tau=tau * ms)
        right.plot(fi["current_na"], fi["analytic_hz"], color=colour, lw=1)
        right.plot(fi["current_na"], fi["rate_hz"], "o", ms=3, color=colour, label=f"tau = {tau:g} ms")
        print(f"tau = {tau:g} ms: {float(np.interp(0.3, fi['current_na'], fi['rate_hz'])):.1f} Hz at 0.3 nA")
    left.set_xlabel("time (ms)")
    left.set_title("0.2 nA: a larger tau charges more slowly")
    left.legend(fontsize=8, loc="lower right")
    right.set_xlabel("input current (nA)")
    right.set_ylabel("rate (Hz)")
    right.set_title("larger tau, lower rate (same R, same rheobase)")
    right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "lif_tau.png", dpi=120)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="out/lif", help="directory for the PNGs (default out/lif)")
    parser.add_argument("--target", default="auto", choices=("auto", "cython", "numpy"), help="Brian2 target")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    figure_discrete(out)
    figure_voltage(out, args.target)
    figure_fi(out, args.target)
    figure_reset(out, args.target)
    figure_population(out, args.target)
    figure_tau(out, args.target)
    print(f"wrote {', '.join(sorted(p.name for p in out.glob('lif_*.png')))} to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
