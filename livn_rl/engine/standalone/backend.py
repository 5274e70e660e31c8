"""The standalone backend: a system's copies in compiled Brian2 C++ standalone programs, stepped in a closed loop.

The whole time loop runs in compiled code (:mod:`~livn_rl.engine.standalone.process`), so a step costs the
arithmetic of its neurons plus one hand-off, instead of Brian2's Python dispatch at every time step. The copies can
be split over several programs (``processes``), which then run side by side on the machine's cores.

Guarantees, as for the runtime backend:

- exact reset: every program restores the state it had at its first time step (membranes, conductances, synaptic
  resources, refractoriness), empties its spike queues, rewinds t to 0 and reseeds its noise from the episode's seed;
  the same seed gives the same spikes, in one process or another, for the same number of copies and programs;
- per-copy reset: a copy's state and queued synaptic events return to the built values; the others run on;
- one compile per model variant (:mod:`~livn_rl.engine.standalone.build`), never per episode or step;
- the noise comes from the programs' own generators, so the user's ``numpy.random`` is neither used nor changed.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator

import numpy as np

from livn_rl.engine.standalone.build import Project, compiled_project
from livn_rl.engine.standalone.process import CompiledProcess, StandaloneProcessError
from livn_rl.engine.stimulus_feed import neuron_currents

__all__ = ["StandaloneBackend", "default_processes"]

#: The fallback named in every error of this backend.
FALLBACK = "backend='runtime' runs the same system in Brian2's runtime mode"


def default_processes(n_copies: int) -> int:
    """Compiled programs for ``n_copies`` copies when the caller does not say: two from 8 copies on (one per core of a
    2-core machine), else one. It depends only on ``n_copies``, so spikes do not depend on the machine."""
    return 2 if n_copies >= 8 else 1


class StandaloneBackend:
    """The copies of a system, split over compiled programs.

    :param system: the system (a picklable :class:`~livn_rl.systems.System` defined in a module)
    :param n_copies: copies in total
    :param dt_ms: integration time step (ms)
    :param control_rows: time steps per control interval (a step is a whole number of them)
    :param drive_matrix: ``(n_channels, n_neurons)`` nA per uA of channel current, scaled by each cell's gain
    :param membrane_current: the MEA's signed drive -> depolarising current (nA)
    :param record: neuron indices over all copies whose ``v`` is recorded
    :param background: background noise on or off after every reset
    :param processes: compiled programs to split the copies over (contiguous blocks)
    """

    name = "standalone"

    def __init__(self, system, n_copies: int, dt_ms: float, control_rows: int, drive_matrix: np.ndarray,
                 membrane_current: Callable[[np.ndarray], np.ndarray], record: np.ndarray, background: bool,
                 processes: int) -> None:
        self.system, self.n_copies, self.dt_ms, self.control_rows = system, n_copies, dt_ms, control_rows
        self._drive, self._membrane_current = drive_matrix, membrane_current
        self._background = bool(background)
        n = system.n_neurons
        sizes = np.full(processes, n_copies // processes)
        sizes[: n_copies % processes] += 1
        self._first = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(int)  # first copy of each program
        self._sizes = sizes.astype(int)
        projects = {int(size): compiled_project(system, int(size), dt_ms) for size in set(self._sizes.tolist())}
        self._projects: list[Project] = [projects[int(size)] for size in self._sizes]
        self._record = [record[(record >= first * n) & (record < (first + size) * n)] - first * n
                        for first, size in zip(self._first, self._sizes)]
        self._processes: list[CompiledProcess] | None = None
        self._step = 0

    # ------------------------------------------------------------------------------------------------ state
    @property
    def running(self) -> bool:
        return self._processes is not None

    @property
    def variables(self) -> dict:
        """Writable per-neuron variables: name -> Brian2 dimension."""
        from brian2.units.fundamentalunits import get_or_create_dimension

        return {name: get_or_create_dimension(entry["dim"]) for name, entry in self._projects[0].meta["neuron_variables"].items()}

    def _ids(self) -> dict[str, int]:
        return {f"{v['group']}.{v['name']}": k for k, v in enumerate(self._projects[0].meta["variables"])}

    def _start(self) -> None:
        started: list[CompiledProcess] = []
        try:
            for project, record in zip(self._projects, self._record):
                started.append(CompiledProcess(project, record.size))
                if record.size:
                    started[-1].record(record)
        except StandaloneProcessError as err:
            for process in started:
                process.kill()
            raise RuntimeError(f"the standalone backend could not start: {err}; {FALLBACK}") from None
        self._processes = started

    def reset(self, seed: int, initial_states: list[dict]) -> None:
        """Restore every program's first state, reseed its noise, then write the background switch and each copy's
        initial state. Starts the programs if they are not running (first reset, or after a failure)."""
        if self._processes is None:
            self._start()
        with self._failing():
            for p, process in enumerate(self._processes):
                process.reset(np.random.SeedSequence([seed, p]).generate_state(8).astype(np.int64))
                entries = self._background_entries(p, self._background)
                entries += self._state_entries(p, range(self._sizes[p]), initial_states[self._first[p]:][: self._sizes[p]])
                process.set_values(entries)
        self._step = 0

    def reset_copies(self, copies: np.ndarray, initial_states: list[dict]) -> None:
        """Restore ``copies`` to their built state (queued events dropped) and write their initial states."""
        self._require_running()
        with self._failing():
            for p, process in enumerate(self._processes):
                mine = [(k - self._first[p], state) for k, state in zip(copies.tolist(), initial_states)
                        if self._first[p] <= k < self._first[p] + self._sizes[p]]
                if not mine:
                    continue
                process.restore_copies(np.array([local for local, _ in mine], dtype=np.int64))
                process.set_values(self._state_entries(p, [local for local, _ in mine], [state for _, state in mine]))

    def _state_entries(self, p: int, local_copies, states) -> list[tuple[int, int, np.ndarray]]:
        ids, n = self._ids(), self.system.n_neurons
        group = self._projects[p].meta["recorded_group"]
        return [(ids[f"{group}.{name}"], k * n, np.broadcast_to(np.asarray(value, dtype=float), (n,)))
                for k, state in zip(local_copies, states) for name, value in state.items()]

    def _background_entries(self, p: int, enabled: bool) -> list[tuple[int, int, np.ndarray]]:
        return [(variable, 0, values) for variable, values in self._projects[p].background[enabled]]

    def set_background(self, enabled: bool) -> None:
        self._require_running()
        with self._failing():
            for p, process in enumerate(self._processes):
                process.set_values(self._background_entries(p, bool(enabled)))

    def write(self, name: str, values: np.ndarray, offset: int) -> None:
        """Write ``values`` (SI units) into elements ``offset ...`` of the neurons' variable ``name`` (all copies)."""
        self._require_running()
        n = self.system.n_neurons
        variable = self._projects[0].meta["neuron_variables"][name]["id"]
        with self._failing():
            for p, process in enumerate(self._processes):
                start, stop = self._first[p] * n, (self._first[p] + self._sizes[p]) * n
                low, high = max(start, offset), min(stop, offset + values.size)
                if low < high:
                    process.set_values([(variable, low - start, values[low - offset : high - offset])])

    # ------------------------------------------------------------------------------------------------ steps
    def advance(self, currents: np.ndarray | None, n_chunks: int):
        """Simulate ``n_chunks`` control intervals: ``(spikes_i, spikes_t_ms, voltage_t_ms, voltage_mv, traces)``
        (no traces: this backend records spikes and ``v``).

        :param currents: ``(n_copies, rows, n_channels)`` uA, or None
        """
        self._require_running()
        rows = n_chunks * self.control_rows
        stimulated = np.empty(0, np.int64) if currents is None else np.flatnonzero(currents.any(axis=(0, 2)))
        spikes, voltages = [], []
        with self._failing():
            start = 0
            for stop in self._pieces(rows, stimulated):
                low, high = np.searchsorted(stimulated, [start, stop])
                piece = None if currents is None else currents[:, start:stop]
                spikes.append(self._advance_piece(piece, stimulated[low:high] - start, start, stop - start, voltages))
                start = stop
        step_i = np.concatenate([s[0] for s in spikes])
        step_t = np.concatenate([s[1] for s in spikes])
        order = np.lexsort((step_i, step_t))
        first = self._step
        self._step += rows
        spikes_i, spikes_t = step_i[order], (first + step_t[order]) * self.dt_ms
        if not voltages:
            return spikes_i, spikes_t, None, None, {}
        return spikes_i, spikes_t, (first + np.arange(rows)) * self.dt_ms, np.concatenate(voltages, axis=0) * 1000.0, {}

    def _pieces(self, rows: int, stimulated: np.ndarray) -> list[int]:
        """Ends of the advances a step is cut into: at most ``max_rows`` time steps and ``payload_rows`` stimulated
        ones each. The cuts change nothing in the dynamics."""
        max_rows = min(p.max_rows for p in self._processes)
        max_stimulated = min(p.payload_rows for p in self._processes)
        ends, start = [], 0
        while start < rows:
            stop = min(rows, start + max_rows)
            low, high = np.searchsorted(stimulated, [start, stop])
            if high - low > max_stimulated:
                stop = int(stimulated[low + max_stimulated])
            ends.append(stop)
            start = stop
        return ends

    def _advance_piece(self, currents, stimulated: np.ndarray, offset: int, rows: int,
                       voltages: list) -> tuple[np.ndarray, np.ndarray]:
        """One advance of every program side by side, ``offset`` time steps into the step, with stimulus on the
        piece's rows ``stimulated``: the spikes as (global neuron, time step from the step's first); the voltages
        are appended to ``voltages``."""
        for p, process in enumerate(self._processes):
            slots = process.slots[:rows]
            slots[:] = -1
            if stimulated.size:
                own = currents[self._first[p] : self._first[p] + self._sizes[p], stimulated]
                per_neuron = neuron_currents(own, self._drive, self._membrane_current)  # (copies, rows, N)
                process.payload[: per_neuron.size] = per_neuron.transpose(1, 0, 2).ravel()
                slots[stimulated] = np.arange(stimulated.size, dtype=np.int32)
            process.send_advance(rows)
        n = self.system.n_neurons
        neuron, step, piece_voltages = [], [], []
        for p, process in enumerate(self._processes):
            count = int(process.receive()[1])
            neuron.append(process.spike_i[:count].astype(np.int64) + self._first[p] * n)
            step.append(process.spike_step[:count].astype(np.int64) + offset)
            if process.n_recorded:
                piece_voltages.append(process.voltage[: rows * process.n_recorded].reshape(rows, process.n_recorded).copy())
        if piece_voltages:
            voltages.append(np.concatenate(piece_voltages, axis=1))
        return np.concatenate(neuron), np.concatenate(step)

    # -------------------------------------------------------------------------------------------- failures
    def _require_running(self) -> None:
        if self._processes is None:
            raise RuntimeError("the simulation is not running; call reset() (it was closed, failed, or stopped by a "
                               "second Ctrl-C)")

    @contextmanager
    def _failing(self) -> Iterator[None]:
        """A program's death becomes one clear error; it, and a second Ctrl-C in the middle of a command, end every
        program (they may be mid-step), so that reset() starts afresh."""
        try:
            yield
        except StandaloneProcessError as err:
            self.stop(kill=True)
            raise RuntimeError(f"the standalone backend stopped: {err}. The simulation is stopped; reset() starts "
                               f"new programs, or {FALLBACK}") from None
        except KeyboardInterrupt:
            self.stop(kill=True)
            raise

    def stop(self, kill: bool = False) -> None:
        """End every program (at once with ``kill``: they may be in the middle of an advance)."""
        processes, self._processes = self._processes, None
        for process in processes or []:
            process.kill() if kill else process.close()

    def close(self) -> None:
        self.stop()

    def __del__(self) -> None:
        try:
            self.stop(kill=True)
        except Exception:  # interpreter shutdown: the finalizers of the processes clean up
            pass
