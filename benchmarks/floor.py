"""The standalone backend's cost per 0.1 ms time step against the arithmetic floor of the model.

    python benchmarks/floor.py                      # S2 x1, x4, x8 and S4 x1; compiles missing variants once

For each variant, one compiled program advances 500 ms (S4: 50 ms) at a time, five times, with no stimulus and no
Python work besides the hand-off (the program's own ``advance``). Reported per time step: the wall time and the
program's CPU time (``/proc/<pid>/schedstat``, in ns, which a loaded machine does not inflate the way it inflates wall
time), and the CPU time per neuron and time step. The per-neuron figure is the arithmetic of the model's equations
(state update with one Gaussian and one exp per neuron, threshold, synaptic propagation); the difference between
copy counts gives the fixed cost per time step.
"""

from __future__ import annotations

import numpy as np

from livn_rl import Simulation

VARIANTS = [("S2", 1, 5000), ("S2", 4, 5000), ("S2", 8, 5000), ("S4", 1, 500)]  # (system, copies, rows per advance)


def cpu_ns(pid: int) -> int:
    with open(f"/proc/{pid}/schedstat") as stat:
        return int(stat.read().split()[0])


def main() -> None:
    import time

    for system, copies, rows in VARIANTS:
        with Simulation(system, n_copies=copies, seed=0, backend="standalone", processes=1) as sim:
            program = sim._backend._processes[0]  # the compiled program itself, without Simulation.step's work
            program.slots[:rows] = -1
            program.advance(rows)
            wall, cpu = [], []
            for _ in range(5):
                before, start = cpu_ns(program.proc.pid), time.perf_counter()
                program.advance(rows)
                wall.append(time.perf_counter() - start)
                cpu.append(cpu_ns(program.proc.pid) - before)
            n = sim.n_neurons * copies
            wall_ns, cpu_step_ns = np.median(wall) / rows * 1e9, np.median(cpu) / rows
            print(f"{system} x{copies} ({n} neurons): per 0.1 ms time step {wall_ns / 1e3:.2f} us wall, "
                  f"{cpu_step_ns / 1e3:.2f} us CPU; {cpu_step_ns / n:.1f} ns CPU per neuron-step", flush=True)


if __name__ == "__main__":
    main()
