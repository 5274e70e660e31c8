"""Encoders (input -> stimulation) and decoders (recording -> output), built in and by name.

>>> from livn_rl.encoders import make_encoder, make_decoder
>>> encoder = make_encoder("population")                  # by name with defaults
>>> encoder = make_encoder({"name": "rate", "mode": "rate"})  # by name with parameters
>>> decoder = make_decoder("linear", output_space=env.action_space)
"""

from __future__ import annotations

import inspect

import gymnasium as gym

from livn_rl.encoders.base import Decoder, Encoder, StimulationContext, check_features, check_fits, from_unit, unit_dims
from livn_rl.encoders.decoders import ChannelRateDecoder, FirstSpikeDecoder, LinearDecoder, PopulationVectorDecoder
from livn_rl.encoders.encoders import PopulationEncoder, PulseEncoder, RateEncoder, TimingEncoder

ENCODERS: dict[str, type[Encoder]] = {
    "pulse": PulseEncoder,
    "rate": RateEncoder,
    "population": PopulationEncoder,
    "timing": TimingEncoder,
}
DECODERS: dict[str, type[Decoder]] = {
    "channel_rates": ChannelRateDecoder,
    "first_spike": FirstSpikeDecoder,
    "population_vector": PopulationVectorDecoder,
    "linear": LinearDecoder,
}


def _construct(kind: str, registry: dict, spec, base: type, **defaults):
    if isinstance(spec, base):
        return spec
    if isinstance(spec, str):
        name, params = spec, {}
    elif isinstance(spec, dict) and isinstance(spec.get("name"), str):
        params = dict(spec)
        name = params.pop("name")
    else:
        raise ValueError(
            f"{kind} must be a {base.__name__} instance, a name or a dict with a 'name' key; got {spec!r}. "
            f"Built-in {kind}s: {sorted(registry)}"
        )
    if name not in registry:
        raise ValueError(f"unknown {kind} {name!r}; built-in {kind}s: {sorted(registry)}")
    cls = registry[name]
    valid = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise ValueError(f"unknown parameter(s) {unknown} for {kind} {name!r}; valid ones: {valid}")
    for key, value in defaults.items():
        if key in valid:
            params.setdefault(key, value)
    return cls(**params)


def make_encoder(spec: Encoder | str | dict, **defaults) -> Encoder:
    """An encoder from an instance (returned as is), a built-in name or ``{"name": ..., **parameters}``; named
    encoders that take a parameter of ``defaults`` (e.g. ``n_values``) get it unless the parameters say otherwise."""
    return _construct("encoder", ENCODERS, spec, Encoder, **defaults)


def make_decoder(spec: Decoder | str | dict, output_space: gym.Space | None = None) -> Decoder:
    """A decoder from an instance (returned as is), a built-in name or ``{"name": ..., **parameters}``; named
    decoders that drive an action get ``output_space`` unless the parameters say otherwise."""
    defaults = {} if output_space is None else {"output_space": output_space}
    return _construct("decoder", DECODERS, spec, Decoder, **defaults)


__all__ = [
    "DECODERS", "ENCODERS", "ChannelRateDecoder", "Decoder", "Encoder", "FirstSpikeDecoder", "LinearDecoder",
    "PopulationEncoder", "PopulationVectorDecoder", "PulseEncoder", "RateEncoder", "StimulationContext", "TimingEncoder",
    "check_features", "check_fits", "from_unit", "make_decoder", "make_encoder", "unit_dims",
]
