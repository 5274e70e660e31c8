"""What the electrodes of one copy detect: spikes within reach, noise crossings, and the dead time.

The probabilities come from :meth:`MEA.detection_probability <livn_rl.mea.MEA.detection_probability>`: a spike is
seen with probability ``Phi((A - theta) / sigma)``, noise alone crosses the threshold at Rice's rate, and a channel is
blind for ``dead_time_ms`` after each detection.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ChannelDetector"]


class ChannelDetector:
    """The spike detector of every channel of one culture copy.

    Each copy owns one detector and one random stream, so what one copy does never changes what another detects. The
    time of each channel's last detection carries over from step to step, so how time is cut into steps does not
    change the output.

    :param probability: ``(n_channels, n_neurons)`` probability that a channel detects one spike of each neuron
    :param false_positive_rate_hz: rate of noise crossings per channel
    :param dead_time_ms: time a channel ignores further crossings after a detection
    :param floor: probabilities at or below this are treated as zero (out of reach)
    """

    def __init__(self, probability: np.ndarray, false_positive_rate_hz: float, dead_time_ms: float, floor: float = 1e-4) -> None:
        by_neuron = probability.T  # (N, C)
        reachable = by_neuron > floor
        self._ptr = np.concatenate([[0], np.cumsum(reachable.sum(axis=1))])
        rows, cols = np.nonzero(reachable)
        self._channel = cols.astype(np.int64)
        self._p = by_neuron[rows, cols]
        self._n_channels = probability.shape[0]
        self._false_positive_rate_hz = false_positive_rate_hz
        self._dead_time_ms = dead_time_ms
        self.reset()

    def reset(self) -> None:
        """Forget the channels' last detections (a fresh recording)."""
        self._last_ms = np.full(self._n_channels, -np.inf)

    def detect(self, neuron: np.ndarray, t_ms: np.ndarray, t0: float, duration: float, rng: np.random.Generator):
        """Channel, time and unit (-1 for noise) of every detection in ``[t0, t0 + duration)``, in time order.

        :param neuron: neuron index of each spike (within the copy)
        :param t_ms: time of each spike (ms)
        :param t0: start of the window (ms)
        :param duration: length of the window (ms)
        :param rng: the copy's random stream
        """
        counts = self._ptr[neuron + 1] - self._ptr[neuron]
        total = int(counts.sum())
        spike = np.repeat(np.arange(neuron.size), counts)
        offset = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
        pair = self._ptr[neuron][spike] + offset
        seen = rng.random(total) < self._p[pair]
        spike, pair = spike[seen], pair[seen]
        n_noise = rng.poisson(self._false_positive_rate_hz * duration / 1000.0, self._n_channels)
        channel = np.concatenate([self._channel[pair], np.repeat(np.arange(self._n_channels), n_noise)])
        t = np.concatenate([t_ms[spike], t0 + rng.uniform(0.0, duration, int(n_noise.sum()))])
        unit = np.concatenate([neuron[spike], np.full(int(n_noise.sum()), -1, dtype=np.int64)])
        order = np.lexsort((channel, t))
        channel, t, unit = channel[order], t[order], unit[order]
        if self._dead_time_ms > 0 and t.size:
            keep = np.zeros(t.size, dtype=bool)
            last = self._last_ms
            for k in range(t.size):  # sequential by nature; a window holds few detections per channel
                c = channel[k]
                if t[k] - last[c] >= self._dead_time_ms:
                    keep[k] = True
                    last[c] = t[k]
            channel, t, unit = channel[keep], t[keep], unit[keep]
        return channel, t, unit
