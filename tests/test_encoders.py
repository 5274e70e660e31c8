"""Encoders (input -> stimulation) and decoders (recording -> output).

Almost everything here is pure numpy: contexts are built from the S2 electrode array (a 4 x 4 grid, 200 um pitch,
x positions -1, -1/3, 1/3, 1 after scaling) and recordings are written by hand. Only the end-to-end test at the
bottom runs the simulation (numpy target, ~10 s).
"""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest

from livn_rl import MEA, Pulse, make_system, render
from livn_rl.encoders import (
    DECODERS, ENCODERS, ChannelRateDecoder, Decoder, Encoder, FirstSpikeDecoder, LinearDecoder, PopulationEncoder,
    PopulationVectorDecoder, PulseEncoder, RateEncoder, StimulationContext, TimingEncoder, check_fits, from_unit,
    make_decoder, make_encoder, unit_dims,
)
from livn_rl.recording import Recording

DT = 0.1
S2_MEA = make_system("S2").mea
#: S2 channels by column (x = -1, -1/3, 1/3, +1), row-major numbering of the 4 x 4 grid
COLUMNS = [np.arange(4) * 4 + k for k in range(4)]
LEFT, RIGHT = COLUMNS[0], COLUMNS[3]


def context(window_ms: float = 20.0, mea: MEA = S2_MEA, dt_ms: float = DT) -> StimulationContext:
    return StimulationContext(mea, window_ms, dt_ms)


def bound(obj, ctx: StimulationContext | None = None):
    obj.bind(ctx if ctx is not None else context())
    return obj


def recording(spikes=None, counts=None, duration_ms: float = 50.0, t_start_ms: float = 0.0, n_channels: int = 16) -> Recording:
    """A one-copy recording by hand: ``spikes`` maps channel -> spike times (ms into the window); ``counts`` maps
    channel -> number of spikes, spread evenly over the window."""
    spikes = {c: list(ts) for c, ts in (spikes or {}).items()}
    for c, n in (counts or {}).items():
        spikes.setdefault(c, []).extend(np.linspace(0.0, duration_ms, int(n), endpoint=False) + 0.05)
    cs = np.array([c for c, ts in spikes.items() for _ in ts], dtype=np.int64)
    ts = np.array([t for _, times in spikes.items() for t in times], dtype=float) + t_start_ms
    order = np.argsort(ts, kind="stable")
    return Recording(
        t_start_ms, duration_ms, n_neurons=10, n_channels=n_channels, n_copies=1,
        channel_c=cs[order], channel_t_ms=ts[order], channel_unit=np.full(cs.size, -1, np.int64),
        channel_copy=np.zeros(cs.size, np.int64),
    )


def assert_valid_pulses(pulses, ctx: StimulationContext) -> None:
    """Pulses inside the window, on the dt grid, within the MEA limit (also once rendered, where they add up)."""
    assert isinstance(pulses, list)
    for p in pulses:
        assert isinstance(p, Pulse)
        assert 0 <= p.channel < ctx.n_channels
        assert p.onset_ms >= 0
        assert p.onset_ms + p.duration_ms <= ctx.window_ms + 1e-9, p
        steps = p.onset_ms / ctx.dt_ms
        assert abs(steps - round(steps)) < 1e-6, f"onset {p.onset_ms} is not on the {ctx.dt_ms} ms grid"
        assert 0 < p.amplitude_ua <= ctx.mea.max_current_ua
    wave = render(pulses, ctx.n_channels, ctx.window_ms, ctx.dt_ms)
    ctx.mea.check_current(wave)


def by_channel(pulses) -> dict[int, list[Pulse]]:
    out: dict[int, list[Pulse]] = {}
    for p in pulses:
        out.setdefault(p.channel, []).append(p)
    return out


# ------------------------------------------------------------------------------------------------- the context
def test_context_geometry_of_s2():
    ctx = context(50.0)
    assert ctx.n_channels == 16 and ctx.n_timesteps == 500
    np.testing.assert_allclose(ctx.channel_x(), np.tile([-1, -1 / 3, 1 / 3, 1], 4))
    rows = ctx.rows()
    assert [r.tolist() for r in rows] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11], [12, 13, 14, 15]]


def test_context_of_a_single_column_has_all_x_zero():
    ctx = context(mea=MEA.grid(3, 1, 100.0))
    np.testing.assert_array_equal(ctx.channel_x(), np.zeros(3))
    assert len(ctx.rows()) == 3


# --------------------------------------------------------------------------------------- all built-in encoders
ENCODER_SPECS = [
    "pulse", "rate", "population", "timing",
    {"name": "pulse", "n_pulses": 4, "max_amplitude_ua": 50.0},
    {"name": "pulse", "n_pulses": 2, "shape": "monophasic", "phase_ms": 0.3},
    {"name": "rate", "mode": "rate"},
    {"name": "rate", "mode": "rate", "max_rate_hz": 400.0, "channels": [3, 0]},
    {"name": "rate", "channels": [5], "max_amplitude_ua": 50.0, "pulse_rate_hz": 250.0, "onset_ms": 0.0},
    {"name": "population", "n_values": 2, "max_amplitude_ua": 30.0, "min_amplitude_ua": 0.0},
    {"name": "population", "n_values": 4, "pulse_rate_hz": 500.0, "onset_ms": 0.0},
    {"name": "timing", "channels": [15, 2, 7], "amplitude_ua": 50.0, "shape": "monophasic"},
]
EXPECTED_INPUT_DIMS = {"pulse": 3, "rate": 16, "population": 1, "timing": 16}


@pytest.mark.parametrize("name", sorted(ENCODERS))
def test_builtin_encoder_input_space_after_bind(name):
    encoder = bound(make_encoder(name))
    space = encoder.input_space
    assert isinstance(space, gym.spaces.Box) and space.dtype == np.float32
    assert space.shape == (EXPECTED_INPUT_DIMS[name],)
    assert np.all(space.low == -1.0) and np.all(space.high == 1.0)


@pytest.mark.parametrize("spec, dims", [
    ({"name": "pulse", "n_pulses": 3}, 9), ({"name": "rate", "channels": [4, 1]}, 2),
    ({"name": "population", "n_values": 3}, 3), ({"name": "timing", "channels": [0, 15, 8]}, 3),
])
def test_encoder_input_space_follows_parameters(spec, dims):
    assert bound(make_encoder(spec)).input_space.shape == (dims,)


