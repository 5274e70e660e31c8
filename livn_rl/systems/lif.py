"""Reference circuit 1: the leaky integrate-and-fire (LIF) neuron, in discrete and in continuous time.

Discrete time (the Loihi / lava-nc current-based form), :func:`simulate_lif` (one step at a time:
:class:`DiscreteLIF`)::

    s_in[t] ~ Bernoulli(rate)                  input spikes
    a[t]    = w * s_in[t],  w = threshold * spike_fraction
    u[t]    = (1 - du) * u[t-1] + a[t]         synaptic current
    v[t]    = (1 - dv) * v[t-1] + u[t] + bias  membrane potential
    if v[t] >= threshold:  spike, v[t] <- 0

Continuous time, with units (Brian2), :class:`LIFSystem`::

    tau dV/dt   = -(V - V_rest) + R (I_ext + I_stim - w)     (held during the refractory period t_ref)
    tau_w dw/dt = a_w (V - V_rest) - w                        (adaptation current, off by default)
    if V >= V_th:  V <- V_reset (hard reset) or V <- V - (V_th - V_reset) (soft reset);  w <- w + b_w

``I_ext`` is a per-neuron input current that can be changed between engine steps
(:meth:`~livn_rl.engine.Simulation.set_neuron_variable`); ``I_stim`` is what the MEA delivers. For a constant
current ``I`` and a hard reset without adaptation the rate is (:func:`lif_rate`)::

    f = 1 / (t_ref + tau ln((R I + V_rest - V_reset) / (R I + V_rest - V_th)))   for R I > V_th - V_rest

Every parameter and every mode (hard or soft reset, refractory or not, adaptation or not) is a per-neuron value
of one set of equations, so all LIF systems share one piece of generated code: one Cython compile in total.

>>> from brian2 import ms, mV, nA
>>> trace = simulate_lif(200, rate=0.08, threshold=1.0, spike_fraction=0.4, dv=0.04, du=1.0, bias=0.0, seed=1)
>>> system = LIFSystem(n_neurons=50, v_init=-65 * mV, v_init_sd=5 * mV, t_ref=2 * ms)
>>> float(system.rheobase()[0] / nA)                      # (V_th - V_rest) / R
0.15
"""

from __future__ import annotations

import re
import sys
from typing import Any, NamedTuple

import numpy as np

from livn_rl.checks import check_number, check_whole
from livn_rl.identity import class_path
from livn_rl.mea import MEA
from livn_rl.systems.system import STIMULUS_EQUATION, BuiltSystem, Population, System

__all__ = [
    "DiscreteLIF", "LIFStep", "LIFSystem", "LIF_EQUATIONS", "LIF_RESET", "LIF_THRESHOLD", "as_quantity", "lif_rate", "make_lif", "simulate_lif",
]

# ------------------------------------------------------------------------------------------------ discrete time


class LIFStep(NamedTuple):
    """What one step of :class:`DiscreteLIF` did."""

    input: int  #: the Bernoulli input spike (0 or 1)
    current: float  #: ``u`` after the step
    v: float  #: ``v`` after the step (0 after an output spike)
    spike: int  #: the output spike (1 when ``v`` reached the threshold)


