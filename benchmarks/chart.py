# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Draw the scaling chart of the benchmark (PNG) from the harness's JSON figures.

    .cache/bench-venv/bin/python benchmarks/chart.py scaling.json benchmarks/scaling.png

Runs in the harness's own virtual environment (``.cache/bench-venv``, matplotlib from PyPI),
never in the collection's: matplotlib is not a dependency of the collection. Input: ``{"title",
"vm_points": [...], "history_points": [...], "vm_factor_target", "history_target"}``, each point
``{"vms", "days", "time", "time_min", "time_max", "records", "requests", "rss_mb"}``.
"""

import json
import sys

import matplotlib  # pylint: disable=import-error

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 pylint: disable=import-error,wrong-import-position


def time_panel(axis, points, factor_target):
    """Plugin time against VMs, with the spread and the line of proportional scaling."""
    vms = [point["vms"] for point in points]
    times = [point["time"] for point in points]
    low = [point["time"] - point["time_min"] for point in points]
    high = [point["time_max"] - point["time"] for point in points]
    axis.errorbar(vms, times, yerr=[low, high], marker="o", capsize=4, label="measured (median, min-max)")
    base = points[len(points) // 2] if len(points) > 2 else points[0]
    axis.plot(vms, [base["time"] * count / base["vms"] for count in vms], linestyle="--", color="grey",
              label="proportional to VMs (through %s VMs)" % format(base["vms"], ","))
    axis.plot(vms, [base["time"] * factor_target * count / base["vms"] for count in vms], linestyle=":", color="red",
              label="target bound (%.3gx the time for 4x the VMs)" % (factor_target * 4))
    for count, seconds in zip(vms, times):
        axis.annotate("%.2f s" % seconds, (count, seconds), textcoords="offset points", xytext=(6, -12), fontsize=8)
    axis.set_xlabel("VMs in the data set (%d days of history)" % points[0]["days"])
    axis.set_ylabel("inventory plugin time, in-process (s)")
    axis.set_title("Inventory time vs fleet size")
    axis.set_ylim(bottom=0)
    axis.set_xlim(left=0)
    axis.grid(True, alpha=0.3)
    axis.legend(fontsize=8, loc="upper left")


def transfer_panel(axis, points):
    """Records and requests against VMs (the transfer the time is made of)."""
    vms = [point["vms"] for point in points]
    axis.plot(vms, [point["records"] / 1000.0 for point in points], marker="s", color="tab:green", label="records received")
    axis.set_xlabel("VMs in the data set (%d days of history)" % points[0]["days"])
    axis.set_ylabel("records received (thousands)", color="tab:green")
    axis.set_ylim(bottom=0)
    axis.set_xlim(left=0)
    axis.grid(True, alpha=0.3)
    twin = axis.twinx()
    twin.plot(vms, [point["requests"] for point in points], marker="^", color="tab:purple", label="HTTP requests")
    twin.set_ylabel("HTTP requests", color="tab:purple")
    twin.set_ylim(bottom=0)
    axis.set_title("Transfer vs fleet size")
    lines = axis.get_lines() + twin.get_lines()
    axis.legend(lines, [line.get_label() for line in lines], fontsize=8, loc="upper left")


def history_panel(axis, points, target):
    """Plugin time at each length of history, with the target bound over the shortest."""
    labels = ["%d days" % point["days"] for point in points]
    times = [point["time"] for point in points]
    bars = axis.bar(labels, times, color=["tab:blue", "tab:orange"][:len(points)] + ["tab:blue"] * max(0, len(points) - 2))
    for patch, point in zip(bars, points):
        axis.annotate("%.2f s\n%s records" % (point["time"], format(int(round(point["records"])), ",")),
                      (patch.get_x() + patch.get_width() / 2, patch.get_height()), ha="center", va="bottom", fontsize=8,
                      textcoords="offset points", xytext=(0, 3))
    axis.axhline(times[0] * target, color="red", linestyle=":", label="target: %.3g x the %s time" % (target, labels[0]))
    axis.set_xlabel("history in the data set (%s VMs)" % format(points[0]["vms"], ","))
    axis.set_ylabel("inventory plugin time, in-process (s)")
    axis.set_title("Inventory time vs history")
    axis.set_ylim(0, max(times + [times[0] * target]) * 1.3)
    axis.grid(True, axis="y", alpha=0.3)
    axis.legend(fontsize=8, loc="upper left")


def main(argv):
    with open(argv[0]) as handle:
        data = json.load(handle)
    panels = [name for name, key in (("time", "vm_points"), ("transfer", "vm_points"), ("history", "history_points"))
              if len(data.get(key) or []) >= 2]
    if not panels:
        sys.stderr.write("chart.py: fewer than two scaling points, nothing to draw\n")
        return 1
    figure, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 5))
    axes = list(axes) if len(panels) > 1 else [axes]
    for axis, panel in zip(axes, panels):
        if panel == "time":
            time_panel(axis, data["vm_points"], data["vm_factor_target"])
        elif panel == "transfer":
            transfer_panel(axis, data["vm_points"])
        else:
            history_panel(axis, data["history_points"], data["history_target"])
    figure.suptitle(data.get("title", "Scaling of the inventory plugin"), fontsize=11)
    figure.tight_layout()
    figure.savefig(argv[1], dpi=110)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
