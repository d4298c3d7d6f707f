# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Both strategies against the simulator's ground truth, over HTTPS, on several data sets."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ansible_collections.opsbox.veeam_em.plugins.module_utils._times import format_fact_time, parse_timestamp
from ansible_collections.opsbox.veeam_em.plugins.module_utils.client import EMClient
from ansible_collections.opsbox.veeam_em.plugins.module_utils import _vm_latest
from ansible_collections.opsbox.veeam_em.plugins.plugin_utils._inventory_build import build_inventory
from ansible_collections.opsbox.veeam_em.plugins.filter.compliance_evaluate import evaluate
from ansible_collections.opsbox.veeam_em.plugins.module_utils._vm_latest import (
    SOURCES, Reader, Window, read_latest_per_vm, read_source, reduce_tasks, summarize,
)

from .conftest import check_closed

pytestmark = pytest.mark.simulator
KINDS = ("replica", "cdp", "backup")


def read(sim, kind, window, strategy, **kwargs):
    with EMClient(sim.url, sim.username, sim.password, ca_path=sim.ca_path, **kwargs) as client:
        return read_source(client, kind, window, strategy)


def window_of(sim, days, **kwargs):
    until = parse_timestamp(sim.now)
    return Window(until - timedelta(days=days), until, **kwargs)


def truth_newest(sim, kind, window):
    rows = sim.truth("latest_tasks", kind=kind, since=format_fact_time(window.since), until=format_fact_time(window.until))
    return dict(((row["BackupServerName"], row["VmDisplayName"]), row["UID"]) for row in rows)


def newest_of(part):
    return dict((key, entry["newest"]["uid"]) for key, entry in summarize(part["tasks"]).items())


@pytest.mark.parametrize("dataset", ["tiny", "demo", "mixed"])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("days", [1, 2.5, 7, 40])
def test_both_strategies_equal_truth(simulators, dataset, kind, days):
    sim = simulators(dataset)
    window = window_of(sim, days)
    expected = truth_newest(sim, kind, window)
    fast = read(sim, kind, window, "fast")
    full = read(sim, kind, window, "full_scan")
    assert expected, "the data set has no %s task sessions in the window" % kind
    assert newest_of(full) == expected
    assert newest_of(fast) == expected
    # Not only the newest task sessions: the whole inventory is the same.
    now = window.until
    assert build_inventory({kind: fast}, now, str) == build_inventory({kind: full}, now, str)
    # and so is what the cache keeps: the same task sessions and the sessions they belong to
    assert fast["tasks"] == full["tasks"]
    assert sorted(fast["sessions"], key=lambda item: item["uid"]) == sorted(full["sessions"], key=lambda item: item["uid"])
    check_closed(sim)


@pytest.mark.parametrize("kind", KINDS)
def test_both_strategies_keep_the_same_task_sessions_on_a_fleet(simulators, kind):
    sim = simulators("fleet1000")
    window = window_of(sim, 7)
    fast = read(sim, kind, window, "fast")
    full = read(sim, kind, window, "full_scan")
    assert newest_of(fast) == truth_newest(sim, kind, window)
    # newest, newest completed and newest successful task session of every VM, one by one
    assert [task["uid"] for task in fast["tasks"]] == [task["uid"] for task in full["tasks"]]
    assert sorted(item["uid"] for item in fast["sessions"]) == sorted(item["uid"] for item in full["sessions"])
    assert fast["records"] < full["records"] / 2
    check_closed(sim)


@pytest.mark.parametrize("dataset", ["demo", "mixed"])
def test_fast_reads_less_than_full_scan(simulators, dataset):
    sim = simulators(dataset)
    window = window_of(sim, 7)
    fast = read(sim, "replica", window, "fast")
    full = read(sim, "replica", window, "full_scan")
    assert fast["records"] < full["records"] / 2, (fast["records"], full["records"])


def test_data_sets_hold_the_hard_cases(simulators):
    """The comparisons above mean something only if the data holds the cases the fast strategy must handle."""
    sim = simulators("mixed")
    sessions = sim.truth("query", type="ReplicaJobSession")
    assert any(row["IsRetry"] for row in sessions)
    assert any(row["FailureMessage"] for row in sessions), "no run stopped part-way"
    assert any(row["EndTimeUTC"] is None for row in sessions), "no running session"
    latest = sim.truth("latest_tasks", kind="replica")
    names = [row["VmDisplayName"] for row in latest]
    assert len(names) != len(set(names)), "no VM name on two backup servers"
    assert any("{{" in name for name in names)
    jobs_of_vm = {}
    for row in sim.truth("query", type="ReplicaTaskSession"):
        jobs_of_vm.setdefault((row["BackupServerName"], row["VmDisplayName"]), set()).add(row["JobUid"])
    assert any(len(jobs) > 1 for jobs in jobs_of_vm.values()), "no VM in two jobs"