class DiscreteLIF:
    """The discrete-time LIF neuron of :func:`simulate_lif`, one step at a time: the recurrence itself, for runs
    without a fixed length (a live stream) and with parameters that may change between steps.

    ``u`` and ``v`` start at 0; step ``t`` draws ``s_in[t]`` from the seeded generator (one uniform number per step,
    so a stepper and :func:`simulate_lif` with the same seed see the same input spikes), updates ``u`` and ``v`` and
    resets ``v`` to 0 when it reaches the threshold.

    >>> neuron = DiscreteLIF(rate=0.08, dv=0.04, spike_fraction=0.4, seed=1)
    >>> step = neuron.step()                   # LIFStep(input=0, current=0.0, v=0.0, spike=0)
    >>> neuron.set(rate=0.5)                   # from the next step on

    :param rate: probability of an input spike per step, in [0, 1]
    :param threshold: spike threshold (> 0)
    :param spike_fraction: synaptic weight as a fraction of the threshold (>= 0): ``w = threshold * spike_fraction``
    :param dv: membrane decay per step, in [0, 1] (0: no leak, 1: no memory)
    :param du: synaptic current decay per step, in [0, 1] (1: the input acts for one step only)
    :param bias: constant input added to ``v`` at every step
    :param seed: seed of the input spikes (same seed, same input); ``None`` draws fresh entropy
    """

    #: The parameters :meth:`set` changes, with the range each must lie in (as :func:`check_number` arguments).
    PARAMETERS = {
        "rate": ("rate (an input spike probability)", {"low": 0.0, "high": 1.0}),
        "threshold": ("threshold", {"low": 0.0, "low_open": True}),
        "spike_fraction": ("spike_fraction", {"low": 0.0}),
        "dv": ("dv", {"low": 0.0, "high": 1.0}),
        "du": ("du", {"low": 0.0, "high": 1.0}),
        "bias": ("bias", {}),
    }

    def __init__(self, rate: float = 0.08, threshold: float = 1.0, spike_fraction: float = 0.4, dv: float = 0.04,
                 du: float = 1.0, bias: float = 0.0, seed: int | None = 1) -> None:
        self.rate = self.threshold = self.spike_fraction = self.dv = self.du = self.bias = 0.0
        self.set(rate=rate, threshold=threshold, spike_fraction=spike_fraction, dv=dv, du=du, bias=bias)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
            raise ValueError(f"seed must be a whole number >= 0 or None, got {seed!r}")
        self.seed = None if seed is None else int(seed)
        self.rng = np.random.default_rng(seed)
        self.u = 0.0
        self.v = 0.0

    @property
    def weight(self) -> float:
        """The synaptic weight ``threshold * spike_fraction``."""
        return self.threshold * self.spike_fraction

    def parameters(self) -> dict[str, float]:
        """The current parameters by name."""
        return {name: getattr(self, name) for name in self.PARAMETERS}

    def set(self, **values: float) -> None:
        """Change parameters (by the names of :attr:`PARAMETERS`) from the next step on; every value is checked
        before any is changed.

        :raises ValueError: an unknown name, or a value outside its range (the message names both)
        """
        unknown = sorted(set(values) - set(self.PARAMETERS))
        if unknown:
            raise ValueError(f"unknown LIF parameter(s) {unknown}; the parameters are {list(self.PARAMETERS)}")
        checked = {}
        for name, value in values.items():
            label, bounds = self.PARAMETERS[name]
            checked[name] = check_number(label, value, **bounds)
        for name, value in checked.items():
            setattr(self, name, value)

    def step(self) -> LIFStep:
        """One step of the recurrence."""
        s_in = int(self.rng.random() < self.rate)
        self.u = (1.0 - self.du) * self.u + self.weight * s_in
        self.v = (1.0 - self.dv) * self.v + self.u + self.bias
        spike = int(self.v >= self.threshold)
        if spike:
            self.v = 0.0
        return LIFStep(s_in, self.u, self.v, spike)


def simulate_lif(
    num_steps: int,
    rate: float = 0.08,
    threshold: float = 1.0,
    spike_fraction: float = 0.4,
    dv: float = 0.04,
    du: float = 1.0,
    bias: float = 0.0,
    seed: int | None = 1,
) -> dict[str, Any]:
    """Simulate the discrete-time LIF neuron (lava-nc's current-based LIF) driven by Bernoulli input spikes.

    Step ``t`` (0-based) draws ``s_in[t]``, then updates ``u`` and ``v`` from their values at ``t - 1`` (zero before
    the first step), then spikes and resets ``v`` to 0 if ``v[t] >= threshold``. The recorded ``v[t]`` is the value
    after the reset, so it never reaches the threshold. :class:`DiscreteLIF` steps the same recurrence.

    :param num_steps: number of time steps (>= 1)
    :param rate: probability of an input spike per step, in [0, 1]
    :param threshold: spike threshold (> 0)
    :param spike_fraction: synaptic weight as a fraction of the threshold (>= 0): ``w = threshold * spike_fraction``
    :param dv: membrane decay per step, in [0, 1] (0: no leak, 1: no memory)
    :param du: synaptic current decay per step, in [0, 1] (1: the input acts for one step only)
    :param bias: constant input added to ``v`` at every step
    :param seed: seed of the input spikes (same seed, same trace); ``None`` draws fresh entropy
    :returns: a dict of JSON-serialisable values: ``t`` (step indices), ``input`` (input spikes, 0/1),
        ``current`` (``u``), ``membrane_potential`` (``v``), ``spikes`` (output spikes, 0/1), ``spike_steps``
        (steps with an output spike), ``threshold``, ``weight`` and the ``parameters`` used
    """
    check_whole("num_steps", num_steps, 1)
    neuron = DiscreteLIF(rate=rate, threshold=threshold, spike_fraction=spike_fraction, dv=dv, du=du, bias=bias,
                         seed=seed)
    steps = [neuron.step() for _ in range(int(num_steps))]  # a recurrence: sequential by nature
    spikes = [s.spike for s in steps]
    return {
        "t": list(range(int(num_steps))),
        "input": [s.input for s in steps],
        "current": [s.current for s in steps],
        "membrane_potential": [s.v for s in steps],
        "spikes": spikes,
        "spike_steps": [t for t, spike in enumerate(spikes) if spike],
        "threshold": neuron.threshold,
        "weight": neuron.weight,
        "parameters": {"num_steps": int(num_steps), **neuron.parameters(), "seed": neuron.seed},
    }