@pytest.mark.parametrize("window_ms", [5.0, 20.0, 50.0])
@pytest.mark.parametrize("spec", ENCODER_SPECS, ids=str)
def test_encoder_outputs_are_valid_pulses(spec, window_ms):
    ctx = context(window_ms)
    encoder = bound(make_encoder(spec), ctx)
    space = encoder.input_space
    space.seed(0)
    d = space.shape[0]
    inputs = [np.full(d, -1.0), np.zeros(d), np.full(d, 1.0), *(space.sample() for _ in range(60))]
    for x in inputs:
        assert_valid_pulses(encoder.encode(np.asarray(x, np.float32)), ctx)


@pytest.mark.parametrize("spec", ENCODER_SPECS, ids=str)
def test_encoder_used_before_bind_says_so(spec):
    encoder = make_encoder(spec)
    with pytest.raises(RuntimeError, match=r"not bound to an MEA yet; call bind\(context\) first"):
        encoder.encode(np.zeros(3, np.float32))


@pytest.mark.parametrize("spec", [
    "pulse", {"name": "pulse", "n_pulses": 3}, "rate", {"name": "rate", "mode": "rate"}, {"name": "rate", "channels": [2]},
], ids=str)
def test_input_minus_one_means_no_stimulation(spec):
    encoder = bound(make_encoder(spec))
    assert encoder.encode(-np.ones(encoder.input_space.shape, np.float32)) == []


@pytest.mark.parametrize("spec", ["pulse", {"name": "rate", "max_amplitude_ua": 50.1},
                                  {"name": "rate", "mode": "rate", "amplitude_ua": 60.0},
                                  {"name": "population", "max_amplitude_ua": 51.0},
                                  {"name": "timing", "amplitude_ua": 80.0}], ids=str)
def test_amplitude_above_the_mea_limit_is_rejected_at_bind(spec):
    encoder = make_encoder(spec)
    if spec == "pulse":  # the default 10 uA against an MEA that allows only 5
        mea = MEA(S2_MEA.positions_um, max_current_ua=5.0)
        limit = "5.0"
    else:
        mea, limit = S2_MEA, "50.0"
    with pytest.raises(ValueError, match=rf"exceeds the MEA's limit of {limit} uA"):
        encoder.bind(context(mea=mea))


@pytest.mark.parametrize("spec", ["pulse", "timing", "rate", "population"])
def test_window_too_short_for_a_pulse_is_rejected_at_bind(spec):
    encoder = make_encoder(spec)
    with pytest.raises(ValueError, match=r"(does not fit into a 0.3 ms window|leaves no room for a pulse)"):
        encoder.bind(context(0.3))


@pytest.mark.parametrize("cls", [RateEncoder, TimingEncoder])
@pytest.mark.parametrize("channels", [[16], [-1], [1, 1], [], [0, 3, 3]])
def test_bad_channels_are_rejected_at_bind(cls, channels):
    with pytest.raises(ValueError, match=r"must be distinct channel indices in 0\.\.15"):
        cls(channels=channels).bind(context())


@pytest.mark.parametrize("make", [
    lambda: PulseEncoder(n_pulses=0), lambda: PulseEncoder(n_pulses=1.5), lambda: PulseEncoder(n_pulses=True),
    lambda: PulseEncoder(max_amplitude_ua=0.0), lambda: PulseEncoder(max_amplitude_ua=float("nan")),
    lambda: PulseEncoder(phase_ms=0.0), lambda: PulseEncoder(shape="square"),
    lambda: RateEncoder(mode="frequency"), lambda: RateEncoder(pulse_rate_hz=-5.0), lambda: RateEncoder(onset_ms=-1.0),
    lambda: PopulationEncoder(n_values=0), lambda: PopulationEncoder(width=0.0), lambda: TimingEncoder(amplitude_ua=0),
])
def test_bad_encoder_parameters_are_rejected(make):
    with pytest.raises(ValueError):
        make()


# ------------------------------------------------------------------------------------------------ PulseEncoder
def test_pulse_encoder_features_at_minus_one_zero_plus_one():
    encoder = bound(PulseEncoder(max_amplitude_ua=10.0), context(20.0))
    latest = 20.0 - 0.4  # window minus one biphasic 2 x 0.2 ms pulse
    for value, (channel, onset, amplitude) in [(-1.0, (0, 0.0, 0.0)), (0.0, (8, latest / 2, 5.0)), (1.0, (15, latest, 10.0))]:
        np.testing.assert_allclose(encoder.features([value] * 3), [[channel, onset, amplitude]], atol=1e-9)


def test_pulse_encoder_encodes_its_features():
    encoder = bound(PulseEncoder(n_pulses=2, max_amplitude_ua=20.0, phase_ms=0.3, shape="monophasic"), context(20.0))
    pulses = encoder.encode([1.0, -1.0, 0.0, -1.0, 1.0, 1.0])
    assert [(p.channel, round(p.onset_ms, 6), p.amplitude_ua, p.phase_ms, p.shape) for p in pulses] == [
        (15, 0.0, 10.0, 0.3, "monophasic"), (0, 19.7, 20.0, 0.3, "monophasic"),
    ]


def test_pulse_encoder_channel_bins_are_equal():
    encoder = bound(PulseEncoder(), context(mea=MEA.grid(2, 2, 100.0)))  # 4 channels: bins of width 0.5 in [-1, 1]
    inputs = [-1.0, -0.75, -0.5 + 1e-6, 0.0, 0.49, 0.5, 0.99, 1.0, 3.0, -3.0]
    channels = [int(encoder.features([x, 0, 0])[0, 0]) for x in inputs]
    assert channels == [0, 0, 1, 2, 2, 3, 3, 3, 3, 0]


def test_pulse_encoder_is_monotonic():
    encoder = bound(PulseEncoder(max_amplitude_ua=10.0), context(50.0))
    xs = np.linspace(-1, 1, 201)
    f = np.array([encoder.features([x, x, x])[0] for x in xs])
    assert np.all(np.diff(f[:, 0]) >= 0) and f[0, 0] == 0 and f[-1, 0] == 15
    assert np.all(np.diff(f[:, 1]) >= 0)
    np.testing.assert_allclose(f[:, 1], (xs + 1) / 2 * 49.6, atol=DT + 1e-9)  # floored onto the grid
    np.testing.assert_allclose(f[:, 2], (xs + 1) / 2 * 10.0)


