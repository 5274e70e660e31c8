"""Closed-loop stepping speed of the livn_rl engine, against the targets of the speed issue.

    python benchmarks/speed.py                      # all cases, both backends, about 4-5 minutes once compiled
    python benchmarks/speed.py --backends standalone # only the compiled C++ backend
    python benchmarks/speed.py --quick              # smoke run: a few steps per case
    python benchmarks/speed.py --cases S2x1@20ms S3x1@100ms
    python benchmarks/speed.py --compare-livn --livn-python /tmp/livnvenv/bin/python

For every case (system, number of packed copies, window length) and every backend (``--backends``: the runtime
backend, Brian2 runtime mode with ``--target``, and the standalone backend, compiled C++ programs), side by side:

1. build the ``Simulation`` (timed on its own: network construction, compile or cache load, first reset);
2. warm up a few steps, then ``reset(seed)`` and time N steps one by one with ``time.perf_counter``; N is chosen
   from the warm-up so that the timed steps take about ``--budget`` seconds;
3. ``reset(seed)`` again and time ONE uninterrupted ``run()`` over the same total simulated time with the same
   stimulus concatenated; ``ratio = sum(step times) / run time`` is the price of handing control back every window.
   Both use the same seed and stimulus, so both simulate the same spikes (checked: ``same_spikes``).

Stimulation: in a random half of the steps each copy gets one biphasic pulse (0.2 ms per phase) on a random channel,
at a random onset inside the window, with amplitude uniform in 1-10 uA; the other half get ``None``. Everything is
drawn from a seeded ``numpy.random.Generator``.

Reported per case: median and p90 ms per step, simulated ms per wall second over all copies
(``copies * window / median step``), the step/run ratio, and PASS/MISS against the issue's targets. Results go to
a table on stdout and to JSON (``benchmarks/results/speed.json`` by default; ``--out``), with the raw step times, the
commit measured and, before every case, ``calib ms``: the time of a fixed pure-Python loop, a yardstick of how fast
the machine is at that moment (shared machines slow down and speed up by up to 2x within minutes).

``--compare-livn`` steps the optional ``livn`` package's default backend with the same windows on the same number of
cells (``livn`` systems are downloaded from the Hugging Face hub, so its env is built offline from cell counts and
our positions: an unconnected ``ParallelSystem`` with ``EXC``/``INH`` populations and an MEA with our electrodes).
``livn`` runs in a subprocess: the current interpreter when it can import ``livn``, else ``--livn-python`` (or the
``LIVN_PYTHON`` environment variable), so livn can live in its own virtual environment. If neither works, the
comparison is skipped with a message saying why.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "speed.json"
PULSE_PHASE_MS = 0.2
AMPLITUDE_UA = (1.0, 10.0)


@dataclass(frozen=True)
class Case:
    system: str
    copies: int
    window_ms: float

    @property
    def name(self) -> str:
        return f"{self.system}x{self.copies}@{self.window_ms:g}ms"


CASES = [
    Case("S2", 1, 20.0),
    Case("S2", 1, 50.0),
    Case("S2", 8, 20.0),
    Case("S2", 16, 20.0),
    Case("S2", 16, 50.0),
    Case("S3", 1, 100.0),
]

BACKENDS = ("runtime", "standalone")

#: The targets per backend: case name -> (description, check on a result dict). The runtime backend's are those of
#: the speed issue, the standalone backend's those of the compiled closed loop (issue 18).
TARGETS = {
    "runtime": {
        "S2x1@20ms": ("median <= 10 ms/step (>= 2000 sim ms/s)", lambda r: r["step_ms_median"] <= 10.0),
        "S2x16@20ms": ("median <= 20 ms/step for all 16 (>= 16000 sim ms/s)", lambda r: r["step_ms_median"] <= 20.0),
        "S3x1@100ms": ("steps / one run <= 1.3", lambda r: r["ratio_steps_to_run"] <= 1.3),
    },
    "standalone": {
        "S2x1@20ms": ("median <= 2 ms/step", lambda r: r["step_ms_median"] <= 2.0),
        "S2x16@20ms": ("median <= 10 ms/step for all 16", lambda r: r["step_ms_median"] <= 10.0),
    },
}


# --------------------------------------------------------------------------------------------------- helpers
def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def machine_info() -> dict:
    info = {
        "nproc": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu_model": None,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    for module in ("brian2", "Cython"):
        try:
            info[module.lower()] = __import__(module).__version__
        except Exception:  # reported as missing, not fatal
            info[module.lower()] = None
    return info


def git_state() -> dict:
    """Commit of the working tree and whether livn_rl/ differs from it (the code measured)."""
    root = Path(__file__).resolve().parent.parent
    state = {}
    try:
        state["commit"] = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                                         timeout=10).stdout.strip() or None
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "livn_rl"], cwd=root, capture_output=True,
                               text=True, timeout=10).stdout.split("\n")
        state["livn_rl_modified_files"] = [line[3:] for line in dirty if line.strip()]
    except (OSError, subprocess.SubprocessError):
        pass
    return state


def calibrate() -> float:
    """ms for a fixed pure-Python loop (best of 3): a yardstick of how fast the (shared) machine is right now."""
    best = math.inf
    for _ in range(3):
        start = time.perf_counter()
        total = 0
        for i in range(300_000):
            total += i * i
        best = min(best, time.perf_counter() - start)
    return round(best * 1e3, 2)


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def draw_schedule(rng: np.random.Generator, n_steps: int, copies: int, n_channels: int, rows: int, dt_ms: float):
    """Per step: None, or a list (one per copy) of (channel, start_row, amplitude_ua) for one biphasic pulse.

    Exactly half of the steps (rounded down) are stimulated, at random positions in the sequence.
    """
    phase_rows = max(1, int(round(PULSE_PHASE_MS / dt_ms)))
    stimulated = np.zeros(n_steps, dtype=bool)
    stimulated[rng.permutation(n_steps)[: n_steps // 2]] = True
    schedule = []
    for flag in stimulated:
        if not flag:
            schedule.append(None)
            continue
        schedule.append(
            [
                (int(rng.integers(n_channels)), int(rng.integers(0, rows - 2 * phase_rows + 1)), float(rng.uniform(*AMPLITUDE_UA)))
                for _ in range(copies)
            ]
        )
    return schedule


def render_step(pulses, n_channels: int, window_ms: float, dt_ms: float) -> np.ndarray:
    """``(copies, rows, n_channels)`` uA for one stimulated step, rendered with livn_rl's Pulse/render."""
    from livn_rl.stimulus import Pulse, render

    return np.stack(
        [
            render([Pulse(channel, start * dt_ms, amplitude, phase_ms=PULSE_PHASE_MS)], n_channels, window_ms, dt_ms)
            for channel, start, amplitude in pulses
        ]
    )


