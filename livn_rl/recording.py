"""What one step (or one open-loop run) of the engine recorded: neuron spikes, channel spikes and voltages."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Recording"]


@dataclass
class Recording:
    """Spikes of ``n_copies`` copies over ``[t_start_ms, t_start_ms + duration_ms)``.

    Neuron indices are local to a copy (``0 .. n_neurons - 1``); ``*_copy`` arrays say which copy each event
    belongs to. Channel spikes carry the ``unit`` that caused them (a perfectly sorted neuron index) or ``-1`` for
    a noise crossing.

    :param t_start_ms: simulated time at the start of the window (ms)
    :param duration_ms: window length (ms)
    :param n_neurons: neurons per copy
    :param n_channels: MEA channels per copy
    :param n_copies: number of copies
    """

    t_start_ms: float
    duration_ms: float
    n_neurons: int
    n_channels: int
    n_copies: int = 1
    neuron_i: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    neuron_t_ms: np.ndarray = field(default_factory=lambda: np.empty(0))
    neuron_copy: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    channel_c: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    channel_t_ms: np.ndarray = field(default_factory=lambda: np.empty(0))
    channel_unit: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    channel_copy: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    voltage_index: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    voltage_t_ms: np.ndarray = field(default_factory=lambda: np.empty(0))
    voltage_mv: np.ndarray = field(default_factory=lambda: np.empty((1, 0, 0)))
    #: other recorded variables of the ``voltage_index`` cells: name -> ``(n_copies, n_recorded, n_t)`` in SI units
    traces: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def t_stop_ms(self) -> float:
        return self.t_start_ms + self.duration_ms

    @property
    def neuron_counts(self) -> np.ndarray:
        """``(n_copies, n_neurons)`` spike counts."""
        flat = self.neuron_copy * self.n_neurons + self.neuron_i
        return np.bincount(flat, minlength=self.n_copies * self.n_neurons).reshape(self.n_copies, self.n_neurons)

    @property
    def channel_counts(self) -> np.ndarray:
        """``(n_copies, n_channels)`` detected spike counts."""
        flat = self.channel_copy * self.n_channels + self.channel_c
        return np.bincount(flat, minlength=self.n_copies * self.n_channels).reshape(self.n_copies, self.n_channels)

    @property
    def neuron_rates_hz(self) -> np.ndarray:
        return self.neuron_counts / (self.duration_ms / 1000.0)

    @property
    def channel_rates_hz(self) -> np.ndarray:
        return self.channel_counts / (self.duration_ms / 1000.0)

    def copy_of(self, k: int) -> "Recording":
        """The recording of copy ``k`` alone."""
        if not 0 <= k < self.n_copies:
            raise IndexError(f"copy {k} does not exist; this recording has copies 0..{self.n_copies - 1}")
        n, c = self.neuron_copy == k, self.channel_copy == k
        return Recording(
            self.t_start_ms, self.duration_ms, self.n_neurons, self.n_channels, 1,
            self.neuron_i[n], self.neuron_t_ms[n], np.zeros(int(n.sum()), np.int64),
            self.channel_c[c], self.channel_t_ms[c], self.channel_unit[c], np.zeros(int(c.sum()), np.int64),
            self.voltage_index, self.voltage_t_ms, self.voltage_mv[k : k + 1],
            {name: values[k : k + 1] for name, values in self.traces.items()},
        )

    def population_rate_hz(self, indices: np.ndarray | None = None, bin_ms: float = 10.0, copy: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Mean rate per neuron (Hz) of the neurons in ``indices`` (all by default) in bins of ``bin_ms``.

        :returns: bin centres (ms) and rates (Hz)
        """
        edges = self.t_start_ms + np.arange(0.0, self.duration_ms + 1e-9, bin_ms)
        if edges[-1] < self.t_stop_ms - 1e-9:
            edges = np.append(edges, self.t_stop_ms)
        mask = self.neuron_copy == copy
        members = np.arange(self.n_neurons) if indices is None else np.asarray(indices)
        mask &= np.isin(self.neuron_i, members)
        counts, _ = np.histogram(self.neuron_t_ms[mask], edges)
        rates = counts / (np.diff(edges) / 1000.0) / max(1, members.size)
        return (edges[:-1] + edges[1:]) / 2, rates

    @staticmethod
    def concatenate(parts: list["Recording"]) -> "Recording":
        """Join consecutive recordings of the same simulation into one."""
        if not parts:
            raise ValueError("cannot concatenate an empty list of recordings")
        first = parts[0]
        for prev, nxt in zip(parts, parts[1:]):
            if abs(prev.t_stop_ms - nxt.t_start_ms) > 1e-6 or (prev.n_neurons, prev.n_copies) != (nxt.n_neurons, nxt.n_copies):
                raise ValueError("recordings to concatenate must be consecutive windows of the same simulation")

        def cat(name: str) -> np.ndarray:
            return np.concatenate([getattr(p, name) for p in parts])

        voltage = np.concatenate([p.voltage_mv for p in parts], axis=-1) if first.voltage_index.size else first.voltage_mv
        return Recording(
            first.t_start_ms, sum(p.duration_ms for p in parts), first.n_neurons, first.n_channels, first.n_copies,
            cat("neuron_i"), cat("neuron_t_ms"), cat("neuron_copy"),
            cat("channel_c"), cat("channel_t_ms"), cat("channel_unit"), cat("channel_copy"),
            first.voltage_index, cat("voltage_t_ms"), voltage,
            {name: np.concatenate([p.traces[name] for p in parts], axis=-1) for name in first.traces},
        )
