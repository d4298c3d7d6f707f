# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Both inventory strategies side by side on the simulator's ``fleet`` data set (not collected by pytest).

Run from the collection root of an ``ansible_collections/opsbox/veeam_em`` tree::

    PYTHONPATH=<tree root> python tests/unit/plugins/inventory/fleet_benchmark.py \
        --cache-dir .cache/simulator --state-dir .cache/simulator [--lookback-days 7] [--sources replica,cdp]

Prints one line per strategy and source (requests, records sent by EM, wall time) and checks
both answers against the simulator's ground truth.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import timedelta

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "simulator"))

from em_simulator.testing import start_simulator  # noqa: E402 pylint: disable=import-error,wrong-import-position

from ansible_collections.opsbox.veeam_em.plugins.module_utils._times import (  # noqa: E402 pylint: disable=wrong-import-position
    format_fact_time, parse_timestamp,
)
from ansible_collections.opsbox.veeam_em.plugins.module_utils.client import EMClient  # noqa: E402 pylint: disable=wrong-import-position
from ansible_collections.opsbox.veeam_em.plugins.module_utils._vm_latest import (  # noqa: E402 pylint: disable=wrong-import-position
    Window, read_source, summarize,
)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache-dir", required=True)
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--lookback-days", type=float, default=7)
    parser.add_argument("--sources", default="replica,cdp")
    args = parser.parse_args()
    sim = start_simulator(dataset="fleet", tls=True, port=0, cache_dir=args.cache_dir, state_dir=args.state_dir, timeout=900)
    failures = 0
    try:
        until = parse_timestamp(sim.now)
        window = Window(until - timedelta(days=args.lookback_days), until)
        print("fleet data set, window %s .. %s, page_size 500, default concurrency, XML" % (
            format_fact_time(window.since), format_fact_time(until)))
        print("%-8s %-10s %9s %12s %9s %7s %s" % ("source", "strategy", "requests", "records", "wall s", "VMs", "truth"))
        totals = {}
        for source in args.sources.split(","):
            truth = dict(((row["BackupServerName"], row["VmDisplayName"]), row["UID"]) for row in sim.truth(
                "latest_tasks", kind=source, since=format_fact_time(window.since), until=format_fact_time(until)))
            for strategy in ("full_scan", "fast"):
                sim.reset_stats()
                started = time.monotonic()
                with EMClient(sim.url, sim.username, sim.password, ca_path=sim.ca_path) as client:
                    part = read_source(client, source, window, strategy)
                wall = time.monotonic() - started
                stats = sim.stats()
                requests = sum(sum(by_status.values()) for by_status in stats["requests"].values())
                newest = dict((key, entry["newest"]["uid"]) for key, entry in summarize(part["tasks"]).items())
                same = newest == truth
                failures += 0 if same and stats["open_sessions"] == 0 else 1
                total = totals.setdefault(strategy, [0, 0, 0.0])
                total[0] += requests
                total[1] += stats["records_sent"]
                total[2] += wall
                print("%-8s %-10s %9d %12d %9.2f %7d %s" % (source, strategy, requests, stats["records_sent"], wall,
                                                            len(newest), "equal" if same else "DIFFERENT"))
        for strategy, (requests, records, wall) in totals.items():
            print("%-8s %-10s %9d %12d %9.2f" % ("all", strategy, requests, records, wall))
    finally:
        sim.stop()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
