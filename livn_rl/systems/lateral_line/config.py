"""The lateral-line circuit's configuration: nested dataclasses, two presets, dotted overrides and their checks.

Every parameter has a plain unit in its name (``_cm``, ``_ms``, ``_hz``, ``_mv``) so that a config is plain JSON
(``params.json`` of a run is :meth:`LateralLineConfig.to_dict`). Overrides are dotted ``section.field=value``
strings, as the CLI's ``--set`` takes them:

>>> config = preset("fast").with_overrides(["mon.n=400", "source.distance_range_cm=[1.0, 2.0]"])
>>> config.mon.n
400
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, is_dataclass, replace
from typing import Any

from livn_rl.checks import check_number, check_whole

__all__ = [
    "LateralLineConfig", "LineConfig", "MONConfig", "NeuronConfig", "PRESETS", "RATE_MODES", "STDPConfig",
    "SourceConfig", "TEST_MODES", "TSConfig", "TrainingConfig", "preset", "validate",
]

RATE_MODES = ("raw", "modulation")
TEST_MODES = ("sweep", "snapshots")


@dataclass(frozen=True)
class LineConfig:
    """The lateral line: ``n`` afferents evenly along a body of ``body_length_cm``.

    :param n: number of afferents (neuromasts), evenly spaced from head (0) to tail (``body_length_cm``)
    :param body_length_cm: length of the lateral line (cm)
    :param baseline_rate_hz: spontaneous rate of every afferent (Hz)
    :param gain_hz: rate change for a drive of 1, the peak drive of a source at ``source.reference_distance_cm`` (Hz)
    :param max_rate_hz: ceiling of an afferent's rate (Hz)
    :param rate_mode: ``"raw"`` (rate follows the drive's amplitude) or ``"modulation"`` (rate oscillates at the
        vibration frequency with the signed drive: afferents on opposite lobes fire in antiphase)
    :param baseline_subtraction: subtract the drive common to all afferents (its mean over the line) before the gain
    :param rate_gain: factor on every afferent's rate (baseline, drive and noise) before the Poisson draw
    :param baseline_subtract_hz: rate subtracted from every afferent's rate after ``rate_gain``, before the Poisson
        draw (Hz; rates stay >= 0)
    """

    n: int = 100
    body_length_cm: float = 10.0
    baseline_rate_hz: float = 5.0
    gain_hz: float = 150.0
    max_rate_hz: float = 300.0
    rate_mode: str = "raw"
    baseline_subtraction: bool = True
    rate_gain: float = 1.0
    baseline_subtract_hz: float = 0.0


@dataclass(frozen=True)
class SourceConfig:
    """The vibrating sphere (a dipole source) beside the fish.

    :param sphere_radius_cm: radius ``a`` of the sphere (cm)
    :param vibration_hz: vibration frequency (Hz)
    :param vibration_amplitude_cm: displacement amplitude of the sphere (cm)
    :param vibration_angle_deg: direction of vibration against the body axis (0: parallel, 90: perpendicular)
    :param reference_distance_cm: distance whose peak drive is 1 (the gain's reference, cm)
    :param distance_range_cm: ``[min, max]`` distance ``Y`` of training sources from the line (cm)
    :param test_distance_cm: distance of the test sweep or snapshots (cm)
    :param speed_cm_s: speed ``u`` of the test sweep along the body (cm/s)
    """

    sphere_radius_cm: float = 0.5
    vibration_hz: float = 50.0
    vibration_amplitude_cm: float = 0.01
    vibration_angle_deg: float = 0.0
    reference_distance_cm: float = 1.0
    distance_range_cm: tuple[float, float] = (0.8, 1.5)
    test_distance_cm: float = 1.0
    speed_cm_s: float = 10.0


@dataclass(frozen=True)
class NeuronConfig:
    """Leaky integrate-and-fire parameters of MON, TS and the inhibitory pool (current-based exponential synapses).

    :param tau_m_ms: membrane time constant (ms)
    :param v_rest_mv: resting potential (mV)
    :param v_th_mv: threshold (mV)
    :param v_reset_mv: reset potential (mV)
    :param t_ref_ms: refractory period (ms)
    :param tau_e_ms: decay of excitatory synaptic input (ms)
    :param tau_i_ms: decay of inhibitory synaptic input (ms)
    """

    tau_m_ms: float = 10.0
    v_rest_mv: float = -65.0
    v_th_mv: float = -50.0
    v_reset_mv: float = -65.0
    t_ref_ms: float = 2.0
    tau_e_ms: float = 5.0
    tau_i_ms: float = 10.0


@dataclass(frozen=True)
class STDPConfig:
    """Pair-based STDP with exponential traces and a weight ceiling.

    :param enabled: whether the synapses learn during training
    :param a_pre_mv: weight increase per pre-before-post pair at zero delay (mV)
    :param a_post_mv: weight change per post-before-pre pair at zero delay (mV, negative: depression)
    :param tau_pre_ms: decay of the presynaptic trace (ms)
    :param tau_post_ms: decay of the postsynaptic trace (ms)
    :param w_max_mv: weight ceiling (mV)
    :param normalise: after every training trial, scale each postsynaptic neuron's incoming weights back to
        their initial sum (multiplicative synaptic scaling: what one input gains, the others lose)
    """

    enabled: bool = True
    a_pre_mv: float = 0.1
    a_post_mv: float = -0.08
    tau_pre_ms: float = 20.0
    tau_post_ms: float = 20.0
    w_max_mv: float = 4.0
    normalise: bool = False


@dataclass(frozen=True)
class MONConfig:
    """The medial octavolateral nucleus and its topographic input from the line.

    :param n: number of MON neurons, evenly along the body
    :param fan_in: afferents per MON neuron, drawn near it
    :param sigma_cm: spread of the afferents a MON neuron samples (cm)
    :param p_connect: probability that each drawn afferent connects (the rest are dropped)
    :param topography: strength of the topography in [0, 1]: afferents are drawn from ``topography`` times the
        Gaussian profile plus ``1 - topography`` times a uniform one (1: purely topographic, 0: random)
    :param weight_mv: LL -> MON weight (mV)
    :param global_inhibition_mv: inhibition of every MON neuron per afferent spike (mV; 0: none)
    :param background_rate_hz: rate of the background Poisson input to each MON neuron (Hz)
    :param background_weight_mv: weight of a background event (mV)
    :param stdp: STDP on LL -> MON (off by default)
    """

    n: int = 3200
    fan_in: int = 8
    sigma_cm: float = 0.3
    p_connect: float = 1.0
    topography: float = 1.0
    weight_mv: float = 6.0
    global_inhibition_mv: float = 0.02
    background_rate_hz: float = 500.0
    background_weight_mv: float = 0.5
    stdp: STDPConfig = field(default_factory=lambda: STDPConfig(enabled=False, w_max_mv=8.0))


@dataclass(frozen=True)
class TSConfig:
    """The torus semicircularis, its weakly topographic input from MON and its inhibition.

    :param n: number of TS neurons; TS neuron ``k`` nominally maps position ``(k + 1/2) / n`` of the body
    :param out_degree: TS targets of each MON neuron
    :param sigma_cm: spread of a MON neuron's targets around its own position (cm; large: weakly topographic)
    :param topography: strength of that topography in [0, 1], as :attr:`MONConfig.topography`
    :param gain_mv: EPSP of a MON -> TS synapse per unit of weight (mV). MON -> TS weights, their STDP steps and
        ceiling are in units of weight, named ``_mv`` because at the default gain a unit of weight is 1 mV
    :param w_init_range_mv: ``[min, max]`` of the uniformly drawn initial MON -> TS weights (units of weight)
    :param lateral_radius: reach of the lateral inhibition, as a fraction of the TS map (``lateral_radius * n``
        TS neurons)
    :param lateral_peak_mv: lateral inhibition between neighbours, falling linearly to 0 at the radius (mV)
    :param feedback_inhibition: whether a global inhibitory pool, driven by TS, inhibits TS
    :param n_inhibitory: size of that pool
    :param p_ts_to_pool: probability of each TS -> pool connection
    :param ts_to_pool_mv: TS -> pool weight (mV)
    :param pool_to_ts_mv: pool -> TS weight (mV)
    :param background_rate_hz: rate of the background Poisson input to each TS neuron (Hz)
    :param background_weight_mv: weight of a background event (mV)
    :param stdp: STDP on MON -> TS
    """

    n: int = 300
    out_degree: int = 12
    sigma_cm: float = 4.0
    topography: float = 1.0
    gain_mv: float = 1.0
    w_init_range_mv: tuple[float, float] = (0.05, 2.0)
    lateral_radius: float = 0.25
    lateral_peak_mv: float = 2.0
    feedback_inhibition: bool = True
    n_inhibitory: int = 20
    p_ts_to_pool: float = 0.5
    ts_to_pool_mv: float = 4.0
    pool_to_ts_mv: float = 0.5
    background_rate_hz: float = 2000.0
    background_weight_mv: float = 1.0
    stdp: STDPConfig = field(default_factory=STDPConfig)


@dataclass(frozen=True)
class TrainingConfig:
    """Training trials (source held at a sampled position and distance) and the test after training.

    :param n_trials: number of training trials (0: test the untrained network)
    :param trial_ms: source-on time of a trial (ms)
    :param rest_ms: quiet time after each trial, for the traces to decay (ms)
    :param noise_start_hz: SD of Gaussian noise on each afferent's rate in the first trial (Hz)
    :param noise_end_hz: the same in the last trial (annealed linearly in between)
    :param learning_rate_end: STDP amplitudes in the last trial relative to the first (annealed linearly, as a
        self-organising map's learning rate, so that the last trials do not overwrite the map)
    :param test_mode: ``"sweep"`` (the source moves along the body at ``source.speed_cm_s``) or ``"snapshots"``
        (held at ``test_positions`` evenly spaced positions)
    :param test_window_ms: decoding window of the test (ms)
    :param test_positions: number of held positions in snapshot mode
    :param test_repeats: repeats of the test sweep or snapshots (for the trial-to-trial variability)
    :param plastic_test: whether STDP stays on during the test (off: weights frozen)
    :param min_spikes: TS spikes a window needs for a valid population-vector estimate
    :param dt_ms: integration time step (ms)
    """

    n_trials: int = 1000
    trial_ms: float = 400.0
    rest_ms: float = 50.0
    noise_start_hz: float = 20.0
    noise_end_hz: float = 2.0
    learning_rate_end: float = 1.0
    test_mode: str = "sweep"
    test_window_ms: float = 25.0
    test_positions: int = 20
    test_repeats: int = 4
    plastic_test: bool = False
    min_spikes: int = 3
    dt_ms: float = 0.1


@dataclass(frozen=True)
class LateralLineConfig:
    """Everything that defines one lateral-line run (see the section classes)."""

    line: LineConfig = field(default_factory=LineConfig)
    source: SourceConfig = field(default_factory=SourceConfig)
    neuron: NeuronConfig = field(default_factory=NeuronConfig)
    mon: MONConfig = field(default_factory=MONConfig)
    ts: TSConfig = field(default_factory=TSConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)

    def __post_init__(self) -> None:
        validate(self)

    # ---------------------------------------------------------------------------------------------- conversions
    def to_dict(self) -> dict:
        """Plain, JSON-serialisable nested dict (tuples become lists)."""
        return json.loads(json.dumps(asdict(self)))

    @classmethod
    def from_dict(cls, data: dict) -> "LateralLineConfig":
        """The config of a nested dict such as :meth:`to_dict` returns (missing fields keep their defaults)."""
        return _from_dict(cls, data, "")

    def with_overrides(self, overrides: list[str] | dict[str, Any]) -> "LateralLineConfig":
        """A copy with dotted overrides applied: ``["mon.n=400", "ts.stdp.enabled=false"]`` or a dict of them.

        Values are read as JSON (``400``, ``0.5``, ``true``, ``[1, 2]``), falling back to the plain string
        (``raw``), then checked against the field's type.
        """
        items = overrides.items() if isinstance(overrides, dict) else [_split(text) for text in overrides]
        data = self.to_dict()
        for path, value in items:
            _assign(data, path, value)
        return LateralLineConfig.from_dict(data)

    def without_stdp(self) -> "LateralLineConfig":
        """The control: the same network with every STDP switched off."""
        return replace(
            self,
            mon=replace(self.mon, stdp=replace(self.mon.stdp, enabled=False)),
            ts=replace(self.ts, stdp=replace(self.ts.stdp, enabled=False)),
        )


def preset(name: str) -> LateralLineConfig:
    """A named preset: ``"full"`` (100 LL, 3,200 MON, 300 TS, 1,000 trials) or ``"fast"`` (800 MON, 80 TS, 40
    shorter trials, a few minutes on two cores)."""
    if name == "full":
        return LateralLineConfig()
    if name == "fast":
        base = LateralLineConfig()
        return replace(
            base,
            mon=replace(base.mon, n=800),
            ts=replace(base.ts, n=80, n_inhibitory=10),
            training=replace(base.training, n_trials=40, trial_ms=250.0, rest_ms=30.0),
        )
    raise ValueError(f"unknown lateral-line preset {name!r}; choose 'full' or 'fast'")


PRESETS = ("full", "fast")


# ------------------------------------------------------------------------------------------------- validation
def validate(config: LateralLineConfig) -> None:
    """Raise ``ValueError`` naming the first bad value and what was expected."""
    line, source, neuron, mon, ts, training = (
        config.line, config.source, config.neuron, config.mon, config.ts, config.training,
    )
    check_whole("line.n", line.n, 2)
    check_number("line.body_length_cm", line.body_length_cm, 0.0, low_open=True)
    check_number("line.baseline_rate_hz", line.baseline_rate_hz, 0.0)
    check_number("line.gain_hz", line.gain_hz, 0.0)
    check_number("line.max_rate_hz", line.max_rate_hz, 0.0, low_open=True)
    _choice("line.rate_mode", line.rate_mode, RATE_MODES)
    _flag("line.baseline_subtraction", line.baseline_subtraction)
    check_number("line.rate_gain", line.rate_gain, 0.0)
    check_number("line.baseline_subtract_hz (a rate)", line.baseline_subtract_hz, 0.0)

    check_number("source.sphere_radius_cm (a sphere radius)", source.sphere_radius_cm, 0.0, low_open=True)
    check_number("source.vibration_hz", source.vibration_hz, 0.0, low_open=True)
    check_number("source.vibration_amplitude_cm", source.vibration_amplitude_cm, 0.0, low_open=True)
    check_number("source.vibration_angle_deg", source.vibration_angle_deg, -360.0, 360.0)
    check_number("source.reference_distance_cm (a distance)", source.reference_distance_cm, 0.0, low_open=True)
    low, high = _pair("source.distance_range_cm", source.distance_range_cm)
    check_number("source.distance_range_cm min (a distance)", low, 0.0, low_open=True)
    if low > high:
        raise ValueError(f"source.distance_range_cm must be [min, max] with min <= max, got {list(source.distance_range_cm)}")
    check_number("source.test_distance_cm (a distance)", source.test_distance_cm, 0.0, low_open=True)
    check_number("source.speed_cm_s (a speed)", source.speed_cm_s, 0.0, low_open=True)

    check_number("neuron.tau_m_ms", neuron.tau_m_ms, 0.0, low_open=True)
    check_number("neuron.t_ref_ms", neuron.t_ref_ms, 0.0)
    check_number("neuron.tau_e_ms", neuron.tau_e_ms, 0.0, low_open=True)
    check_number("neuron.tau_i_ms", neuron.tau_i_ms, 0.0, low_open=True)
    for name in ("v_rest_mv", "v_th_mv", "v_reset_mv"):
        check_number(f"neuron.{name}", getattr(neuron, name))
    if not neuron.v_reset_mv < neuron.v_th_mv:
        raise ValueError(f"neuron.v_reset_mv must be below neuron.v_th_mv ({neuron.v_th_mv}), got {neuron.v_reset_mv}")

    check_whole("mon.n", mon.n, 1)
    check_whole("mon.fan_in", mon.fan_in, 1)
    if mon.fan_in > line.n:
        raise ValueError(f"mon.fan_in must be at most line.n ({line.n}), got {mon.fan_in}")
    check_number("mon.sigma_cm", mon.sigma_cm, 0.0, low_open=True)
    check_number("mon.p_connect (a probability)", mon.p_connect, 0.0, 1.0)
    check_number("mon.topography (a strength)", mon.topography, 0.0, 1.0)
    check_number("mon.weight_mv", mon.weight_mv, 0.0)
    check_number("mon.global_inhibition_mv", mon.global_inhibition_mv, 0.0)
    check_number("mon.background_rate_hz", mon.background_rate_hz, 0.0)
    check_number("mon.background_weight_mv", mon.background_weight_mv, 0.0)
    _stdp("mon.stdp", mon.stdp)

    check_whole("ts.n", ts.n, 2)
    check_whole("ts.out_degree", ts.out_degree, 1)
    if ts.out_degree > ts.n:
        raise ValueError(f"ts.out_degree must be at most ts.n ({ts.n}), got {ts.out_degree}")
    check_number("ts.sigma_cm", ts.sigma_cm, 0.0, low_open=True)
    check_number("ts.topography (a strength)", ts.topography, 0.0, 1.0)
    check_number("ts.gain_mv", ts.gain_mv, 0.0)
    w_low, w_high = _pair("ts.w_init_range_mv", ts.w_init_range_mv)
    check_number("ts.w_init_range_mv min", w_low, 0.0)
    if w_low > w_high:
        raise ValueError(f"ts.w_init_range_mv must be [min, max] with min <= max, got {list(ts.w_init_range_mv)}")
    if w_high > ts.stdp.w_max_mv:
        raise ValueError(f"ts.w_init_range_mv max must not exceed ts.stdp.w_max_mv ({ts.stdp.w_max_mv}), got {w_high}")
    if mon.weight_mv > mon.stdp.w_max_mv:
        raise ValueError(f"mon.weight_mv must not exceed mon.stdp.w_max_mv ({mon.stdp.w_max_mv}), got {mon.weight_mv}")
    check_number("ts.lateral_radius", ts.lateral_radius, 0.0, 1.0)
    check_number("ts.lateral_peak_mv", ts.lateral_peak_mv, 0.0)
    _flag("ts.feedback_inhibition", ts.feedback_inhibition)
    check_whole("ts.n_inhibitory", ts.n_inhibitory, 1)
    check_number("ts.p_ts_to_pool (a probability)", ts.p_ts_to_pool, 0.0, 1.0)
    check_number("ts.ts_to_pool_mv", ts.ts_to_pool_mv, 0.0)
    check_number("ts.pool_to_ts_mv", ts.pool_to_ts_mv, 0.0)
    check_number("ts.background_rate_hz", ts.background_rate_hz, 0.0)
    check_number("ts.background_weight_mv", ts.background_weight_mv, 0.0)
    _stdp("ts.stdp", ts.stdp)

    check_whole("training.n_trials", training.n_trials, 0)
    dt = check_number("training.dt_ms", training.dt_ms, 0.0, 1.0, low_open=True)
    for name in ("trial_ms", "test_window_ms"):
        _duration(f"training.{name}", getattr(training, name), dt, positive=True)
    _duration("training.rest_ms", training.rest_ms, dt, positive=False)
    check_number("training.noise_start_hz", training.noise_start_hz, 0.0)
    check_number("training.noise_end_hz", training.noise_end_hz, 0.0)
    check_number("training.learning_rate_end", training.learning_rate_end, 0.0, 1.0)
    _choice("training.test_mode", training.test_mode, TEST_MODES)
    check_whole("training.test_positions", training.test_positions, 2)
    check_whole("training.test_repeats", training.test_repeats, 1)
    _flag("training.plastic_test", training.plastic_test)
    check_whole("training.min_spikes", training.min_spikes, 1)


def _stdp(name: str, stdp: STDPConfig) -> None:
    _flag(f"{name}.enabled", stdp.enabled)
    check_number(f"{name}.a_pre_mv", stdp.a_pre_mv, 0.0)
    check_number(f"{name}.a_post_mv", stdp.a_post_mv, high=0.0)
    check_number(f"{name}.tau_pre_ms", stdp.tau_pre_ms, 0.0, low_open=True)
    check_number(f"{name}.tau_post_ms", stdp.tau_post_ms, 0.0, low_open=True)
    check_number(f"{name}.w_max_mv", stdp.w_max_mv, 0.0, low_open=True)
    _flag(f"{name}.normalise", stdp.normalise)


def _flag(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false, got {value!r}")


def _choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")


def _pair(name: str, value: Any) -> tuple[float, float]:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise ValueError(f"{name} must be a pair [min, max], got {value!r}")
    return check_number(f"{name} min", value[0]), check_number(f"{name} max", value[1])


def _duration(name: str, value: Any, dt_ms: float, positive: bool) -> None:
    check_number(name, value, 0.0, low_open=positive)
    steps = value / dt_ms
    if abs(steps - round(steps)) > 1e-6 or abs(value - round(value)) > 1e-9:
        raise ValueError(f"{name} must be a whole number of ms (and of training.dt_ms={dt_ms}), got {value!r}")


# ---------------------------------------------------------------------------------------------- dict plumbing
def _from_dict(cls, data: Any, prefix: str):
    if not isinstance(data, dict):
        raise ValueError(f"{prefix or 'config'} must be a mapping of fields, got {data!r}")
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        where = f"section {prefix!r}" if prefix else "the config"
        raise ValueError(f"unknown parameter(s) {[f'{prefix}.{k}' if prefix else k for k in unknown]} in {where}; "
                         f"valid: {sorted(known)}")
    values = {}
    default = cls()
    for name, value in data.items():
        path = f"{prefix}.{name}" if prefix else name
        sub = getattr(default, name)
        if is_dataclass(sub):
            values[name] = _from_dict(type(sub), {**asdict(sub), **value} if isinstance(value, dict) else value, path)
        elif isinstance(sub, tuple):
            values[name] = tuple(
                float(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in value
            ) if isinstance(value, (list, tuple)) else value
        elif isinstance(sub, float) and isinstance(value, int) and not isinstance(value, bool):
            values[name] = float(value)
        else:
            values[name] = value
    return cls(**values)


def _split(text: str) -> tuple[str, Any]:
    if not isinstance(text, str) or "=" not in text:
        raise ValueError(f"an override must look like section.field=value (e.g. mon.n=400), got {text!r}")
    path, raw = text.split("=", 1)
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw.strip()
    return path.strip(), value


def _assign(data: dict, path: str, value: Any) -> None:
    keys = path.split(".")
    node = data
    for depth, key in enumerate(keys):
        if not isinstance(node, dict) or key not in node:
            where = ".".join(keys[:depth]) or "the config"
            valid = sorted(node) if isinstance(node, dict) else []
            raise ValueError(f"unknown parameter {path!r}: {where} has no {key!r}; valid: {valid}")
        if depth == len(keys) - 1:
            if isinstance(node[key], dict):
                raise ValueError(f"{path!r} is a section; set one of its fields ({sorted(node[key])})")
            node[key] = value
        else:
            node = node[key]
