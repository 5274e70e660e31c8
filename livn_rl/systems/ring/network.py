"""Reference circuit 2: a ring attractor of Izhikevich neurons that holds a cued angle, under serotonin modulation.

``n_exc`` excitatory regular-spiking (RS) and ``n_inh`` inhibitory fast-spiking (FS) cells of the Izhikevich (2007)
simple model (:mod:`livn_rl.systems.cells`). Excitatory cell ``i`` prefers the angle ``theta_i = 360 i / n_exc``
degrees. Synapses open AMPA, NMDA (with the magnesium block), GABA_A and GABA_B conductances::

    I_syn = g_ampa (E_ampa - v) + g_nmda B(v) (E_nmda - v) + g_gaba_a (E_gaba_a - v) + g_gaba_b (E_gaba_b - v)
    B(v)  = 1 / (1 + [Mg]/3.57 exp(-0.062 v/mV))                                   (Jahr & Stevens 1990)
    C dv/dt = k (v - v_r)(v - v_t) - u + serotonin_gain * I_syn + I_ext + I_stim

E->E weights fall with the distance ``d`` on the ring as ``j_ee exp(-d^2 / sigma^2)``; E->I, I->E and I->I are
uniform (``j_ei``, ``j_ie``, ``j_ii``), each times the receptor's peak conductance. Every cell receives Poisson
AMPA shots (pooled background afferents) at ``rate_exc_hz`` (``v_e``) or ``rate_inh_hz``; during the cue the
excitatory rate becomes ``v_e (1 + A exp(eta (cos(theta_i - theta_cue) - 1)))``. A bump of activity forms at the
cue and, held by the local NMDA excitation and the global inhibition, outlives it.

Where serotonin acts. ``serotonin_gain`` multiplies the synaptic input current of each cell (recurrent and
background synapses, so the cue too), not its intrinsic currents and not what the experimenter injects
(``I_ext``, ``I_stim``). Serotonin acts on cortical neurons mainly through 5-HT1A receptors (GIRK channels: a lower
input resistance, so each synaptic current moves the membrane less) and 5-HT2A receptors (the opposite); to first
order both rescale the voltage effect of the synaptic input, which is what a gain on ``I_syn`` does. A gain below 1
on the excitatory cells (more serotonin, 5-HT1A) weakens the recurrent excitation that holds the bump; a gain
above 1 everywhere (less serotonin) strengthens it towards runaway. Keeping the injected currents out of the gain
keeps the stimulation calibrated: the same electrode current means the same thing at every serotonin level. It is
also where the reference implementation of this circuit applies it.

Defaults live in ``livn_rl/systems/ring/ring.yaml`` (readable, with the published RS/FS parameters); any value
can be overridden by keyword: ``make_system("Ring", serotonin="increased", cue_angle_deg=200.0, j_ee=1.1)``.

The engine steps the ring like any system: electrodes on the ring (8 by default) drive it through ``I_stim``,
``I_ext`` injects a current per cell (direct stimulation of angular sectors, :meth:`RingAttractorSystem.sector_current`),
and :mod:`livn_rl.systems.ring.analysis` decodes the bump from the spikes.
"""

from __future__ import annotations

import copy as _copy
from pathlib import Path
from typing import Any

import numpy as np

from livn_rl.identity import class_path
from livn_rl.mea import MEA
from livn_rl.systems.cells import IZHIKEVICH_EQUATIONS, IZHIKEVICH_RESET, IZHIKEVICH_THRESHOLD, IzhikevichCell
from livn_rl.systems.system import STIMULUS_EQUATION, BuiltSystem, Population, System

__all__ = [
    "BACKGROUND_CODE", "DEFAULT_CONFIG", "RING_EQUATIONS", "RingAttractorSystem", "RingConfig", "SEROTONIN_LEVELS",
    "SYNAPSE_MODEL", "SYNAPSE_ON_PRE", "check_angle", "make_ring", "wrap_deg",
]

#: The default parameters (a YAML file next to this module).
DEFAULT_CONFIG = Path(__file__).parent / "ring.yaml"
#: The reference serotonin levels, in the order tables and figures show them.
SEROTONIN_LEVELS = ("normal", "increased", "decreased", "slightly_decreased")