def test_pulse_encoder_keeps_only_the_strongest_of_overlapping_pulses_on_one_channel():
    """Two pulses of 40 uA at one time on one channel would add up to 80 uA, beyond the 50 uA limit."""
    ctx = context(20.0)
    encoder = bound(PulseEncoder(n_pulses=3, max_amplitude_ua=40.0), ctx)
    # pulse 1 and 2 on channel 8 with onsets 0.1 ms apart; pulse 3 on channel 12 at the same time
    pulses = encoder.encode([0.0, 0.0, 0.5, 0.0, 0.0102, 1.0, 0.5, 0.0, 1.0])
    assert [(p.channel, p.amplitude_ua) for p in pulses] == [(8, 40.0), (12, 40.0)]
    assert_valid_pulses(pulses, ctx)
    # pulses that do not overlap (one pulse duration apart) are both kept
    step = 0.4 / 19.6 * 2  # input step of 0.4 ms onset
    pulses = encoder.encode([0.0, -1.0, 1.0, 0.0, -1.0 + step + 1e-6, 1.0, -1.0, 0.0, -1.0])
    assert [(p.channel, round(p.onset_ms, 6)) for p in pulses] == [(8, 0.0), (8, 0.4)]
    assert_valid_pulses(pulses, ctx)


def test_pulse_encoder_rejects_wrong_input_size():
    encoder = bound(PulseEncoder(n_pulses=2))
    with pytest.raises(ValueError):
        encoder.encode(np.zeros(3))


# ------------------------------------------------------------------------------------------------- RateEncoder
def test_rate_encoder_amplitude_mode_amplitude_is_proportional_to_input():
    encoder = bound(RateEncoder(channels=[0, 5, 10, 15], max_amplitude_ua=20.0, pulse_rate_hz=50.0, onset_ms=1.0), context(50.0))
    x = np.array([-1.0, -0.5, 0.5, 1.0])
    pulses = by_channel(encoder.encode(x))
    assert sorted(pulses) == [5, 10, 15]  # -1: no pulses
    for channel, value in zip([5, 10, 15], x[1:]):
        assert [round(p.onset_ms, 6) for p in pulses[channel]] == [1.0, 21.0, 41.0]  # 50 Hz from 1 ms on
        np.testing.assert_allclose([p.amplitude_ua for p in pulses[channel]], (value + 1) / 2 * 20.0)
    amplitudes = [by_channel(encoder.encode([v] * 4))[0][0].amplitude_ua for v in np.linspace(-0.9, 1, 20)]
    np.testing.assert_allclose(amplitudes, (np.linspace(-0.9, 1, 20) + 1) / 2 * 20.0)


def test_rate_encoder_drives_its_channels_in_input_order():
    encoder = bound(RateEncoder(channels=[9, 2], max_amplitude_ua=10.0), context(20.0))
    pulses = encoder.encode([1.0, 0.0])
    assert [(p.channel, p.amplitude_ua, round(p.onset_ms, 6)) for p in pulses] == [(9, 10.0, 1.0), (2, 5.0, 1.0)]


def pulse_counts(encoder: RateEncoder, x, n_windows: int) -> np.ndarray:
    counts = np.zeros(len(x), int)
    for _ in range(n_windows):
        for p in encoder.encode(x):
            counts[encoder.channels.index(p.channel) if encoder.channels else p.channel] += 1
    return counts


@pytest.mark.parametrize("window_ms", [3.0, 20.0, 50.0])
def test_rate_encoder_rate_mode_average_rate_is_right(window_ms):
    """Pulse counts over many windows match rate x time within one pulse, also below one pulse per window."""
    rates = np.array([0.0, 1.0, 2.5, 7.3, 20.0, 37.0, 50.0, 99.0, 100.0])
    encoder = bound(RateEncoder(channels=range(len(rates)), mode="rate", max_rate_hz=100.0), context(window_ms))
    n_windows = int(round(4000.0 / window_ms))
    counts = pulse_counts(encoder, rates / 100.0 * 2 - 1, n_windows)
    expected = rates * n_windows * window_ms / 1000.0
    assert np.all(np.abs(counts - expected) <= 1.0), (counts, expected)
    assert counts[0] == 0


def test_rate_encoder_rate_mode_whole_pulses_per_window():
    """Rates that give whole pulses per window give exactly that many in every window (none lost at the edges)."""
    encoder = bound(RateEncoder(channels=[0, 1, 2], mode="rate", max_rate_hz=100.0), context(50.0))
    for _ in range(20):
        pulses = by_channel(encoder.encode([1.0, -0.2, -0.6]))  # 100, 40 and 20 Hz
        assert [len(pulses.get(c, [])) for c in range(3)] == [5, 2, 1]
        assert [round(p.onset_ms, 6) for p in pulses[1]] == [0.0, 25.0]
        assert [round(p.onset_ms, 6) for p in pulses[0]] == [0.0, 10.0, 20.0, 30.0, 40.0]


def test_rate_encoder_rate_mode_pulses_are_evenly_spaced_across_windows():
    window, rate = 20.0, 30.0
    ctx = context(window)
    encoder = bound(RateEncoder(channels=[4], mode="rate", max_rate_hz=100.0), ctx)
    times = []
    for k in range(50):
        pulses = encoder.encode([rate / 50.0 - 1])
        assert_valid_pulses(pulses, ctx)
        times += [k * window + p.onset_ms for p in pulses]
    gaps = np.diff(times)
    assert len(times) == pytest.approx(rate * 50 * window / 1000, abs=1)
    np.testing.assert_allclose(gaps, 1000.0 / rate, atol=0.5)  # grid rounding and the pulse that must fit the window


def test_rate_encoder_reset_clears_the_phase():
    ctx = context(20.0)
    x = [-0.9, 0.1, 0.7]  # 5, 55 and 85 Hz: phases that do not repeat every window
    fresh = bound(RateEncoder(channels=[1, 2, 3], mode="rate"), ctx)
    first = [fresh.encode(x) for _ in range(5)]
    encoder = bound(RateEncoder(channels=[1, 2, 3], mode="rate"), ctx)
    for _ in range(7):
        encoder.encode(x)
    assert encoder.encode(x) != first[0]  # the phase carried over ...
    encoder.reset()
    assert [encoder.encode(x) for _ in range(5)] == first  # ... and reset() forgets it


def test_rate_encoder_rate_mode_pulse_amplitude_is_fixed():
    encoder = bound(RateEncoder(mode="rate", amplitude_ua=7.5), context(50.0))
    assert {p.amplitude_ua for p in encoder.encode(np.linspace(-0.9, 1, 16))} == {7.5}


def test_rate_encoder_rejects_overlapping_rates_and_late_onsets():
    with pytest.raises(ValueError, match="too high for the pulse duration"):
        RateEncoder(mode="rate", max_rate_hz=5000.0).bind(context())
    with pytest.raises(ValueError, match="too high for the pulse duration"):
        RateEncoder(pulse_rate_hz=4000.0).bind(context())
    with pytest.raises(ValueError, match=r"onset_ms=10\.0 leaves no room for a pulse in a 5\.0 ms window"):
        RateEncoder(onset_ms=10.0).bind(context(5.0))