# --------------------------------------------------------------------------------------------- one engine case
def measure_case(case: Case, backend: str, args) -> dict:
    from livn_rl.engine import Simulation

    load_before = load_average()
    calibration_before = calibrate()
    target = args.target if backend == "runtime" else "auto"
    log(f"[{case.name}] building ({backend} backend{', target=' + target if backend == 'runtime' else ''}) ...")
    start = time.perf_counter()
    sim = Simulation(case.system, seed=args.seed, n_copies=case.copies, target=target, backend=backend)
    build_s = time.perf_counter() - start
    try:
        n_channels, dt = sim.n_channels, sim.dt_ms
        rows = int(round(case.window_ms / dt))
        rng = np.random.default_rng([args.seed, CASES.index(case) if case in CASES else 99])

        # warm-up: the same kind of steps as the timed ones
        warm_schedule = draw_schedule(rng, max(2, args.warmup), case.copies, n_channels, rows, dt)
        warm = []
        for pulses in warm_schedule:
            stimulus = None if pulses is None else render_step(pulses, n_channels, case.window_ms, dt)
            t0 = time.perf_counter()
            sim.step(stimulus, case.window_ms)
            warm.append(time.perf_counter() - t0)
        estimate = float(np.median(warm[1:]))
        n_steps = int(np.clip(math.ceil(args.budget / max(estimate, 1e-4)), args.min_steps, args.max_steps))
        n_steps += n_steps % 2

        schedule = draw_schedule(rng, n_steps, case.copies, n_channels, rows, dt)
        stimuli = [None if p is None else render_step(p, n_channels, case.window_ms, dt) for p in schedule]

        t0 = time.perf_counter()
        sim.reset(args.seed)
        reset_ms = (time.perf_counter() - t0) * 1e3
        log(f"[{case.name}] build {build_s:.1f} s; timing {n_steps} steps of {case.window_ms:g} ms "
            f"(about {n_steps * estimate:.0f} s)")
        times = np.empty(n_steps)
        spikes_stepped = 0
        stepped_i, stepped_t = [], []
        bar = _progress(n_steps, f"{case.name} steps", args)
        for k, stimulus in enumerate(stimuli):
            t0 = time.perf_counter()
            rec = sim.step(stimulus, case.window_ms)
            times[k] = time.perf_counter() - t0
            spikes_stepped += rec.neuron_i.size
            stepped_i.append(rec.neuron_copy * rec.n_neurons + rec.neuron_i)
            stepped_t.append(rec.neuron_t_ms)
            if bar is not None:
                bar.update(1)
        if bar is not None:
            bar.close()

        total_ms = n_steps * case.window_ms
        concatenated = None
        if any(s is not None for s in stimuli):
            concatenated = np.zeros((case.copies, n_steps * rows, n_channels))
            for k, stimulus in enumerate(stimuli):
                if stimulus is not None:
                    concatenated[:, k * rows : (k + 1) * rows] = stimulus
        del stimuli
        sim.reset(args.seed)
        log(f"[{case.name}] one uninterrupted run of {total_ms:g} ms ...")
        t0 = time.perf_counter()
        rec = sim.run(total_ms, concatenated)
        run_s = time.perf_counter() - t0
        spikes_run = int(rec.neuron_i.size)
        same_spikes = _same_spikes(
            np.concatenate(stepped_i), np.concatenate(stepped_t), rec.neuron_copy * rec.n_neurons + rec.neuron_i,
            rec.neuron_t_ms,
        )
        del concatenated, stepped_i, stepped_t
    finally:
        sim.close()

    step_ms = times * 1e3
    stim_mask = np.array([s is not None for s in schedule])
    median = float(np.median(step_ms))
    result = {
        "case": case.name,
        "system": case.system,
        "copies": case.copies,
        "n_neurons": int(sim.n_neurons),
        "window_ms": case.window_ms,
        "backend": backend,
        "target": target if backend == "runtime" else None,
        "build_s": round(build_s, 3),
        "first_step_ms": round(warm[0] * 1e3, 3),
        "reset_ms": round(reset_ms, 3),
        "n_steps": n_steps,
        "step_ms_median": round(median, 3),
        "step_ms_p90": round(float(np.percentile(step_ms, 90)), 3),
        "step_ms_mean": round(float(step_ms.mean()), 3),
        "step_ms_min": round(float(step_ms.min()), 3),
        "step_ms_median_stimulated": round(float(np.median(step_ms[stim_mask])), 3),
        "step_ms_median_unstimulated": round(float(np.median(step_ms[~stim_mask])), 3),
        "sim_ms_per_wall_s": round(case.copies * case.window_ms / median * 1e3, 1),
        "sum_steps_s": round(float(times.sum()), 4),
        "run_s": round(run_s, 4),
        "run_ms_per_window": round(run_s * 1e3 / n_steps, 3),
        "ratio_steps_to_run": round(float(times.sum()) / run_s, 3),
        "spikes_stepped": int(spikes_stepped),
        "spikes_run": spikes_run,
        "same_spikes": same_spikes,
        "mean_rate_hz": round(spikes_stepped / (case.copies * sim.n_neurons * total_ms / 1e3), 2),
        "load_average_before": load_before,
        "load_average_after": load_average(),
        "calibration_ms_before": calibration_before,
        "calibration_ms_after": calibrate(),
        "step_ms": [round(float(x), 3) for x in step_ms],
        "stimulated": stim_mask.tolist(),
    }
    target = TARGETS[backend].get(case.name)
    if target is not None:
        result["issue_target"] = target[0]
        result["issue_pass"] = bool(target[1](result))
    return result


