# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The planning of the fast strategy, without a server."""

from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import quote

import pytest

from ansible_collections.opsbox.veeam_em.plugins.plugin_utils import _inventory_read as read
from ansible_collections.opsbox.veeam_em.plugins.plugin_utils._inventory_read import (
    SOURCES, Window, is_full_run, pack_groups, plan_fallback, plan_history, plan_sessions, read_source,
    reduce_tasks, session_filter, summarize,
)

UNTIL = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
SINCE = datetime(2026, 11, 13, 12, 0, tzinfo=timezone.utc)
REPLICA = SOURCES["replica"]


def session(uid, job, hour, retry=False, result="Success", end=True, failure=None, server="vbr01"):
    return {"uid": uid, "job_uid": job, "job_name": "Job " + job, "creation_time": "2026-11-20T%02d:00:00.000000Z" % hour,
            "end_time": "2026-11-20T%02d:30:00.000000Z" % hour if end else None, "state": "Stopped" if end else "Working",
            "result": result if end else "None", "is_retry": retry, "failure_message": failure, "backup_server_name": server}


def task(uid, vm, session_uid, hour, minute=1, result="Success", running=False, server="vbr01"):
    return {"uid": uid, "vm_name": vm, "job_session_uid": session_uid, "backup_server_name": server,
            "creation_time": "2026-11-20T%02d:%02d:00.000000Z" % (hour, minute),
            "end_time": None if running else "2026-11-20T%02d:%02d:30.000000Z" % (hour, minute),
            "state": "InProgress" if running else "Completed", "result": "None" if running else result}


@pytest.mark.parametrize("record, full", [
    (session("s", "j", 1), True),
    (session("s", "j", 1, result="Failed"), True),           # a run with failed VMs still processed them all
    (session("s", "j", 1, result="Failed", failure="Job has been stopped by user."), False),
    (session("s", "j", 1, retry=True), False),
    (session("s", "j", 1, end=False), False),
])
def test_full_run(record, full):
    assert is_full_run(record) is full


def test_plan_reads_down_to_the_newest_full_run_per_job():
    sessions = [
        session("a4", "A", 9, end=False),                     # running
        session("a3", "A", 8, retry=True),                    # retry subset
        session("a2", "A", 7, result="Failed", failure="Job has been stopped by user."),
        session("a1", "A", 6),                                # newest full run
        session("a0", "A", 5),
        session("b1", "B", 4),
    ]
    plan = plan_sessions(sessions, REPLICA)
    assert [item["uid"] for item in plan["A"]["read"]] == ["a4", "a3", "a2", "a1"]
    assert [item["uid"] for item in plan["A"]["rest"]] == ["a0"]
    assert plan["A"]["cutoff"] == "2026-11-20T06:00:00.000000Z"
    assert plan["B"] == {"read": [sessions[-1]], "rest": [], "cutoff": None}


def test_session_filter_asks_for_sessions_that_overlap_the_window():
    predicates, raw = session_filter(REPLICA, Window(SINCE, UNTIL, backup_servers=["vbr01"], jobs=['x";y']))
    assert ("CreationTime", "<=", UNTIL) in predicates
    assert ("JobName", "==", ['x";y']) in predicates
    assert raw == 'EndTime>="2026-11-13T12:00:00Z",State!="Stopped"'
    cdp_predicates, dummy = session_filter(SOURCES["cdp"], Window(SINCE, UNTIL, jobs=["P"]))
    assert ("PolicyName", "==", ["P"]) in cdp_predicates


def test_pack_groups_respects_the_budget_and_keeps_every_group():
    groups = [[("JobSessionUid", "==", "urn:veeam:ReplicaJobSession:%032d" % number)] for number in range(200)]
    filters = pack_groups("ReplicaTaskSession", groups, [("CreationTime", ">=", SINCE)], budget=2000)
    assert len(filters) > 1
    assert all(len(quote(text, safe="")) < 2000 for text in filters)
    assert sum(text.count("JobSessionUid==") for text in filters) == 200
    assert pack_groups("ReplicaTaskSession", [], []) == []


