"""Conductance-based synapses (AMPA, NMDA with magnesium block, GABA_A) with short-term depression.

Each receptor is a per-neuron conductance that jumps on a presynaptic spike and decays exponentially. Neurons carry
an ``excitatory`` flag (1 or 0) that decides which receptors their spikes open. Excitatory synapses release a fraction ``U`` of their available resources ``x``, which recover with ``tau_rec``
(Tsodyks-Markram depression): it is what ends the network bursts of cultured cortical networks.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

__all__ = ["SYNAPSE_MODEL", "SYNAPSE_ON_PRE", "SYNAPTIC_CURRENT_EQUATIONS", "SynapseKinetics"]

#: Synaptic current into the membrane; the Mg block is Jahr & Stevens (1990).
SYNAPTIC_CURRENT_EQUATIONS = """
I_syn = g_ampa*(E_ampa - v) + g_nmda*(E_nmda - v)/(1 + mg_mM/3.57*exp(-0.062*v/mV)) + g_gaba*(E_gaba - v) : amp
dg_ampa/dt = -g_ampa/tau_ampa : siemens
dg_nmda/dt = -g_nmda/tau_nmda : siemens
dg_gaba/dt = -g_gaba/tau_gaba : siemens
excitatory : 1 (constant)
"""

#: One synapse of either sign: ``excitatory_pre`` (a neuron flag) routes the spike to AMPA/NMDA or to GABA_A, so
#: a whole network needs a single Synapses object (one spike queue and one code object per time step).
SYNAPSE_MODEL = """
w : siemens (constant)
dx_res/dt = (1 - x_res)/tau_rec : 1 (event-driven)
"""

SYNAPSE_ON_PRE = """
g_ampa_post += excitatory_pre*w*U_release*x_res
g_nmda_post += excitatory_pre*w*nmda_ratio*U_release*x_res
g_gaba_post += (1 - excitatory_pre)*w
x_res -= excitatory_pre*U_release*x_res
"""


@dataclass(frozen=True)
class SynapseKinetics:
    """Receptor kinetics shared by all synapses of a system.

    :param tau_ampa_ms: AMPA decay time constant (ms)
    :param tau_nmda_ms: NMDA decay time constant (ms)
    :param tau_gaba_ms: GABA_A decay time constant (ms)
    :param E_ampa_mV: AMPA reversal potential (mV)
    :param E_nmda_mV: NMDA reversal potential (mV)
    :param E_gaba_mV: GABA_A reversal potential (mV)
    :param nmda_ratio: NMDA conductance per unit of AMPA conductance at each excitatory synapse (0 disables NMDA)
    :param mg_mM: extracellular magnesium concentration for the NMDA block (mM)
    :param U_release: fraction of resources released by one spike (short-term depression, 0 < U <= 1)
    :param tau_rec_ms: recovery time constant of synaptic resources (ms)
    """

    tau_ampa_ms: float = 5.0
    tau_nmda_ms: float = 100.0
    tau_gaba_ms: float = 10.0
    E_ampa_mV: float = 0.0
    E_nmda_mV: float = 0.0
    E_gaba_mV: float = -70.0
    nmda_ratio: float = 0.1
    mg_mM: float = 1.0
    U_release: float = 0.2
    tau_rec_ms: float = 600.0

    def __post_init__(self) -> None:
        for name in ("tau_ampa_ms", "tau_nmda_ms", "tau_gaba_ms", "tau_rec_ms"):
            value = getattr(self, name)
            if not value > 0:
                raise ValueError(f"SynapseKinetics.{name} must be > 0 ms, got {value!r}")
        if not 0 < self.U_release <= 1:
            raise ValueError(f"SynapseKinetics.U_release must be in (0, 1], got {self.U_release!r}")
        if self.nmda_ratio < 0 or self.mg_mM < 0:
            raise ValueError(
                f"SynapseKinetics.nmda_ratio and mg_mM must be >= 0, got {self.nmda_ratio!r} and {self.mg_mM!r}"
            )

    def namespace(self) -> dict:
        """Constants referenced by the equations, as Brian2 quantities."""
        from brian2 import mV, ms

        return {
            "tau_ampa": self.tau_ampa_ms * ms,
            "tau_nmda": self.tau_nmda_ms * ms,
            "tau_gaba": self.tau_gaba_ms * ms,
            "E_ampa": self.E_ampa_mV * mV,
            "E_nmda": self.E_nmda_mV * mV,
            "E_gaba": self.E_gaba_mV * mV,
            "nmda_ratio": self.nmda_ratio,
            "mg_mM": self.mg_mM,
            "U_release": self.U_release,
            "tau_rec": self.tau_rec_ms * ms,
        }

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "SynapseKinetics":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown synapse parameter(s) {unknown}; expected some of {sorted(known)}")
        return cls(**data)