# ---------------------------------------------------------------------------------------------- continuous time

#: The LIF membrane with an optional adaptation current; ``I_stim`` comes from :data:`STIMULUS_EQUATION`.
LIF_EQUATIONS = """
dv/dt = (V_rest - v + R*(I_ext + I_stim - w)) / tau : volt (unless refractory)
dw/dt = (a_w*(v - V_rest) - w) / tau_w : amp
I_ext : amp
tau : second (constant)
R : ohm (constant)
V_rest : volt (constant)
V_th : volt (constant)
V_reset : volt (constant)
t_ref : second (constant)
tau_w : second (constant)
a_w : siemens (constant)
b_w : amp (constant)
soft_reset : 1 (constant)
""" + STIMULUS_EQUATION

LIF_THRESHOLD = "v >= V_th"
#: Hard reset (``soft_reset = 0``): ``v = V_reset``; soft reset (``soft_reset = 1``): ``v = v - (V_th - V_reset)``.
LIF_RESET = "v = soft_reset*(v - (V_th - V_reset)) + (1 - soft_reset)*V_reset\nw = w + b_w"

#: Parameter name -> (display unit, example) for the unit checks and messages.
_UNITS = {
    "tau": ("ms", "10*ms"),
    "R": ("Mohm", "100*Mohm"),
    "V_rest": ("mV", "-65*mV"),
    "V_th": ("mV", "-50*mV"),
    "V_reset": ("mV", "-65*mV"),
    "t_ref": ("ms", "2*ms"),
    "tau_w": ("ms", "100*ms"),
    "a_w": ("nS", "0*nS"),
    "b_w": ("nA", "0.01*nA"),
    "I_ext": ("nA", "0.2*nA"),
    "v_init": ("mV", "-65*mV"),
    "v_init_sd": ("mV", "5*mV"),
}
#: Unit names understood in strings such as ``"10 ms"``: (dimension, factor to SI).
_UNIT_NAMES = {
    "s": ("time", 1.0), "ms": ("time", 1e-3), "us": ("time", 1e-6),
    "V": ("voltage", 1.0), "mV": ("voltage", 1e-3), "uV": ("voltage", 1e-6),
    "ohm": ("resistance", 1.0), "kohm": ("resistance", 1e3), "Mohm": ("resistance", 1e6),
    "MOhm": ("resistance", 1e6), "Gohm": ("resistance", 1e9), "GOhm": ("resistance", 1e9),
    "A": ("current", 1.0), "uA": ("current", 1e-6), "nA": ("current", 1e-9), "pA": ("current", 1e-12),
    "S": ("conductance", 1.0), "uS": ("conductance", 1e-6), "nS": ("conductance", 1e-9), "pS": ("conductance", 1e-12),
}
_QUANTITY_TEXT = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*\*?\s*([A-Za-z]+)\s*$")


