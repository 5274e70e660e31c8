"""The lateral-line circuit as a livn_rl System: LL afferents -> MON -> TS, with STDP, inhibition and background.

All neurons live in one Brian2 group (so the engine records and stimulates them like any system), in contiguous
populations ``LL`` (Poisson afferents), ``MON``, ``TS`` and, with feedback inhibition, ``INH``. MON, TS and INH are
leaky integrate-and-fire neurons with current-based exponential synapses (``ve``, ``vi`` in volts)::

    tau_m dv/dt = V_rest - v + ve - vi + R I_stim        (held during t_ref)
    tau_e dve/dt = -ve,   tau_i dvi/dt = -vi
    v > V_th  ->  v <- V_reset

An afferent fires with probability ``rate dt`` per time step, ``rate = clip(rate_steady + rate_modulated sin(2 pi
f t), 0, 1 / dt)``; :meth:`LateralLineSystem.afferent_rates` turns a source position into those two per-neuron
variables, which the caller sets between engine steps (``Simulation.set_neuron_variable``). Background: each MON
and TS neuron receives Poisson events at ``background_rate_hz``, each adding ``background_weight_mv`` to ``ve``.

Connectivity is drawn with numpy from the system's ``seed`` (the Brian2 objects only copy it):

- LL -> MON, topographic: MON neuron ``m`` sits at ``x_m`` along the body and draws ``fan_in`` afferents without
  replacement with probability ~ ``exp(-(x - x_m)^2 / 2 sigma^2)``, each kept with ``p_connect`` (with a
  ``topography`` strength ``s`` below 1 the probability is ``s`` times that profile, normalised, plus ``(1 - s) / n``);
  every afferent spike also inhibits all MON neurons by ``global_inhibition_mv`` (feed-forward global inhibition);
- MON -> TS, weakly topographic: each MON neuron draws ``out_degree`` TS targets the same way with a wide
  ``ts.sigma_cm`` and ``ts.topography``; initial weights uniform in ``w_init_range_mv``; STDP (below); a spike adds
  ``gain * w`` to the target's ``ve`` (``ts.gain_mv`` per unit of weight; 1 for LL -> MON);
- TS -> TS lateral inhibition between neurons less than ``lateral_radius * n_TS`` apart, ``lateral_peak_mv`` for
  neighbours falling linearly to 0 at the radius;
- TS -> INH (probability ``p_ts_to_pool``) and INH -> every TS: activity-dependent feedback inhibition.

STDP (MON -> TS, and optionally LL -> MON) is pair-based with exponential traces: a presynaptic spike adds
``d_apre`` to ``apre`` and adds ``apost`` (<= 0) to ``w``; a postsynaptic spike adds ``d_apost`` to ``apost`` and ``apre``
to ``w``; ``w`` stays in ``[0, w_max]``. A shared ``plastic`` flag (0 or 1) freezes it without changing the code.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from livn_rl.identity import class_path, config_hash
from livn_rl.mea import MEA
from livn_rl.systems.lateral_line.config import LateralLineConfig, STDPConfig
from livn_rl.systems.lateral_line.hydrodynamics import afferent_positions_cm, afferent_rates
from livn_rl.systems.system import STIMULUS_EQUATION, BuiltSystem, Population, System

__all__ = [
    "BACKGROUND", "EQUATIONS", "LateralLineSystem", "PLASTIC", "PLASTIC_MODEL", "PLASTIC_ON_POST", "PLASTIC_ON_PRE",
    "ROW_UM", "THRESHOLD", "UM_PER_CM", "make_lateral_line",
]

#: Chip micrometres per centimetre of body: the populations are laid out as rows along the body on a 2 mm chip.
UM_PER_CM = 200.0
#: Row of each population on the chip (um).
ROW_UM = {"LL": 0.0, "MON": 300.0, "TS": 600.0, "INH": 900.0}

EQUATIONS = """
dv/dt = (V_rest - v + ve - vi + R*I_stim) / tau_m : volt (unless refractory)
dve/dt = -ve / tau_e : volt
dvi/dt = -vi / tau_i : volt
afferent : 1 (constant)
rate_steady : Hz
rate_modulated : Hz
vibration_hz : Hz (constant)
background_rate : Hz (constant)
background_weight : volt (constant)
background_on : 1 (shared)
tau_m : second (constant)
tau_e : second (constant)
tau_i : second (constant)
R : ohm (constant)
V_rest : volt (constant)
V_th : volt (constant)
V_reset : volt (constant)
t_ref : second (constant)
""" + STIMULUS_EQUATION

THRESHOLD = (
    "(afferent > 0.5 and rand() < clip(rate_steady + rate_modulated*sin(2*pi*vibration_hz*t), 0*Hz, 1/dt)*dt)"
    " or (afferent < 0.5 and v > V_th)"
)
BACKGROUND = "ve += background_on * background_weight * poisson(background_on * background_rate * dt)"

PLASTIC_MODEL = """
w : volt
gain : 1 (shared, constant)
w_max : volt (shared, constant)
d_apre : volt (shared, constant)
d_apost : volt (shared, constant)
tau_apre : second (shared, constant)
tau_apost : second (shared, constant)
plastic : 1 (shared)
dapre/dt = -apre / tau_apre : volt (event-driven)
dapost/dt = -apost / tau_apost : volt (event-driven)
"""
PLASTIC_ON_PRE = "ve_post += gain*w\napre += d_apre\nw = clip(w + plastic*apost, 0*volt, w_max)"
PLASTIC_ON_POST = "apost += d_apost\nw = clip(w + plastic*apre, 0*volt, w_max)"

#: The plastic projections, by key (``"ll_mon"``, ``"mon_ts"``).
PLASTIC = ("ll_mon", "mon_ts")


def _draw_targets(rng: np.random.Generator, source_x: np.ndarray, target_x: np.ndarray, k: int, sigma: float,
                  topography: float = 1.0) -> np.ndarray:
    """For each source, ``k`` distinct targets (``(n_source, k)``) drawn with probability ~ ``exp(-d^2 / 2 sigma^2)``,
    or, for a ``topography`` below 1, ``topography`` times that profile (normalised) plus ``(1 - topography) / n``.

    Uses the Gumbel top-k trick: the ``k`` largest ``log p + Gumbel`` keys are a draw without replacement.
    """
    log_p = -((source_x[:, None] - target_x[None, :]) ** 2) / (2.0 * sigma**2)
    if topography < 1.0:  # at 1 the profile is used as it is, so the default draw never depends on this branch
        log_profile = log_p - np.logaddexp.reduce(log_p, axis=1, keepdims=True)
        with np.errstate(divide="ignore"):
            log_p = np.logaddexp(np.log(topography) + log_profile, np.log((1.0 - topography) / target_x.size))
    keys = log_p + rng.gumbel(size=log_p.shape)
    return np.argpartition(-keys, k - 1, axis=1)[:, :k]


class LateralLineSystem(System):
    """The lateral-line reference circuit (see the module docstring).

    :param config: a :class:`~livn_rl.systems.lateral_line.config.LateralLineConfig` (default: the ``full`` preset)
    :param seed: seed of the connectivity and the initial weights
    :param weights: learned weights to start from, ``{"ll_mon": w_mv, "mon_ts": w_mv}`` (one value per synapse of
        this seed's connectivity, in mV), e.g. from a CLI artifact (:func:`load_artifact`)
    :param mea: electrode layout (default: 2 x ``min(8, n_TS)`` electrodes over the MON and TS rows)
    """

    name = "LateralLine"
    #: STDP weights are read and written between trials (:meth:`weights_mv`, :meth:`set_plasticity`), so the circuit
    #: runs on the runtime backend
    supports_standalone = False

    def __init__(self, config: LateralLineConfig | None = None, seed: int = 0, weights: dict | None = None,
                 mea: MEA | None = None) -> None:
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a whole number >= 0, got {seed!r}")
        self.config = config if config is not None else LateralLineConfig()
        self.seed = int(seed)
        c = self.config
        n_pool = c.ts.n_inhibitory if c.ts.feedback_inhibition else 0
        sizes = [("LL", c.line.n, True, "Poisson afferent"), ("MON", c.mon.n, True, "LIF"), ("TS", c.ts.n, True, "LIF")]
        if n_pool:
            sizes.append(("INH", n_pool, False, "LIF"))
        self.populations, start = [], 0
        for name, size, excitatory, cell in sizes:
            self.populations.append(Population(name, start, start + size, excitatory, cell))
            start += size
        self.body_x_cm = np.concatenate([self._spread(size) for _, size, _, _ in sizes])
        self.positions_um = np.column_stack([
            self.body_x_cm * UM_PER_CM,
            np.concatenate([np.full(size, ROW_UM[name]) for name, size, _, _ in sizes]),
            np.full(start, 10.0),
        ])
        self.connections = self._connect(np.random.default_rng(self.seed))
        if weights is not None:
            self._load_weights(weights)
        if mea is None:
            cols = min(8, c.ts.n)
            length = c.line.body_length_cm * UM_PER_CM
            x = (np.arange(cols) + 0.5) * length / cols
            mea = MEA(np.column_stack([np.tile(x, 2), np.repeat([ROW_UM["MON"], ROW_UM["TS"]], cols), np.zeros(2 * cols)]))
        self.mea = mea
        self.mea.check_coverage(self.positions_um)
        self.last_built: dict[str, Any] = {}
        self.n_copies_built = 0

    def _spread(self, size: int) -> np.ndarray:
        return (np.arange(size) + 0.5) * self.config.line.body_length_cm / size

    # ------------------------------------------------------------------------------------------- connectivity
    def _connect(self, rng: np.random.Generator) -> dict[str, dict[str, np.ndarray]]:
        """Per projection: presynaptic and postsynaptic indices (within one copy) and initial weights (mV)."""
        c = self.config
        ll, mon, ts = (self.population(p) for p in ("LL", "MON", "TS"))
        ll_x, mon_x, ts_x = afferent_positions_cm(c.line), self._spread(mon.size), self._spread(ts.size)
        connections = {}

        chosen = _draw_targets(rng, mon_x, ll_x, c.mon.fan_in, c.mon.sigma_cm, c.mon.topography)  # (n_MON, fan_in)
        keep = rng.random(chosen.shape) < c.mon.p_connect
        post = np.repeat(np.arange(mon.size), c.mon.fan_in).reshape(chosen.shape)
        connections["ll_mon"] = self._projection(ll.start + chosen[keep], mon.start + post[keep],
                                                 np.full(int(keep.sum()), c.mon.weight_mv))

        targets = _draw_targets(rng, mon_x, ts_x, c.ts.out_degree, c.ts.sigma_cm, c.ts.topography)  # (n_MON, out_degree)
        pre = np.repeat(np.arange(mon.size), c.ts.out_degree)
        low, high = c.ts.w_init_range_mv
        connections["mon_ts"] = self._projection(mon.start + pre, ts.start + targets.ravel(),
                                                 rng.uniform(low, high, pre.size))

        if c.mon.global_inhibition_mv > 0:
            pre, post = np.meshgrid(ll.indices, mon.indices, indexing="ij")
            connections["ll_mon_inhibition"] = self._projection(pre.ravel(), post.ravel(),
                                                                np.full(pre.size, c.mon.global_inhibition_mv))

        radius = round(c.ts.lateral_radius * ts.size, 9)  # a radius given in neurons (CLI) comes back whole
        distance = np.abs(np.arange(ts.size)[:, None] - np.arange(ts.size)[None, :])
        pre, post = np.nonzero((distance > 0) & (distance < radius))
        if pre.size and c.ts.lateral_peak_mv > 0:
            weight = c.ts.lateral_peak_mv * (1.0 - distance[pre, post] / radius)
            connections["ts_lateral"] = self._projection(ts.start + pre, ts.start + post, weight)

        if c.ts.feedback_inhibition:
            pool = self.population("INH")
            pre, post = np.nonzero(rng.random((ts.size, pool.size)) < c.ts.p_ts_to_pool)
            connections["ts_pool"] = self._projection(ts.start + pre, pool.start + post, np.full(pre.size, c.ts.ts_to_pool_mv))
            pre, post = np.meshgrid(pool.indices, ts.indices, indexing="ij")
            connections["pool_ts"] = self._projection(pre.ravel(), post.ravel(), np.full(pre.size, c.ts.pool_to_ts_mv))
        return connections

    @staticmethod
    def _projection(pre: np.ndarray, post: np.ndarray, weight_mv: np.ndarray) -> dict[str, np.ndarray]:
        return {"i": np.asarray(pre, np.int64), "j": np.asarray(post, np.int64), "w_mv": np.asarray(weight_mv, float)}

    def _load_weights(self, weights: dict) -> None:
        for key, values in weights.items():
            if key not in PLASTIC:
                raise ValueError(f"weights may hold {list(PLASTIC)}, got {key!r}")
            values = np.asarray(values, dtype=float)
            expected = self.connections[key]["w_mv"].shape
            if values.shape != expected:
                raise ValueError(
                    f"weights[{key!r}] has shape {values.shape}, but seed {self.seed} of this config has {expected} "
                    "synapses: load weights with the config and seed that learned them"
                )
            w_max = self._stdp(key).w_max_mv
            if not np.all(np.isfinite(values)) or values.min() < 0 or values.max() > w_max + 1e-9:
                raise ValueError(f"weights[{key!r}] must lie in [0, {w_max}] mV")
            self.connections[key]["w_mv"] = values.copy()

    def _stdp(self, key: str) -> STDPConfig:
        return self.config.mon.stdp if key == "ll_mon" else self.config.ts.stdp

    # -------------------------------------------------------------------------------------------------- input
    def afferent_rates(self, position_cm: float | None, distance_cm: float,
                       noise_hz: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Per-neuron ``rate_steady`` and ``rate_modulated`` (Hz, zero outside LL) for a source at ``position_cm``
        (``None``: no source), ``distance_cm`` from the line, plus optional per-afferent noise (Hz)."""
        steady, modulated = afferent_rates(self.config.line, self.config.source, position_cm, distance_cm, noise_hz)
        full_steady, full_modulated = np.zeros(self.n_neurons), np.zeros(self.n_neurons)
        ll = self.population("LL")
        full_steady[ll.start : ll.stop] = steady
        full_modulated[ll.start : ll.stop] = modulated
        return full_steady, full_modulated

    # ------------------------------------------------------------------------------------------------- System
    def _per_neuron(self) -> dict[str, np.ndarray]:
        c, nc = self.config, self.config.neuron
        n = self.n_neurons
        values = {
            "afferent": np.zeros(n), "vibration_hz": np.full(n, c.source.vibration_hz),
            "background_rate": np.zeros(n), "background_weight": np.zeros(n),
            "tau_m": np.full(n, nc.tau_m_ms * 1e-3), "tau_e": np.full(n, nc.tau_e_ms * 1e-3),
            "tau_i": np.full(n, nc.tau_i_ms * 1e-3), "R": np.full(n, 1e8), "V_rest": np.full(n, nc.v_rest_mv * 1e-3),
            "V_th": np.full(n, nc.v_th_mv * 1e-3), "V_reset": np.full(n, nc.v_reset_mv * 1e-3),
            "t_ref": np.full(n, nc.t_ref_ms * 1e-3),
        }
        values["rate_steady"], _ = self.afferent_rates(None, 1.0)
        ll = self.population("LL")
        values["afferent"][ll.start : ll.stop] = 1.0
        values["t_ref"][ll.start : ll.stop] = 0.0
        for name, section in (("MON", c.mon), ("TS", c.ts)):
            pop = self.population(name)
            values["background_rate"][pop.start : pop.stop] = section.background_rate_hz
            values["background_weight"][pop.start : pop.stop] = section.background_weight_mv * 1e-3
        return values

    def build(self, n_copies: int, namespace: dict, clock) -> BuiltSystem:
        from brian2 import NeuronGroup, Synapses

        n = self.n_neurons
        neurons = NeuronGroup(n * n_copies, EQUATIONS, threshold=THRESHOLD, reset="v = V_reset", refractory="t_ref",
                              method="exponential_euler", namespace=dict(namespace), clock=clock,
                              name="lateral_line_neurons")
        for key, value in self._per_neuron().items():
            neurons.variables[key].set_value(np.tile(value, n_copies))
        neurons.background_on = 1.0
        background = neurons.run_regularly(BACKGROUND, name="lateral_line_background")
        built = {"neurons": neurons}
        objects = [neurons, background]
        offsets = np.arange(n_copies) * n
        for key, projection in self.connections.items():
            if not projection["i"].size:
                continue
            i = (projection["i"][None, :] + offsets[:, None]).ravel()
            j = (projection["j"][None, :] + offsets[:, None]).ravel()
            if key in PLASTIC:
                stdp = self._stdp(key)
                synapses = Synapses(neurons, neurons, PLASTIC_MODEL, on_pre=PLASTIC_ON_PRE, on_post=PLASTIC_ON_POST,
                                    clock=clock, name=f"lateral_line_{key}")
                synapses.connect(i=i, j=j)
                synapses.variables["gain"].set_value(self.config.ts.gain_mv if key == "mon_ts" else 1.0)
                synapses.variables["w_max"].set_value(stdp.w_max_mv * 1e-3)
                synapses.variables["d_apre"].set_value(stdp.a_pre_mv * 1e-3)
                synapses.variables["d_apost"].set_value(stdp.a_post_mv * 1e-3)
                synapses.variables["tau_apre"].set_value(stdp.tau_pre_ms * 1e-3)
                synapses.variables["tau_apost"].set_value(stdp.tau_post_ms * 1e-3)
                synapses.variables["plastic"].set_value(1.0 if stdp.enabled else 0.0)
            else:
                target = "vi" if key in ("ll_mon_inhibition", "ts_lateral", "pool_ts") else "ve"
                synapses = Synapses(neurons, neurons, "w : volt", on_pre=f"{target}_post += w", clock=clock,
                                    name=f"lateral_line_{key}")
                synapses.connect(i=i, j=j)
            synapses.variables["w"].set_value(np.tile(projection["w_mv"], n_copies) * 1e-3)
            built[key] = synapses
            objects.append(synapses)
        self.last_built = built
        self.n_copies_built = n_copies
        return BuiltSystem(neurons=neurons, objects=objects)

    def initial_state(self, rng: np.random.Generator, n_copies: int) -> dict[str, Any]:
        nc = self.config.neuron
        v = rng.uniform(nc.v_reset_mv, nc.v_th_mv, self.n_neurons * n_copies) * 1e-3
        return {"v": v, "ve": 0.0, "vi": 0.0}

    def set_background(self, built: BuiltSystem, enabled: bool) -> None:
        built.neurons.background_on = 1.0 if enabled else 0.0

    # ------------------------------------------------------------------------------------- plasticity access
    def set_plasticity(self, enabled: bool) -> None:
        """Switch STDP of the last built network on (only where the config enables it) or off, between steps."""
        for key in PLASTIC:
            if key in self.last_built:
                on = bool(enabled) and self._stdp(key).enabled
                self.last_built[key].variables["plastic"].set_value(1.0 if on else 0.0)

    def scale_learning_rate(self, factor: float) -> None:
        """Set the STDP amplitudes of the last built network to ``factor`` times the configured ones."""
        for key in PLASTIC:
            if key in self.last_built:
                stdp = self._stdp(key)
                self.last_built[key].variables["d_apre"].set_value(factor * stdp.a_pre_mv * 1e-3)
                self.last_built[key].variables["d_apost"].set_value(factor * stdp.a_post_mv * 1e-3)

    def weights_mv(self, key: str = "mon_ts") -> np.ndarray:
        """The current weights (mV) of a projection of the last built network, ``(n_copies, n_synapses)``."""
        if key not in self.last_built:
            raise RuntimeError(f"projection {key!r} is not built; build the system (e.g. Simulation(system)) first")
        values = np.asarray(self.last_built[key].variables["w"].get_value()) * 1e3
        return values.reshape(self.n_copies_built, -1)

    def normalise_incoming(self, key: str, target_sum_mv: np.ndarray) -> None:
        """Scale each postsynaptic neuron's incoming weights of projection ``key`` (every copy) so that they sum to
        ``target_sum_mv`` (one value per neuron of the copy), within the weight ceiling."""
        projection = self.connections[key]
        post = projection["j"]
        weights = self.weights_mv(key)  # (copies, synapses)
        sums = np.stack([np.bincount(post, w, self.n_neurons) for w in weights])
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = np.where(sums > 0, np.asarray(target_sum_mv)[None, :] / sums, 1.0)
        scaled = np.clip(weights * factor[:, post], 0.0, self._stdp(key).w_max_mv)
        self.last_built[key].variables["w"].set_value(scaled.ravel() * 1e-3)

    def incoming_sums_mv(self, key: str) -> np.ndarray:
        """The built-in (initial) summed incoming weight of projection ``key`` per neuron of one copy (mV)."""
        projection = self.connections[key]
        return np.bincount(projection["j"], projection["w_mv"], self.n_neurons)

    def identity(self) -> dict:
        # the plastic weights (the seed's or loaded ones) by their hash: thousands of values do not belong in a card
        return {"class": class_path(self), "config": self.config.to_dict(), "seed": self.seed,
                "weights_mv_hash": {key: config_hash(self.connections[key]["w_mv"]) for key in PLASTIC}}

    def describe(self) -> dict:
        c = self.config
        return {
            **super().describe(),
            "description": (f"lateral line: {c.line.n} afferents -> {c.mon.n} MON -> {c.ts.n} TS with STDP on MON->TS"
                            + (", feedback inhibition" if c.ts.feedback_inhibition else "")),
            "model": "LateralLine",
            "synapses": {key: int(p["i"].size) for key, p in self.connections.items()},
            "stdp": {"ll_mon": c.mon.stdp.enabled, "mon_ts": c.ts.stdp.enabled},
            "parameters": {
                "seed": self.seed, "body_length_cm": c.line.body_length_cm, "rate_mode": c.line.rate_mode,
                "mon_ts_sigma_cm": c.ts.sigma_cm, "mon_ts_out_degree": c.ts.out_degree,
                "stdp_a_pre_mv": c.ts.stdp.a_pre_mv, "stdp_a_post_mv": c.ts.stdp.a_post_mv,
                "w_max_mv": c.ts.stdp.w_max_mv, "docs": "docs/lateral_line.md; livn-rl lateral-line --help",
            },
            "mea_channels": self.mea.n_channels,
        }


def make_lateral_line(mea: MEA | None = None, preset: str = "fast", seed: int = 0,
                      overrides: list[str] | dict | None = None, weights: dict | None = None) -> LateralLineSystem:
    """:class:`LateralLineSystem` by keyword (``make_system("LateralLine", preset="fast")`` calls this).

    :param mea: electrode layout (default: the system's own)
    :param preset: ``"fast"`` or ``"full"``
    :param seed: connectivity seed
    :param overrides: dotted parameter overrides (``["mon.n=400"]``)
    :param weights: learned weights (see :class:`LateralLineSystem`)
    """
    from livn_rl.systems.lateral_line.config import preset as named_preset

    config = named_preset(preset)
    if overrides:
        config = config.with_overrides(overrides)
    return LateralLineSystem(config, seed=seed, weights=weights, mea=mea)
