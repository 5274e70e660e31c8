"""Stimulus waveforms: pulses, trains, rendering on the simulation grid, and the pulse-spec mini language."""

from __future__ import annotations

import re

import numpy as np
import pytest

from livn_rl import Pulse, pulse_train, render
from livn_rl.stimulus import n_timesteps, parse_pulse_spec

DT = 0.1


def test_biphasic_pulse_is_charge_balanced_cathodic_first():
    wave = render([Pulse(channel=1, onset_ms=2.0, amplitude_ua=3.0, phase_ms=0.2)], n_channels=4, duration_ms=10.0, dt_ms=DT)
    assert wave.shape == (100, 4)
    column = wave[:, 1]
    assert column.sum() == pytest.approx(0.0, abs=1e-12), "a biphasic pulse must inject no net charge"
    nonzero = np.flatnonzero(column)
    assert column[nonzero[0]] < 0, "the cathodic (negative) phase comes first"
    assert nonzero[0] == 20  # onset 2 ms at 0.1 ms steps
    np.testing.assert_array_equal(column[20:24], [-3.0, -3.0, 3.0, 3.0])  # 0.2 ms = 2 steps per phase
    assert np.count_nonzero(column) == 4
    assert not np.any(np.delete(wave, 1, axis=1)), "other channels stay at zero"


@pytest.mark.parametrize("phase_ms, steps", [(0.1, 1), (0.2, 2), (0.5, 5), (1.0, 10)])
def test_phase_length_in_steps(phase_ms, steps):
    wave = render([Pulse(0, 1.0, 2.0, phase_ms=phase_ms)], 1, 10.0, DT)[:, 0]
    assert np.count_nonzero(wave < 0) == steps
    assert np.count_nonzero(wave > 0) == steps
    assert wave.sum() == pytest.approx(0.0, abs=1e-12)
    last_cathodic, first_anodic = np.flatnonzero(wave < 0)[-1], np.flatnonzero(wave > 0)[0]
    assert first_anodic == last_cathodic + 1


def test_interphase_gap():
    wave = render([Pulse(0, 1.0, 2.0, phase_ms=0.2, gap_ms=0.3)], 1, 10.0, DT)[:, 0]
    np.testing.assert_array_equal(wave[10:17], [-2, -2, 0, 0, 0, 2, 2])
    assert wave.sum() == pytest.approx(0.0, abs=1e-12)
    assert Pulse(0, 1.0, 2.0, phase_ms=0.2, gap_ms=0.3).duration_ms == pytest.approx(0.7)


def test_monophasic_pulse_is_cathodic_only():
    pulse = Pulse(2, 0.5, 4.0, phase_ms=0.3, shape="monophasic")
    wave = render([pulse], 3, 5.0, DT)
    column = wave[:, 2]
    np.testing.assert_array_equal(np.flatnonzero(column), [5, 6, 7])
    np.testing.assert_array_equal(column[5:8], [-4.0, -4.0, -4.0])
    assert column.sum() == pytest.approx(-4.0 * 3)
    assert pulse.duration_ms == pytest.approx(0.3)


def test_zero_amplitude_pulse_renders_nothing():
    assert not np.any(render([Pulse(0, 1.0, 0.0)], 2, 5.0, DT))


def test_overlapping_pulses_on_different_channels_are_independent():
    wave = render([Pulse(0, 1.0, 2.0), Pulse(3, 1.0, 5.0)], 4, 5.0, DT)
    np.testing.assert_array_equal(wave[10:14, 0], [-2, -2, 2, 2])
    np.testing.assert_array_equal(wave[10:14, 3], [-5, -5, 5, 5])
    assert not np.any(wave[:, 1:3])


def test_pulse_running_past_the_window_is_refused_not_cut():
    """A cut pulse would lose its anodic phase (net charge): refused, naming the latest onset that fits."""
    with pytest.raises(ValueError, match=r"channel 0 at 4.9 ms lasts 0.4 ms .* losing its anodic phase; start it by 4.6 ms"):
        render([Pulse(0, 4.9, 2.0)], 1, 5.0, DT)
    with pytest.raises(ValueError, match="losing part of it"):
        render([Pulse(0, 4.9, 2.0, shape="monophasic")], 1, 5.0, DT)
    wave = render([Pulse(0, 4.6, 2.0)], 1, 5.0, DT)[:, 0]  # the last onset that fits: whole and charge balanced
    np.testing.assert_array_equal(wave[-4:], [-2.0, -2.0, 2.0, 2.0])
    assert render([Pulse(0, 4.9, 0.0)], 1, 5.0, DT).sum() == 0  # no current, nothing to cut


def test_the_engine_refuses_a_pulse_crossing_the_end_of_a_step():
    from livn_rl import Simulation

    with Simulation("S1", seed=0, target="numpy") as sim:
        with pytest.raises(ValueError, match="would be cut at the end of the 5 ms window"):
            sim.step([Pulse(0, 4.8, 3.0)], 5.0)
        assert sim.step([Pulse(0, 4.6, 3.0)], 5.0).duration_ms == 5.0


