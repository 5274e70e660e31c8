"""The original LateralLine script's parameters (``ll_stdp_brian2.py``: its ``--mode`` presets, its flags and their
``NetworkParams`` names) and how each maps onto :class:`~livn_rl.systems.lateral_line.config.LateralLineConfig`.

Most flags set one field as they are. Three are in other units there than here and are converted with the
network's sizes: ``--mon-ts-sigma`` and ``--ts-lateral-radius`` count TS neurons (here: cm and a fraction of the
TS map), and the training distances are the two ends of one ``[min, max]`` pair. Switches set a field to a fixed
value. ``--disable-all-stdp`` is not a parameter: it chooses the control run (the command handles it).

>>> from livn_rl.systems.lateral_line.config import preset
>>> config = apply_original(preset("fast"), {"mon_ts_sigma": 16.0, "n_training_trials": 0})
>>> config.ts.sigma_cm, config.training.n_trials       # 16 of 80 TS neurons on a 10 cm body
(2.0, 0)
>>> original_values(config)["mon_ts_sigma"]
16.0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from livn_rl.systems.lateral_line.config import LateralLineConfig

__all__ = ["MODES", "ORIGINAL_PARAMETERS", "OriginalParameter", "apply_original", "mode_preset", "original_values"]

#: The original's ``--mode`` names and the preset each means here (``full`` and ``fast`` are accepted as well).
MODES = {"ll_thesis": "full", "ll_fast": "fast"}


def mode_preset(mode: str) -> str:
    """The preset name of a mode: ``"ll_thesis"`` or ``"full"`` -> ``"full"``, ``"ll_fast"`` or ``"fast"`` ->
    ``"fast"``; ``ValueError`` for anything else."""
    if mode in MODES:
        return MODES[mode]
    if mode in MODES.values():
        return mode
    raise ValueError(f"unknown mode {mode!r}; choose one of {', '.join([*MODES, *MODES.values()])}")


def _same(value: Any, config: LateralLineConfig) -> Any:
    return value


def _cm_from_ts_indices(value: float, config: LateralLineConfig) -> float:
    return value * config.line.body_length_cm / config.ts.n


def _ts_indices_from_cm(value: float, config: LateralLineConfig) -> float:
    return round(value * config.ts.n / config.line.body_length_cm, 9)


def _fraction_from_ts_indices(value: float, config: LateralLineConfig) -> float:
    return value / config.ts.n


def _ts_indices_from_fraction(value: float, config: LateralLineConfig) -> float:
    return round(value * config.ts.n, 9)


@dataclass(frozen=True)
class OriginalParameter:
    """One of the original's parameters.

    :param flag: its command-line flag
    :param name: its name in the original's ``NetworkParams`` (``params.json``'s ``network_params``)
    :param path: the field it sets here (dotted, as ``--set`` takes it); ``[0]``/``[1]`` index a pair
    :param help: what it means (with the unit)
    :param kind: ``float``, ``int``, ``str`` or ``bool`` (a switch)
    :param fixed: for a one-way switch, the value it sets
    :param to_config: converts the original's value to this config's (given the config it goes into)
    :param from_config: the inverse, for writing the original's value from a config
    :param choices: allowed values of a ``str`` parameter
    """

    flag: str
    name: str
    path: str
    help: str
    kind: type = float
    fixed: Any = None
    to_config: Callable[[Any, LateralLineConfig], Any] = _same
    from_config: Callable[[Any, LateralLineConfig], Any] = _same
    choices: tuple[str, ...] | None = None


P = OriginalParameter
#: Every parameter flag of the original, in the order of its README.
ORIGINAL_PARAMETERS: tuple[OriginalParameter, ...] = (
    P("--n-training-trials", "n_training_trials", "training.n_trials", "number of training trials (>= 0; 0 tests the "
      "untrained network)", int),
    P("--distance-cm", "distance_cm", "source.test_distance_cm", "test distance Y of the source from the line (cm, > 0)"),
    P("--training-distance-min-cm", "training_distance_min_cm", "source.distance_range_cm[0]",
      "smallest training distance (cm)"),
    P("--training-distance-max-cm", "training_distance_max_cm", "source.distance_range_cm[1]",
      "largest training distance (cm)"),
    P("--ll-mon-topo", "ll_to_mon_topography_strength", "mon.topography", "LL->MON topography strength in [0, 1] "
      "(1: afferents drawn from the Gaussian profile, 0: at random)"),
    P("--mon-ts-topo", "mon_to_ts_topography_strength", "ts.topography", "MON->TS topography strength in [0, 1]"),
    P("--ll-rate-mode", "ll_rate_mode", "line.rate_mode", "LL drive: raw or modulation", str,
      choices=("raw", "modulation")),
    P("--ll-baseline-subtract-hz", "ll_baseline_subtract_hz", "line.baseline_subtract_hz",
      "rate subtracted from every LL rate before the Poisson drive (Hz, >= 0)"),
    P("--ll-rate-gain", "ll_rate_gain", "line.rate_gain", "factor on every LL rate (>= 0)"),
    P("--use-ll-mon-stdp", "use_ll_mon_stdp", "mon.stdp.enabled", "STDP on LL->MON as well", bool, fixed=True),
    P("--ll-mon-apre", "ll_mon_apre", "mon.stdp.a_pre_mv", "LL->MON presynaptic trace increment (mV)"),
    P("--ll-mon-apost", "ll_mon_apost", "mon.stdp.a_post_mv", "LL->MON postsynaptic trace increment (mV, <= 0)"),
    P("--ll-mon-wmax-mv", "ll_mon_wmax_mV", "mon.stdp.w_max_mv", "LL->MON weight ceiling (mV)"),
    P("--ll-mon-w-init-mv", "ll_mon_w_init_mV", "mon.weight_mv", "initial LL->MON weight (mV; here with or without "
      "STDP)"),
    P("--mon-ts-sigma", "mon_ts_sigma", "ts.sigma_cm", "spread of the weak MON->TS topography (TS neurons)",
      to_config=_cm_from_ts_indices, from_config=_ts_indices_from_cm),
    P("--mon-ts-out-degree", "mon_ts_out_degree", "ts.out_degree", "TS targets of each MON neuron", int),
    P("--ts-lateral-radius", "ts_lateral_radius", "ts.lateral_radius", "reach of the TS lateral inhibition (TS "
      "neurons)", to_config=_fraction_from_ts_indices, from_config=_ts_indices_from_fraction),
    P("--ts-local-inh-peak-mv", "ts_local_inh_peak_mV", "ts.lateral_peak_mv", "TS lateral inhibition between "
      "neighbours (mV)"),
    P("--use-ts-feedback-inh", "use_ts_feedback_inh", "ts.feedback_inhibition", "TS feedback inhibition through a "
      "global pool (on here by default; --no-use-ts-feedback-inh switches it off)", bool),
    P("--ts-feedback-drive-mv", "ts_feedback_drive_mV", "ts.ts_to_pool_mv", "TS -> pool weight (mV)"),
    P("--ts-feedback-inh-mv", "ts_feedback_inh_mV", "ts.pool_to_ts_mv", "pool -> TS weight (mV)"),
    P("--ts-feedback-p", "ts_feedback_p", "ts.p_ts_to_pool", "TS -> pool connection probability in [0, 1]"),
    P("--mon-global-inh-mv", "mon_global_inh_mV", "mon.global_inhibition_mv", "inhibition of every MON neuron per "
      "LL spike (mV)"),
    P("--mon-ts-gain-mv", "mon_ts_gain_mV", "ts.gain_mv", "MON->TS EPSP per unit of weight (mV)"),
    P("--bg-rate-mon-hz", "bg_rate_mon_hz", "mon.background_rate_hz", "MON background Poisson rate (Hz)"),
    P("--bg-rate-ts-hz", "bg_rate_ts_hz", "ts.background_rate_hz", "TS background Poisson rate (Hz)"),
    P("--bg-w-ts-mv", "bg_w_ts_mV", "ts.background_weight_mv", "TS background event weight (mV)"),
    P("--keep-mon-ts-stdp-during-test", "keep_mon_ts_stdp_during_test", "training.plastic_test", "keep STDP on "
      "during the test (default: frozen)", bool, fixed=True),
    P("--test-using-held-snapshots", "test_using_held_snapshots", "training.test_mode", "test on held snapshots "
      "instead of the sweep", bool, fixed="snapshots"),
)
del P

#: ``params.json`` also names the network's sizes and the sidecar's fields as the original does.
_DERIVED = {
    "n_ll": "line.n", "n_mon": "mon.n", "n_ts": "ts.n", "speed_cm_s": "source.speed_cm_s",
    "training_noise_scale_early": "training.noise_start_hz", "training_noise_scale_late": "training.noise_end_hz",
    "mon_ts_apre": "ts.stdp.a_pre_mv", "mon_ts_apost": "ts.stdp.a_post_mv", "mon_ts_wmax": "ts.stdp.w_max_mv",
}


def _get(config: LateralLineConfig, path: str) -> Any:
    node: Any = config
    name, _, index = path.partition("[")
    for key in name.split("."):
        node = getattr(node, key)
    return node[int(index.rstrip("]"))] if index else node


def apply_original(config: LateralLineConfig, values: dict[str, Any]) -> LateralLineConfig:
    """``config`` with the original's parameters set, given by their ``NetworkParams`` names (``None``: not given).

    Conversions use the sizes of ``config`` (apply size overrides first). Raises ``ValueError`` for an unknown name
    or a value this config refuses (the message names the field here).
    """
    by_name = {p.name: p for p in ORIGINAL_PARAMETERS}
    unknown = sorted(set(values) - set(by_name))
    if unknown:
        raise ValueError(f"unknown original parameter(s) {unknown}; valid: {sorted(by_name)}")
    overrides: dict[str, Any] = {}
    pairs: dict[str, list] = {}
    for name, value in values.items():
        if value is None or (value is False and by_name[name].fixed is not None):  # not given, or a switch left off
            continue
        parameter = by_name[name]
        value = parameter.fixed if parameter.fixed is not None else parameter.to_config(value, config)
        path, _, index = parameter.path.partition("[")
        if index:
            pair = pairs.setdefault(path, list(_get(config, path)))
            pair[int(index.rstrip("]"))] = value
        else:
            overrides[path] = value
    overrides.update(pairs)
    return config.with_overrides(overrides) if overrides else config


def original_values(config: LateralLineConfig) -> dict[str, Any]:
    """The original's ``NetworkParams`` names and values of ``config``: every flag's parameter (switches as true or
    false) and the sizes, speed, noise and MON->TS STDP the original's sidecar names."""
    values: dict[str, Any] = {name: _get(config, path) for name, path in _DERIVED.items()}
    for p in ORIGINAL_PARAMETERS:
        value = _get(config, p.path)
        if p.kind is bool and p.fixed is not None:
            value = value == p.fixed
        values[p.name] = p.from_config(value, config)
    return values
