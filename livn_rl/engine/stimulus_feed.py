"""Feeding channel currents into a running network, one control interval at a time.

Stimulation enters the network through one 2-D ``TimedArray`` that holds one control interval (``control_rows``
time steps) of current for every neuron of every copy. Its values are overwritten in place, never replaced, so the
generated code never changes and Brian2 never recompiles. Intervals without current are skipped in one jump.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

__all__ = ["StimulusFeed", "neuron_currents"]


def neuron_currents(channel_currents: np.ndarray, drive_matrix: np.ndarray,
                    membrane_current: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """The current (nA) every neuron receives from ``(..., n_channels)`` channel currents (uA): the summed signed
    drive through ``drive_matrix`` ``(n_channels, n_neurons)``, turned into depolarising current."""
    return membrane_current(channel_currents @ drive_matrix)


class StimulusFeed:
    """The stimulus of one step, loaded interval by interval into the TimedArray's values.

    :param values: the TimedArray's own ``(control_rows, n_copies * n_neurons)`` array (written in place)
    :param control_rows: time steps per control interval
    :param drive_matrix: ``(n_channels, n_neurons)`` signed drive per uA (nA), already scaled by each cell's gain
    :param membrane_current: the depolarising current (nA) a neuron receives from its summed signed drive (the MEA's
        :meth:`~livn_rl.mea.MEA.membrane_current`)
    """

    def __init__(self, values: np.ndarray, control_rows: int, drive_matrix: np.ndarray,
                 membrane_current: Callable[[np.ndarray], np.ndarray]) -> None:
        self.values = values
        self.control_rows = control_rows
        self._matrix = drive_matrix
        self._membrane_current = membrane_current
        self._currents: np.ndarray | None = None
        self._nonzero: np.ndarray | None = None
        self._chunk = 0
        self._n_chunks = 0
        self._loaded = False

    @property
    def done(self) -> bool:
        """Whether every interval of the current step has been served."""
        return self._chunk >= self._n_chunks

    def begin(self, currents: np.ndarray | None, n_chunks: int) -> None:
        """Start a step of ``n_chunks`` intervals with ``(n_copies, n_chunks * control_rows, n_channels)`` uA, or
        ``None`` for no current."""
        self._currents, self._n_chunks = currents, n_chunks
        self._chunk = 0
        self._nonzero = None
        if currents is not None:
            k, rows = currents.shape[0], self.control_rows
            self._nonzero = currents.reshape(k, n_chunks, rows, -1).any(axis=(0, 2, 3))

    def service(self) -> int:
        """Load (or clear) the stimulus of the current interval; return the number of time steps until the next
        interval whose stimulus differs, or until the end of the step."""
        c = self._chunk
        if self._nonzero is not None and self._nonzero[c]:
            self._load(c)
            self._chunk = c + 1
            return self.control_rows
        if self._loaded:
            self.values[:] = 0.0
            self._loaded = False
        later = np.flatnonzero(self._nonzero[c + 1 :]) if self._nonzero is not None else ()
        following = c + 1 + int(later[0]) if len(later) else self._n_chunks
        self._chunk = following
        return (following - c) * self.control_rows

    def clear(self, columns: slice | None = None) -> None:
        """Zero the loaded current of every neuron, or of ``columns`` (one copy's neurons) only."""
        if columns is None:
            self.values[:] = 0.0
            self._loaded = False
            self._currents, self._nonzero, self._chunk, self._n_chunks = None, None, 0, 0
        else:
            self.values[:, columns] = 0.0

    def _load(self, c: int) -> None:
        """Write the neuron currents (nA) of interval ``c`` into the TimedArray's values."""
        rows = self.control_rows
        chunk = self._currents[:, c * rows : (c + 1) * rows]  # (K, rows, C)
        per_neuron = neuron_currents(chunk, self._matrix, self._membrane_current)  # (K, rows, N)
        self.values[:] = per_neuron.transpose(1, 0, 2).reshape(rows, -1)
        self._loaded = True
