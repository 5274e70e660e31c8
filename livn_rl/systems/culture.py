"""Cultured cortical networks on an MEA, generated deterministically from a small config and a seed.

Cells sit in a thin layer over the electrodes (uniform in x and y, a few um above the array). Each neuron draws its
inputs with probability proportional to ``exp(-d / length_constant_um)``, normalised so that every neuron expects
``k_in_exc`` excitatory and ``k_in_inh`` inhibitory inputs whatever its place in the dish. Weights are log-normal
around the config's means; delays are the synaptic latency plus distance over conduction velocity. Background is an
Ornstein-Uhlenbeck current per neuron on top of a constant bias.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace

import numpy as np

from livn_rl.identity import class_path
from livn_rl.mea import MEA
from livn_rl.systems.cells import (
    IZHIKEVICH_EQUATIONS,
    IZHIKEVICH_RESET,
    IZHIKEVICH_THRESHOLD,
    IzhikevichCell,
    cell_type,
)
from livn_rl.systems.synapses import SYNAPSE_MODEL, SYNAPSE_ON_PRE, SYNAPTIC_CURRENT_EQUATIONS, SynapseKinetics
from livn_rl.systems.system import STIMULUS_EQUATION, BuiltSystem, Population, System

__all__ = ["BACKGROUND_EQUATIONS", "CULTURE_EQUATIONS", "Culture", "CultureConfig", "generate_culture"]

BACKGROUND_EQUATIONS = """
dI_noise/dt = -I_noise/tau_noise + noise_sigma*noise_gain*sqrt(2/tau_noise)*xi : amp
I_bias : amp (constant)
noise_sigma : amp (constant)
noise_gain : 1 (shared)
"""

CULTURE_EQUATIONS = (
    IZHIKEVICH_EQUATIONS
    + SYNAPTIC_CURRENT_EQUATIONS
    + BACKGROUND_EQUATIONS
    + STIMULUS_EQUATION
    + "\nI_in = I_syn + I_noise + I_bias + I_stim : amp\n"
)


@dataclass(frozen=True)
class CultureConfig:
    """Everything that defines a culture. Unknown keys and impossible values are rejected.

    :param name: system name
    :param n_exc: number of excitatory (regular-spiking) neurons
    :param n_inh: number of inhibitory (fast-spiking) neurons
    :param width_um: extent of the culture along x (um), centred on 0
    :param height_um: extent along y (um), centred on 0
    :param z_range_um: soma heights above the electrode plane (um)
    :param exc_cell: excitatory cell type (name or Izhikevich parameter dict)
    :param inh_cell: inhibitory cell type
    :param k_in_exc: expected excitatory inputs per neuron (capped at the number available)
    :param k_in_inh: expected inhibitory inputs per neuron
    :param length_constant_um: decay length of the connection probability (um)
    :param w_ee_nS: mean E->E weight (nS; the absolute efficacy: a spike releases ``U_release`` of it); likewise ``w_ei_nS`` (E->I), ``w_ie_nS`` (I->E), ``w_ii_nS`` (I->I)
    :param weight_cv: coefficient of variation of the log-normal weights
    :param conduction_velocity_um_per_ms: axonal conduction velocity (um/ms)
    :param synaptic_latency_ms: delay added to every connection (ms)
    :param bias_exc_pA: constant input current to excitatory cells (pA); likewise ``bias_inh_pA``
    :param noise_exc_pA: SD of the OU background current of excitatory cells (pA); likewise ``noise_inh_pA``
    :param noise_tau_ms: correlation time of the background current (ms)
    :param kinetics: receptor kinetics and short-term depression
    :param mea: default electrode grid: ``{"rows", "cols", "pitch_um"}`` plus any :class:`~livn_rl.mea.MEA` field
    :param seed: seed of the structure (positions, connectivity, weights, heterogeneity)
    :param description: one line for listings
    """

    name: str
    n_exc: int
    n_inh: int
    width_um: float
    height_um: float
    z_range_um: tuple[float, float] = (5.0, 20.0)
    exc_cell: str | dict = "RS"
    inh_cell: str | dict = "FS"
    k_in_exc: int = 30
    k_in_inh: int = 8
    length_constant_um: float = 200.0
    w_ee_nS: float = 12.0
    w_ei_nS: float = 6.0
    w_ie_nS: float = 3.0
    w_ii_nS: float = 2.0
    weight_cv: float = 0.5
    conduction_velocity_um_per_ms: float = 300.0
    synaptic_latency_ms: float = 0.5
    bias_exc_pA: float = 0.0
    bias_inh_pA: float = 0.0
    noise_exc_pA: float = 60.0
    noise_inh_pA: float = 40.0
    noise_tau_ms: float = 5.0
    kinetics: SynapseKinetics = field(default_factory=SynapseKinetics)
    mea: dict = field(default_factory=lambda: {"rows": 4, "cols": 4, "pitch_um": 200.0})
    seed: int = 0
    description: str = ""

    def __post_init__(self) -> None:
        def fail(key: str, expected: str) -> None:
            raise ValueError(f"culture {self.name!r}: {key}={getattr(self, key)!r} is invalid; expected {expected}")

        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"culture name must be a non-empty string, got {self.name!r}")
        for key in ("n_exc", "n_inh", "k_in_exc", "k_in_inh", "seed"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                fail(key, "a whole number >= 0")
        if self.n_exc + self.n_inh < 1:
            fail("n_exc", "at least one neuron in total")
        positive = (
            "width_um", "height_um", "length_constant_um", "conduction_velocity_um_per_ms", "noise_tau_ms",
        )
        non_negative = (
            "w_ee_nS", "w_ei_nS", "w_ie_nS", "w_ii_nS", "weight_cv", "synaptic_latency_ms",
            "noise_exc_pA", "noise_inh_pA",
        )
        for key in positive + non_negative:
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
                fail(key, "a finite number")
            if key in positive and value <= 0:
                fail(key, "a number > 0")
            if key in non_negative and value < 0:
                fail(key, "a number >= 0")
        z0, z1 = self.z_range_um
        if not (np.isfinite(z0) and np.isfinite(z1) and 0 <= z0 <= z1):
            fail("z_range_um", "(low, high) with 0 <= low <= high")
        cell_type(self.exc_cell), cell_type(self.inh_cell)  # noqa: B018 - validates the cell types
        grid_keys = {"rows", "cols", "pitch_um"}
        if not isinstance(self.mea, dict) or not grid_keys <= set(self.mea):
            fail("mea", "a dict with rows, cols and pitch_um (and optional MEA fields)")
        allowed = grid_keys | {"center_um", "z_um"} | {f.name for f in fields(MEA)} - {"positions_um"}
        unknown = sorted(set(self.mea) - allowed)
        if unknown:
            raise ValueError(f"culture {self.name!r}: unknown mea key(s) {unknown}; valid keys are {sorted(allowed)}")
        grid = dict(self.mea)
        MEA.grid(grid.pop("rows"), grid.pop("cols"), grid.pop("pitch_um"), **grid)  # validates the values

    @classmethod
    def from_dict(cls, data: dict) -> "CultureConfig":
        """Build from plain data (a parsed YAML/JSON file), rejecting unknown keys with the list of valid ones."""
        if not isinstance(data, dict):
            raise ValueError(f"a culture config must be a mapping, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown culture config key(s) {unknown}; valid keys are {sorted(known)}")
        missing = sorted(k for k in ("name", "n_exc", "n_inh", "width_um", "height_um") if k not in data)
        if missing:
            raise ValueError(f"culture config is missing required key(s) {missing}")
        values = dict(data)
        if "kinetics" in values and isinstance(values["kinetics"], dict):
            values["kinetics"] = SynapseKinetics.from_dict(values["kinetics"])
        if "z_range_um" in values:
            values["z_range_um"] = tuple(values["z_range_um"])
        return cls(**values)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["z_range_um"] = list(self.z_range_um)
        return data

    def with_updates(self, **changes) -> "CultureConfig":
        return CultureConfig.from_dict({**self.to_dict(), **changes})


class Culture(System):
    """A cultured cortical network: excitatory RS and inhibitory FS Izhikevich cells on an MEA.

    Build one with :func:`generate_culture` (or ``livn_rl.make_system("S2")``).
    """

    def __init__(
        self,
        config: CultureConfig,
        positions_um: np.ndarray,
        exc_connections: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
        inh_connections: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
        mea: MEA,
    ) -> None:
        self.config = config
        self.name = config.name
        self.positions_um = positions_um
        exc, inh = cell_type(config.exc_cell), cell_type(config.inh_cell)
        self.cells: list[IzhikevichCell] = [exc, inh]
        exc_name = config.exc_cell if isinstance(config.exc_cell, str) else "custom"
        inh_name = config.inh_cell if isinstance(config.inh_cell, str) else "custom"
        self.populations = [
            Population("E", 0, config.n_exc, True, exc_name),
            Population("I", config.n_exc, config.n_exc + config.n_inh, False, inh_name),
        ]
        #: (pre, post, weight_nS, delay_ms) of excitatory and of inhibitory synapses
        self.exc_connections = exc_connections
        self.inh_connections = inh_connections
        self.mea = mea

    @property
    def n_synapses(self) -> int:
        return int(self.exc_connections[0].size + self.inh_connections[0].size)

    def _per_neuron(self, n_copies: int) -> dict[str, np.ndarray]:
        """Cell parameters and background of every neuron, tiled over copies."""
        from brian2 import pA

        cfg = self.config
        values: dict[str, list] = {}
        for pop, cell, bias, noise in zip(
            self.populations, self.cells, (cfg.bias_exc_pA, cfg.bias_inh_pA), (cfg.noise_exc_pA, cfg.noise_inh_pA)
        ):
            params = cell.brian2_values()
            params["I_bias"] = bias * pA
            params["noise_sigma"] = noise * pA
            params["excitatory"] = 1.0 if pop.excitatory else 0.0
            for key, quantity in params.items():
                values.setdefault(key, []).append(np.full(pop.size, float(quantity)))
        return {key: np.tile(np.concatenate(parts), n_copies) for key, parts in values.items()}

    def build(self, n_copies: int, namespace: dict, clock) -> BuiltSystem:
        from brian2 import NeuronGroup, Synapses, ms, nS

        cfg = self.config
        ns = {**cfg.kinetics.namespace(), "tau_noise": cfg.noise_tau_ms * ms, **namespace}
        neurons = NeuronGroup(
            self.n_neurons * n_copies,
            CULTURE_EQUATIONS,
            threshold=IZHIKEVICH_THRESHOLD,
            reset=IZHIKEVICH_RESET,
            method="euler",
            namespace=ns,
            clock=clock,
            name="neurons",
        )
        for key, value in self._per_neuron(n_copies).items():
            neurons.variables[key].set_value(value)
        neurons.noise_gain = 1.0
        synapses = Synapses(
            neurons, neurons, model=SYNAPSE_MODEL, on_pre=SYNAPSE_ON_PRE, namespace=ns, clock=clock, name="synapses"
        )
        pre, post, w, delay = (np.concatenate(parts) for parts in zip(self.exc_connections, self.inh_connections))
        if pre.size:
            offsets = np.repeat(np.arange(n_copies) * self.n_neurons, pre.size)
            synapses.connect(i=np.tile(pre, n_copies) + offsets, j=np.tile(post, n_copies) + offsets)
            synapses.w = np.tile(w, n_copies) * nS
            synapses.delay = np.tile(delay, n_copies) * ms
            synapses.x_res = 1.0
        else:  # an unconnected culture keeps the same objects, so it shares the compiled code of every other
            synapses.connect(False)
        objects = [neurons, synapses]
        return BuiltSystem(neurons=neurons, objects=objects)

    def initial_state(self, rng: np.random.Generator, n_copies: int) -> dict:
        params = self._per_neuron(n_copies)
        v_r = params["v_r"]
        v = v_r + rng.uniform(-5e-3, 5e-3, size=v_r.size)
        u = params["b"] * (v - v_r)
        i_noise = params["noise_sigma"] * rng.standard_normal(v_r.size)
        return {"v": v, "u": u, "I_noise": i_noise, "g_ampa": 0.0, "g_nmda": 0.0, "g_gaba": 0.0}

    def stimulus_gain(self) -> np.ndarray:
        """Each cell's capacitance over 100 pF: every cell type then sees the same voltage change from a pulse."""
        gain = np.empty(self.n_neurons)
        for pop, cell in zip(self.populations, self.cells):
            gain[pop.start : pop.stop] = cell.C_pF / 100.0
        return gain

    def set_background(self, built: BuiltSystem, enabled: bool) -> None:
        built.neurons.noise_gain = 1.0 if enabled else 0.0

    def identity(self) -> dict:
        return {"class": class_path(self), "config": self.config.to_dict()}

    def describe(self) -> dict:
        cfg = self.config
        return {
            **super().describe(),
            "description": cfg.description,
            "n_synapses": self.n_synapses,
            "mea_channels": self.mea.n_channels,
            "structure_seed": cfg.seed,
        }


