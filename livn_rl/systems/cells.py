"""Izhikevich (2007) "simple model" cells, written once as Brian2 equations with units.

Every livn_rl system that uses spiking point neurons builds on :data:`IZHIKEVICH_EQUATIONS`; the cell type
only changes the per-neuron parameters, so any mix of cell types lives in one ``NeuronGroup`` (one code
object, one compile, one integration loop).

The general form covers the regular-spiking (RS) and the fast-spiking (FS) cells of Izhikevich,
*Dynamical Systems in Neuroscience* (2007), ch. 8::

    C dv/dt = k (v - v_r)(v - v_t) - u + I
    du/dt   = a (b (v - v_r) + b3 [v - v_b]_+^3 - u)
    if v >= v_peak:  v <- c,  u <- u + d

RS uses the linear recovery term (``b3 = 0``); FS uses the book's cubic one (``b = 0``, ``b3 = 0.025
pA/mV^3`` above ``v_b = -55 mV``), which gives its type-2 onset and high sustained rates.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

__all__ = [
    "CELL_TYPES", "FAST_SPIKING", "IZHIKEVICH_EQUATIONS", "IZHIKEVICH_RESET", "IZHIKEVICH_THRESHOLD", "IzhikevichCell",
    "REGULAR_SPIKING", "cell_type",
]

#: Membrane and recovery dynamics; ``I_in`` is whatever input current the system defines.
IZHIKEVICH_EQUATIONS = """
dv/dt = (k*(v - v_r)*(v - v_t) - u + I_in) / C : volt
du/dt = a*(b*(v - v_r) + b3*clip(v - v_b, 0*mV, 200*mV)**3 - u) : amp
C : farad (constant)
k : siemens/volt (constant)
v_r : volt (constant)
v_t : volt (constant)
v_peak : volt (constant)
a : 1/second (constant)
b : siemens (constant)
b3 : amp/volt**3 (constant)
v_b : volt (constant)
c : volt (constant)
d : amp (constant)
"""

IZHIKEVICH_THRESHOLD = "v >= v_peak"
IZHIKEVICH_RESET = "v = c\nu = u + d"


@dataclass(frozen=True)
class IzhikevichCell:
    """Parameters of one Izhikevich simple-model cell type, in the units of the book.

    :param C_pF: membrane capacitance (pF)
    :param k_nS_per_mV: gain of the quadratic term (nS/mV)
    :param v_r_mV: resting potential (mV)
    :param v_t_mV: instantaneous threshold potential (mV)
    :param v_peak_mV: spike cut-off (mV)
    :param a_per_ms: recovery rate (1/ms)
    :param b_nS: linear recovery sensitivity (nS)
    :param b3_pA_per_mV3: cubic recovery sensitivity above ``v_b`` (pA/mV^3)
    :param v_b_mV: onset of the cubic recovery term (mV)
    :param c_mV: reset potential (mV)
    :param d_pA: recovery jump after a spike (pA)
    """

    C_pF: float
    k_nS_per_mV: float
    v_r_mV: float
    v_t_mV: float
    v_peak_mV: float
    a_per_ms: float
    b_nS: float
    c_mV: float
    d_pA: float
    b3_pA_per_mV3: float = 0.0
    v_b_mV: float = 0.0

    def __post_init__(self) -> None:
        for name in ("C_pF", "k_nS_per_mV", "a_per_ms"):
            value = getattr(self, name)
            if not value > 0:
                raise ValueError(f"IzhikevichCell.{name} must be > 0, got {value!r}")
        if not self.v_peak_mV > self.v_t_mV > self.v_r_mV:
            raise ValueError(
                "IzhikevichCell needs v_r < v_t < v_peak, got "
                f"v_r={self.v_r_mV}, v_t={self.v_t_mV}, v_peak={self.v_peak_mV} (mV)"
            )

    def brian2_values(self) -> dict:
        """The parameters as Brian2 quantities, keyed by the variable names of the equations."""
        from brian2 import mV, ms, nS, pA, pF

        return {
            "C": self.C_pF * pF,
            "k": self.k_nS_per_mV * nS / mV,
            "v_r": self.v_r_mV * mV,
            "v_t": self.v_t_mV * mV,
            "v_peak": self.v_peak_mV * mV,
            "a": self.a_per_ms / ms,
            "b": self.b_nS * nS,
            "b3": self.b3_pA_per_mV3 * pA / mV**3,
            "v_b": self.v_b_mV * mV,
            "c": self.c_mV * mV,
            "d": self.d_pA * pA,
        }

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "IzhikevichCell":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown Izhikevich cell parameter(s) {unknown}; expected some of {sorted(known)}")
        return cls(**data)


#: Regular-spiking pyramidal cell (Izhikevich 2007, Fig. 8.12).
REGULAR_SPIKING = IzhikevichCell(
    C_pF=100.0, k_nS_per_mV=0.7, v_r_mV=-60.0, v_t_mV=-40.0, v_peak_mV=35.0,
    a_per_ms=0.03, b_nS=-2.0, c_mV=-50.0, d_pA=100.0,
)

#: Fast-spiking basket interneuron (Izhikevich 2007, Fig. 8.27): cubic recovery above -55 mV.
FAST_SPIKING = IzhikevichCell(
    C_pF=20.0, k_nS_per_mV=1.0, v_r_mV=-55.0, v_t_mV=-40.0, v_peak_mV=25.0,
    a_per_ms=0.2, b_nS=0.0, c_mV=-45.0, d_pA=0.0, b3_pA_per_mV3=0.025, v_b_mV=-55.0,
)

CELL_TYPES: dict[str, IzhikevichCell] = {"RS": REGULAR_SPIKING, "FS": FAST_SPIKING}


def cell_type(name_or_params: str | dict | IzhikevichCell) -> IzhikevichCell:
    """Resolve a cell type given by name (``"RS"``, ``"FS"``), by a parameter dict or as an instance."""
    if isinstance(name_or_params, IzhikevichCell):
        return name_or_params
    if isinstance(name_or_params, dict):
        return IzhikevichCell.from_dict(name_or_params)
    if name_or_params in CELL_TYPES:
        return CELL_TYPES[name_or_params]
    raise ValueError(f"unknown cell type {name_or_params!r}; expected one of {sorted(CELL_TYPES)} or a parameter dict")