RING_EQUATIONS = IZHIKEVICH_EQUATIONS + STIMULUS_EQUATION + """
I_in = serotonin_gain*I_syn + I_ext + I_stim : amp
I_syn = g_ampa*(E_ampa - v) + g_nmda*(E_nmda - v)/(1 + mg_mM/3.57*exp(-0.062*v/mV)) + g_gaba_a*(E_gaba_a - v) + g_gaba_b*(E_gaba_b - v) : amp
dg_ampa/dt = -g_ampa/tau_ampa : siemens
dg_nmda/dt = -g_nmda/tau_nmda : siemens
dg_gaba_a/dt = -g_gaba_a/tau_gaba_a : siemens
dg_gaba_b/dt = -g_gaba_b/tau_gaba_b : siemens
dg_background/dt = -g_background/tau_ampa : siemens
I_ampa = g_ampa*(E_ampa - v) : amp
I_nmda = g_nmda*(E_nmda - v)/(1 + mg_mM/3.57*exp(-0.062*v/mV)) : amp
I_gaba_a = g_gaba_a*(E_gaba_a - v) : amp
I_gaba_b = g_gaba_b*(E_gaba_b - v) : amp
I_background = g_background*(E_ampa - v) : amp
I_ext : amp
serotonin_gain : 1 (constant)
background_rate : hertz (constant)
background_weight : siemens (constant)
cue_gain : 1 (constant)
background_on : 1 (shared)
cue_start : second (shared, constant)
cue_stop : second (shared, constant)
"""

#: Each time step, every cell draws its number of background spikes (Poisson, mean rate x dt) and its AMPA
#: conductance jumps by that many weights; during the cue the excitatory cells' rate is raised by ``cue_gain``.
#: ``g_background`` follows the background's share of ``g_ampa`` (it decays alike), for recording only; so do the
#: per-receptor currents ``I_ampa``, ``I_nmda``, ``I_gaba_a``, ``I_gaba_b`` (their sum is ``I_syn``) and
#: ``I_background`` (the background's part of ``I_ampa``). The dynamics never read them.
BACKGROUND_CODE = """
background_shots = poisson(background_on*background_rate*(1 + cue_gain*int(t >= cue_start and t < cue_stop))*dt)
g_ampa += background_weight*background_shots
g_background += background_weight*background_shots
"""

SYNAPSE_MODEL = """
w_ampa : siemens (constant)
w_nmda : siemens (constant)
w_gaba_a : siemens (constant)
w_gaba_b : siemens (constant)
"""
SYNAPSE_ON_PRE = """
g_ampa_post += w_ampa
g_nmda_post += w_nmda
g_gaba_a_post += w_gaba_a
g_gaba_b_post += w_gaba_b
"""

_POSITIVE = {"sigma_deg", "radius_um", "tau_ampa_ms", "tau_nmda_ms", "tau_gaba_a_ms", "tau_gaba_b_ms", "trial_ms"}
_NON_NEGATIVE = {
    "weight_cutoff", "j_ee", "j_ei", "j_ie", "j_ii", "mg_mM", "rate_exc_hz", "rate_inh_hz", "w_exc_nS", "w_inh_nS",
    "cue_amplitude", "cue_eta", "cue_start_ms", "cue_stop_ms",
} | {f"g_{p}_{r}_nS" for p in ("ee", "ei") for r in ("ampa", "nmda")} | {
    f"g_{p}_{r}_nS" for p in ("ie", "ii") for r in ("gaba_a", "gaba_b")}
_WHOLE = {"n_exc", "n_inh", "n_electrodes"}
_SECTIONS = ("network", "synapses", "background", "cue")


