"""What the engine records from a running network: every spike, and the membrane potential of chosen cells."""

from __future__ import annotations

import numpy as np

__all__ = ["Monitors"]


class Monitors:
    """A spike monitor on all neurons and, if ``record`` is not empty, a voltage monitor, emptied at each hand-off.

    :param neurons: the system's ``NeuronGroup`` (all copies)
    :param clock: the simulation clock
    :param record: neuron indices (over all copies) whose ``v`` is recorded
    """

    def __init__(self, neurons, clock, record: np.ndarray) -> None:
        import brian2

        self.spikes = brian2.SpikeMonitor(neurons, name="spike_monitor")  # shares the neurons' clock
        self.voltages = None
        if record.size:
            self.voltages = brian2.StateMonitor(neurons, "v", record=record, clock=clock, name="voltage_monitor")

    @property
    def objects(self) -> list:
        return [self.spikes] + ([self.voltages] if self.voltages is not None else [])

    def take(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
        """The spikes (neuron, ms) and voltages (times in ms, ``(n_t, n_recorded)`` mV) recorded since the last
        call, and empty the monitors."""
        mon = self.spikes
        n = int(np.asarray(mon.variables["N"].get_value()).ravel()[0])
        spikes_i = np.array(mon.variables["i"].get_value()[:n], dtype=np.int64)
        spikes_t = np.array(mon.variables["t"].get_value()[:n]) * 1000.0
        mon.resize(0)
        mon.variables["N"].set_value(0)
        v_t = v = None
        if self.voltages is not None:
            vm = self.voltages
            v_t = np.array(vm.variables["t"].get_value()) * 1000.0
            v = np.array(vm.variables["v"].get_value()) * 1000.0
            vm.resize(0)
            vm.variables["N"].set_value(0)
        return spikes_i, spikes_t, v_t, v