def _lognormal(rng: np.random.Generator, mean: float, cv: float, size: int) -> np.ndarray:
    if mean == 0 or size == 0:
        return np.full(size, float(mean))
    if cv == 0:
        return np.full(size, float(mean))
    sigma2 = np.log1p(cv**2)
    return rng.lognormal(np.log(mean) - sigma2 / 2, np.sqrt(sigma2), size)


def _connect(
    rng: np.random.Generator,
    positions: np.ndarray,
    pre_pool: np.ndarray,
    k_in: int,
    length_constant_um: float,
    block: int = 512,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw inputs from ``pre_pool`` for every neuron; returns (pre, post, distance_um)."""
    n = positions.shape[0]
    pres, posts, dists = [], [], []
    if k_in == 0 or pre_pool.size == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, np.empty(0)
    pre_xyz = positions[pre_pool]
    pre_sq = (pre_xyz**2).sum(axis=1)
    for start in range(0, n, block):
        post = np.arange(start, min(n, start + block))
        post_xyz = positions[post]
        # |a - b|^2 = |a|^2 + |b|^2 - 2 a.b: one matrix product instead of an (n, m, 3) temporary
        d2 = (post_xyz**2).sum(axis=1)[:, None] + pre_sq[None, :] - 2.0 * post_xyz @ pre_xyz.T
        d = np.sqrt(np.maximum(d2, 0.0))
        weight = np.exp(-d / length_constant_um)
        weight[pre_pool[None, :] == post[:, None]] = 0.0  # no autapses
        k = min(k_in, pre_pool.size - int(np.isin(post[0], pre_pool)))
        p = np.minimum(1.0, k * weight / weight.sum(axis=1, keepdims=True))
        rows, cols = np.nonzero(rng.random(p.shape) < p)
        pres.append(pre_pool[cols])
        posts.append(post[rows])
        dists.append(d[rows, cols])
    return np.concatenate(pres), np.concatenate(posts), np.concatenate(dists)


_PLACEMENT_ATTEMPTS = 100


def generate_culture(config: CultureConfig, mea: MEA | None = None) -> Culture:
    """Generate the culture that ``config`` describes; the same config always gives the same culture.

    :param config: the culture's parameters, its ``seed`` included
    :param mea: electrode layout; defaults to the config's grid centred on the culture
    """
    rng = np.random.default_rng(config.seed)
    n = config.n_exc + config.n_inh
    default_layout = mea is None
    if default_layout:
        grid = dict(config.mea)
        mea = MEA.grid(grid.pop("rows"), grid.pop("cols"), grid.pop("pitch_um"), **grid)
    for _attempt in range(_PLACEMENT_ATTEMPTS):
        positions = np.column_stack(
            [
                rng.uniform(-config.width_um / 2, config.width_um / 2, n),
                rng.uniform(-config.height_um / 2, config.height_um / 2, n),
                rng.uniform(config.z_range_um[0], config.z_range_um[1], n),
            ]
        )
        # the default layout must reach cells on every electrode: redraw the (rare) dishes where it does not
        if not default_layout or np.all(mea.cells_in_reach(positions) > 0):
            break
    mea.check_coverage(positions)
    exc_pool, inh_pool = np.arange(config.n_exc), np.arange(config.n_exc, n)
    is_exc_post = np.arange(n) < config.n_exc

    def weighted(pre, post, dist, w_to_exc, w_to_inh):
        mean = np.where(is_exc_post[post], w_to_exc, w_to_inh)
        w = _lognormal(rng, 1.0, config.weight_cv, pre.size) * mean
        delay = config.synaptic_latency_ms + dist / config.conduction_velocity_um_per_ms
        return pre.astype(np.int64), post.astype(np.int64), w, delay

    exc = weighted(*_connect(rng, positions, exc_pool, config.k_in_exc, config.length_constant_um),
                   config.w_ee_nS, config.w_ei_nS)
    inh = weighted(*_connect(rng, positions, inh_pool, config.k_in_inh, config.length_constant_um),
                   config.w_ie_nS, config.w_ii_nS)
    return Culture(replace(config), positions, exc, inh, mea)