def _same_spikes(i_a, t_a, i_b, t_b) -> bool:
    """Whether two spike trains (global neuron index, time in ms) hold the same spikes."""
    if i_a.size != i_b.size:
        return False
    a, b = np.lexsort((i_a, t_a)), np.lexsort((i_b, t_b))
    return bool(np.array_equal(i_a[a], i_b[b]) and np.allclose(t_a[a], t_b[b], rtol=0, atol=1e-6))


def _progress(total: int, desc: str, args):
    if args.no_progress:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=desc, unit="step", leave=False, file=sys.stderr, mininterval=0.5)


# ------------------------------------------------------------------------------------------------- livn side
def livn_spec(case: Case, args) -> dict:
    """What the livn worker needs, computed here (livn's environment does not have livn_rl)."""
    from livn_rl.systems import make_system

    system = make_system(case.system)
    populations = {"EXC": 0, "INH": 0}
    for pop in system.populations:
        populations["EXC" if pop.excitatory else "INH"] += pop.size
    positions = np.asarray(system.positions_um, dtype=float)
    mea = system.mea
    rows = int(round(case.window_ms / 0.1))
    rng = np.random.default_rng([args.seed, 7, CASES.index(case) if case in CASES else 99])
    # drawn like ours (half the steps, one biphasic pulse each), one pulse per step: livn has one MEA for all cells
    drawn = draw_schedule(rng, args.livn_max_steps + args.livn_warmup, 1, mea.n_channels, rows, 0.1)
    schedule = [None if p is None else p[0] for p in drawn]
    return {
        "case": case.name,
        "copies": case.copies,
        "window_ms": case.window_ms,
        # ``copies`` copies of the culture's cells, all over the same electrodes (livn cells are unconnected here)
        "populations": {k: v * case.copies for k, v in populations.items() if v},
        "order": [("EXC" if pop.excitatory else "INH") for pop in system.populations],
        "pop_sizes": [pop.size for pop in system.populations],
        "positions_um": positions.tolist(),
        "electrodes_um": np.asarray(mea.positions_um, dtype=float).tolist(),
        "stim_dt_ms": 0.1,
        "phase_rows": int(round(PULSE_PHASE_MS / 0.1)),
        "schedule": schedule,
        "budget_s": args.livn_budget,
        "warmup": args.livn_warmup,
        "min_steps": args.livn_min_steps,
        "max_steps": args.livn_max_steps,
        "dt_ms": args.livn_dt,
    }


