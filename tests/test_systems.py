"""Systems: the predefined cultures, deterministic generation, connectivity, and config files."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import yaml

from livn_rl.systems import (
    CultureConfig,
    list_systems,
    load_config,
    make_system,
    system_config,
)

from conftest import TINY_CULTURE

SIZES = {"S1": (8, 2), "S2": (80, 20), "S3": (800, 200), "S4": (8000, 2000)}


def _connections(system):
    """(pre, post, weight, delay) of all synapses, excitatory first."""
    return tuple(np.concatenate(parts) for parts in zip(system.exc_connections, system.inh_connections))


# ------------------------------------------------------------------------------------------- predefined systems
def test_list_systems_names_the_four_predefined_cultures():
    assert list_systems() == ["S1", "S2", "S3", "S4"]


@pytest.mark.parametrize("name", ["S1", "S2", "S3", "S4"])
def test_predefined_config_sizes(name):
    n_exc, n_inh = SIZES[name]
    config = system_config(name)
    assert isinstance(config, CultureConfig)
    assert (config.name, config.n_exc, config.n_inh) == (name, n_exc, n_inh)
    assert config.n_exc + config.n_inh == {"S1": 10, "S2": 100, "S3": 1000, "S4": 10000}[name]


@pytest.mark.parametrize("name", ["S1", "S2", "S3"])  # S4 takes ~12 s to generate: its config is checked above
def test_predefined_systems_generate_with_documented_populations(name):
    n_exc, n_inh = SIZES[name]
    system = make_system(name)
    assert system.name == name
    assert system.n_neurons == n_exc + n_inh
    assert system.positions_um.shape == (n_exc + n_inh, 3)
    exc, inh = system.population("E"), system.population("I")
    assert (exc.start, exc.stop, exc.excitatory) == (0, n_exc, True)
    assert (inh.start, inh.stop, inh.excitatory) == (n_exc, n_exc + n_inh, False)
    assert system.n_synapses > 0


# --------------------------------------------------------------------------------------------- determinism
def test_generation_is_deterministic():
    a, b = make_system("S2"), make_system("S2")
    np.testing.assert_array_equal(a.positions_um, b.positions_um)
    for part_a, part_b in zip(_connections(a), _connections(b)):
        np.testing.assert_array_equal(part_a, part_b)
    assert a.mea == b.mea


def test_different_structure_seed_gives_a_different_culture():
    a, b = make_system("S2"), make_system("S2", seed=1)
    assert b.config.seed == 1
    assert not np.allclose(a.positions_um, b.positions_um)
    pre_a, post_a, _, _ = _connections(a)
    pre_b, post_b, _, _ = _connections(b)
    assert set(zip(pre_a.tolist(), post_a.tolist())) != set(zip(pre_b.tolist(), post_b.tolist()))


def test_same_config_via_dict_and_config_object_is_identical():
    a = make_system(dict(TINY_CULTURE))
    b = make_system(CultureConfig.from_dict(dict(TINY_CULTURE)))
    np.testing.assert_array_equal(a.positions_um, b.positions_um)
    for part_a, part_b in zip(_connections(a), _connections(b)):
        np.testing.assert_array_equal(part_a, part_b)


# -------------------------------------------------------------------------------------------- connectivity
@pytest.mark.parametrize("name", ["S1", "S2"])
def test_delays_are_latency_plus_distance_over_velocity(name):
    system = make_system(name)
    cfg = system.config
    pre, post, _, delay = _connections(system)
    distance = np.linalg.norm(system.positions_um[pre] - system.positions_um[post], axis=1)
    np.testing.assert_allclose(delay, cfg.synaptic_latency_ms + distance / cfg.conduction_velocity_um_per_ms)
    assert np.all(delay >= cfg.synaptic_latency_ms)
    order = np.argsort(distance, kind="stable")
    assert np.all(np.diff(delay[order]) >= -1e-9), "delays must increase with distance"
    assert delay.max() > delay.min(), "connections at different distances must have different delays"


def test_delays_follow_a_custom_velocity_and_latency():
    system = make_system({**TINY_CULTURE, "conduction_velocity_um_per_ms": 100.0, "synaptic_latency_ms": 2.0})
    pre, post, _, delay = _connections(system)
    distance = np.linalg.norm(system.positions_um[pre] - system.positions_um[post], axis=1)
    np.testing.assert_allclose(delay, 2.0 + distance / 100.0)


@pytest.mark.parametrize("name", ["S1", "S2", "S3"])
def test_no_autapses_and_synapse_signs_follow_populations(name):
    system = make_system(name)
    n_exc = system.population("E").size
    pre_e, post_e, w_e, _ = system.exc_connections
    pre_i, post_i, w_i, _ = system.inh_connections
    assert not np.any(pre_e == post_e) and not np.any(pre_i == post_i), "a neuron connects to itself"
    assert np.all(pre_e < n_exc) and np.all(pre_i >= n_exc)
    assert np.all(w_e > 0) and np.all(w_i > 0)
    pairs = np.concatenate([pre_e * system.n_neurons + post_e, pre_i * system.n_neurons + post_i])
    assert np.unique(pairs).size == pairs.size, "duplicate synapses"


# -------------------------------------------------------------------------------------------- config files
def test_yaml_config_file(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY_CULTURE))
    config = load_config(path)
    assert config == CultureConfig.from_dict(dict(TINY_CULTURE))
    system = make_system(path)
    reference = make_system(dict(TINY_CULTURE))
    assert system.n_neurons == 20
    np.testing.assert_array_equal(system.positions_um, reference.positions_um)
    for part_a, part_b in zip(_connections(system), _connections(reference)):
        np.testing.assert_array_equal(part_a, part_b)
    assert make_system(str(path)).n_neurons == 20  # a str path works too


def test_json_config_file(tmp_path):
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(TINY_CULTURE))
    system = make_system(path)
    np.testing.assert_array_equal(system.positions_um, make_system(dict(TINY_CULTURE)).positions_um)


def test_config_file_overrides(tmp_path):
    path = tmp_path / "tiny.yml"
    path.write_text(yaml.safe_dump(TINY_CULTURE))
    system = make_system(path, seed=11)
    assert system.config.seed == 11
    np.testing.assert_array_equal(system.positions_um, make_system({**TINY_CULTURE, "seed": 11}).positions_um)


def test_config_round_trips_through_to_dict(tmp_path):
    config = system_config("S2")
    path = tmp_path / "s2.json"
    path.write_text(json.dumps(config.to_dict()))
    assert load_config(path) == config


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_extends_a_predefined_system(tmp_path, suffix):
    data = {"extends": "S2", "seed": 3, "k_in_exc": 20}
    path = tmp_path / f"mine{suffix}"
    path.write_text(yaml.safe_dump(data) if suffix == ".yaml" else json.dumps(data))
    config = load_config(path)
    assert (config.n_exc, config.n_inh, config.seed, config.k_in_exc) == (80, 20, 3, 20)
    s2 = system_config("S2")
    for key in ("width_um", "height_um", "w_ee_nS", "k_in_inh", "noise_exc_pA", "mea"):  # the rest comes from S2
        assert getattr(config, key) == getattr(s2, key), key
    system = make_system(path)
    np.testing.assert_array_equal(system.positions_um, make_system("S2", seed=3, k_in_exc=20).positions_um)


# ---------------------------------------------------------------------------------------------- bad input
def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_malformed_yaml_names_the_file(tmp_path):
    path = _write(tmp_path, "broken.yaml", "name: tiny\nn_exc: [8, 2\nn_inh: 2\n")
    with pytest.raises(ValueError, match=re.escape(str(path))):
        load_config(path)
    with pytest.raises(ValueError, match=re.escape(str(path))):
        make_system(path)


def test_malformed_json_names_the_file(tmp_path):
    path = _write(tmp_path, "broken.json", '{"name": "tiny", "n_exc": 8,')
    with pytest.raises(ValueError, match=re.escape(str(path))):
        load_config(path)


def test_config_that_is_not_a_mapping(tmp_path):
    path = _write(tmp_path, "list.yaml", "- 1\n- 2\n")
    with pytest.raises(ValueError, match="mapping"):
        load_config(path)


def test_missing_config_file():
    with pytest.raises(ValueError, match="nope.yaml"):
        load_config("/nonexistent/nope.yaml")


@pytest.mark.parametrize("where", ["dict", "yaml", "json"])
def test_unknown_key_is_named(tmp_path, where):
    data = {**TINY_CULTURE, "n_exitatory": 5}
    with pytest.raises(ValueError, match="n_exitatory"):
        if where == "dict":
            make_system(data)
        elif where == "yaml":
            make_system(_write(tmp_path, "c.yaml", yaml.safe_dump(data)))
        else:
            make_system(_write(tmp_path, "c.json", json.dumps(data)))


def test_unknown_override_is_named():
    with pytest.raises(ValueError, match="n_neurons"):
        make_system("S1", n_neurons=5)


def test_unknown_key_in_extends_file_is_named(tmp_path):
    path = _write(tmp_path, "c.yaml", "extends: S1\nbogus_key: 1\n")
    with pytest.raises(ValueError, match="bogus_key"):
        make_system(path)


@pytest.mark.parametrize(
    "nested, key",
    [
        ({"kinetics": {"tau_ampa_ms": 5.0, "tau_bogus": 1.0}}, "tau_bogus"),
        ({"exc_cell": {"C_pF": 100.0, "bogus_gain": 1.0}}, "bogus_gain"),
        ({"mea": {"rows": 2, "cols": 2, "pitch_um": 100.0, "bogus_field": 1.0}}, "bogus_field"),
    ],
)
def test_unknown_nested_key_is_a_value_error_naming_it(tmp_path, nested, key):
    """Configs come from users' files: an unknown key anywhere must be a ValueError that names it."""
    with pytest.raises(ValueError, match=key):
        make_system({**TINY_CULTURE, **nested})
    with pytest.raises(ValueError, match=key):
        make_system(_write(tmp_path, "nested.yaml", yaml.safe_dump({**TINY_CULTURE, **nested})))


