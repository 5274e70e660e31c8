"""Per-copy state of a packed network: the values each copy was built with, and restoring some copies in place.

A network of ``n_copies`` copies holds every copy's neurons (and synapses) in one ``NeuronGroup`` (and one
``Synapses`` object per projection); element ``e`` of a group belongs to copy ``e // n_neurons`` (synapses: the copy
of their presynaptic neuron). Restoring a copy writes back the built values of its elements and drops its synapses'
in-flight spikes, so the other copies run on untouched.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["ElementState", "element_variables", "restore_copies", "snapshot"]


@dataclass
class ElementState:
    """The built values of one group's per-element variables and the copy each element belongs to."""

    group: object
    built: dict[str, np.ndarray]
    owner: np.ndarray


def element_variables(group, size: int) -> dict:
    """The writable, public variables of a NeuronGroup or Synapses that hold one value per element (``size``)."""
    from brian2.core.variables import ArrayVariable

    return {
        name: var for name, var in group.variables.items()
        if isinstance(var, ArrayVariable) and not var.read_only and not var.scalar and not name.startswith("_")
        and var.size == size
    }


def snapshot(net, n_neurons: int) -> list[ElementState]:
    """The built values of every per-neuron and per-synapse variable of ``net``, with each element's copy."""
    import brian2

    states = []
    for obj in net.objects:
        if isinstance(obj, brian2.NeuronGroup):
            owner = np.arange(len(obj)) // n_neurons
        elif isinstance(obj, brian2.Synapses):
            owner = np.asarray(obj.variables["_synaptic_pre"].get_value()) // n_neurons
        else:
            continue
        built = {name: np.array(var.get_value()) for name, var in element_variables(obj, owner.size).items()}
        states.append(ElementState(obj, built, owner))
    return states


def restore_copies(states: list[ElementState], copies: np.ndarray) -> None:
    """Write back the built values of the elements of ``copies`` and drop their synapses' in-flight spikes."""
    for state in states:
        mask = np.isin(state.owner, copies)
        if not mask.any():
            continue
        for name, values in state.built.items():
            variable = state.group.variables[name]
            current = np.array(variable.get_value())
            current[mask] = values[mask]
            variable.set_value(current)
        for pathway in getattr(state.group, "_pathways", []):
            _drop_queued(pathway.queue, np.flatnonzero(mask))


def _drop_queued(queue, synapses: np.ndarray) -> None:
    """Remove the in-flight events of ``synapses`` from a Brian2 spike queue (C++ or Python implementation)."""
    state = queue._full_state()
    if state is None or synapses.size == 0:
        return
    if len(state) == 2:  # C++ queue: (offset, [synapse indices per future time step])
        offset, slots = state
        queue._restore_from_full_state((offset, [list(np.setdiff1d(slot, synapses)) for slot in slots]))
    else:  # Python queue: (dt, [[steps ahead, synapse]], shape)
        dt, spikes, shape = state
        spikes = np.asarray(spikes)
        keep = ~np.isin(spikes[:, 1], synapses) if spikes.size else np.ones(0, bool)
        queue._restore_from_full_state((dt, spikes[keep], shape))
