"""Content hashes of configs and the identities of systems (what makes two datasets comparable)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from livn_rl.data.sampling import build_meta
from livn_rl.identity import canonical, config_differences, config_hash
from livn_rl.systems import PREDEFINED, load_config, make_system, system_config

#: build_meta's arguments for a small dataset (it checks them and builds the system, but simulates nothing)
META = dict(samples=10, window_ms=50.0, trials_per_episode=5, noise=True, seed=0, n_copies=2, dt_ms=0.1, command="test")


def test_config_hash_is_canonical_and_survives_json():
    config = {"name": "S1", "width_um": 200, "z_range_um": (5.0, 20.0), "weights": np.array([0.5, 1.0], np.float32),
              "kinetics": {"tau_ms": np.float64(3.0), "on": np.bool_(True)}, "limit": float("inf")}
    same = {"limit": "inf", "kinetics": {"on": True, "tau_ms": 3}, "weights": [0.5, 1], "z_range_um": [5, 20],
            "width_um": 200.0, "name": "S1"}
    assert config_hash(config) == config_hash(same)  # key order, number types and containers do not matter
    assert config_hash(config).startswith("sha256:") and len(config_hash(config)) == 7 + 64
    stored = json.loads(json.dumps(canonical(config)))
    assert config_hash(stored) == config_hash(config)  # a hash written to a file can be recomputed from the config
    assert config_hash({**same, "width_um": 200.5}) != config_hash(config)
    assert config_differences(config, {**same, "width_um": 300, "kinetics": {"on": False, "tau_ms": 3}}) == [
        ("width_um", 200, 300), ("kinetics.on", True, False)]
    with pytest.raises(TypeError, match="not object"):
        config_hash({"system": object()})


def test_cultures_of_one_name_with_other_seeds_or_connectivity_have_other_identities():
    s1 = build_meta("S1", "pulse", **META)
    reseeded = build_meta({**PREDEFINED["S1"], "seed": 1}, "pulse", **META)
    rewired = build_meta({**PREDEFINED["S1"], "k_in_exc": 3}, "pulse", **META)
    assert s1["system"]["name"] == reseeded["system"]["name"] == rewired["system"]["name"] == "S1"
    hashes = {s1["content_hash"], reseeded["content_hash"], rewired["content_hash"]}
    assert len(hashes) == 3
    assert s1["identity"]["system"]["config"] == canonical(system_config("S1").to_dict())  # the full config itself
    assert config_differences(s1["identity"], reseeded["identity"]) == [("system.config.seed", 0, 1)]
    # everything else that makes the trials is in it too
    assert build_meta("S1", {"name": "pulse", "max_amplitude_ua": 5.0}, **META)["content_hash"] != s1["content_hash"]
    for changed in ({"window_ms": 20.0}, {"dt_ms": 0.05}, {"noise": False}):
        assert build_meta("S1", "pulse", **{**META, **changed})["content_hash"] != s1["content_hash"], changed
    assert build_meta("S1", "pulse", **{**META, "seed": 7})["content_hash"] == s1["content_hash"]  # draws, not identity
    assert set(s1["identity"]["code"]) == {"livn_rl", "brian2"}


def test_a_culture_that_extends_S2_without_a_name_is_not_called_S2(tmp_path):
    path = tmp_path / "sparse.yaml"
    path.write_text(yaml.safe_dump({"extends": "S2", "k_in_exc": 15}))
    config = load_config(path)
    assert config.name == "sparse" and "S2" in config.description and config.k_in_exc == 15
    meta = build_meta(path, "pulse", **META)
    assert meta["system"]["name"] == "sparse" and meta["system"]["spec"] == str(path)
    assert meta["content_hash"] != build_meta("S2", "pulse", **META)["content_hash"]
    named = tmp_path / "named.yaml"
    named.write_text(yaml.safe_dump({"extends": "S2", "name": "sparse_S2", "description": "mine"}))
    assert (load_config(named).name, load_config(named).description) == ("sparse_S2", "mine")


@pytest.mark.parametrize("spec, kwargs", [("LIF", {"n_neurons": 5}), ("Ring", {}), ("LateralLine", {"preset": "fast"})])
def test_reference_circuits_identify_what_builds_them(spec, kwargs):
    system = make_system(spec, **kwargs)
    identity = system.identity()
    assert identity["class"].endswith(type(system).__name__)
    assert config_hash(identity) == config_hash(make_system(spec, **kwargs).identity())  # deterministic
    changed = {"LIF": {"n_neurons": 5, "tau": "20 ms"}, "Ring": {"j_ee": 1.1}, "LateralLine": {"preset": "fast", "seed": 1}}
    assert config_hash(make_system(spec, **changed[spec]).identity()) != config_hash(identity)