def test_backup_server_and_job_limits(simulators):
    sim = simulators("demo")
    everything = window_of(sim, 7)
    expected = truth_newest(sim, "replica", everything)
    server = sorted(expected)[0][0]
    limited = window_of(sim, 7, backup_servers=[server])
    for strategy in ("fast", "full_scan"):
        part = read(sim, "replica", limited, strategy)
        assert newest_of(part) == dict((key, uid) for key, uid in expected.items() if key[0] == server)
    job = read(sim, "replica", everything, "full_scan")["sessions"][0]["job_name"]
    by_job = window_of(sim, 7, jobs=[job])
    fast = read(sim, "replica", by_job, "fast")
    full = read(sim, "replica", by_job, "full_scan")
    assert fast["tasks"] and newest_of(fast) == newest_of(full)
    assert set(session["job_name"] for session in fast["sessions"]) == {job}
    check_closed(sim)


def test_small_pages_and_json_give_the_same_answer(simulators):
    sim = simulators("tiny")
    window = window_of(sim, 3)
    expected = truth_newest(sim, "replica", window)
    part = read(sim, "replica", window, "fast", page_size=7, wire_format="json", concurrency=1)
    assert newest_of(part) == expected
    check_closed(sim)


@pytest.mark.parametrize("dataset", ["demo", "mixed"])
@pytest.mark.parametrize("kind", KINDS)
def test_latest_per_vm_gives_the_verdicts_of_every_task_session(simulators, dataset, kind):
    """What latest_per_vm returns is enough for compliance_evaluate: the same verdicts as from the whole window."""
    sim = simulators(dataset)
    window = window_of(sim, 7)
    with EMClient(sim.url, sim.username, sim.password, ca_path=sim.ca_path) as client:
        everything = Reader(client, SOURCES[kind], window).all_tasks()
        latest = read_latest_per_vm(client, kind, window)
    assert latest["tasks"] == reduce_tasks(everything)
    assert latest["records"] < len(everything)
    now = format_fact_time(window.until)
    reasons = set()
    for rpo_hours in (0.25, 1, 6, 24, 1000):
        reduced = evaluate({kind: {"tasks": latest["tasks"]}}, now, sources=[kind], rpo_hours=rpo_hours)
        full = evaluate({kind: {"tasks": everything}}, now, sources=[kind], rpo_hours=rpo_hours)
        assert reduced == full
        reasons.update(row["reason"] for row in full["vms"])
    # the comparison means something only if the verdicts differ between VMs and RPOs
    assert None in reasons and len(reasons) >= 2, reasons
    check_closed(sim)


def never_stop(summary, server, groups):  # pylint: disable=unused-argument
    return lambda task: False


@pytest.mark.parametrize("dataset", ["demo", "mixed"])
@pytest.mark.parametrize("options", [{}, {"page_size": 7}, {"page_size": 7, "concurrency": 1}, {"wire_format": "json"}])
def test_history_stops_early_with_the_same_answer(simulators, monkeypatch, dataset, options):
    """Reading the older history newest first and stopping early changes nothing but the cost."""
    sim = simulators(dataset)
    window = window_of(sim, 7)
    fast = read(sim, "replica", window, "fast", **options)
    check_closed(sim)  # stopping a query part-way still logs off
    full = read(sim, "replica", window, "full_scan", **options)
    monkeypatch.setattr(_vm_latest, "history_stop", never_stop)
    whole = read(sim, "replica", window, "fast", **options)
    now = window.until
    assert build_inventory({"replica": fast}, now, str) == build_inventory({"replica": full}, now, str)
    assert build_inventory({"replica": fast}, now, str) == build_inventory({"replica": whole}, now, str)
    assert fast["queries"] == whole["queries"]
    # the data sets need older history for some VMs, and the early stop reads less of it
    assert fast["records"] < whole["records"], (fast["records"], whole["records"])
    check_closed(sim)


@pytest.mark.parametrize("dataset", ["demo", "mixed"])
@pytest.mark.parametrize("kind", KINDS)
def test_jobs_too_large_for_one_exclusion_are_split_into_name_ranges(simulators, dataset, kind, monkeypatch):
    """With a small URL budget every job's known VMs are cut into name ranges; the answer stays the truth."""
    sim = simulators(dataset)
    window = window_of(sim, 7)
    ranged = []
    real_split = _vm_latest.split_exclusion

    def spy(resource, base, names, budget):
        groups = real_split(resource, base, names, budget)
        ranged.extend(group for group in groups or () if any(item[1] in (">=", "<") for item in group
                                                             if item[0] == "VmDisplayName"))
        return groups

    monkeypatch.setattr(_vm_latest, "split_exclusion", spy)
    monkeypatch.setattr(_vm_latest, "MAX_FILTER_LENGTH", 450)
    fast = read(sim, kind, window, "fast")
    full = read(sim, kind, window, "full_scan")
    assert newest_of(fast) == truth_newest(sim, kind, window)
    assert fast["tasks"] == full["tasks"]
    if kind != "cdp":  # CDP policies hold few VMs: their lists fit even this budget on these data sets
        assert ranged, "no job was split: the test data did not exercise the ranges"
    check_closed(sim)