class RingConfig:
    """The ring's parameters: the sections of ``ring.yaml`` (``cells``, ``network``, ``synapses``, ``background``,
    ``cue``, ``serotonin``) and ``trial_ms``, checked on construction.

    Scalar parameters are read and overridden by their (unique) name, whatever their section:
    ``config["j_ee"]``, ``RingConfig.load(cue_angle_deg=200.0)``.

    :param data: the parsed YAML mapping
    """

    def __init__(self, data: dict) -> None:
        if not isinstance(data, dict):
            raise ValueError(f"a ring config must be a mapping, got {type(data).__name__}")
        required = {"cells", "serotonin", "trial_ms", *_SECTIONS}
        missing, unknown = sorted(required - set(data)), sorted(set(data) - required)
        if missing or unknown:
            raise ValueError(f"ring config: missing section(s) {missing}, unknown section(s) {unknown}; "
                             f"expected exactly {sorted(required)}")
        self.data = _copy.deepcopy(data)
        cells = self.data["cells"]
        if not isinstance(cells, dict) or set(cells) != {"RS", "FS"}:
            raise ValueError(f"ring config: cells must define RS and FS, got {cells!r}")
        self.exc_cell = IzhikevichCell.from_dict(cells["RS"])
        self.inh_cell = IzhikevichCell.from_dict(cells["FS"])
        for key, value in self.scalars().items():
            _check_scalar(key, value)
        if not 0 <= self["cue_start_ms"] < self["cue_stop_ms"] <= self["trial_ms"]:
            raise ValueError(
                f"the cue window must lie inside the trial: 0 <= cue_start_ms < cue_stop_ms <= trial_ms "
                f"({self['trial_ms']:g} ms), got cue_start_ms={self['cue_start_ms']:g}, cue_stop_ms={self['cue_stop_ms']:g}"
            )
        levels = self.data["serotonin"]
        if not isinstance(levels, dict) or not levels:
            raise ValueError(f"ring config: serotonin must map level names to {{E: gain, I: gain}}, got {levels!r}")
        for level, gains in levels.items():
            if not isinstance(gains, dict) or set(gains) != {"E", "I"}:
                raise ValueError(f"serotonin level {level!r} must give gains for E and I, got {gains!r}")
            for pop, gain in gains.items():
                _check_gain(f"serotonin level {level!r} gain of {pop}", gain)

    @classmethod
    def load(cls, path: str | Path | None = None, **overrides: Any) -> "RingConfig":
        """Read a ring config (``ring.yaml`` by default) and override scalar parameters by name."""
        import yaml

        path = Path(DEFAULT_CONFIG if path is None else path)
        if not path.is_file():
            raise ValueError(f"ring config file {str(path)!r} does not exist")
        try:
            data = yaml.safe_load(path.read_text())
        except yaml.YAMLError as err:
            raise ValueError(f"ring config {str(path)!r} is not valid YAML: {err}") from None
        return cls(data).with_updates(**overrides)

    def scalars(self) -> dict[str, Any]:
        """Every scalar parameter by name."""
        values = {key: value for section in _SECTIONS for key, value in self.data[section].items()}
        values["trial_ms"] = self.data["trial_ms"]
        return values

    def __getitem__(self, key: str):
        scalars = self.scalars()
        if key not in scalars:
            raise KeyError(f"the ring has no parameter {key!r}; it has {sorted(scalars)}")
        return scalars[key]

    def with_updates(self, **overrides: Any) -> "RingConfig":
        """A copy with some scalar parameters replaced (unknown names raise ``ValueError`` listing the valid ones)."""
        if not overrides:
            return self
        data = _copy.deepcopy(self.data)
        for key, value in overrides.items():
            if key == "trial_ms":
                data["trial_ms"] = value
                continue
            section = next((s for s in _SECTIONS if key in data[s]), None)
            if section is None:
                raise ValueError(f"unknown ring parameter {key!r}; valid ones are {sorted(self.scalars())}")
            data[section][key] = value
        return RingConfig(data)

    def to_dict(self) -> dict:
        return _copy.deepcopy(self.data)


def _check_scalar(key: str, value: Any) -> None:
    if key in _WHOLE:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"ring parameter {key} must be a whole number >= 1, got {value!r}")
        return
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not np.isfinite(value):
        raise ValueError(f"ring parameter {key} must be a finite number, got {value!r}")
    if key in _POSITIVE and value <= 0:
        raise ValueError(f"ring parameter {key} must be > 0, got {value!r}")
    if key in _NON_NEGATIVE and value < 0:
        raise ValueError(f"ring parameter {key} must be >= 0, got {value!r}")


def _check_gain(name: str, gain: Any) -> float:
    if isinstance(gain, bool) or not isinstance(gain, (int, float, np.integer, np.floating)) or not np.isfinite(gain) or gain <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {gain!r}")
    return float(gain)


def wrap_deg(angle: np.ndarray | float) -> np.ndarray | float:
    """Angles wrapped to [-180, 180) degrees."""
    return (np.asarray(angle) + 180.0) % 360.0 - 180.0