def test_fallback_excludes_known_vms_and_falls_back_to_time_when_too_long():
    plan = plan_sessions([session("a1", "A", 6), session("a0", "A", 5), session("b1", "B", 4)], REPLICA)
    groups = plan_fallback(REPLICA, plan, {"A": {"web-1", 'q"uote'}})
    assert groups == [[("JobUid", "==", "A"), ("VmDisplayName", "!=", ['q"uote', "web-1"])]]
    many = {"A": set("vm-%04d-with-a-longer-name" % number for number in range(1000))}
    assert plan_fallback(REPLICA, plan, many) == [[("JobUid", "==", "A"), ("CreationTime", "<", "2026-11-20T06:00:00.000000Z")]]
    cdp_plan = {"P": {"read": [{"uid": "p2"}], "rest": [{"uid": "p1"}, {"uid": "p0"}], "cutoff": "t"}}
    assert plan_fallback(SOURCES["cdp"], cdp_plan, {}) == [[("PolicySessionUid", "==", ["p1", "p0"])]]


def test_summary_and_reduction_keep_newest_completed_and_success():
    tasks = [
        task("t4", "web", "s4", 9, running=True),
        task("t3", "web", "s3", 8, result="Failed"),
        task("t2", "web", "s2", 7, result="Warning"),
        task("t1", "web", "s1", 6),
        task("t0", "web", "s0", 5),
        task("u1", "web", "x1", 4, server="vbr02"),
    ]
    summary = summarize(tasks + tasks[:2])
    entry = summary[("vbr01", "web")]
    assert (entry["newest"]["uid"], entry["completed"]["uid"], entry["success"]["uid"]) == ("t4", "t3", "t1")
    assert summary[("vbr02", "web")]["newest"]["uid"] == "u1"
    assert [item["uid"] for item in reduce_tasks(tasks)] == ["t4", "t3", "t1", "u1"]


def test_history_is_asked_only_for_vms_still_missing_a_success():
    sessions = [session("a1", "A", 6), session("a0", "A", 5)]
    plan = plan_sessions(sessions, REPLICA)
    tasks = [task("t1", "bad", "a1", 6, result="Failed"), task("t2", "good", "a1", 6, minute=5)]
    groups = plan_history(REPLICA, tasks, plan, {"A": {"bad", "good"}}, {})
    assert groups == {"vbr01": [[("VmDisplayName", "==", "bad"), ("CreationTime", "<", "2026-11-20T06:00:00.000000Z")]]}
    # nothing older left: nothing to ask
    assert plan_history(REPLICA, tasks, plan_sessions(sessions[:1], REPLICA), {"A": {"bad"}}, {}) == {}


class FakeClient:
    """Answers queries from lists, recording them; enough to run a strategy without a server."""

    def __init__(self, sessions, tasks):
        self.sessions = sessions
        self.tasks = tasks
        self.calls = []

    def query(self, resource, predicates, raw_filter=None, sort=None):
        self.calls.append((resource, raw_filter))
        if resource.endswith("JobSession"):
            return iter(self.sessions)
        if raw_filter and "JobSessionUid" in raw_filter:
            return iter([item for item in self.tasks if '"%s"' % item["job_session_uid"] in raw_filter])
        return iter([])


def test_fast_strategy_reads_only_the_newest_runs_when_nothing_else_is_unknown():
    sessions = [session("a1", "A", 6), session("a0", "A", 5)]
    tasks = [task("t1", "web", "a1", 6), task("t0", "web", "a0", 5)]
    client = FakeClient(sessions, tasks)
    part = read_source(client, "replica", Window(SINCE, UNTIL), "fast")
    assert [item["uid"] for item in part["tasks"]] == ["t1"]
    assert part["sessions"] == [sessions[0]]
    assert part["queries"] == len(client.calls) == 3  # sessions, newest runs, the (empty) fallback for older runs
    assert read.MAX_FILTER_LENGTH < 16384
