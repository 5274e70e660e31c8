"""Open an NWB file of livn_rl with plain pynwb (no livn_rl needed) and draw a raster of its neurons.

    livn-rl simulate S2 --duration 1000 --stimulate 5:10uA@300msx5/20Hz --save out/s2.npz
    livn-rl export nwb out/s2.npz --out out/s2.nwb
    python examples/nwb_raster.py out/s2.nwb --out out/s2_raster.png

Top: every neuron's spikes (the units table), coloured by population, with the stimulation pulses
(intervals/stimulation) as vertical lines. Bottom: what each electrode detected (processing/ecephys), noise
crossings in grey.
"""

from __future__ import annotations

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from pynwb import NWBHDF5IO  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("nwb", help="an .nwb file written by livn-rl export nwb")
    parser.add_argument("--out", default="raster.png", help="the figure (default: raster.png)")
    args = parser.parse_args()

    with NWBHDF5IO(args.nwb, "r") as io:
        nwb = io.read()
        units = nwb.units.to_dataframe()
        electrodes = nwb.electrodes.to_dataframe()
        detected = nwb.processing["ecephys"]["detected_spikes"].to_dataframe(index=True)
        pulses = nwb.intervals["stimulation"].to_dataframe() if "stimulation" in nwb.intervals else None
        title = f"{nwb.subject.subject_id}: {nwb.session_description}"

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6), sharex=True, height_ratios=[3, 1.4])
    colours = {"E": "tab:red", "I": "tab:blue"}
    for population, members in units.groupby("population"):
        times = np.concatenate(members["spike_times"].to_numpy())
        rows = np.repeat(members.index.to_numpy(), [len(t) for t in members["spike_times"]])
        top.scatter(times, rows, s=2, color=colours.get(population, "black"),
                    label=f"{population} ({members['cell_type'].iloc[0]}, {len(members)} cells)")
    if pulses is not None:
        for onset in pulses["start_time"]:
            top.axvline(onset, color="tab:orange", lw=0.8, alpha=0.6)
        top.plot([], [], color="tab:orange", label="stimulation pulse")
    top.set_ylabel("neuron (units row)")
    top.legend(loc="upper right", fontsize=8, markerscale=4)
    top.set_title(title, fontsize=9, loc="left")
    channel = electrodes["channel"].to_numpy()[detected["electrode"].to_numpy()]
    noise = detected["unit"].to_numpy() < 0
    bottom.scatter(detected["spike_time"][~noise], channel[~noise], s=3, color="black", label="spike of a neuron")
    bottom.scatter(detected["spike_time"][noise], channel[noise], s=3, color="0.6", label="noise crossing")
    bottom.set_ylabel("electrode")
    bottom.set_xlabel("time (s)")
    bottom.legend(loc="upper right", fontsize=8, markerscale=3)
    fig.tight_layout()
    fig.savefig(args.out, dpi=130)
    print(f"raster: {args.out} ({len(units)} units, {sum(len(t) for t in units['spike_times'])} spikes, "
          f"{len(detected)} detections)")


if __name__ == "__main__":
    main()