def as_quantity(name: str, value: Any, n: int | None = None, *, low: float | None = None, strict: bool = False):
    """Check that ``value`` carries the units of parameter ``name`` and return it as a float array in SI units
    (shape ``(n,)`` if ``n`` is given, broadcasting a scalar).

    :param name: a key of the LIF parameters (``tau``, ``R``, ``V_rest``, ``V_th``, ``V_reset``, ``t_ref``, ``tau_w``,
        ``a_w``, ``b_w``, ``I_ext``, ``v_init``, ``v_init_sd``)
    :param value: a scalar or per-neuron Brian2 quantity (``10*ms``, ``np.linspace(5, 20, 4)*ms``) or a string
        with a unit (``"10 ms"``, ``"100 MOhm"``)
    :param n: number of neurons to broadcast to
    :param low: smallest allowed value in the parameter's display unit (ms, mV, Mohm, nA or nS)
    :param strict: whether ``low`` itself is excluded
    """
    unit_name, example = _UNITS[name]
    dimension, scale = _UNIT_NAMES[unit_name]
    brian2 = sys.modules.get("brian2")  # a Brian2 quantity implies Brian2 was imported: never import it here
    match = _QUANTITY_TEXT.match(value) if isinstance(value, str) else None
    if match and _UNIT_NAMES.get(match.group(2), (None,))[0] == dimension:
        array = np.asarray(float(match.group(1)) * _UNIT_NAMES[match.group(2)][1] / scale)
    elif brian2 is not None and isinstance(value, brian2.Quantity) and brian2.have_same_dimensions(
        value, getattr(brian2, unit_name)
    ):
        array = np.asarray(value / getattr(brian2, unit_name), dtype=float)
    else:
        plain = isinstance(value, (int, float, np.number, np.ndarray, list, tuple)) and not (
            brian2 is not None and isinstance(value, brian2.Quantity)
        )
        given = f"{value!r} (a plain number)" if plain else (repr(value) if isinstance(value, str) else str(value))
        raise ValueError(
            f"{name} must be given in units of {unit_name} (e.g. {name}={example} or {name}='{example.replace('*', ' ')}'), "
            f"got {given}"
        )
    if array.ndim > 1 or (n is not None and array.ndim == 1 and array.size != n):
        raise ValueError(f"{name} must be a scalar or one value per neuron ({n}), got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite, got {value}")
    if low is not None:
        bad = array <= low if strict else array < low
        if np.any(bad):
            worst = float(np.ravel(array)[np.argmax(np.ravel(bad))])
            raise ValueError(f"{name} must be {'>' if strict else '>='} {low:g} {unit_name}, got {worst:g} {unit_name}")
    if n is not None:
        array = np.broadcast_to(array, (n,)).copy()
    return array * scale


def lif_rate(current, tau, R, V_rest, V_th, V_reset, t_ref=None) -> np.ndarray:
    """The analytic rate (Hz) of a hard-reset LIF neuron under a constant current, 0 below the rheobase.

    ``f = 1 / (t_ref + tau ln((R I + V_rest - V_reset) / (R I + V_rest - V_th)))`` where ``R I > V_th - V_rest``.

    :param current: input current(s), a Brian2 quantity in nA (scalar or array); every parameter may also be a
        string with a unit (``"10 ms"``)
    :param tau: membrane time constant (ms)
    :param R: membrane resistance (MOhm)
    :param V_rest: resting potential (mV)
    :param V_th: threshold (mV)
    :param V_reset: reset potential (mV), below ``V_th``
    :param t_ref: absolute refractory period (ms); none by default
    :returns: rates in Hz, a float array shaped like ``current`` broadcast with the parameters
    """
    i = as_quantity("I_ext", current)
    tau_s = as_quantity("tau", tau, low=0.0, strict=True)
    r = as_quantity("R", R, low=0.0, strict=True)
    rest, th, reset = (as_quantity(k, v) for k, v in (("V_rest", V_rest), ("V_th", V_th), ("V_reset", V_reset)))
    ref = 0.0 if t_ref is None else as_quantity("t_ref", t_ref, low=0.0)
    if np.any(reset >= th):
        raise ValueError(f"V_reset must lie below V_th, got V_reset={V_reset}, V_th={V_th}")
    drive = r * i + rest  # the steady-state voltage (V)
    fires = drive > th
    with np.errstate(divide="ignore", invalid="ignore"):
        period = ref + tau_s * np.log((drive - reset) / (drive - th))
        rate = np.where(fires, 1.0 / period, 0.0)
    return np.asarray(rate, dtype=float)


