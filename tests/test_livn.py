"""livn interoperability: observing neuron-level spikes through an MEA offline, livn's dataset layout both ways, and
wrapping any task instance."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from livn_rl import Pulse, Simulation
from tests.conftest import QUIET_CULTURE


def test_channel_recording_detects_what_the_engine_detects_from_the_same_spikes():
    seed = 5
    with Simulation(QUIET_CULTURE, seed=seed, target="numpy") as sim:
        pulses = [Pulse(c, 2.0 + 5 * c, 30.0) for c in range(sim.n_channels)]
        recording = sim.step(pulses, 40.0)
        positions, mea = sim.system.positions_um, sim.mea
    assert recording.neuron_i.size > 0 and recording.channel_c.size > 0
    channel, t, unit = mea.channel_spikes(
        positions, recording.neuron_i, recording.neuron_t_ms, t_start_ms=recording.t_start_ms,
        t_end_ms=recording.t_start_ms + recording.duration_ms, seed=np.random.default_rng([seed, 1, 0]),
    )
    np.testing.assert_array_equal(channel, recording.channel_c)
    np.testing.assert_array_equal(t, recording.channel_t_ms)
    np.testing.assert_array_equal(unit, recording.channel_unit)
    # livn's form: dicts keyed by channel, and livn's (n, 4) [id, x, y, z] coordinates with ids that are not rows
    ids = np.arange(positions.shape[0]) + 1000
    units, times = mea.channel_recording(np.column_stack([ids, positions]), recording.neuron_i + 1000,
                                         recording.neuron_t_ms, t_start_ms=recording.t_start_ms,
                                         t_end_ms=recording.t_start_ms + recording.duration_ms,
                                         seed=np.random.default_rng([seed, 1, 0]))
    assert sorted(units) == list(range(mea.n_channels))
    for c in range(mea.n_channels):
        mine = recording.channel_c == c
        np.testing.assert_array_equal(times[c], recording.channel_t_ms[mine])
        expected = np.where(recording.channel_unit[mine] >= 0, recording.channel_unit[mine] + 1000, -1)
        np.testing.assert_array_equal(units[c], expected)


def test_channel_recording_is_seeded_and_its_bad_input_is_named():
    from livn_rl.systems import make_system

    system = make_system(QUIET_CULTURE)
    noisy = dataclasses.replace(system.mea, threshold_sd=2.0)  # ~230 noise crossings/s per channel
    it, t = np.arange(system.n_neurons).repeat(3), np.tile([1.0, 1.5, 30.0], system.n_neurons)
    first = noisy.channel_spikes(system.positions_um, it, t, t_end_ms=50.0, seed=3)
    again = noisy.channel_spikes(system.positions_um, it, t, t_end_ms=50.0, seed=3)
    other = noisy.channel_spikes(system.positions_um, it, t, t_end_ms=50.0, seed=4)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert any(a.shape != b.shape or np.any(a != b) for a, b in zip(first, other))
    channel, times, unit = first
    assert np.any(unit == -1) and np.any(unit >= 0)  # noise crossings and spikes
    for c in np.unique(channel):  # dead time: no channel detects twice within it
        assert np.all(np.diff(times[channel == c]) >= noisy.dead_time_ms)
    with pytest.raises(ValueError, match=f"neuron id {system.n_neurons} in it is not among the {system.n_neurons}"):
        system.mea.channel_spikes(system.positions_um, [system.n_neurons], [1.0])
    with pytest.raises(ValueError, match="spike time 60.0 ms is outside the recording"):
        system.mea.channel_spikes(system.positions_um, [0], [60.0], t_end_ms=50.0)
    with pytest.raises(ValueError, match=r"shape \(3, 2\)"):
        system.mea.channel_spikes(np.zeros((3, 2)), [0], [1.0])