# ------------------------------------------------------------------------------------------- PopulationEncoder
def amplitudes(pulses, n_channels: int = 16) -> np.ndarray:
    out = np.zeros(n_channels)
    for p in pulses:
        out[p.channel] = max(out[p.channel], p.amplitude_ua)
    return out


@pytest.mark.parametrize("x", [-1.0, -0.8, -1 / 3, -0.1, 0.25, 1 / 3, 0.6, 1.0])
def test_population_encoder_peaks_at_the_closest_column(x):
    ctx = context(20.0)
    encoder = bound(PopulationEncoder(), ctx)
    a = amplitudes(encoder.encode([x]))
    channel_x = ctx.channel_x()
    closest = np.abs(channel_x - x) == np.abs(channel_x - x).min()
    assert np.all(a[closest] == a.max()) and np.all(a[~closest] < a.max())
    # the bump is the same on every row, and falls off with distance from x
    np.testing.assert_allclose(a.reshape(4, 4), np.tile(a[:4], (4, 1)))
    order = np.argsort(np.abs(channel_x[:4] - x))
    assert np.all(np.diff(a[:4][order]) <= 1e-12)


def test_population_encoder_amplitudes_are_gaussian():
    """Default width: one electrode spacing, 2/3 in [-1, 1] units on S2; pulses below 1 uA are dropped."""
    encoder = bound(PopulationEncoder(max_amplitude_ua=10.0), context(20.0))
    width = 2 / 3
    gauss = lambda d: 10.0 * math.exp(-(d**2) / (2 * width**2))  # noqa: E731
    np.testing.assert_allclose(amplitudes(encoder.encode([0.0]))[:4], [gauss(1), gauss(1 / 3), gauss(1 / 3), gauss(1)])
    np.testing.assert_allclose(amplitudes(encoder.encode([1.0]))[:4], [0.0, gauss(4 / 3), gauss(2 / 3), 10.0])
    assert gauss(2) < 1.0  # which is why the left column is silent at x = 1


def test_population_encoder_pulse_times_and_thresholds():
    encoder = bound(PopulationEncoder(pulse_rate_hz=100.0, onset_ms=1.0, min_amplitude_ua=5.0), context(20.0))
    pulses = encoder.encode([1.0])
    per_channel = by_channel(pulses)
    assert sorted(per_channel) == [2, 3, 6, 7, 10, 11, 14, 15]  # 6.07 uA and 10 uA; 1.35 uA is below 5
    assert all([round(p.onset_ms, 6) for p in ps] == [1.0, 11.0] for ps in per_channel.values())
    narrow = bound(PopulationEncoder(width=0.1), context(20.0))
    assert sorted(by_channel(narrow.encode([1.0]))) == [3, 7, 11, 15]


def test_population_encoder_values_drive_groups_of_rows():
    encoder = bound(PopulationEncoder(n_values=2, min_amplitude_ua=5.0), context(20.0))
    assert sorted(by_channel(encoder.encode([-1.0, 1.0]))) == [0, 1, 4, 5, 10, 11, 14, 15]
    a = amplitudes(encoder.encode([1.0, -1 / 3]))
    assert set(np.flatnonzero(a == 10.0)) == {3, 7, 9, 13}


def test_population_encoder_needs_enough_rows_and_sane_rates():
    with pytest.raises(ValueError, match="5 values need at least 5 electrode rows; this MEA has 4"):
        PopulationEncoder(n_values=5).bind(context())
    with pytest.raises(ValueError, match="too high for the pulse duration"):
        PopulationEncoder(pulse_rate_hz=5000.0).bind(context())


# ----------------------------------------------------------------------------------------------- TimingEncoder
@pytest.mark.parametrize("window_ms, shape, latest", [(20.0, "biphasic", 19.6), (50.0, "biphasic", 49.6), (20.0, "monophasic", 19.8)])
def test_timing_encoder_onsets(window_ms, shape, latest):
    encoder = bound(TimingEncoder(shape=shape), context(window_ms))
    np.testing.assert_allclose(encoder.onsets_ms(np.full(16, -1.0)), 0.0)
    np.testing.assert_allclose(encoder.onsets_ms(np.full(16, 1.0)), latest, atol=1e-9)
    xs = np.linspace(-1, 1, 16)
    onsets = encoder.onsets_ms(xs)
    assert np.all(np.diff(onsets) >= 0)
    assert np.all(onsets <= (xs + 1) / 2 * latest + 1e-9) and np.all(onsets > (xs + 1) / 2 * latest - DT)


def test_timing_encoder_one_pulse_per_channel():
    encoder = bound(TimingEncoder(channels=[7, 0, 12], amplitude_ua=12.0), context(20.0))
    pulses = encoder.encode([1.0, -1.0, 0.0])
    assert [(p.channel, round(p.onset_ms, 6), p.amplitude_ua) for p in pulses] == [(7, 19.6, 12.0), (0, 0.0, 12.0), (12, 9.8, 12.0)]


# ------------------------------------------------------------------------------------ make_encoder / make_decoder
def test_make_encoder_by_name_dict_or_instance():
    for name, cls in ENCODERS.items():
        assert type(make_encoder(name)) is cls
    encoder = make_encoder({"name": "rate", "mode": "rate", "max_rate_hz": 40.0})
    assert isinstance(encoder, RateEncoder) and encoder.mode == "rate" and encoder.max_rate_hz == 40.0
    instance = TimingEncoder()
    assert make_encoder(instance) is instance