@pytest.mark.parametrize(
    "key, value",
    [("n_exc", -5), ("n_inh", -1), ("k_in_exc", -3), ("width_um", -100.0), ("height_um", 0.0), ("seed", -1),
     ("w_ee_nS", -1.0), ("noise_exc_pA", float("nan")), ("n_exc", 2.5)],
)
def test_impossible_values_are_named(key, value):
    with pytest.raises(ValueError, match=key) as info:
        make_system({**TINY_CULTURE, key: value})
    assert str(value) in str(info.value)


def test_negative_size_in_yaml_is_named(tmp_path):
    path = _write(tmp_path, "neg.yaml", yaml.safe_dump({**TINY_CULTURE, "n_inh": -4}))
    with pytest.raises(ValueError, match=r"n_inh.*-4"):
        make_system(path)


def test_no_neurons_at_all():
    with pytest.raises(ValueError, match="n_exc"):
        make_system({**TINY_CULTURE, "n_exc": 0, "n_inh": 0})


def test_bad_mea_grid_in_config():
    with pytest.raises(ValueError, match="pitch_um"):
        make_system({**TINY_CULTURE, "mea": {"rows": 2, "cols": 2, "pitch_um": -100.0}})
    with pytest.raises(ValueError, match="mea"):
        make_system({**TINY_CULTURE, "mea": {"rows": 2, "cols": 2}})


@pytest.mark.parametrize("missing", ["name", "n_exc", "n_inh", "width_um", "height_um"])
def test_missing_required_key_is_named(tmp_path, missing):
    data = {k: v for k, v in TINY_CULTURE.items() if k != missing}
    with pytest.raises(ValueError, match=missing):
        make_system(data)
    with pytest.raises(ValueError, match=missing):
        load_config(_write(tmp_path, "m.yaml", yaml.safe_dump(data)))


@pytest.mark.parametrize("name", ["S9", "s1", "S2.txt", ""])
def test_unknown_system_name_is_named(name):
    with pytest.raises(ValueError, match=re.escape(repr(name))):
        make_system(name)


def test_extends_unknown_system_is_named(tmp_path):
    path = _write(tmp_path, "c.yaml", "extends: S7\nseed: 1\n")
    with pytest.raises(ValueError, match="S7"):
        make_system(path)


def test_unknown_cell_type_is_named():
    with pytest.raises(ValueError, match="XX"):
        make_system({**TINY_CULTURE, "exc_cell": "XX"})