class LIFSystem(System):
    """N leaky integrate-and-fire neurons (no synapses between them) over a small MEA, with units.

    Every parameter is a Brian2 quantity (``10*ms``) or a string with a unit (``"10 ms"``), the same for all neurons
    or, as a quantity array, one value per neuron (heterogeneous populations). Wrong units raise a ``ValueError``
    that names the parameter and the expected unit. Constructing one does not import Brian2.

    :param n_neurons: number of neurons (>= 1)
    :param tau: membrane time constant (> 0 ms)
    :param R: membrane resistance (> 0 MOhm); the capacitance is ``tau / R``
    :param V_rest: resting potential (mV)
    :param V_th: threshold (mV)
    :param V_reset: reset potential (mV), below ``V_th``
    :param reset: ``"hard"`` (``V <- V_reset``) or ``"soft"`` (``V <- V - (V_th - V_reset)``)
    :param t_ref: absolute refractory period (>= 0 ms) during which ``V`` is held
    :param tau_w: time constant of the adaptation current (> 0 ms)
    :param a_w: sub-threshold adaptation conductance (nS); 0 for none
    :param b_w: spike-triggered adaptation increment (nA); 0 for none (the plain LIF)
    :param I_ext: the constant input current each neuron starts with (nA); change it between steps with
        ``Simulation.set_neuron_variable("I_ext", ...)``
    :param v_init: mean initial membrane potential at every reset (mV); ``V_rest`` by default
    :param v_init_sd: standard deviation of the initial potential (>= 0 mV), drawn at every reset from its seed
    :param spacing_um: distance between neighbouring neurons on the square grid they sit on (um)
    :param mea: electrode layout; by default a 2x2 grid of 50 um pitch under the centre of the neurons
    :param name: system name
    """

    def __init__(
        self,
        n_neurons: int = 1,
        *,
        tau=None,
        R=None,
        V_rest=None,
        V_th=None,
        V_reset=None,
        reset: str = "hard",
        t_ref=None,
        tau_w=None,
        a_w=None,
        b_w=None,
        I_ext=None,
        v_init=None,
        v_init_sd=None,
        spacing_um: float = 20.0,
        mea: MEA | None = None,
        name: str = "LIF",
    ) -> None:
        check_whole("n_neurons", n_neurons, 1)
        if reset not in ("hard", "soft"):
            raise ValueError(f"reset must be 'hard' or 'soft', got {reset!r}")
        if not isinstance(name, str) or not name:
            raise ValueError(f"name must be a non-empty string, got {name!r}")
        spacing_um = check_number("spacing_um", spacing_um, 0.0, low_open=True)
        n = int(n_neurons)
        defaults = {
            "tau": "10 ms", "R": "100 Mohm", "V_rest": "-65 mV", "V_th": "-50 mV", "V_reset": "-65 mV",
            "t_ref": "0 ms", "tau_w": "100 ms", "a_w": "0 nS", "b_w": "0 nA", "I_ext": "0 nA", "v_init_sd": "0 mV",
        }
        given = {"tau": tau, "R": R, "V_rest": V_rest, "V_th": V_th, "V_reset": V_reset, "t_ref": t_ref,
                 "tau_w": tau_w, "a_w": a_w, "b_w": b_w, "I_ext": I_ext, "v_init_sd": v_init_sd}
        lows = {"tau": (0.0, True), "R": (0.0, True), "tau_w": (0.0, True), "t_ref": (0.0, False),
                "v_init_sd": (0.0, False)}
        #: per-neuron parameter values in SI units (s, ohm, V, A, S)
        self.params: dict[str, np.ndarray] = {}
        for key, default in defaults.items():
            low, strict = lows.get(key, (None, False))
            value = default if given[key] is None else given[key]
            self.params[key] = as_quantity(key, value, n, low=low, strict=strict)
        self.params["v_init"] = (
            self.params["V_rest"].copy() if v_init is None else as_quantity("v_init", v_init, n)
        )
        if np.any(self.params["V_reset"] >= self.params["V_th"]):
            k = int(np.argmax(self.params["V_reset"] >= self.params["V_th"]))
            raise ValueError(
                f"V_reset must lie below V_th, got V_reset={self.params['V_reset'][k] * 1e3:g} mV and "
                f"V_th={self.params['V_th'][k] * 1e3:g} mV (neuron {k})"
            )
        self.reset_mode = reset
        self.name = name
        side = int(np.ceil(np.sqrt(n)))
        rows, cols = np.divmod(np.arange(n), side)
        n_rows = int(np.ceil(n / side))
        self.positions_um = np.column_stack([
            (cols - (side - 1) / 2) * spacing_um, (rows - (n_rows - 1) / 2) * spacing_um, np.full(n, 10.0),
        ])
        self.populations = [Population("LIF", 0, n, True, "LIF")]
        self.mea = mea if mea is not None else MEA.grid(2, 2, 50.0)
        self.mea.check_coverage(self.positions_um)

    # ---------------------------------------------------------------------------------------------- analytics
    @property
    def capacitance(self) -> np.ndarray:
        """Membrane capacitance ``tau / R`` of every neuron (F)."""
        return self.params["tau"] / self.params["R"]

    def rheobase(self):
        """The analytic rheobase ``(V_th - V_rest) / R`` of every neuron, a Brian2 quantity (A; 0 if the neuron
        fires without input). Adaptation raises the real one only if ``a_w > 0``."""
        from brian2 import amp

        p = self.params
        return np.maximum(0.0, (p["V_th"] - p["V_rest"]) / p["R"]) * amp

    def analytic_rate(self, current, neuron: int | None = None) -> np.ndarray:
        """The analytic rate (Hz) under a constant ``current``, for the hard reset without adaptation
        (:func:`lif_rate`).

        :param current: a Brian2 quantity in nA: a scalar or one value per neuron; with ``neuron``, any shape
        :param neuron: use only this neuron's parameters (default: every neuron's own)
        """
        from brian2 import ohm, second, volt

        p = self.params if neuron is None else {k: v[neuron] for k, v in self.params.items()}
        return lif_rate(current, p["tau"] * second, p["R"] * ohm, p["V_rest"] * volt, p["V_th"] * volt,
                        p["V_reset"] * volt, p["t_ref"] * second)

    # -------------------------------------------------------------------------------------------------- System
    def _per_neuron(self, n_copies: int) -> dict[str, np.ndarray]:
        values = {k: v for k, v in self.params.items() if k not in ("v_init", "v_init_sd")}
        values["soft_reset"] = np.full(self.n_neurons, 1.0 if self.reset_mode == "soft" else 0.0)
        return {k: np.tile(v, n_copies) for k, v in values.items()}

    def build(self, n_copies: int, namespace: dict, clock) -> BuiltSystem:
        from brian2 import NeuronGroup

        neurons = NeuronGroup(
            self.n_neurons * n_copies,
            LIF_EQUATIONS,
            threshold=LIF_THRESHOLD,
            reset=LIF_RESET,
            refractory="t_ref",
            method="exponential_euler",  # exact for a constant input, whatever dt
            namespace=dict(namespace),
            clock=clock,
            name="neurons",
        )
        for key, value in self._per_neuron(n_copies).items():
            neurons.variables[key].set_value(value)
        return BuiltSystem(neurons=neurons, objects=[neurons])

    def initial_state(self, rng: np.random.Generator, n_copies: int) -> dict[str, Any]:
        mean = np.tile(self.params["v_init"], n_copies)
        sd = np.tile(self.params["v_init_sd"], n_copies)
        v = mean + sd * rng.standard_normal(mean.size) if np.any(sd > 0) else mean
        return {"v": v, "w": 0.0}

    def stimulus_gain(self) -> np.ndarray:
        """Each neuron's capacitance over 100 pF, as for the cultures' cells."""
        return self.capacitance / 100e-12

    def identity(self) -> dict:
        return {"class": class_path(self), "name": self.name, "reset": self.reset_mode,
                "params_si": dict(self.params), "positions_um": self.positions_um}

    def describe(self) -> dict:
        units = {"tau": 1e-3, "R": 1e6, "V_rest": 1e-3, "V_th": 1e-3, "V_reset": 1e-3, "t_ref": 1e-3, "tau_w": 1e-3,
                 "a_w": 1e-9, "b_w": 1e-9, "I_ext": 1e-9, "v_init": 1e-3, "v_init_sd": 1e-3}

        def summary(key: str):
            values = np.round(self.params[key] / units[key], 6)
            return float(values[0]) if np.all(values == values[0]) else {"min": float(values.min()), "max": float(values.max())}

        return {
            **super().describe(),
            "description": f"{self.n_neurons} leaky integrate-and-fire neuron(s), {self.reset_mode} reset",
            "model": "LIF",
            "reset": self.reset_mode,
            "parameters": {f"{k}_{_UNITS[k][0]}": summary(k) for k in units},
            "mea_channels": self.mea.n_channels,
        }


def make_lif(mea: MEA | None = None, **kwargs: Any) -> LIFSystem:
    """:class:`LIFSystem` by keyword (``make_system("LIF", n_neurons=50, tau=20*ms)`` calls this)."""
    return LIFSystem(mea=mea, **kwargs)