def test_pulse_train_spacing():
    train = pulse_train(channel=5, amplitude_ua=3.0, start_ms=10.0, n_pulses=4, rate_hz=50.0)
    assert [p.onset_ms for p in train] == pytest.approx([10.0, 30.0, 50.0, 70.0])
    assert all((p.channel, p.amplitude_ua, p.shape) == (5, 3.0, "biphasic") for p in train)
    wave = render(train, 8, 100.0, DT)[:, 5]
    onsets = np.flatnonzero((wave < 0) & (np.roll(wave, 1) >= 0))
    np.testing.assert_array_equal(onsets, [100, 300, 500, 700])
    assert wave.sum() == pytest.approx(0.0, abs=1e-9)


def test_pulse_train_passes_pulse_options():
    train = pulse_train(0, 1.0, n_pulses=2, rate_hz=10.0, shape="monophasic", phase_ms=0.5)
    assert all(p.shape == "monophasic" and p.phase_ms == 0.5 for p in train)


@pytest.mark.parametrize("kwargs, word", [
    (dict(n_pulses=0), "n_pulses"), (dict(n_pulses=2.5), "n_pulses"), (dict(rate_hz=0.0), "rate_hz"),
    (dict(rate_hz=float("nan")), "rate_hz"),
])
def test_bad_pulse_train(kwargs, word):
    with pytest.raises(ValueError, match=word):
        pulse_train(0, 1.0, **kwargs)


# ------------------------------------------------------------------------------------------------ pulse specs
def test_parse_single_pulse():
    assert parse_pulse_spec("5:3uA@500ms") == [Pulse(5, 500.0, 3.0)]
    assert parse_pulse_spec(" 0 : 2.5uA @ 12.5ms ") == [Pulse(0, 12.5, 2.5)]


def test_parse_pulse_train():
    pulses = parse_pulse_spec("5:3uA@500msx10/20Hz")
    assert len(pulses) == 10
    assert all((p.channel, p.amplitude_ua) == (5, 3.0) for p in pulses)
    assert [p.onset_ms for p in pulses] == pytest.approx([500.0 + 50.0 * k for k in range(10)])
    assert pulses == pulse_train(5, 3.0, 500.0, 10, 20.0)


@pytest.mark.parametrize("spec", ["", "abc", "5:3uA", "5:3mA@500ms", "5:-3uA@500ms", "x:3uA@500ms",
                                  "5:3uA@500msx", "5:3uA@500msx10/Hz", "5:3uA@500ms junk", "5;3uA@500ms"])
def test_bad_spec_is_named(spec):
    with pytest.raises(ValueError, match=re.escape(repr(spec))):
        parse_pulse_spec(spec)


def test_spec_with_zero_pulses_is_rejected():
    with pytest.raises(ValueError, match="n_pulses"):
        parse_pulse_spec("5:3uA@500msx0/20Hz")


# ------------------------------------------------------------------------------------------------ bad input
def test_channel_out_of_range_is_named():
    with pytest.raises(ValueError, match=r"channel 4\b"):
        render([Pulse(4, 0.0, 1.0)], n_channels=4, duration_ms=5.0, dt_ms=DT)


def test_onset_outside_the_window_is_named():
    with pytest.raises(ValueError, match=r"12(\.0)? ms"):
        render([Pulse(0, 12.0, 1.0)], 1, 10.0, DT)


@pytest.mark.parametrize("duration", [1.05, 0.25 + 1e-3, 10.03])
def test_duration_not_a_multiple_of_dt_is_named(duration):
    with pytest.raises(ValueError, match=re.escape(repr(duration))):
        render([], 2, duration, DT)


@pytest.mark.parametrize("duration", [0.0, -1.0, float("nan"), float("inf"), "10", None, True])
def test_bad_duration_is_named(duration):
    with pytest.raises(ValueError, match=re.escape(repr(duration))):
        n_timesteps(duration, DT)


def test_duration_on_the_grid():
    assert n_timesteps(1.0, 0.1) == 10
    assert n_timesteps(0.3, 0.1) == 3  # 0.3 / 0.1 = 2.9999999999999996 in floating point
    assert n_timesteps(2, 0.5) == 4


@pytest.mark.parametrize("kwargs, word", [
    (dict(channel=-1), "channel"), (dict(channel=True), "channel"), (dict(channel=1.5), "channel"),
    (dict(amplitude_ua=-3.0), "amplitude_ua"), (dict(amplitude_ua=float("nan")), "amplitude_ua"),
    (dict(onset_ms=-1.0), "onset_ms"), (dict(phase_ms=0.0), "phase_ms"), (dict(gap_ms=-0.1), "gap_ms"),
    (dict(shape="triphasic"), "triphasic"),
])
def test_bad_pulse_is_named(kwargs, word):
    base = dict(channel=0, onset_ms=1.0, amplitude_ua=1.0)
    with pytest.raises(ValueError, match=word):
        Pulse(**{**base, **kwargs})
