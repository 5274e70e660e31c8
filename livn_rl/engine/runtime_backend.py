"""The runtime backend: Brian2's runtime mode (Cython or numpy), one parked ``Network.run`` per episode.

Why it is fast. The network's ``run()`` is called once per episode and parked between steps
(:mod:`~livn_rl.engine.parked_run`); stimulation is loaded one control interval at a time
(:mod:`~livn_rl.engine.stimulus_feed`) and intervals without current are skipped in one jump.

Why it is exact. ``reset`` stops the run, restores the network stored right after building (time, membranes,
conductances, synaptic resources, in-flight delayed spikes, monitors), reseeds the random stream and writes the
initial state. Brian2's random draws come from the backend's own stream (:mod:`~livn_rl.engine.random_stream`), so
user code that draws from ``numpy.random`` between steps changes nothing, and the backend changes nothing of theirs.

Why it never recompiles. Stimulation enters through one 2-D ``TimedArray`` whose values are overwritten in place;
every object has a fixed name, so Brian2's code cache hits on every run.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from livn_rl.engine.copy_state import element_variables, restore_copies, snapshot
from livn_rl.engine.monitors import Monitors
from livn_rl.engine.parked_run import ParkedRun
from livn_rl.engine.random_stream import BrianRandom, drawing_from, forget_buffer_owner
from livn_rl.engine.stimulus_feed import StimulusFeed

__all__ = ["RuntimeBackend"]


class RuntimeBackend:
    """A system's copies in one Brian2 runtime network, stepped by a parked run in a worker thread.

    :param system: the :class:`~livn_rl.systems.System` to build
    :param n_copies: copies packed into one network
    :param dt_ms: integration time step (ms)
    :param control_rows: time steps per control interval
    :param drive_matrix: ``(n_channels, n_neurons)`` nA per uA of channel current, scaled by each cell's gain
    :param membrane_current: the MEA's signed drive -> depolarising current (nA)
    :param record: neuron indices over all copies whose ``v`` is recorded
    :param background: background noise on or off after building and after every reset
    :param target: Brian2 code generation target (``"auto"``, ``"cython"`` or ``"numpy"``)
    :param traces: further variables of the neurons recorded for the cells of ``record``
    """

    name = "runtime"

    def __init__(self, system, n_copies: int, dt_ms: float, control_rows: int, drive_matrix: np.ndarray,
                 membrane_current: Callable[[np.ndarray], np.ndarray], record: np.ndarray, background: bool,
                 target: str, traces: tuple[str, ...] = ()) -> None:
        import brian2

        self.system, self.n_copies, self.dt_ms, self.target = system, n_copies, dt_ms, target
        self._random: BrianRandom | None = None
        brian2.prefs.codegen.target = target
        n = system.n_neurons
        stim = brian2.TimedArray(np.zeros((control_rows, n * n_copies)), dt=dt_ms * brian2.ms, name="stim_current")
        # the TimedArray keeps its own float64 array: the feed fills that one in place from now on
        self._feed = StimulusFeed(stim.values, control_rows, drive_matrix, membrane_current)
        # explicitly named clocks: automatic names (neurons_clock_1, ...) would differ between simulations that
        # coexist, and the names end up in the generated code, the key of Brian2's compiled-code cache
        clock = brian2.Clock(dt_ms * brian2.ms, name="simulation_clock")
        self.built = system.build(n_copies, {"stim_current": stim, "stim_rows": control_rows}, clock)
        system.set_background(self.built, background)
        variables = self.built.neurons.variables
        known = sorted(k for k in variables if not k.startswith("_") and k not in ("N", "i", "t", "dt", "t_in_timesteps"))
        unknown = [name for name in traces if name not in known]
        if unknown:
            raise ValueError(f"record_traces: {system.name} has no variable(s) {unknown}; it has {known}")
        self.monitors = Monitors(self.built.neurons, clock, record, tuple(traces))
        self.run = ParkedRun(clock, self._feed, self.monitors)
        self.net = brian2.Network(*self.built.objects, *self.monitors.objects, self.run.operation, name="livn_rl_network")
        self.net.store("built")
        self._elements = snapshot(self.net, n)
        self.variables = {name: var.dim for name, var in element_variables(self.built.neurons, n * n_copies).items()}

    @property
    def running(self) -> bool:
        return self.run.running

    def reset(self, seed: int, initial_states: list[dict]) -> None:
        """Stop the run, restore the built network, reseed the noise and write each copy's initial state."""
        self.stop()
        self.net.restore("built")
        self._feed.clear()
        if self._random is not None:
            self._random.close()
        self._random = BrianRandom(seed)
        forget_buffer_owner()  # the next run refills Brian2's buffers from the fresh stream
        for k, state in enumerate(initial_states):
            self._write_initial_state(k, state)
        import brian2

        brian2.prefs.codegen.target = self.target
        with drawing_from(self, self._random):
            self.run.start(self.net, self.dt_ms)  # the first control tick parks the run at t = 0

    def reset_copies(self, copies: np.ndarray, initial_states: list[dict]) -> None:
        """Restore the built values of ``copies`` (in-flight spikes dropped) and write their initial states."""
        restore_copies(self._elements, copies)
        for k, state in zip(copies.tolist(), initial_states):
            self._write_initial_state(k, state)

    def _write_initial_state(self, k: int, state: dict) -> None:
        n = self.system.n_neurons
        for name, value in state.items():
            self.write(name, np.broadcast_to(np.asarray(value, dtype=float), (n,)), k * n)
        self._feed.clear(slice(k * n, (k + 1) * n))

    def advance(self, currents: np.ndarray | None, n_chunks: int):
        """One step: ``(spikes_i, spikes_t_ms, voltage_t_ms, voltage_mv, traces)`` of the window."""
        with drawing_from(self, self._random):
            try:
                return self.run.advance(currents, n_chunks)
            except KeyboardInterrupt:
                self.run.abort()
                raise

    def set_background(self, enabled: bool) -> None:
        self.system.set_background(self.built, enabled)

    def write(self, name: str, values: np.ndarray, offset: int) -> None:
        """Write ``values`` (SI units) into elements ``offset ...`` of the neurons' variable ``name``."""
        variable = self.built.neurons.variables[name]
        current = np.array(variable.get_value())
        current[offset : offset + values.size] = values
        variable.set_value(current)

    def stop(self) -> None:
        """End the parked run (its thread)."""
        self.run.stop(lambda: drawing_from(self, self._random))

    def close(self) -> None:
        self.stop()
        if self._random is not None:
            self._random.close()

    def __del__(self) -> None:
        try:
            self.stop()
        except Exception:  # interpreter shutdown, or a half-built backend: nothing left to clean
            pass