def test_make_encoder_errors_list_the_valid_choices():
    with pytest.raises(ValueError, match=r"unknown encoder 'poisson'; built-in encoders: \['population', 'pulse', 'rate', 'timing'\]"):
        make_encoder("poisson")
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['rate_hz'\] for encoder 'rate'; valid ones: \['channels', 'mode'"):
        make_encoder({"name": "rate", "rate_hz": 10})
    for spec in (42, {"mode": "rate"}, None):
        with pytest.raises(ValueError, match=r"a name or a dict with a 'name' key.*Built-in encoders: \['population'"):
            make_encoder(spec)


def test_make_decoder_passes_output_space_where_it_is_a_parameter():
    space = gym.spaces.Discrete(3)
    for name, cls in DECODERS.items():
        decoder = make_decoder(name, output_space=space)
        assert type(decoder) is cls
        if name != "channel_rates":
            assert decoder.output_space == space
    box = gym.spaces.Box(-2.0, 2.0, (1,), np.float32)
    assert make_decoder({"name": "linear", "output_space": box}, output_space=space).output_space == box
    assert make_decoder({"name": "channel_rates", "smoothing": 0.5}).smoothing == 0.5
    with pytest.raises(ValueError, match=r"unknown decoder 'spikes'; built-in decoders: \['channel_rates', 'first_spike', 'linear', 'population_vector'\]"):
        make_decoder("spikes")
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['gian'\] for decoder 'population_vector'; valid ones: \['output_space', 'baseline_hz', 'gain'\]"):
        make_decoder({"name": "population_vector", "gian": 2.0})


# ------------------------------------------------------------------------------------------ ChannelRateDecoder
def test_channel_rate_decoder_rates_are_counts_per_window():
    decoder = bound(ChannelRateDecoder(rate_scale_hz=None), context(50.0))
    assert decoder.output_space == gym.spaces.Box(0.0, np.inf, (16,), np.float32)
    out = decoder.decode(recording(counts={0: 5, 3: 10, 15: 1}))
    expected = np.zeros(16)
    expected[[0, 3, 15]] = [100.0, 200.0, 20.0]
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, expected)
    assert decoder.output_space.contains(out)


def test_channel_rate_decoder_normalises_and_saturates():
    decoder = bound(ChannelRateDecoder(channels=[3, 0, 7], rate_scale_hz=200.0), context(20.0))
    assert decoder.output_space == gym.spaces.Box(0.0, 1.0, (3,), np.float32)
    out = decoder.decode(recording(counts={0: 5, 3: 10, 7: 15}, duration_ms=50.0))  # 100, 200, 300 Hz
    np.testing.assert_allclose(out, [1.0, 0.5, 1.0])
    assert decoder.output_space.contains(out)


def test_channel_rate_decoder_exponential_smoothing_and_reset():
    decoder = bound(ChannelRateDecoder(channels=[2], smoothing=0.5, rate_scale_hz=None), context(50.0))
    rates = [float(decoder.decode(recording(counts={2: n}))[0]) for n in (5, 0, 0, 10)]
    np.testing.assert_allclose(rates, [100.0, 50.0, 25.0, 112.5])
    decoder.reset()
    np.testing.assert_allclose(decoder.decode(recording(counts={2: 1})), [20.0])  # no memory after reset
    decoder = bound(ChannelRateDecoder(channels=[2], smoothing=np.float32(0.75)), context(50.0))
    # 200 Hz, then 0 Hz: 0.75 * 200 + 0.25 * 0 = 150 Hz, normalised by 200 Hz
    np.testing.assert_allclose([decoder.decode(recording(counts={2: n}))[0] for n in (10, 0)], [1.0, 0.75])


def test_channel_rate_decoder_errors():
    for smoothing in (1.0, -0.1, "0.5", True, float("nan")):
        with pytest.raises(ValueError, match=r"smoothing must be a number in \[0, 1\)"):
            ChannelRateDecoder(smoothing=smoothing)
    with pytest.raises(ValueError, match="rate_scale_hz must be a finite number > 0"):
        ChannelRateDecoder(rate_scale_hz=0.0)
    with pytest.raises(ValueError, match=r"distinct channel indices in 0\.\.15"):
        ChannelRateDecoder(channels=[0, 16]).bind(context())
    with pytest.raises(RuntimeError, match="not bound"):
        ChannelRateDecoder().decode(recording())
    two = Recording(0.0, 50.0, 10, 16, n_copies=2, channel_c=np.array([1, 2]), channel_t_ms=np.array([1.0, 2.0]),
                    channel_unit=np.array([-1, -1]), channel_copy=np.array([0, 1]))
    decoder = bound(ChannelRateDecoder(rate_scale_hz=None))
    with pytest.raises(ValueError, match=r"one copy at a time; got a recording of 2 copies \(use copy_of\(k\)\)"):
        decoder.decode(two)
    assert decoder.decode(two.copy_of(1))[2] == pytest.approx(20.0)


# ------------------------------------------------------------------------------------------- FirstSpikeDecoder
def test_first_spike_decoder_uses_the_most_active_channel():
    decoder = bound(FirstSpikeDecoder(), context(50.0))
    rec = recording(spikes={5: [1.0], 2: [10.0, 20.0, 30.0], 9: [40.0, 45.0]})
    assert decoder.value(rec) == pytest.approx(1 - 2 * 10.0 / 50.0)
    out = decoder.decode(rec)
    assert decoder.output_space.contains(out) and out[0] == pytest.approx(0.6)


@pytest.mark.parametrize("t_ms, value", [(0.0, 1.0), (12.5, 0.5), (25.0, 0.0), (37.5, -0.5), (49.9, -0.996)])
def test_first_spike_decoder_maps_time_linearly(t_ms, value):
    decoder = bound(FirstSpikeDecoder(), context(50.0))
    rec = recording(spikes={4: [t_ms, 49.95]}, t_start_ms=1200.0)  # times are relative to the window start
    assert decoder.value(rec) == pytest.approx(value)


def test_first_spike_decoder_without_spikes_gives_minus_one():
    decoder = bound(FirstSpikeDecoder(channels=[0, 1]), context(50.0))
    assert decoder.value(recording()) == -1.0
    assert decoder.value(recording(spikes={2: [1.0]})) == -1.0  # spikes outside its channels do not count
    assert decoder.value(recording(spikes={2: [1.0, 2.0], 1: [30.0]})) == pytest.approx(-0.2)


def test_first_spike_decoder_into_discrete_and_bounded_box():
    decoder = bound(FirstSpikeDecoder(output_space=gym.spaces.Discrete(4)), context(50.0))
    assert decoder.decode(recording(spikes={3: [5.0]})) == 3  # +0.8
    assert decoder.decode(recording(spikes={3: [25.0]})) == 2  # 0
    assert decoder.decode(recording(spikes={3: [40.0]})) == 0  # -0.6
    assert decoder.decode(recording()) == 0
    shifted = bound(FirstSpikeDecoder(output_space=gym.spaces.Discrete(3, start=5)), context(50.0))
    assert shifted.decode(recording()) == 5 and shifted.decode(recording(spikes={0: [0.0]})) == 7
    box = bound(FirstSpikeDecoder(output_space=gym.spaces.Box(0.0, 10.0, (1,), np.float64)), context(50.0))
    out = box.decode(recording(spikes={0: [12.5]}))
    assert out.dtype == np.float64 and out[0] == pytest.approx(7.5)


def test_first_spike_decoder_needs_one_bounded_value():
    with pytest.raises(ValueError, match="produces one value"):
        FirstSpikeDecoder(output_space=gym.spaces.Box(-1, 1, (2,)))
    with pytest.raises(ValueError, match="finite bounds"):
        FirstSpikeDecoder(output_space=gym.spaces.Box(-np.inf, np.inf, (1,)))