def livn_worker() -> None:
    """Runs inside livn's interpreter: read a spec (JSON) on stdin, step livn, write a result (JSON) on stdout."""
    spec = json.load(sys.stdin)
    out = sys.stdout
    sys.stdout = sys.stderr  # keep livn's prints out of the JSON
    import livn
    from livn.backend import config
    from livn.env import Env
    from livn.io import MEA
    from livn.system import ParallelSystem

    copies = spec["copies"]
    one = np.asarray(spec["positions_um"])
    # cell order = population order (EXC block, then INH block); gids are assigned in that order
    by_pop = {"EXC": [], "INH": []}
    start = 0
    for name, size in zip(spec["order"], spec["pop_sizes"]):
        by_pop[name].append(one[start : start + size])
        start += size
    coords = np.concatenate(
        [np.concatenate(by_pop[p] * copies) for p in ("EXC", "INH") if by_pop[p]]
    )
    electrodes = np.asarray(spec["electrodes_um"])
    electrode_rows = np.column_stack([np.arange(len(electrodes)), electrodes[:, :3]])

    t0 = time.perf_counter()
    system = ParallelSystem(spec["populations"], coordinates=coords)
    env = Env(system, io=MEA(electrode_rows)).init()
    env.apply_default_params()
    env.record_spikes()
    build_s = time.perf_counter() - t0
    print(f"  livn {spec['case']}: built {int(sum(spec['populations'].values()))} cells in {build_s:.1f} s",
          file=sys.stderr, flush=True)

    rows = int(round(spec["window_ms"] / spec["stim_dt_ms"]))
    n_channels = len(electrodes)
    phase = spec["phase_rows"]

    def stimulus_for(pulse):
        if pulse is None:
            return None
        channel, begin, amplitude = pulse
        wave = np.zeros((rows, n_channels))
        wave[begin : begin + phase, channel] = -amplitude
        wave[begin + phase : begin + 2 * phase, channel] = amplitude
        return wave

    run_kwargs = {} if spec["dt_ms"] is None else {"dt": spec["dt_ms"]}
    times, spikes, stimulated = [], 0, []
    first_ms = None
    schedule = spec["schedule"]
    started = time.perf_counter()
    for k, pulse in enumerate(schedule):
        wave = stimulus_for(pulse)
        t1 = time.perf_counter()
        stimulus = None if wave is None else env.cell_stimulus(wave, dt=spec["stim_dt_ms"])
        result = env.run(spec["window_ms"], stimulus, **run_kwargs)
        elapsed = time.perf_counter() - t1
        if k == 0:
            first_ms = elapsed * 1e3
        if k < spec["warmup"]:
            print(f"  livn {spec['case']}: warm-up step took {elapsed * 1e3:.0f} ms", file=sys.stderr, flush=True)
            started = time.perf_counter()
            continue
        times.append(elapsed)
        stimulated.append(wave is not None)
        try:
            spikes += len(result.spike_ids) if result.spike_ids is not None else 0
        except Exception:
            pass
        n = len(times)
        print(f"  livn {spec['case']}: step {n} took {elapsed * 1e3:.0f} ms", file=sys.stderr, flush=True)
        if n >= spec["max_steps"] or (n >= spec["min_steps"] and time.perf_counter() - started >= spec["budget_s"]):
            break

    compartments = {}
    for pop in ("EXC", "INH"):
        try:
            cell = next(iter(env.cells.get(pop).values()))
            compartments[pop] = [s.name for s in cell.template.sections]
        except Exception:
            pass
    step_ms = np.asarray(times) * 1e3
    json.dump(
        {
            "case": spec["case"],
            "livn_version": livn.__version__,
            "backend": config.backend() or "(none)",
            "env_class": f"{type(env).__module__}.{type(env).__name__}",
            "model": type(env.model).__name__,
            "n_cells": int(sum(spec["populations"].values())),
            "populations": spec["populations"],
            "compartments": compartments,
            "dt_ms": getattr(env, "_dt", None),
            "build_s": round(build_s, 3),
            "first_step_ms": round(first_ms, 3),
            "n_steps": int(step_ms.size),
            "step_ms_median": round(float(np.median(step_ms)), 3),
            "step_ms_p90": round(float(np.percentile(step_ms, 90)), 3),
            "spikes": int(spikes),
            "step_ms": [round(float(x), 3) for x in step_ms],
            "stimulated": stimulated,
        },
        out,
    )


