"""The simulated MEA: geometry, serialisation, coverage, stimulation and recording physics, current limits."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from livn_rl import MEA, Simulation, make_system


def _cells_at(distances_um, z_um=10.0):
    """Neurons on the x axis whose distance from an electrode at the origin is ``distances_um``."""
    d = np.asarray(distances_um, dtype=float)
    return np.column_stack([np.sqrt(np.maximum(d**2 - z_um**2, 0.0)), np.zeros(d.size), np.full(d.size, z_um)])


# ---------------------------------------------------------------------------------------------------- geometry
def test_grid_geometry_row_major_and_centred():
    mea = MEA.grid(2, 3, 100.0)
    assert mea.n_channels == 6
    expected = np.array(
        [[-100, -50, 0], [0, -50, 0], [100, -50, 0],
         [-100, 50, 0], [0, 50, 0], [100, 50, 0]], dtype=float
    )
    np.testing.assert_allclose(mea.positions_um, expected)


@pytest.mark.parametrize("rows, cols, pitch", [(4, 4, 200.0), (8, 8, 200.0), (1, 5, 30.0), (3, 2, 75.0)])
def test_grid_pitch_order_and_centre(rows, cols, pitch):
    center = (12.0, -7.0)
    mea = MEA.grid(rows, cols, pitch, center_um=center, z_um=2.0)
    pos = mea.positions_um.reshape(rows, cols, 3)
    assert mea.n_channels == rows * cols
    np.testing.assert_allclose(pos[..., :2].reshape(-1, 2).mean(axis=0), center)
    np.testing.assert_allclose(pos[..., 2], 2.0)
    if cols > 1:  # channel c + 1 is one pitch to the right of channel c within a row
        np.testing.assert_allclose(np.diff(pos[..., 0], axis=1), pitch)
        np.testing.assert_allclose(np.diff(pos[..., 1], axis=1), 0.0)
    if rows > 1:  # the next row is one pitch further along y
        np.testing.assert_allclose(np.diff(pos[..., 1], axis=0), pitch)
        np.testing.assert_allclose(np.diff(pos[..., 0], axis=0), 0.0)


@pytest.mark.parametrize("kwargs", [dict(rows=0, cols=2, pitch_um=1.0), dict(rows=2, cols=1.5, pitch_um=1.0),
                                    dict(rows=2, cols=2, pitch_um=0.0), dict(rows=2, cols=2, pitch_um=-5.0)])
def test_bad_grid(kwargs):
    with pytest.raises(ValueError):
        MEA.grid(**kwargs)


def test_bad_positions_and_parameters():
    with pytest.raises(ValueError, match="positions_um"):
        MEA(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="finite"):
        MEA(np.array([[0.0, np.nan, 0.0]]))
    with pytest.raises(ValueError, match="noise_uv"):
        MEA(np.zeros((1, 3)), noise_uv=-1.0)


def test_two_column_positions_lie_in_the_electrode_plane():
    mea = MEA(np.array([[0.0, 0.0], [10.0, 20.0]]))
    np.testing.assert_allclose(mea.positions_um, [[0, 0, 0], [10, 20, 0]])


# ---------------------------------------------------------------------------------------------- serialisation
def test_json_round_trip_text_and_file(tmp_path):
    mea = MEA.grid(3, 2, 150.0, center_um=(5.0, 1.0), noise_uv=5.0, threshold_sd=5.0, max_current_ua=30.0)
    text = mea.to_json()
    again = MEA.from_json(text)
    assert again == mea
    np.testing.assert_array_equal(again.positions_um, mea.positions_um)
    assert (again.noise_uv, again.threshold_sd, again.max_current_ua) == (5.0, 5.0, 30.0)

    path = tmp_path / "layout.json"
    mea.to_json(path)
    assert MEA.from_json(path) == mea
    assert MEA.from_json(str(path)) == mea


def test_equality_sees_differences():
    assert MEA.grid(2, 2, 100.0) != MEA.grid(2, 2, 101.0)
    assert MEA.grid(2, 2, 100.0) != MEA.grid(2, 2, 100.0, noise_uv=7.0)


def test_from_json_rejects_bad_input():
    with pytest.raises(ValueError, match="malformed"):
        MEA.from_json('{"positions_um": [[0, 0, 0]],')
    with pytest.raises(ValueError, match="bogus"):
        MEA.from_json('{"positions_um": [[0, 0, 0]], "bogus": 1}')
    with pytest.raises(ValueError, match="positions_um"):
        MEA.from_json('{"noise_uv": 5}')
    with pytest.raises(ValueError, match="object"):
        MEA.from_json("[1, 2]")


# ---------------------------------------------------------------------------------------------------- coverage
@pytest.mark.parametrize("name", ["S1", "S2", "S3"])
def test_default_mea_reaches_cells_at_every_electrode(name):
    system = make_system(name)
    counts = system.mea.cells_in_reach(system.positions_um)
    assert counts.shape == (system.mea.n_channels,)
    assert np.all(counts >= 1), f"electrodes without cells: {np.flatnonzero(counts == 0).tolist()}"
    # reach is the distance at which detection is 50/50
    p = system.mea.detection_probability(system.positions_um)
    d = system.mea.distances_um(system.positions_um)
    assert np.all(p.max(axis=1) >= 0.5 - 1e-9)
    assert np.all((p >= 0.5 - 1e-9) == (d <= system.mea.reach_um + 1e-9))


def test_electrode_far_from_the_culture_is_named():
    system = make_system("S2")
    layout = np.vstack([MEA.grid(2, 2, 200.0).positions_um, [[5000.0, 0.0, 0.0]]])  # electrode 4 is 5 mm away
    mea = MEA(layout)
    with pytest.raises(ValueError, match=r"electrode.*\[4\]"):
        mea.check_coverage(system.positions_um)
    with pytest.raises(ValueError, match=r"\[4\]"):
        make_system("S2", mea=mea)
    with pytest.raises(ValueError, match=r"\[4\]"):
        Simulation(system, mea=mea, target="numpy")


def test_coverage_names_every_empty_electrode():
    system = make_system("S1")
    mea = MEA(np.array([[-3000.0, 0, 0], [0.0, 0.0, 0.0], [3000.0, 0, 0]]))
    with pytest.raises(ValueError, match=re.escape("[0, 2]")):
        mea.check_coverage(system.positions_um)


# ------------------------------------------------------------------------------------------------ stimulation
def test_stimulation_matrix_is_negative_and_falls_off_with_distance():
    mea = MEA(np.zeros((1, 3)))
    distances = np.array([10.0, 30.0, 60.0, 100.0, 200.0, 400.0, 1000.0])
    m = mea.stimulation_matrix(_cells_at(distances))
    assert m.shape == (1, distances.size)
    assert np.all(np.isfinite(m))
    assert np.all(m < 0), "a cathodic (negative) channel current must depolarise: matrix entries are negative"
    assert np.all(np.diff(np.abs(m[0])) < 0), "the effect must fall off with distance"
    # at least as fast as the point-source potential, 1 / sqrt(r^2 + r_e^2)
    r_e = np.sqrt(distances**2 + mea.electrode_radius_um**2)
    assert np.all(np.diff(np.abs(m[0]) * r_e) <= 1e-12 * np.abs(m[0, 0]) * r_e[0])
    # finite right under the electrode
    under = mea.stimulation_matrix(np.zeros((1, 3)))
    assert np.isfinite(under).all() and under[0, 0] <= m[0, 0]


def test_cathodic_current_depolarises():
    system = make_system("S1")
    m = system.mea.stimulation_matrix(system.positions_um)
    assert m.shape == (system.mea.n_channels, system.n_neurons)
    cathodic = -3.0 * np.eye(system.mea.n_channels)  # -3 uA on one channel at a time
    neuron_current = cathodic @ m  # nA
    assert np.all(neuron_current > 0)
    assert np.all((-cathodic) @ m < 0)  # anodic hyperpolarises
    # every neuron is driven hardest by its nearest electrode
    nearest = np.argmin(system.mea.distances_um(system.positions_um), axis=0)
    np.testing.assert_array_equal(np.argmax(neuron_current, axis=0), nearest)


def test_stimulation_scales_with_coupling_and_conductivity():
    cells = _cells_at([20.0, 50.0, 100.0, 300.0])
    a = MEA(np.zeros((1, 3)), coupling_uS=2.0).stimulation_matrix(cells)
    b = MEA(np.zeros((1, 3)), coupling_uS=4.0).stimulation_matrix(cells)
    np.testing.assert_allclose(b, 2 * a)  # twice the coupling, twice the current
    c = MEA(np.zeros((1, 3)), coupling_uS=2.0, conductivity_S_per_m=0.6).stimulation_matrix(cells)
    np.testing.assert_allclose(c, a / 2)  # a better conductor, a smaller extracellular potential


# -------------------------------------------------------------------------------------------------- recording
def test_detection_probability_decreases_with_distance():
    mea = MEA(np.zeros((1, 3)))
    distances = np.linspace(mea.reference_distance_um, 400.0, 40)
    p = mea.detection_probability(_cells_at(distances, z_um=0.0))[0]
    assert np.all((p >= 0) & (p <= 1))
    assert np.all(np.diff(p) <= 0)
    assert p[0] > 0.99 and p[-1] < 0.01
    assert mea.detection_probability(_cells_at([mea.reach_um], z_um=0.0))[0, 0] == pytest.approx(0.5, abs=1e-6)


def test_detection_saturates_inside_the_reference_distance():
    mea = MEA(np.zeros((1, 3)))
    p = mea.detection_probability(_cells_at([1.0, 5.0, mea.reference_distance_um], z_um=0.0))[0]
    np.testing.assert_allclose(p, p[0])


def test_noisier_channels_detect_less_and_cross_more_often():
    cells = _cells_at([60.0, 120.0], z_um=0.0)
    quiet, noisy = MEA(np.zeros((1, 3)), noise_uv=4.0), MEA(np.zeros((1, 3)), noise_uv=9.0)
    assert np.all(noisy.detection_probability(cells) < quiet.detection_probability(cells))
    assert noisy.reach_um < quiet.reach_um
    low, high = MEA(np.zeros((1, 3)), threshold_sd=5.0), MEA(np.zeros((1, 3)), threshold_sd=4.0)
    assert high.false_positive_rate_hz > low.false_positive_rate_hz > 0


# -------------------------------------------------------------------------------------------- current limits
def test_currents_within_the_limit_pass():
    mea = MEA.grid(2, 2, 100.0)
    mea.check_current(np.full((5, 4), -50.0))
    mea.check_current(np.zeros((0, 4)))


@pytest.mark.parametrize("amplitude", [50.01, 60.0, -75.0, 1e6])
def test_current_over_the_limit_is_named(amplitude):
    mea = MEA.grid(2, 2, 100.0)
    current = np.zeros((5, 4))
    current[3, 2] = amplitude
    with pytest.raises(ValueError, match="50") as info:
        mea.check_current(current)
    assert f"{amplitude:.3g}" in str(info.value)
    assert "[3, 2]" in str(info.value)


def test_custom_current_limit():
    mea = MEA.grid(2, 2, 100.0, max_current_ua=10.0)
    mea.check_current(np.full((2, 4), 10.0))
    with pytest.raises(ValueError, match="10"):
        mea.check_current(np.full((2, 4), 10.5))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_current_is_named(bad):
    mea = MEA.grid(2, 2, 100.0)
    current = np.zeros((5, 4))
    current[1, 0] = bad
    with pytest.raises(ValueError, match="non-finite") as info:
        mea.check_current(current)
    assert str(float(bad)) in str(info.value)
    assert "[1, 0]" in str(info.value)


def test_describe_reports_reach_and_channels():
    mea = MEA.grid(4, 4, 200.0)
    facts = mea.describe()
    assert facts["n_channels"] == 16
    assert facts["reach_um"] == pytest.approx(mea.reach_um, abs=0.05)
    expected_fp = mea.noise_bandwidth_hz / math.sqrt(3) * math.exp(-(mea.threshold_sd**2) / 2)
    assert mea.false_positive_rate_hz == pytest.approx(expected_fp)