# ------------------------------------------------------------------------------------- PopulationVectorDecoder
@pytest.mark.parametrize("counts, value", [
    ({int(c): 5 for c in RIGHT}, 1.0),
    ({int(c): 5 for c in LEFT}, -1.0),
    ({**{int(c): 5 for c in RIGHT}, **{int(c): 5 for c in LEFT}}, 0.0),
    ({}, 0.0),
    ({2: 4}, 0.5),  # x = 1/3, times the gain 1.5
    ({1: 3, 2: 3, 3: 3}, 0.5),  # mean (-1/3 + 1/3 + 1) / 3 = 1/3, times 1.5
    ({0: 2, 3: 6}, 0.75),  # weighted mean (-2 + 6) / 8 = 0.5, times 1.5
])
def test_population_vector_decoder_values(counts, value):
    decoder = bound(PopulationVectorDecoder(), context(50.0))
    assert decoder.values(recording(counts=counts)) == pytest.approx([value])
    out = decoder.decode(recording(counts=counts))
    assert decoder.output_space.contains(out) and out[0] == pytest.approx(value)


def test_population_vector_decoder_gain_and_baseline():
    rec = recording(counts={2: 5, 3: 5})  # x = 1/3 and 1 at 100 Hz: mean 2/3
    assert bound(PopulationVectorDecoder(gain=1.0), context(50.0)).values(rec) == pytest.approx([2 / 3])
    assert bound(PopulationVectorDecoder(gain=1.5), context(50.0)).values(rec) == pytest.approx([1.0])
    assert bound(PopulationVectorDecoder(gain=3.0), context(50.0)).values(rec) == pytest.approx([1.0])  # clipped
    # 20 Hz everywhere, 120 Hz on the right column: (4 * 20 * (-1 - 1/3 + 1/3) + 4 * 120) / (12 * 20 + 4 * 120) = 5/9
    background = recording(counts={**{c: 1 for c in range(16)}, **{int(c): 6 for c in RIGHT}})
    assert bound(PopulationVectorDecoder(gain=1.0), context(50.0)).values(background) == pytest.approx([5 / 9])
    assert bound(PopulationVectorDecoder(gain=1.0, baseline_hz=20.0), context(50.0)).values(background) == pytest.approx([1.0])


def test_population_vector_decoder_into_discrete_and_box():
    right, left = recording(counts={int(c): 5 for c in RIGHT}), recording(counts={int(c): 5 for c in LEFT})
    decoder = bound(PopulationVectorDecoder(output_space=gym.spaces.Discrete(5)), context(50.0))
    assert (decoder.decode(right), decoder.decode(left), decoder.decode(recording())) == (4, 0, 2)
    shifted = bound(PopulationVectorDecoder(output_space=gym.spaces.Discrete(3, start=-1)), context(50.0))
    assert (shifted.decode(right), shifted.decode(left), shifted.decode(recording())) == (1, -1, 0)
    box = bound(PopulationVectorDecoder(output_space=gym.spaces.Box(0.0, 10.0, (1,), np.float32)), context(50.0))
    assert box.decode(right)[0] == pytest.approx(10.0) and box.decode(recording())[0] == pytest.approx(5.0)


def test_population_vector_decoder_reads_groups_of_rows():
    decoder = bound(PopulationVectorDecoder(output_space=gym.spaces.Box(-1, 1, (2,), np.float32)), context(50.0))
    rec = recording(counts={3: 5, 7: 5, 8: 5, 12: 5})  # rows 0-1: right column; rows 2-3: left column
    np.testing.assert_allclose(decoder.decode(rec), [1.0, -1.0])
    with pytest.raises(ValueError, match="need at least 5 electrode rows"):
        PopulationVectorDecoder(output_space=gym.spaces.Box(-1, 1, (5,))).bind(context())


# ------------------------------------------------------------------------------------------------ LinearDecoder
def test_linear_decoder_default_readout_compares_right_and_left_halves():
    decoder = bound(LinearDecoder(), context(50.0))  # Box(-1, 1, (1,)), rates of 100 Hz count as 1
    right_half = [int(c) for c in (*COLUMNS[2], *COLUMNS[3])]
    left_half = [int(c) for c in (*COLUMNS[0], *COLUMNS[1])]
    assert decoder.decode(recording(counts={c: 5 for c in right_half}))[0] == pytest.approx(1.0)
    assert decoder.decode(recording(counts={c: 5 for c in left_half}))[0] == pytest.approx(-1.0)
    assert decoder.decode(recording(counts={3: 5, 14: 5}))[0] == pytest.approx(0.25)  # 2 of 8 right channels
    assert decoder.decode(recording(counts={c: 5 for c in range(16)}))[0] == pytest.approx(0.0)
    assert decoder.decode(recording())[0] == pytest.approx(0.0)
    out = decoder.decode(recording(counts={c: 15 for c in right_half}))  # 3 before clipping
    assert out[0] == 1.0 and out.dtype == np.float32


def test_linear_decoder_default_readout_scales_to_the_box():
    space = gym.spaces.Box(np.array([0.0, -4.0]), np.array([10.0, 4.0]), dtype=np.float64)
    decoder = bound(LinearDecoder(output_space=space), context(50.0))
    np.testing.assert_allclose(decoder.decode(recording()), [5.0, 0.0])  # silence: the middle
    # rows 0-1 drive value 0, rows 2-3 value 1; half rate (50 Hz) on their right halves / left halves
    rec = recording(counts={**{c: 5 for c in (2, 3, 6, 7)}, **{c: 5 for c in (8, 9, 12, 13)}}, duration_ms=100.0)
    np.testing.assert_allclose(decoder.decode(rec), [5.0 + 5.0 * 0.5, -4.0 * 0.5])
    assert space.contains(decoder.decode(recording(counts={c: 50 for c in range(8)})))


@pytest.mark.parametrize("n, column_to_action", [(2, [0, 0, 1, 1]), (4, [0, 1, 2, 3])])
def test_linear_decoder_discrete_picks_the_active_strip(n, column_to_action):
    decoder = bound(LinearDecoder(output_space=gym.spaces.Discrete(n, start=3)), context(50.0))
    for column, action in enumerate(column_to_action):
        assert decoder.decode(recording(counts={int(c): 4 for c in COLUMNS[column]})) == 3 + action
    assert decoder.decode(recording(counts={0: 1, 15: 3})) == 3 + n - 1
    assert decoder.decode(recording()) == 3  # all scores tie at 0: the first action


