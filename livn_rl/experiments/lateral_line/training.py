"""Train the lateral-line circuit on held sources and test its TS place map, through the closed-loop engine.

One run (:func:`run_lateral_line`), all in one :class:`~livn_rl.engine.Simulation`:

1. **pre-test** with plasticity frozen: the map the initial, weakly topographic weights give;
2. **training**: ``n_trials`` trials, each holding the source at a position drawn uniformly along the body and a
   distance drawn uniformly from ``distance_range_cm`` for ``trial_ms``, then ``rest_ms`` without source. Each
   afferent's rate gets Gaussian noise whose SD anneals linearly from ``noise_start_hz`` to ``noise_end_hz``, and
   the STDP amplitudes anneal linearly from the configured ones to ``learning_rate_end`` times them;
3. **post-test**, plasticity frozen unless ``plastic_test``.

A test either sweeps the source along the body at ``speed_cm_s`` (decoding every ``test_window_ms``) or holds it at
``test_positions`` snapshots for ``trial_ms`` each, ``test_repeats`` times, at ``test_distance_cm``. The random
streams (positions, distances, noise) come from the run's seed, so a run and its no-STDP control see the same
stimuli.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from livn_rl.engine import Simulation
from livn_rl.recording import Recording
from livn_rl.systems.lateral_line.config import LateralLineConfig
from livn_rl.systems.lateral_line.metrics import map_quality
from livn_rl.systems.lateral_line.network import LateralLineSystem

__all__ = ["KEPT_TRIALS", "RunResult", "TRACKED_SYNAPSES", "TestResult", "run_lateral_line", "run_test"]

#: Training trials whose spikes are kept for the rasters (the first and the last ones).
KEPT_TRIALS = 2
#: MON->TS synapses whose weights are followed trial by trial (evenly spread over the projection).
TRACKED_SYNAPSES = 8


@dataclass
class TestResult:
    """TS (and MON) spike counts of one test: ``(test_repeats, n_windows, n)`` with the source position per window."""

    position_cm: np.ndarray
    ts_counts: np.ndarray
    mon_counts: np.ndarray
    recording: Recording  # the first repeat, all neurons
    quality: dict[str, float]


@dataclass
class RunResult:
    """Everything one seed of a lateral-line run produced (see :func:`run_lateral_line`)."""

    config: LateralLineConfig
    seed: int
    stdp: bool
    system: LateralLineSystem
    pre: TestResult
    post: TestResult
    trial_position_cm: np.ndarray
    trial_distance_cm: np.ndarray
    trial_noise_hz: np.ndarray
    trial_ts_counts: np.ndarray  # (n_trials, n_TS)
    trial_population_rates_hz: dict[str, np.ndarray]  # population -> (n_trials,)
    weights_before_mv: dict[str, np.ndarray]
    weights_after_mv: dict[str, np.ndarray]
    weight_mean_mv: np.ndarray  # (n_trials + 1,) mean MON->TS weight
    weight_change_mv: np.ndarray  # (n_trials,) mean |dw| per trial
    weight_std_mv: np.ndarray  # (n_trials + 1,) SD of the MON->TS weights
    tracked_synapses: np.ndarray  # (TRACKED_SYNAPSES,) MON->TS synapse indices followed over training
    tracked_weights_mv: np.ndarray  # (n_trials + 1, TRACKED_SYNAPSES) their weights
    last_rest: Recording | None  # the rest after the last training trial, just before the post-test (None: no rest)
    kept_trials: list[tuple[int, Recording]] = field(default_factory=list)
    seconds: float = 0.0

    def training_quality(self, trials_per_block: int = 8) -> dict[str, np.ndarray]:
        """Map quality of the training trials in consecutive blocks of about ``trials_per_block`` trials (at most
        10 blocks): trial centres and metrics."""
        c = self.config
        if c.training.n_trials == 0:
            return {key: np.empty(0) for key in ("sigma_theta", "delta_trial", "valid_fraction", "mean_abs_error_cm", "trial")}
        n_blocks = int(np.clip(c.training.n_trials // trials_per_block, 1, 10))
        blocks = np.array_split(np.arange(c.training.n_trials), n_blocks)
        values = [map_quality(self.trial_ts_counts[b], self.trial_position_cm[b], self.ts_positions_cm,
                              c.line.body_length_cm, c.training.min_spikes) for b in blocks]
        out = {key: np.array([v[key] for v in values]) for key in values[0]}
        out["trial"] = np.array([b.mean() + 1 for b in blocks])
        return out

    @property
    def ts_positions_cm(self) -> np.ndarray:
        return self.system.body_x_cm[self.system.population("TS").indices]

    def summary(self) -> dict:
        """JSON-serialisable per-seed numbers for ``run_summary.json``."""
        return {
            "seed": self.seed,
            "stdp": self.stdp,
            "seconds": round(self.seconds, 2),
            "test_ts_spikes": int(self.post.ts_counts.sum()),
            "pre_test_ts_spikes": int(self.pre.ts_counts.sum()),
            "pre_test": _rounded(self.pre.quality),
            "post_test": _rounded(self.post.quality),
            "mean_weight_mv": {"before": round(float(self.weights_before_mv["mon_ts"].mean()), 4),
                               "after": round(float(self.weights_after_mv["mon_ts"].mean()), 4)},
            "training_rates_hz": {k: round(float(v.mean()), 3) if v.size else None
                                  for k, v in self.trial_population_rates_hz.items()},
        }


def _rounded(values: dict) -> dict:
    return {k: (round(v, 4) if np.isfinite(v) else None) for k, v in values.items()}


def _set_source(sim, system: LateralLineSystem, position_cm: float | None, distance_cm: float,
                noise_hz: np.ndarray | None = None) -> None:
    from brian2 import Hz

    steady, modulated = system.afferent_rates(position_cm, distance_cm, noise_hz)
    sim.set_neuron_variable("rate_steady", steady * Hz)
    sim.set_neuron_variable("rate_modulated", modulated * Hz)


def run_test(sim, system: LateralLineSystem) -> TestResult:
    """Run the configured test (sweep or snapshots) on ``sim`` and score the TS map."""
    c = system.config
    tr = c.training
    length = c.line.body_length_cm
    if tr.test_mode == "sweep":
        n_windows = max(2, int(round(length / c.source.speed_cm_s * 1000.0 / tr.test_window_ms)))
        positions = (np.arange(n_windows) + 0.5) * length / n_windows
        hold_ms = tr.test_window_ms
    else:
        positions = (np.arange(tr.test_positions) + 0.5) * length / tr.test_positions
        hold_ms = tr.trial_ms
    ts, mon = system.population("TS"), system.population("MON")
    ts_counts = np.zeros((tr.test_repeats, positions.size, ts.size))
    mon_counts = np.zeros((tr.test_repeats, positions.size, mon.size))
    first: list[Recording] = []
    for r in range(tr.test_repeats):
        for w, x in enumerate(positions):
            _set_source(sim, system, float(x), c.source.test_distance_cm)
            rec = sim.step(None, hold_ms)
            counts = rec.neuron_counts[0]
            ts_counts[r, w], mon_counts[r, w] = counts[ts.start : ts.stop], counts[mon.start : mon.stop]
            if r == 0:
                first.append(rec)
        _rest(sim, system)
    quality = map_quality(ts_counts, positions[None, :], system.body_x_cm[ts.indices], length, tr.min_spikes)
    return TestResult(positions, ts_counts, mon_counts, Recording.concatenate(first), quality)


def _rest(sim, system: LateralLineSystem) -> Recording | None:
    """``rest_ms`` without source; its recording (``None`` without rest)."""
    _set_source(sim, system, None, 1.0)
    if system.config.training.rest_ms > 0:
        return sim.step(None, system.config.training.rest_ms)
    return None


def run_lateral_line(config: LateralLineConfig, seed: int = 0, *, stdp: bool = True, target: str = "auto",
                     progress: bool = True) -> RunResult:
    """Pre-test, train and post-test one seed of the lateral-line circuit.

    :param config: the run's configuration
    :param seed: seed of the connectivity, the initial state, the stimuli and Brian2's random numbers
    :param stdp: ``False`` for the control: every STDP off (same network, same stimuli)
    :param target: Brian2 code generation target
    :param progress: show a progress bar over the training trials
    """

    start = time.perf_counter()
    config = config if stdp else config.without_stdp()
    system = LateralLineSystem(config, seed=seed)
    tr, length = config.training, config.line.body_length_cm
    rng = np.random.default_rng([seed, 2024])  # the stimuli: independent of the network's own streams
    positions = rng.uniform(0.0, length, tr.n_trials)
    distances = rng.uniform(*config.source.distance_range_cm, tr.n_trials)
    noise_sd = np.linspace(tr.noise_start_hz, tr.noise_end_hz, tr.n_trials)
    noise = rng.standard_normal((tr.n_trials, config.line.n)) * noise_sd[:, None]
    learning_rate = np.linspace(1.0, tr.learning_rate_end, tr.n_trials)

    with Simulation(system, seed=seed, dt_ms=tr.dt_ms, target=target) as sim:
        weights_before = {k: system.weights_mv(k)[0].copy() for k in ("ll_mon", "mon_ts")}
        system.set_plasticity(False)
        pre = run_test(sim, system)
        system.set_plasticity(True)
        ts = system.population("TS")
        trial_ts = np.zeros((tr.n_trials, ts.size))
        rates = {p.name: np.zeros(tr.n_trials) for p in system.populations}
        weight_mean = np.zeros(tr.n_trials + 1)
        weight_change = np.zeros(tr.n_trials)
        weight_std = np.zeros(tr.n_trials + 1)
        previous = weights_before["mon_ts"]
        tracked = np.linspace(0, previous.size - 1, min(TRACKED_SYNAPSES, previous.size)).astype(np.int64)
        tracked_weights = np.zeros((tr.n_trials + 1, tracked.size))
        targets = {key: system.incoming_sums_mv(key) for key in ("ll_mon", "mon_ts")}
        weight_mean[0], weight_std[0], tracked_weights[0] = previous.mean(), previous.std(), previous[tracked]
        kept, last_rest = [], None
        bar = _bar(tr.n_trials, f"training seed {seed}" + ("" if stdp else " (no STDP)"), progress)
        for t in range(tr.n_trials):
            system.scale_learning_rate(learning_rate[t])
            _set_source(sim, system, float(positions[t]), float(distances[t]), noise[t])
            rec = sim.step(None, tr.trial_ms)
            counts = rec.neuron_counts[0]
            trial_ts[t] = counts[ts.start : ts.stop]
            for p in system.populations:
                rates[p.name][t] = counts[p.start : p.stop].mean() / (tr.trial_ms / 1000.0)
            if t < KEPT_TRIALS // 2 or t >= tr.n_trials - (KEPT_TRIALS - KEPT_TRIALS // 2):
                kept.append((t, rec))
            last_rest = _rest(sim, system)
            for key, rule in (("ll_mon", config.mon.stdp), ("mon_ts", config.ts.stdp)):
                if rule.enabled and rule.normalise:
                    system.normalise_incoming(key, targets[key])
            current = system.weights_mv("mon_ts")[0]
            weight_change[t] = np.abs(current - previous).mean()
            weight_mean[t + 1], weight_std[t + 1], tracked_weights[t + 1] = current.mean(), current.std(), current[tracked]
            previous = current.copy()
            if bar is not None:
                bar.update(1)
        if bar is not None:
            bar.close()
        weights_after = {k: system.weights_mv(k)[0].copy() for k in ("ll_mon", "mon_ts")}
        system.set_plasticity(tr.plastic_test)
        post = run_test(sim, system)
    return RunResult(
        config, int(seed), bool(stdp), system, pre, post, positions, distances, noise_sd, trial_ts, rates,
        weights_before, weights_after, weight_mean, weight_change, weight_std, tracked, tracked_weights, last_rest,
        kept, time.perf_counter() - start,
    )


def _bar(total: int, description: str, enabled: bool):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="trial", desc=description, leave=False)