def find_livn_python(args) -> tuple[str | None, str]:
    """An interpreter that can import livn, and why not when there is none."""
    candidates = []
    try:
        import importlib.util

        if importlib.util.find_spec("livn") is not None:
            candidates.append(sys.executable)
    except (ImportError, ValueError):
        pass
    given = args.livn_python or os.environ.get("LIVN_PYTHON")
    if given:
        candidates.append(given)
    if not candidates:
        return None, ("livn is not importable here and no --livn-python (or LIVN_PYTHON) was given; "
                      "install it in its own venv, e.g. python3 -m venv /tmp/livnvenv && "
                      "/tmp/livnvenv/bin/pip install livn, then pass --livn-python /tmp/livnvenv/bin/python")
    reasons = []
    for python in candidates:
        try:
            probe = subprocess.run(
                [python, "-c", "import livn, livn.env; from livn.system import ParallelSystem; print(livn.__version__)"],
                capture_output=True, text=True, timeout=300, env=_livn_environment(args),
            )
        except (OSError, subprocess.TimeoutExpired) as err:
            reasons.append(f"{python}: {err}")
            continue
        if probe.returncode == 0:
            return python, probe.stdout.strip()
        reasons.append(f"{python}: {probe.stderr.strip().splitlines()[-1] if probe.stderr.strip() else 'failed'}")
    return None, "livn cannot be imported: " + "; ".join(reasons)