def test_linear_decoder_fixed_weights_and_bias():
    weights = np.zeros((1, 16))
    weights[0, 0], weights[0, 5] = 0.5, -0.25
    decoder = bound(LinearDecoder(output_space=gym.spaces.Box(-5, 5, (1,), np.float32), weights=weights, bias=[0.1]), context(50.0))
    rec = recording(counts={0: 10, 5: 4, 9: 7})  # 200 Hz -> 2.0 and 80 Hz -> 0.8 at rate_scale_hz = 100
    np.testing.assert_allclose(decoder.features(rec)[[0, 5, 9]], [2.0, 0.8, 1.4])
    assert decoder.scores(rec) == pytest.approx([0.5 * 2.0 - 0.25 * 0.8 + 0.1])
    assert decoder.decode(rec)[0] == pytest.approx(0.9)
    scaled = bound(LinearDecoder(output_space=gym.spaces.Box(-5, 5, (1,)), weights=weights, rate_scale_hz=200.0))
    assert scaled.decode(rec)[0] == pytest.approx(0.5 * 1.0 - 0.25 * 0.4)  # bias defaults to 0 with weights
    clipped = bound(LinearDecoder(weights=weights * 10), context(50.0))
    assert clipped.decode(rec)[0] == 1.0


def test_linear_decoder_fit_recovers_known_weights():
    rng = np.random.default_rng(0)
    w_true, b_true = rng.normal(size=(2, 16)), np.array([0.3, -1.2])
    features = rng.uniform(0.0, 2.0, size=(300, 16))
    decoder = bound(LinearDecoder(output_space=gym.spaces.Box(-100, 100, (2,))))
    assert decoder.fit(features, features @ w_true.T + b_true, ridge=1e-9) is decoder
    np.testing.assert_allclose(decoder.weights, w_true, atol=1e-6)
    np.testing.assert_allclose(decoder.bias, b_true, atol=1e-6)
    # from recordings, with the default ridge: close, and predictions match the targets
    recs = [recording(counts={c: int(n) for c, n in enumerate(rng.integers(0, 10, 16))}) for _ in range(120)]
    targets = np.array([[w_true[0] @ decoder.features(r) + b_true[0]] for r in recs])
    one = bound(LinearDecoder(output_space=gym.spaces.Box(-100, 100, (1,)))).fit(recs, targets)
    np.testing.assert_allclose(one.weights, w_true[:1], atol=0.02)
    np.testing.assert_allclose([one.decode(r)[0] for r in recs], targets[:, 0], atol=0.02)


def test_linear_decoder_fit_classifies_training_data_for_discrete():
    rng = np.random.default_rng(1)
    space = gym.spaces.Discrete(3, start=1)
    decoder = bound(LinearDecoder(output_space=space), context(50.0))
    hot = {1: [0, 1, 4], 2: [6, 10, 11], 3: [13, 14, 15]}  # each action has its own active channels
    recs, actions = [], []
    for _ in range(60):
        action = int(rng.integers(1, 4))
        counts = {c: int(rng.integers(0, 3)) for c in range(16)}
        counts.update({c: int(rng.integers(6, 10)) for c in hot[action]})
        recs.append(recording(counts=counts))
        actions.append(action)
    decoder.fit(recs, actions)
    assert decoder.weights.shape == (3, 16)
    assert [decoder.decode(r) for r in recs] == actions


def test_linear_decoder_shape_errors():
    with pytest.raises(ValueError, match=r"weights must be finite with shape \(1, n_channels\), got shape \(2, 16\)"):
        LinearDecoder(weights=np.zeros((2, 16)))
    with pytest.raises(ValueError, match=r"weights must be finite with shape \(3, n_channels\)"):
        LinearDecoder(output_space=gym.spaces.Discrete(3), weights=np.zeros(16))
    with pytest.raises(ValueError, match="bias must be 1 finite numbers"):
        LinearDecoder(weights=np.zeros((1, 16)), bias=[0.0, 1.0])
    with pytest.raises(ValueError, match="weights have 15 columns, but the MEA has 16 channels"):
        LinearDecoder(weights=np.zeros((1, 15))).bind(context())
    with pytest.raises(ValueError, match="finite bounds"):
        LinearDecoder(output_space=gym.spaces.Box(-np.inf, 1.0, (1,)))
    decoder = bound(LinearDecoder(output_space=gym.spaces.Box(-1, 1, (2,))))
    with pytest.raises(ValueError, match=r"at least 2 finite samples of 16 features, got shape \(5, 15\)"):
        decoder.fit(np.zeros((5, 15)), np.zeros((5, 2)))
    with pytest.raises(ValueError, match="at least 2 finite samples"):
        decoder.fit(np.zeros((1, 16)), np.zeros((1, 2)))
    with pytest.raises(ValueError, match=r"targets must be 5 x 2 finite values, got shape \(5,\)"):
        decoder.fit(np.zeros((5, 16)), np.zeros(5))
    discrete = bound(LinearDecoder(output_space=gym.spaces.Discrete(3)))
    with pytest.raises(ValueError, match=r"targets must be 4 actions of Discrete\(3\)"):
        discrete.fit(np.zeros((4, 16)), [0, 1, 2, 3])
    with pytest.raises(ValueError, match="targets must be 4 actions"):
        discrete.fit(np.zeros((4, 16)), [0, 1, 2])
    with pytest.raises(RuntimeError, match="not bound"):
        LinearDecoder().fit(np.zeros((4, 16)), np.zeros(4))


# --------------------------------------------------------------------------------------------------- check_fits
class _Fixed(Decoder):
    def __init__(self, space):
        self.output_space = space


BOX1 = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)


@pytest.mark.parametrize("out, task", [
    (BOX1, BOX1),
    (gym.spaces.Box(-0.5, 0.5, (1,)), BOX1),  # a narrower output fits
    (gym.spaces.Box(-2.0, 2.0, (2,)), gym.spaces.Box(-2.0, 2.0, (2,), np.float64)),
    (gym.spaces.Discrete(3), gym.spaces.Discrete(3)),
    (gym.spaces.Discrete(3, start=-1), gym.spaces.Discrete(3, start=-1)),
])
def test_check_fits_accepts_matching_outputs(out, task):
    check_fits(_Fixed(out), task)


