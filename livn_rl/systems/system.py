"""The System interface: a spiking network with geometry that the engine can build, stimulate and record.

A System is plain data (positions, populations, connectivity) plus one method that turns it into Brian2 objects.
The engine owns everything around it: stimulation, recording, clocks, copies, reset. That split lets users bring
their own systems without touching the closed loop.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from livn_rl.identity import class_path

__all__ = ["BuiltSystem", "Population", "STIMULUS_EQUATION", "System"]

#: The stimulation term every system adds to its input current. The engine defines ``stim_current`` (a 2-D
#: TimedArray in nA over one control interval and all neurons, refilled in place before each interval) and
#: ``stim_rows`` (its number of rows), so no stimulus ever changes the generated code.
STIMULUS_EQUATION = "I_stim = stim_current((t_in_timesteps % stim_rows)*dt, i)*nA : amp"


@dataclass(frozen=True)
class Population:
    """A named, contiguous block of neurons of one cell type.

    :param name: population name, e.g. ``"E"``
    :param start: index of its first neuron
    :param stop: one past the index of its last neuron
    :param excitatory: whether its synapses excite (``True``) or inhibit their targets
    :param cell: the cell type's name, for descriptions and plots
    """

    name: str
    start: int
    stop: int
    excitatory: bool
    cell: str = ""

    @property
    def size(self) -> int:
        return self.stop - self.start

    @property
    def indices(self) -> np.ndarray:
        return np.arange(self.start, self.stop)


@dataclass
class BuiltSystem:
    """The Brian2 objects of ``n_copies`` copies of a system, as returned by :meth:`System.build`.

    :param neurons: the group that electrodes stimulate and record; copy ``k`` holds indices
        ``k * n_neurons ... (k + 1) * n_neurons - 1``
    :param objects: every Brian2 object to add to the network, ``neurons`` included
    """

    neurons: Any
    objects: list = field(default_factory=list)


class System(ABC):
    """A spiking network with 3-D geometry.

    Subclasses provide :attr:`name`, :attr:`positions_um` (``(n_neurons, 3)``, micrometres), :attr:`populations`
    and :meth:`build`. The equations of the neurons returned by :meth:`build` must contain
    :data:`STIMULUS_EQUATION` and add ``I_stim`` to their input current, so that electrodes can drive them.
    """

    name: str
    positions_um: np.ndarray
    populations: list[Population]
    #: Whether the engine's standalone backend can run this system. That backend builds the system in another
    #: process and runs it in compiled programs, so a system whose methods read or write its Brian2 objects between
    #: steps (plastic weights, for instance) must set this to False and runs on the runtime backend.
    supports_standalone: bool = True

    @property
    def n_neurons(self) -> int:
        return int(self.positions_um.shape[0])

    def population_of(self) -> np.ndarray:
        """Index of each neuron's population in :attr:`populations`."""
        labels = np.empty(self.n_neurons, dtype=np.int64)
        for k, pop in enumerate(self.populations):
            labels[pop.start : pop.stop] = k
        return labels

    def population(self, name: str) -> Population:
        for pop in self.populations:
            if pop.name == name:
                return pop
        raise KeyError(f"system {self.name!r} has no population {name!r}; it has {[p.name for p in self.populations]}")

    @abstractmethod
    def build(self, n_copies: int, namespace: dict, clock) -> BuiltSystem:
        """Create the Brian2 objects for ``n_copies`` independent copies.

        Give every object an explicit, stable ``name``: Brian2's compiled-code cache is keyed on generated code
        that contains the names, so stable names mean one compile per model and size, cached on disk.

        :param n_copies: number of copies packed into one group (block-diagonal connectivity)
        :param namespace: names the engine defines for the equations (``stim_current``, ``stim_rows``)
        :param clock: the Brian2 ``Clock`` every object must use (``clock=clock``)
        """

    @abstractmethod
    def initial_state(self, rng: np.random.Generator, n_copies: int) -> dict[str, Any]:
        """Initial values of the state variables of ``neurons`` for one reset, drawn from ``rng``."""

    def stimulus_gain(self) -> np.ndarray:
        """Per-neuron factor on the MEA's effective current, which is given for a 100 pF cell (ones by default)."""
        return np.ones(self.n_neurons)

    def set_background(self, built: BuiltSystem, enabled: bool) -> None:
        """Switch the background noise on or off without rebuilding (systems without noise ignore it)."""

    def identity(self) -> dict:
        """Everything that defines this network, as data (:func:`livn_rl.identity.config_hash` hashes it): with the
        same livn_rl version, two systems of equal identity build the same network. Generated systems give their
        class and full config (seeds and connectivity parameters included). This default, for systems without a
        config, gives the class, :meth:`describe` and every neuron's position; override it when more defines your
        system (connections, weights)."""
        return {"class": class_path(self), "description": self.describe(), "positions_um": self.positions_um}

    def describe(self) -> dict:
        """A JSON-serialisable summary for ``livn-rl systems`` and dataset cards."""
        return {
            "name": self.name,
            "n_neurons": self.n_neurons,
            "populations": {p.name: {"size": p.size, "cell": p.cell, "excitatory": p.excitatory} for p in self.populations},
            "extent_um": np.ptp(self.positions_um, axis=0).round(1).tolist() if self.n_neurons else [0, 0, 0],
        }
