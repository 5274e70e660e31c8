"""What the engine records from a running network: every spike, and the membrane potential (and optionally other
state variables) of chosen cells."""

from __future__ import annotations

import numpy as np

__all__ = ["Monitors"]


class Monitors:
    """A spike monitor on all neurons and, if ``record`` is not empty, a state monitor of ``v`` and ``traces``,
    emptied at each hand-off.

    :param neurons: the system's ``NeuronGroup`` (all copies)
    :param clock: the simulation clock
    :param record: neuron indices (over all copies) whose ``v`` is recorded
    :param traces: further variables of ``neurons`` recorded for the same cells (state variables or subexpressions)
    """

    def __init__(self, neurons, clock, record: np.ndarray, traces: tuple[str, ...] = ()) -> None:
        import brian2

        self.spikes = brian2.SpikeMonitor(neurons, name="spike_monitor")  # shares the neurons' clock
        self.voltages = None
        self.traces = tuple(traces)
        if record.size:
            self.voltages = brian2.StateMonitor(neurons, ["v", *self.traces], record=record, clock=clock,
                                                name="voltage_monitor")

    @property
    def objects(self) -> list:
        return [self.spikes] + ([self.voltages] if self.voltages is not None else [])

    def take(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None, dict[str, np.ndarray]]:
        """The spikes (neuron, ms), voltages (times in ms, ``(n_t, n_recorded)`` mV) and traces (name ->
        ``(n_t, n_recorded)`` in SI units) recorded since the last call, and empty the monitors."""
        mon = self.spikes
        n = int(np.asarray(mon.variables["N"].get_value()).ravel()[0])
        spikes_i = np.array(mon.variables["i"].get_value()[:n], dtype=np.int64)
        spikes_t = np.array(mon.variables["t"].get_value()[:n]) * 1000.0
        mon.resize(0)
        mon.variables["N"].set_value(0)
        v_t = v = None
        traces = {}
        if self.voltages is not None:
            vm = self.voltages
            v_t = np.array(vm.variables["t"].get_value()) * 1000.0
            v = np.array(vm.variables["v"].get_value()) * 1000.0
            traces = {name: np.array(vm.variables[name].get_value()) for name in self.traces}
            vm.resize(0)
            vm.variables["N"].set_value(0)
        return spikes_i, spikes_t, v_t, v, traces