@pytest.mark.parametrize("out, task, why", [
    (BOX1, gym.spaces.Box(-1, 1, (2,)), r"must output a Box of shape \(2,\)"),
    (gym.spaces.Box(-2.0, 2.0, (1,)), BOX1, r"outputs values in \[-2\.0, 2\.0\], outside the task's action space"),
    (gym.spaces.Box(0.0, np.inf, (1,)), gym.spaces.Box(0.0, 1.0, (1,)), r"outside the task's action space"),
    (gym.spaces.Discrete(2), BOX1, r"outputs Discrete\(2\).*must output a Box of shape \(1,\)"),
    (BOX1, gym.spaces.Discrete(2), r"outputs Box.*must output Discrete\(2\)"),
    (gym.spaces.Discrete(3), gym.spaces.Discrete(4), r"outputs Discrete\(3\), but the task's action space is Discrete\(4\)"),
    (gym.spaces.Discrete(3), gym.spaces.Discrete(3, start=1), r"must output Discrete\(3, start=1\)"),
    (BOX1, gym.spaces.MultiBinary(2), "is not supported: expected Box or Discrete"),
])
def test_check_fits_rejects_and_says_why(out, task, why):
    with pytest.raises(ValueError, match=why):
        check_fits(_Fixed(out), task)


def test_check_fits_with_real_decoders():
    task = gym.spaces.Box(-1.0, 1.0, (16,), np.float32)
    check_fits(bound(ChannelRateDecoder()), gym.spaces.Box(0.0, 1.0, (16,)))
    with pytest.raises(ValueError, match="ChannelRateDecoder outputs values in .*inf"):
        check_fits(bound(ChannelRateDecoder(rate_scale_hz=None)), task)
    check_fits(LinearDecoder(output_space=gym.spaces.Discrete(5)), gym.spaces.Discrete(5))
    with pytest.raises(ValueError, match="PopulationVectorDecoder outputs"):
        check_fits(PopulationVectorDecoder(), gym.spaces.Discrete(5))


# ------------------------------------------------------------------------------------------ from_unit / unit_dims
@pytest.mark.parametrize("value, index", [
    (-1.0, 0), (-0.51, 0), (-0.5, 1), (-0.01, 1), (0.0, 2), (0.49, 2), (0.5, 3), (1.0, 3), (7.0, 3), (-7.0, 0),
])
def test_from_unit_discrete_bins(value, index):
    out = from_unit([value], gym.spaces.Discrete(4))
    assert out == index and type(out) is int
    assert from_unit([value], gym.spaces.Discrete(4, start=10)) == 10 + index


def test_from_unit_discrete_uses_the_first_value_and_one_bin():
    assert from_unit([0.9, -1.0], gym.spaces.Discrete(3, start=-1)) == 1
    assert from_unit([1.0], gym.spaces.Discrete(1, start=5)) == 5


def test_from_unit_box_is_linear_and_clipped():
    space = gym.spaces.Box(np.array([0.0, -10.0], np.float32), np.array([1.0, 10.0], np.float32), dtype=np.float32)
    np.testing.assert_allclose(from_unit([-1.0, 1.0], space), [0.0, 10.0])
    np.testing.assert_allclose(from_unit([0.0, 0.5], space), [0.5, 5.0])
    out = from_unit([3.0, -3.0], space)
    np.testing.assert_allclose(out, [1.0, -10.0])
    assert out.dtype == np.float32 and space.contains(out)
    grid = gym.spaces.Box(-1.0, 3.0, (2, 2), np.float64)
    out = from_unit(np.zeros(4), grid)
    assert out.shape == (2, 2) and out.dtype == np.float64 and np.all(out == 1.0)


def test_unit_dims():
    assert unit_dims(gym.spaces.Discrete(7)) == 1
    assert unit_dims(gym.spaces.Box(-1, 1, (2, 3))) == 6
    for space in (gym.spaces.Box(-np.inf, np.inf, (1,)), gym.spaces.Box(np.array([0.0, 0.0]), np.array([1.0, np.inf]), dtype=np.float64),
                  gym.spaces.MultiBinary(3)):
        with pytest.raises(ValueError, match="expected a Discrete space or a Box with finite bounds"):
            unit_dims(space)


# ------------------------------------------------------------------------------------------------ custom classes
def test_custom_encoder_and_decoder_follow_the_base_classes():
    class CornerEncoder(Encoder):
        def bind(self, context):
            super().bind(context)
            self.input_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)

        def encode(self, x):
            return [Pulse(0, 1.0, (float(x[0]) + 1) / 2 * 10.0)]

    ctx = context(20.0)
    encoder = bound(CornerEncoder(), ctx)
    assert encoder.context is ctx and encoder.encode([1.0])[0].amplitude_ua == 10.0
    assert make_encoder(encoder) is encoder
    with pytest.raises(NotImplementedError):
        Encoder().encode([0.0])
    with pytest.raises(NotImplementedError):
        Decoder().decode(recording())
    assert "PulseEncoder(n_pulses=2" in repr(PulseEncoder(n_pulses=2))


# ------------------------------------------------------------------------------------------------- end to end
def test_population_code_round_trip_through_the_culture(make_sim):
    """PopulationEncoder -> S2 (numpy target) -> PopulationVectorDecoder: the decoded value follows the input."""
    sim = make_sim("S2", seed=0)
    ctx = StimulationContext(sim.mea, 50.0, sim.dt_ms)
    encoder, decoder = bound(PopulationEncoder(), ctx), bound(PopulationVectorDecoder(), ctx)
    inputs = np.random.default_rng(0).uniform(-1.0, 1.0, 30)
    decoded = []
    for x in inputs:
        pulses = encoder.encode(np.array([x], np.float32))
        assert_valid_pulses(pulses, ctx)
        out = decoder.decode(sim.step(pulses, ctx.window_ms))
        assert decoder.output_space.contains(out)
        decoded.append(float(out[0]))
    decoded = np.array(decoded)
    assert np.corrcoef(inputs, decoded)[0, 1] > 0.8
    assert decoded[inputs > 0.5].mean() > 0.3 and decoded[inputs < -0.5].mean() < -0.3


def test_default_linear_readout_is_rebuilt_when_rebound_to_another_array():
    decoder = LinearDecoder(gym.spaces.Box(-2.0, 2.0, (1,), np.float32))
    decoder.bind(StimulationContext(make_system("S2").mea, 50.0, 0.1))
    assert decoder.weights.shape == (1, 16)
    decoder.bind(StimulationContext(MEA.grid(2, 2, pitch_um=100.0), 50.0, 0.1))
    assert decoder.weights.shape == (1, 4)
    fixed = LinearDecoder(gym.spaces.Box(-2.0, 2.0, (1,), np.float32), weights=np.ones((1, 16)))
    with pytest.raises(ValueError, match="16 columns"):
        fixed.bind(StimulationContext(MEA.grid(2, 2, pitch_um=100.0), 50.0, 0.1))