def _livn_environment(args) -> dict:
    env = dict(os.environ)
    env["HF_HUB_OFFLINE"] = "1"  # everything here is built from cell counts: never reach for the hub
    if args.livn_backend is not None:
        env["LIVN_BACKEND"] = args.livn_backend
    return env


def _run_livn_worker(python: str, spec: dict, args) -> tuple[int, str, list[str], bool]:
    """Run the livn worker; echo its progress lines (stderr) as they come. Returns (status, stdout, stderr tail,
    timed out)."""
    import threading

    proc = subprocess.Popen(
        [python, str(Path(__file__).resolve()), "--livn-worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env=_livn_environment(args),
    )
    tail: list[str] = []

    def echo() -> None:
        for line in proc.stderr:
            line = line.rstrip()
            tail.append(line)
            del tail[:-20]
            if not args.no_progress and line.startswith("  livn "):
                log(line)

    reader = threading.Thread(target=echo, daemon=True)
    reader.start()
    killed = threading.Event()

    def kill() -> None:
        killed.set()
        proc.kill()

    timer = threading.Timer(args.livn_timeout, kill)
    timer.start()
    try:
        proc.stdin.write(json.dumps(spec))
        proc.stdin.close()
        stdout = proc.stdout.read()
        proc.wait()
    finally:
        timer.cancel()
    reader.join(timeout=5)
    return proc.returncode, stdout, tail, killed.is_set()


def compare_livn(cases: list[Case], args) -> dict:
    python, detail = find_livn_python(args)
    if python is None:
        log(f"--compare-livn: skipped. {detail}")
        return {"skipped": detail}
    log(f"--compare-livn: livn {detail} via {python}")
    results = {"python": python, "livn_version": detail, "cases": []}
    for case in cases:
        log(f"[livn {case.name}] stepping livn in a subprocess ...")
        spec = livn_spec(case, args)
        returncode, stdout, tail, timed_out = _run_livn_worker(python, spec, args)
        if timed_out:
            results["cases"].append({"case": case.name, "error": f"timed out after {args.livn_timeout} s"})
            log(f"[livn {case.name}] timed out after {args.livn_timeout} s")
            continue
        if returncode != 0:
            results["cases"].append({"case": case.name, "error": "\n".join(tail[-5:]) or f"exit status {returncode}"})
            log(f"[livn {case.name}] failed (exit status {returncode})")
            continue
        results["cases"].append(json.loads(stdout))
    return results


# ---------------------------------------------------------------------------------------------------- output
def table(results: list[dict], livn: dict | None) -> str:
    head = ["case", "backend", "build s", "steps", "median ms", "p90 ms", "stim/none ms", "sim ms/s", "run ms/win", "steps/run",
            "same spikes", "calib ms", "issue target", "result"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        lines.append(
            "| " + " | ".join([
                r["case"], r["backend"], f"{r['build_s']:.1f}", str(r["n_steps"]), f"{r['step_ms_median']:.2f}", f"{r['step_ms_p90']:.2f}",
                f"{r['step_ms_median_stimulated']:.2f} / {r['step_ms_median_unstimulated']:.2f}",
                f"{r['sim_ms_per_wall_s']:.0f}", f"{r['run_ms_per_window']:.2f}", f"{r['ratio_steps_to_run']:.2f}",
                "yes" if r["same_spikes"] else "NO", f"{r['calibration_ms_before']:.0f}",
                r.get("issue_target", "-"), ("PASS" if r["issue_pass"] else "MISS") if "issue_pass" in r else "-",
            ]) + " |"
        )
    out = "\n".join(lines)
    by_case = {(r["case"], r["backend"]): r for r in results}
    pairs = [(case, r, by_case[(case, "standalone")]) for (case, backend), r in by_case.items()
             if backend == "runtime" and (case, "standalone") in by_case]
    if pairs:
        lines = ["", "", "| case | runtime median ms | standalone median ms | runtime / standalone |", "|---|---|---|---|"]
        for case, runtime, standalone in pairs:
            lines.append(f"| {case} | {runtime['step_ms_median']:.2f} | {standalone['step_ms_median']:.2f} | "
                         f"{runtime['step_ms_median'] / standalone['step_ms_median']:.1f}x |")
        out += "\n".join(lines)
    if livn and livn.get("cases"):
        ours = {}
        for r in results:  # livn is compared with the fastest of our backends
            if r["case"] not in ours or r["step_ms_median"] < ours[r["case"]]["step_ms_median"]:
                ours[r["case"]] = r
        lines = ["", "", "| case | livn cells | livn backend / model | livn dt ms | livn median ms | livn p90 ms | ours median ms | livn / ours |",
                 "|---|---|---|---|---|---|---|---|"]
        for lr in livn["cases"]:
            if "error" in lr:
                lines.append(f"| {lr['case']} | error: {lr['error'].splitlines()[-1]} | | | | | | |")
                continue
            mine = ours.get(lr["case"])
            ratio = f"{lr['step_ms_median'] / mine['step_ms_median']:.1f}x" if mine else "-"
            lines.append(
                f"| {lr['case']} | {lr['n_cells']} | {lr['backend']} / {lr['model']} | {lr['dt_ms']} | "
                f"{lr['step_ms_median']:.1f} | {lr['step_ms_p90']:.1f} | {mine['step_ms_median']:.2f} | {ratio} |"
            )
        out += "\n".join(lines)
    elif livn and "skipped" in livn:
        out += f"\n\nlivn comparison skipped: {livn['skipped']}"
    return out


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] + " Times closed-loop steps of the engine (median, p90, simulated ms "
        "per wall second, step/run ratio) for S2 and S3 and prints PASS/MISS against the issue's targets.",
        epilog="Cases: " + ", ".join(c.name for c in CASES) + ". Targets: "
        + "; ".join(f"{k}: {v[0]}" for k, v in TARGETS["runtime"].items())
        + " (standalone: " + "; ".join(f"{k}: {v[0]}" for k, v in TARGETS["standalone"].items())
        + "). The first run on a machine may spend about 80 s compiling the Cython code and 60-90 s per model variant "
        "for the standalone backend; later runs load them from the cache. Build time is reported apart from step times.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS, help="engine backends to measure, case by case side by side")
    parser.add_argument("--target", default="cython", choices=("cython", "numpy", "auto"), help="the runtime backend's Brian2 code generation target")
    parser.add_argument("--cases", nargs="+", metavar="CASE", choices=[c.name for c in CASES], help="run only these cases")
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 warm-up steps, about 1 s of timed steps per case")
    parser.add_argument("--budget", type=float, default=8.0, help="seconds of timed steps per case (the uninterrupted run takes about as long again)")
    parser.add_argument("--warmup", type=int, default=5, help="warm-up steps before timing")
    parser.add_argument("--min-steps", type=int, default=30, help="fewest timed steps per case")
    parser.add_argument("--max-steps", type=int, default=1000, help="most timed steps per case")
    parser.add_argument("--seed", type=int, default=0, help="seed of the simulation and of the stimulus schedule")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON output file")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    livn = parser.add_argument_group("comparison with livn")
    livn.add_argument("--compare-livn", action="store_true", help="also step the optional livn package on the same cell counts and windows")
    livn.add_argument("--livn-python", help="interpreter of a venv with livn installed; without it: this interpreter if it can import livn, else $LIVN_PYTHON")
    livn.add_argument("--livn-backend", default=None, help="LIVN_BACKEND for livn; unset keeps livn's own choice (it autodetects its native backend)")
    livn.add_argument("--livn-dt", type=float, default=None, help="livn integration step in ms; unset keeps livn's own (0.025 ms on its native backend)")
    livn.add_argument("--livn-budget", type=float, default=10.0, help="seconds of timed livn steps per case")
    livn.add_argument("--livn-warmup", type=int, default=1, help="livn warm-up steps")
    livn.add_argument("--livn-min-steps", type=int, default=3, help="fewest timed livn steps per case")
    livn.add_argument("--livn-max-steps", type=int, default=40, help="most timed livn steps per case")
    livn.add_argument("--livn-timeout", type=float, default=900.0, help="seconds before a livn case is abandoned")
    parser.add_argument("--livn-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.budget, args.warmup, args.min_steps = 1.0, 2, 4
        args.livn_budget, args.livn_min_steps, args.livn_max_steps = 1.0, 2, 4
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.livn_worker:
        livn_worker()
        return 0
    cases = [c for c in CASES if args.cases is None or c.name in args.cases]
    info = machine_info()
    info["calibration_ms"] = calibrate()
    code = git_state()
    log(f"{info['cpu_model']} x{info['nproc']}, Python {info['python']}, Brian2 {info['brian2']}, numpy {info['numpy']}; "
        f"load average {load_average()}; calibration loop {info['calibration_ms']} ms; "
        f"commit {code.get('commit')} (modified in livn_rl/: {code.get('livn_rl_modified_files')})")
    results = []
    for k, case in enumerate(cases):
        for backend in args.backends:
            log(f"case {k + 1}/{len(cases)}: {case.name}, {backend} backend")
            results.append(measure_case(case, backend, args))
            gc.collect()  # the closed Simulation of this case must not linger into the next
            r = results[-1]
            log(f"[{case.name} {backend}] median {r['step_ms_median']:.2f} ms, p90 {r['step_ms_p90']:.2f} ms, "
            f"{r['sim_ms_per_wall_s']:.0f} sim ms/s, steps/run {r['ratio_steps_to_run']:.2f}")
    livn = compare_livn(cases, args) if args.compare_livn else None
    print(table(results, livn))
    payload = {
        "benchmark": "livn_rl closed-loop stepping speed",
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "machine": info,
        "code": code,
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "livn_worker"},
        "stimulation": f"half of the steps: one biphasic pulse per copy ({PULSE_PHASE_MS} ms/phase), random channel "
        f"and onset, amplitude uniform in {AMPLITUDE_UA[0]:g}-{AMPLITUDE_UA[1]:g} uA; other half: None",
        "results": results,
        "livn": livn,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=1))
    log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