class RingAttractorSystem(System):
    """The ring attractor: ``n_exc`` RS cells on a ring with Gaussian E->E weights, ``n_inh`` FS cells with uniform
    connections, Poisson background, a cue and a serotonin gain per cell.

    :param config: a :class:`RingConfig` (default: ``ring.yaml``)
    :param serotonin: a reference level (``"normal"``, ``"increased"``, ``"decreased"``, ``"slightly_decreased"``),
        a ``{"E": gain, "I": gain}`` mapping, or one gain per neuron (excitatory cells first); gains must be > 0
    :param mea: electrode layout (default: ``n_electrodes`` electrodes evenly spaced on the ring)
    :param name: system name
    :param overrides: scalar parameters of the config by name (``cue_angle_deg=200.0``, ``j_ee=1.1``, ...)
    """

    def __init__(
        self,
        config: RingConfig | None = None,
        serotonin: str | dict | np.ndarray | list = "normal",
        mea: MEA | None = None,
        name: str = "Ring",
        **overrides: Any,
    ) -> None:
        config = RingConfig.load() if config is None else config
        if not isinstance(config, RingConfig):
            raise ValueError(f"config must be a RingConfig, got {type(config).__name__}")
        self.config = config.with_updates(**overrides)
        if not isinstance(name, str) or not name:
            raise ValueError(f"name must be a non-empty string, got {name!r}")
        self.name = name
        cfg = self.config
        n_exc, n_inh = int(cfg["n_exc"]), int(cfg["n_inh"])
        self.populations = [Population("E", 0, n_exc, True, "RS"), Population("I", n_exc, n_exc + n_inh, False, "FS")]
        #: preferred angle of every excitatory cell (degrees), and the angle of every inhibitory cell on the ring
        self.exc_angles_deg = 360.0 * np.arange(n_exc) / n_exc
        self.inh_angles_deg = 360.0 * np.arange(n_inh) / n_inh
        angles = np.radians(np.concatenate([self.exc_angles_deg, self.inh_angles_deg]))
        radius = float(cfg["radius_um"])
        self.positions_um = np.column_stack([radius * np.cos(angles), radius * np.sin(angles),
                                             np.full(angles.size, 10.0)])
        self.serotonin_label, self.serotonin_gain = self._serotonin(serotonin)
        if mea is None:
            k = int(cfg["n_electrodes"])
            electrode_angles = np.radians(360.0 * np.arange(k) / k)
            mea = MEA(np.column_stack([radius * np.cos(electrode_angles), radius * np.sin(electrode_angles), np.zeros(k)]))
        self.mea = mea
        self.mea.check_coverage(self.positions_um)
        self.connections = self._connect()

    # -------------------------------------------------------------------------------------------- structure
    def _serotonin(self, spec) -> tuple[str, np.ndarray]:
        """(label, per-neuron gain) from a level name, an {E, I} mapping or a per-neuron vector."""
        levels = self.config.data["serotonin"]
        n_exc, n = self.populations[0].size, self.n_neurons
        if isinstance(spec, str):
            if spec not in levels:
                raise ValueError(f"unknown serotonin level {spec!r}; choose one of {sorted(levels)} or give one gain "
                                 f"per neuron ({n})")
            gains = levels[spec]
            return spec, np.concatenate([np.full(n_exc, float(gains["E"])), np.full(n - n_exc, float(gains["I"]))])
        if isinstance(spec, dict):
            if set(spec) != {"E", "I"}:
                raise ValueError(f"a serotonin mapping must give gains for E and I, got keys {sorted(spec)}")
            e, i = (_check_gain(f"serotonin gain of {p}", spec[p]) for p in ("E", "I"))
            return f"E x{e:g}, I x{i:g}", np.concatenate([np.full(n_exc, e), np.full(n - n_exc, i)])
        try:
            gains = np.asarray(spec, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"serotonin must be a level name, an {{E, I}} mapping or {n} gains, got {spec!r}") from None
        if gains.shape != (n,):
            raise ValueError(f"serotonin gain vector has shape {gains.shape}, expected ({n},): one gain per neuron "
                             f"({n_exc} excitatory first, then {n - n_exc} inhibitory)")
        bad = np.flatnonzero(~np.isfinite(gains) | (gains <= 0))
        if bad.size:
            raise ValueError(f"serotonin gains must be finite and > 0; neuron {int(bad[0])} has {float(gains[bad[0]])!r}")
        return "custom", gains.copy()

    def ring_distance_deg(self, a_deg, b_deg) -> np.ndarray:
        """Distance on the ring (0..180 degrees) between angles."""
        return np.abs(wrap_deg(np.asarray(a_deg) - np.asarray(b_deg)))

    def _connect(self) -> dict[str, np.ndarray]:
        """Pre, post and the four receptor weights (nS) of every synapse (no autapses)."""
        cfg = self.config
        e, i = self.populations
        pres, posts, weights = [], [], []

        def add(pre, post, factor, receptors: dict[str, str]):
            keep = (pre != post) & (factor > 0)
            pre, post, factor = pre[keep], post[keep], factor[keep]
            w = np.zeros((4, pre.size))
            for row, receptor in enumerate(("ampa", "nmda", "gaba_a", "gaba_b")):
                if receptor in receptors:
                    w[row] = factor * cfg[receptors[receptor]]
            pres.append(pre)
            posts.append(post)
            weights.append(w)

        pre, post = (a.ravel() for a in np.meshgrid(e.indices, e.indices, indexing="ij"))
        d = self.ring_distance_deg(self.exc_angles_deg[pre], self.exc_angles_deg[post])
        gauss = np.exp(-(d**2) / cfg["sigma_deg"] ** 2)
        gauss[gauss < cfg["weight_cutoff"]] = 0.0
        add(pre, post, cfg["j_ee"] * gauss, {"ampa": "g_ee_ampa_nS", "nmda": "g_ee_nmda_nS"})
        for (source, target, j, receptors) in (
            (e, i, "j_ei", {"ampa": "g_ei_ampa_nS", "nmda": "g_ei_nmda_nS"}),
            (i, e, "j_ie", {"gaba_a": "g_ie_gaba_a_nS", "gaba_b": "g_ie_gaba_b_nS"}),
            (i, i, "j_ii", {"gaba_a": "g_ii_gaba_a_nS", "gaba_b": "g_ii_gaba_b_nS"}),
        ):
            pre, post = (a.ravel() for a in np.meshgrid(source.indices, target.indices, indexing="ij"))
            add(pre, post, np.full(pre.size, float(cfg[j])), receptors)
        return {"pre": np.concatenate(pres), "post": np.concatenate(posts), "w_nS": np.concatenate(weights, axis=1)}

    @property
    def n_synapses(self) -> int:
        return int(self.connections["pre"].size)

    def cue_gain(self, angle_deg: float | None = None) -> np.ndarray:
        """``A exp(eta (cos(theta_i - theta_cue) - 1))`` of every neuron (0 for inhibitory cells)."""
        cfg = self.config
        angle = cfg["cue_angle_deg"] if angle_deg is None else check_angle("cue angle", angle_deg)
        gain = np.zeros(self.n_neurons)
        e = self.populations[0]
        gain[e.start : e.stop] = cfg["cue_amplitude"] * np.exp(
            cfg["cue_eta"] * (np.cos(np.radians(self.exc_angles_deg - angle)) - 1.0))
        return gain

    def sector_current(self, currents_pa: np.ndarray) -> np.ndarray:
        """Direct stimulation of angular sectors: the ``I_ext`` (pA) of every neuron when sector ``k`` of
        ``len(currents_pa)`` equal sectors (sector 0 centred on 0 degrees) receives ``currents_pa[k]``.
        Only excitatory cells are driven."""
        currents = np.asarray(currents_pa, dtype=float).ravel()
        if currents.size < 1 or not np.all(np.isfinite(currents)):
            raise ValueError(f"sector currents must be one or more finite numbers (pA), got {currents_pa!r}")
        width = 360.0 / currents.size
        sector = np.floor(((self.exc_angles_deg + width / 2) % 360.0) / width).astype(int)
        out = np.zeros(self.n_neurons)
        out[: sector.size] = currents[sector]
        return out

    # -------------------------------------------------------------------------------------------------- System
    def _per_neuron(self) -> dict[str, np.ndarray]:
        from brian2 import nS

        cfg = self.config
        values: dict[str, list] = {}
        for pop, cell, rate, weight in zip(self.populations, (self.config.exc_cell, self.config.inh_cell),
                                           (cfg["rate_exc_hz"], cfg["rate_inh_hz"]), (cfg["w_exc_nS"], cfg["w_inh_nS"])):
            params = {k: float(v) for k, v in cell.brian2_values().items()}
            params["background_rate"] = float(rate)
            params["background_weight"] = float(weight * nS)
            for key, value in params.items():
                values.setdefault(key, []).append(np.full(pop.size, value))
        per_neuron = {key: np.concatenate(parts) for key, parts in values.items()}
        per_neuron["serotonin_gain"] = self.serotonin_gain
        per_neuron["cue_gain"] = self.cue_gain()
        return per_neuron

    def namespace(self) -> dict:
        from brian2 import mV, ms

        cfg = self.config
        return {
            **{f"tau_{r}": cfg[f"tau_{r}_ms"] * ms for r in ("ampa", "nmda", "gaba_a", "gaba_b")},
            **{f"E_{r}": cfg[f"E_{r}_mV"] * mV for r in ("ampa", "nmda", "gaba_a", "gaba_b")},
            "mg_mM": float(cfg["mg_mM"]),
        }

    def build(self, n_copies: int, namespace: dict, clock) -> BuiltSystem:
        from brian2 import NeuronGroup, Synapses, ms, nS

        ns = {**self.namespace(), **namespace}
        n = self.n_neurons
        neurons = NeuronGroup(n * n_copies, RING_EQUATIONS, threshold=IZHIKEVICH_THRESHOLD, reset=IZHIKEVICH_RESET,
                              method="euler", namespace=ns, clock=clock, name="neurons")
        for key, value in self._per_neuron().items():
            neurons.variables[key].set_value(np.tile(value, n_copies))
        neurons.background_on = 1.0
        neurons.cue_start = self.config["cue_start_ms"] * ms
        neurons.cue_stop = self.config["cue_stop_ms"] * ms
        background = neurons.run_regularly(BACKGROUND_CODE, clock=clock, when="before_synapses", name="background")
        synapses = Synapses(neurons, neurons, model=SYNAPSE_MODEL, on_pre=SYNAPSE_ON_PRE, namespace=ns, clock=clock,
                            name="synapses")
        c = self.connections
        offsets = np.repeat(np.arange(n_copies) * n, c["pre"].size)
        synapses.connect(i=np.tile(c["pre"], n_copies) + offsets, j=np.tile(c["post"], n_copies) + offsets)
        for row, receptor in enumerate(("ampa", "nmda", "gaba_a", "gaba_b")):
            synapses.variables[f"w_{receptor}"].set_value(np.tile(c["w_nS"][row], n_copies) * float(nS))
        return BuiltSystem(neurons=neurons, objects=[neurons, background, synapses])

    def initial_state(self, rng: np.random.Generator, n_copies: int) -> dict[str, Any]:
        per_neuron = self._per_neuron()
        v_r = np.tile(per_neuron["v_r"], n_copies)
        v = v_r + rng.uniform(-5e-3, 5e-3, size=v_r.size)
        u = np.tile(per_neuron["b"], n_copies) * (v - v_r)
        return {"v": v, "u": u, "g_ampa": 0.0, "g_nmda": 0.0, "g_gaba_a": 0.0, "g_gaba_b": 0.0, "g_background": 0.0}

    def stimulus_gain(self) -> np.ndarray:
        """Each cell's capacitance over 100 pF, as for the cultures' cells."""
        gain = np.empty(self.n_neurons)
        for pop, cell in zip(self.populations, (self.config.exc_cell, self.config.inh_cell)):
            gain[pop.start : pop.stop] = cell.C_pF / 100.0
        return gain

    def set_background(self, built: BuiltSystem, enabled: bool) -> None:
        built.neurons.background_on = 1.0 if enabled else 0.0

    def identity(self) -> dict:
        return {"class": class_path(self), "name": self.name, "config": self.config.to_dict(),
                "serotonin_gain": self.serotonin_gain}

    def describe(self) -> dict:
        cfg = self.config
        return {
            **super().describe(),
            "description": (f"ring attractor: {self.populations[0].size} RS + {self.populations[1].size} FS Izhikevich "
                            f"cells, AMPA/NMDA/GABA_A/GABA_B, Poisson background, cue at {cfg['cue_angle_deg']:g} deg "
                            f"({cfg['cue_start_ms']:g}-{cfg['cue_stop_ms']:g} ms), serotonin {self.serotonin_label}"),
            "model": "ring attractor",
            "docs": "docs/ring.md",
            "serotonin": self.serotonin_label,
            "serotonin_levels": list(cfg.data["serotonin"]),
            "n_synapses": self.n_synapses,
            "parameters": {k: (v if isinstance(v, int) else float(v)) for k, v in cfg.scalars().items()},
            "mea_channels": self.mea.n_channels,
        }


def check_angle(name: str, value: Any) -> float:
    """``value`` as a finite angle in degrees, or a ``ValueError`` naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not np.isfinite(value):
        raise ValueError(f"{name} must be a finite angle in degrees, got {value!r}")
    return float(value)


def make_ring(mea: MEA | None = None, **kwargs: Any) -> RingAttractorSystem:
    """:class:`RingAttractorSystem` by keyword (``make_system("Ring", serotonin="increased")`` calls this)."""
    return RingAttractorSystem(mea=mea, **kwargs)
