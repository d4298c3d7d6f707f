# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The planning of the fast strategy, without a server."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
import threading
import time
from urllib.parse import quote

import pytest

from ansible_collections.opsbox.veeam_em.plugins.module_utils import _vm_latest as read
from ansible_collections.opsbox.veeam_em.plugins.module_utils._query import predicate
from ansible_collections.opsbox.veeam_em.plugins.module_utils._vm_latest import (
    SOURCES, Reader, Window, complete_jobs, history_stop, is_full_run, older_sessions_filter, pack, pack_groups,
    plan_fallback, plan_history, plan_sessions, read_source, reduce_tasks, session_filter, summarize,
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
    # a name longer than a request cannot be excluded: the job's whole older history is read
    huge = {"A": {"x" * 20000}}
    assert plan_fallback(REPLICA, plan, huge) == [[("JobUid", "==", "A"), ("CreationTime", "<", "2026-11-20T06:00:00.000000Z")]]
    cdp_plan = {"P": {"read": [{"uid": "p2"}], "rest": [{"uid": "p1"}, {"uid": "p0"}], "cutoff": "t"}}
    assert plan_fallback(SOURCES["cdp"], cdp_plan, {}) == [[("PolicySessionUid", "==", ["p1", "p0"])]]


def test_a_long_exclusion_is_cut_into_name_ranges_that_cover_every_name():
    names = set("vm-%04d-with-a-longer-name" % number for number in range(1000)) | {"Web", "web", 'q"uote;(x)'}
    plan = plan_sessions([session("a1", "A", 6), session("a0", "A", 5)], REPLICA)
    groups = plan_fallback(REPLICA, plan, {"A": names})
    assert len(groups) > 1
    excluded = []
    for index, group in enumerate(groups):
        assert group[0] == ("JobUid", "==", "A")
        text = ";".join(predicate(REPLICA.task_type, *item) for item in group)
        assert len(quote(text, safe="")) <= read.MAX_FILTER_LENGTH - 200
        bounds = dict((op, value) for field, op, value in group[1:] if op in (">=", "<"))
        assert (">=" in bounds) == (index > 0) and ("<" in bounds) == (index < len(groups) - 1)
        if index > 0:  # consecutive ranges meet: [first, next first)
            assert bounds[">="] == dict((op, value) for field, op, value in groups[index - 1][1:])["<"]
        chunk = [value for field, op, value in group[1:] if op == "!="][0]
        lower, upper = bounds.get(">="), bounds.get("<")
        assert lower is None or all(read.name_order(name) >= read.name_order(lower) for name in chunk)
        assert upper is None or all(read.name_order(name) < read.name_order(upper) for name in chunk)
        excluded.extend(chunk)
    assert sorted(excluded) == sorted(names)  # every known name excluded exactly once


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
    # it lacks only a success: it is asked for successes only
    assert groups == {"vbr01": [[("VmDisplayName", "==", "bad"), ("CreationTime", "<", "2026-11-20T06:00:00.000000Z"),
                                 ("Result", "==", "Success")]]}
    # nothing older left: nothing to ask
    assert plan_history(REPLICA, tasks, plan_sessions(sessions[:1], REPLICA), {"A": {"bad"}}, {}) == {}


def test_history_groups_of_a_server_are_ordered_by_bound_then_name():
    """VMs of close bounds share a request (see plan_history): the order is the bound's, names break ties."""
    sessions = [session("a1", "A", 6), session("a0", "A", 5), session("b1", "B", 8), session("b0", "B", 7)]
    plan = plan_sessions(sessions, REPLICA)
    tasks = [task("t1", "aaa", "b1", 8, result="Failed"), task("t2", "zzz", "a1", 6, result="Failed"),
             task("t3", "mmm", "a1", 6, result="Failed")]
    groups = plan_history(REPLICA, tasks, plan, {"A": {"zzz", "mmm"}, "B": {"aaa"}}, {})
    assert [(group[0][2], group[1][2][11:16]) for group in groups["vbr01"]] == [("mmm", "06:00"), ("zzz", "06:00"),
                                                                                ("aaa", "08:00")]


def test_a_vm_that_also_lacks_its_newest_completed_run_is_asked_for_every_result():
    sessions = [session("a1", "A", 6), session("a0", "A", 5)]
    plan = plan_sessions(sessions, REPLICA)
    tasks = [task("t1", "busy", "a1", 6, running=True)]
    groups = plan_history(REPLICA, tasks, plan, {"A": {"busy"}}, {})
    assert groups == {"vbr01": [[("VmDisplayName", "==", "busy"), ("CreationTime", "<", "2026-11-20T06:00:00.000000Z")]]}


class FakeClient:
    """Answers queries from lists, recording them; enough to run a strategy without a server."""

    def __init__(self, sessions, tasks):
        self.sessions = sessions
        self.tasks = tasks
        self.calls = []

    def query(self, resource, predicates, raw_filter=None, sort=None, concurrency=None):
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
    part = read_source(client, "replica", Window(UNTIL - timedelta(hours=5), UNTIL), "fast")
    assert [item["uid"] for item in part["tasks"]] == ["t1"]
    assert part["sessions"] == [sessions[0]]
    assert part["queries"] == len(client.calls) == 3  # sessions, newest runs, the (empty) fallback for older runs
    # a window longer than the recent spans: the sessions of the last six hours, then of the last two days,
    # then the older ones, each only of jobs without a full run in the newer parts (job A is excluded by UID)
    for days, parts in ((1, 2), (7, 3)):
        client = FakeClient(sessions, tasks)
        part = read_source(client, "replica", Window(UNTIL - timedelta(days=days), UNTIL), "fast")
        assert [item["uid"] for item in part["tasks"]] == ["t1"]
        assert part["sessions"] == [sessions[0]]
        assert part["queries"] == len(client.calls) == parts + 2
        assert "JobUid" not in client.calls[0][1]
        assert all(call[1].endswith(';JobUid!="A"') for call in client.calls[1:parts])
    assert read.MAX_FILTER_LENGTH < 16384


def test_session_parts_split_the_window_at_the_recent_spans():
    six_hours, two_days = UNTIL - timedelta(hours=6), UNTIL - timedelta(days=2)
    assert read.session_parts(Window(UNTIL - timedelta(hours=6), UNTIL)) == [(None, None)]
    assert read.session_parts(Window(UNTIL - timedelta(days=2), UNTIL)) == [(None, six_hours), (six_hours, None)]
    assert read.session_parts(Window(SINCE, UNTIL)) == [(None, six_hours), (six_hours, two_days), (two_days, None)]


class PartsClient(FakeClient):
    """Applies the CreationTime bounds of step 1's parts to the job sessions."""

    def query(self, resource, predicates, raw_filter=None, sort=None, concurrency=None):
        self.calls.append((resource, raw_filter))
        rows = list(self.sessions if resource.endswith("JobSession") else [])
        for field, op, value in predicates:
            if field == "CreationTime" and op in ("<", ">="):
                bound = value.strftime("%Y-%m-%dT%H:%M:%S")
                rows = [row for row in rows if (row["creation_time"] < bound) == (op == "<")]
        return iter(rows)


def test_step_one_reads_each_older_part_only_for_the_jobs_without_a_full_run_yet():
    stopped = dict(result="Failed", failure="Stopped by user")
    sessions = [session("a1", "A", 10), session("b2", "B", 8, **stopped), session("b1", "B", 3),
                session("a0", "A", 2), dict(session("c1", "C", 1), creation_time="2026-11-15T01:00:00.000000Z"),
                dict(session("b0", "B", 1), creation_time="2026-11-14T01:00:00.000000Z")]
    client = PartsClient(sessions, [])
    found, unread = read.read_sessions(Reader(client, REPLICA, Window(SINCE, UNTIL)))
    # A has its full run in the last six hours, B in the last two days, C only before
    assert [item["uid"] for item in found] == ["a1", "b2", "b1", "c1"]
    assert unread == {"A", "B"}
    assert [call[1].count("JobUid!=") for call in client.calls] == [0, 1, 2]
    assert client.calls[1][1].endswith(';JobUid!="A"') and client.calls[2][1].endswith(';(JobUid!="A";JobUid!="B")')


def test_a_success_known_only_from_a_job_the_vm_left_does_not_stop_the_history():
    # The VM left job B, whose old run it succeeded in (read by step 3); in job A its newest run
    # (a full run) failed, and an older run of A, below the bound, holds a newer success.
    sessions = [session("a2", "A", 10), session("a1", "A", 8), session("b0", "B", 2)]
    plan = plan_sessions(sessions, REPLICA)
    tasks = [task("t2", "web", "a2", 10, result="Failed"), task("old", "web", "b0", 2)]
    groups = plan_history(REPLICA, tasks, plan, {"A": {"web"}}, {})
    bound = "2026-11-20T10:00:00.000000Z"
    assert groups == {"vbr01": [[("VmDisplayName", "==", "web"), ("CreationTime", "<", bound), ("Result", "==", "Success")]]}
    stop = history_stop(summarize(tasks), "vbr01", groups["vbr01"])
    assert stop(task("t1", "web", "a1", 8)) is False       # the newer success: found
    assert stop(task("old", "web", "b0", 2)) is True       # strictly older: the end
    assert read.still_lacking(summarize(tasks)[("vbr01", "web")], bound) == {"success"}
    assert read.still_lacking(summarize(tasks)[("vbr01", "web")], "2026-11-20T02:00:00.000000Z") == set()
    assert read.still_lacking(None, bound) == {"completed", "success"}


def test_the_oldest_run_to_read_leaves_out_the_vms_its_newer_runs_settled():
    full = session("a1", "A", 6)                     # ended 06:30
    sessions_by_uid = {"a2": session("a2", "A", 8, retry=True), "a1": full, "b2": session("b2", "B", 8)}
    newer = [task("n1", "web", "a2", 8), task("n2", "db", "a2", 8, result="Failed"),
             task("n3", "app", "a2", 8, running=True), task("n4", "dns", "a2", 6, minute=10),
             task("n5", "mail", "b2", 8)]
    assert read.settled_names(newer, full["end_time"]) == {"web", "mail"}
    groups = read.oldest_run_groups(REPLICA, [full], newer, sessions_by_uid)
    # only web is settled in job A: db failed, app still runs, dns started before a1 ended, mail is job B's
    assert groups == [[("JobSessionUid", "==", "a1"), ("VmDisplayName", "!=", ["web"])]]
    # a session still running, or nothing settled: read whole
    running = session("a1", "A", 6, end=False)
    assert read.oldest_run_groups(REPLICA, [running], newer, sessions_by_uid) == [[("JobSessionUid", "==", "a1")]]
    assert read.oldest_run_groups(REPLICA, [full], [], sessions_by_uid) == [[("JobSessionUid", "==", "a1")]]


def history_groups(*names):
    return [[("VmDisplayName", "==", name), ("CreationTime", "<", "2026-11-20T10:00:00.000000Z")] for name in names]


def test_history_stops_once_every_vm_has_what_it_lacks():
    # "bad" lacks a success, "gone" lacks both (its newest task still runs), "fine" lacks nothing
    known = [task("k1", "bad", "s9", 10, result="Failed"), task("k2", "gone", "s9", 10, running=True),
             task("k3", "fine", "s9", 10)]
    stop = history_stop(summarize(known), "vbr01", history_groups("bad", "gone", "fine"))
    newest_first_records = [
        task("h1", "bad", "s8", 9, result="Warning"),   # completed, not a success
        task("h2", "gone", "s8", 9, result="Failed"),   # gone: completed known now, success still not
        task("h3", "other", "s8", 9),                   # a VM this request is not for
        task("h4", "gone", "s7", 8),                    # gone: done
        task("h5", "bad", "s7", 7, minute=2),           # bad: done, at 07:02
        task("h6", "fine", "s7", 7, minute=2),          # same instant: still read
        task("h7", "bad", "s6", 7, minute=1),           # strictly older: the end
    ]
    answers = [stop(record) for record in newest_first_records]
    assert answers == [False, False, False, False, False, False, True]


def test_history_stop_uses_the_server_of_the_request_and_needs_nothing_for_resolved_vms():
    known = [task("k1", "web", "s9", 10, result="Failed", server="vbr02"), task("k2", "web", "s9", 10, server="vbr01")]
    stop = history_stop(summarize(known), "vbr01", history_groups("web"))
    # web on vbr01 lacks nothing, so the first record already ends the request
    assert stop(task("h1", "web", "s8", 9, server="vbr01")) is True
    stop = history_stop(summarize(known), "vbr02", history_groups("web"))
    assert stop(task("h1", "web", "s8", 9, server="vbr01")) is False   # not the VM it looks for
    assert stop(task("h2", "web", "s8", 8, server="vbr02")) is False   # found, same instant may follow
    assert stop(task("h3", "web", "s8", 7, server="vbr02")) is True


def test_history_of_several_servers_in_one_request_ends_when_every_server_is_done():
    known = [task("k1", "web", "s9", 10, result="Failed", server="vbr01"), task("k2", "web", "s9", 10, result="Failed", server="vbr02")]
    groups = read.history_groups_of_all_servers({"vbr02": history_groups("web"), "vbr01": history_groups("web")})
    assert [group[-1] for group in groups] == [("BackupServerName", "==", "vbr01"), ("BackupServerName", "==", "vbr02")]
    stop = read.servers_history_stop(summarize(known), groups)
    assert stop(task("h1", "web", "s8", 9, server="vbr01")) is False   # vbr01 done, vbr02 still looking
    assert stop(task("h2", "web", "s8", 8, server="vbr01")) is False   # strictly older, but vbr02 still looking
    assert stop(task("h3", "web", "s8", 7, server="vbr02")) is False   # vbr02 done at 07:01
    assert stop(task("h4", "web", "s8", 6, server="vbr02")) is True
    assert read.history_groups_of_all_servers({None: history_groups("web")}) == history_groups("web")


def test_pack_keeps_the_groups_of_each_filter():
    groups = history_groups(*["vm%03d" % number for number in range(60)])
    packed = pack("ReplicaTaskSession", groups, [], budget=1000)
    assert len(packed) > 2
    assert [group for _raw, members in packed for group in members] == groups
    assert [raw for raw, _members in packed] == pack_groups("ReplicaTaskSession", groups, [], budget=1000)


class PagedClient:
    """A client whose queries are generators of numbered records; it records how far each was read and closed."""

    def __init__(self, per_query=50, concurrency=4, delay=0.0):
        self.concurrency = concurrency
        self.per_query = per_query
        self.delay = delay
        self.lock = threading.Lock()
        self.running = 0
        self.most_running = 0
        self.reads = {}
        self.closed = []
        self.page_concurrency = []

    def query(self, resource, predicates, raw_filter=None, sort=None, concurrency=None):
        self.page_concurrency.append(concurrency)
        return self._records(raw_filter)

    def _records(self, raw_filter):
        with self.lock:
            self.running += 1
            self.most_running = max(self.most_running, self.running)
        try:
            time.sleep(self.delay)
            for number in range(self.per_query):
                self.reads[raw_filter] = number + 1
                yield {"uid": "%s-%d" % (raw_filter, number), "vm_name": raw_filter, "number": number}
        finally:
            with self.lock:
                self.running -= 1
                self.closed.append(raw_filter)


def test_packed_queries_run_side_by_side_and_keep_their_order():
    client = PagedClient(per_query=3, delay=0.05)
    reader = Reader(client, REPLICA, Window(SINCE, UNTIL))
    groups = history_groups(*["vm%03d" % number for number in range(60)])
    raws = pack_groups(REPLICA.task_type, groups, read.task_predicates(REPLICA, reader.window), budget=1000)
    assert len(raws) > 4
    found = reader.tasks_in_groups(groups, budget=1000)
    assert [record["vm_name"] for record in found] == [raw for raw in raws for _number in range(3)]
    assert 1 < client.most_running <= client.concurrency
    assert reader.queries == len(raws) and reader.records == 3 * len(raws)
    # at most client.concurrency pages in flight in all: each request gets its share
    assert set(client.page_concurrency) == {1}


def test_one_request_keeps_the_clients_page_concurrency():
    client = PagedClient(per_query=3)
    reader = Reader(client, REPLICA, Window(SINCE, UNTIL))
    assert len(reader.tasks_in_groups(history_groups("web", "db"))) == 3
    assert client.page_concurrency == [None]


def test_a_stopped_request_is_closed_and_read_no_further():
    client = PagedClient(per_query=50)
    reader = Reader(client, REPLICA, Window(SINCE, UNTIL))
    groups = history_groups("web")
    found = reader.tasks_in_groups(groups, stop_for=lambda members: (lambda record: record["number"] == 4))
    assert [record["number"] for record in found] == [0, 1, 2, 3, 4]
    assert list(client.reads.values()) == [5] and len(client.closed) == 1
    assert reader.records == 5
    # a request that may stop reads its pages one at a time, so stopping wastes no page fetched ahead
    assert client.page_concurrency == [1]


def test_a_failing_request_fails_the_read():
    class Failing(PagedClient):
        def query(self, resource, predicates, raw_filter=None, sort=None, concurrency=None):
            if "vm007" in raw_filter:
                raise RuntimeError("boom")
            return super().query(resource, predicates, raw_filter, sort, concurrency)

    reader = Reader(Failing(per_query=2), REPLICA, Window(SINCE, UNTIL))
    with pytest.raises(RuntimeError, match="boom"):
        reader.tasks_in_groups(history_groups(*["vm%03d" % number for number in range(60)]), budget=1000)


def test_jobs_with_a_full_run_among_the_recent_sessions_are_complete():
    recent = [session("a2", "A", 9, end=False), session("a1", "A", 8),
              session("b1", "B", 7, retry=True),
              session("c1", "C", 6, result="Failed", failure="Job has been stopped by user.")]
    assert complete_jobs(recent, REPLICA) == {"A"}


def test_older_sessions_are_read_only_for_the_other_jobs():
    window = Window(SINCE, UNTIL)
    _predicates, raw = session_filter(REPLICA, window)
    assert older_sessions_filter(REPLICA, window, set()) == raw
    assert older_sessions_filter(REPLICA, window, {"B", "A"}) == '(%s);(JobUid!="A";JobUid!="B")' % raw
    # a list too long for one URL: read every older session instead (more records, same plan)
    assert older_sessions_filter(REPLICA, window, set("urn:veeam:Job:%036d" % n for n in range(400))) == raw


def test_a_job_whose_older_sessions_were_not_read_keeps_a_cutoff():
    sessions = [session("a2", "A", 9, end=False), session("a1", "A", 8), session("b1", "B", 7)]
    plan = plan_sessions(sessions, REPLICA, unread_jobs={"A"})
    assert plan["A"]["rest"] == [] and plan["A"]["cutoff"] == "2026-11-20T08:00:00.000000Z"
    assert plan["B"]["cutoff"] is None
    groups = plan_fallback(REPLICA, plan, {"A": {"web"}})
    assert groups == [[("JobUid", "==", "A"), ("VmDisplayName", "!=", ["web"])]]


def test_read_sources_reads_side_by_side_in_order_and_hands_back_errors():
    both_started = threading.Barrier(2, timeout=5)  # broken (an error below) if the reads ran one after the other

    def fake_read(client, name, window, strategy):
        both_started.wait()
        if name == "cdp":
            raise ValueError("denied")
        return {"name": name, "strategy": strategy}

    client = type("Client", (), {"concurrency": 4})()
    result = read.read_sources(client, ["replica", "cdp"], None, "full_scan", read=fake_read)
    assert [name for name, dummy in result] == ["replica", "cdp"]
    assert result[0][1] == {"name": "replica", "strategy": "full_scan"}
    assert isinstance(result[1][1], Exception) and str(result[1][1]) == "denied"


def test_read_sources_one_after_the_other_at_concurrency_one():
    caller = threading.current_thread()
    order = []

    def fake_read(client, name, window, strategy):
        order.append((name, threading.current_thread() is caller))
        return name

    client = type("Client", (), {"concurrency": 1})()
    result = read.read_sources(client, ["replica", "cdp", "backup"], None, read=fake_read)
    assert result == [("replica", "replica"), ("cdp", "cdp"), ("backup", "backup")]
    assert order == [("replica", True), ("cdp", True), ("backup", True)]


def test_read_sources_at_concurrency_one_stop_at_the_first_failure_not_tolerated():
    asked = []

    def fake_read(client, name, window, strategy):
        asked.append(name)
        if name in ("replica", "cdp"):
            raise (PermissionError if name == "replica" else ValueError)(name)
        return name

    client = type("Client", (), {"concurrency": 1})()
    result = read.read_sources(client, ["replica", "cdp", "backup"], None, read=fake_read, tolerated=(PermissionError,))
    assert asked == ["replica", "cdp"]
    assert [(name, type(part)) for name, part in result] == [("replica", PermissionError), ("cdp", ValueError)]


def test_read_sources_of_one_source_needs_no_thread():
    caller = threading.current_thread()
    result = read.read_sources(object(), ["backup"], None, read=lambda *args: threading.current_thread() is caller)
    assert result == [("backup", True)]


def test_history_continues_only_the_vms_a_full_page_left_lacking():
    known = [task("k1", "quick", "s9", 10, result="Failed"), task("k2", "deep", "s9", 10, result="Failed"),
             task("k3", "busy", "s9", 10, running=True)]
    groups = read.history_groups_of_all_servers({"vbr01": history_groups("quick", "deep", "busy")})
    page = [task("h1", "quick", "s8", 9), task("h2", "busy", "s8", 9, result="Failed"), task("h3", "deep", "s8", 8, result="Failed")]
    again, stuck = read.continue_history([(groups, page, 3)], summarize(known))
    # quick found its success; deep (its newest run is known) and busy (whose newest completed run is h2 now)
    # still lack one, and go on for successes only, below the oldest record of the page
    assert again == [
        groups[1] + [("CreationTime", "<=", "2026-11-20T08:01:00.000000Z"), ("Result", "==", "Success")],
        groups[2] + [("CreationTime", "<=", "2026-11-20T08:01:00.000000Z"), ("Result", "==", "Success")],
    ]
    assert stuck == []
    # less than a full page: the request was read to its end (or stopped), nothing goes on
    assert read.continue_history([(groups, page, 4)], summarize(known)) == ([], [])
    # the next round replaces the lower bound; a whole page of one instant again makes no progress
    again2, stuck2 = read.continue_history([(again[:1], [task("h4", "deep", "s7", 7, result="Failed")] * 2, 2)], summarize(known))
    assert again2 == [groups[1] + [("Result", "==", "Success"), ("CreationTime", "<=", "2026-11-20T07:01:00.000000Z")]]
    assert stuck2 == []
    again3, stuck3 = read.continue_history([(again2, [task("h4", "deep", "s7", 7, result="Failed")] * 2, 2)], summarize(known))
    assert again3 == [] and stuck3 == again2


class HistoryClient:
    """Evaluates the groups of each step 4 request on a list of task sessions, newest first (pack is patched
    to hand the groups over as the raw filter)."""

    FIELDS = {"VmDisplayName": "vm_name", "CreationTime": "creation_time", "Result": "result", "State": "state",
              "BackupServerName": "backup_server_name"}

    def __init__(self, tasks, page_size):
        self.tasks = read.newest_first(tasks)
        self.page_size = page_size
        self.concurrency = 2
        self.calls = []

    def matches(self, record, group):
        for field, op, value in group:
            have = record.get(self.FIELDS[field])
            if op == "==" and have != value or op == "<" and not have < value or op == "<=" and not have <= value:
                return False
        return True

    def query(self, resource, predicates, raw_filter=None, sort=None, concurrency=None, limit=None):
        members = raw_filter
        self.calls.append((len(members), limit))
        rows = [record for record in self.tasks if record["state"] == "Completed"
                and any(self.matches(record, group) for group in members)]
        return iter(rows[:limit] if limit else rows)


def test_history_in_rounds_finds_what_reading_everything_finds(monkeypatch):
    monkeypatch.setattr(read, "pack", lambda resource, groups, common, budget=None: [(list(groups), list(groups))])
    monkeypatch.setattr(read, "HISTORY_MIN_PAGE", 1)
    bound = "2026-11-20T10:00:00.000000Z"
    known = [task("k-%s" % name, name, "s10", 10, result="Failed") for name in ("quick", "deep", "never", "busy")]
    history = [task("q%d" % hour, "quick", "s%d" % hour, hour) for hour in range(9, 0, -1)]
    history += [task("d%d" % hour, "deep", "s%d" % hour, hour, result="Success" if hour == 1 else "Failed")
                for hour in range(9, 0, -1)]
    history += [task("n%d" % hour, "never", "s%d" % hour, hour, result="Failed") for hour in range(9, 0, -1)]
    history += [task("b%d" % hour, "busy", "s%d" % hour, hour, minute=5, result="Warning") for hour in range(9, 3, -1)]
    history += [task("b3", "busy", "s3", 3, minute=5)]
    client = HistoryClient(known + history, page_size=100)
    reader = Reader(client, REPLICA, Window(SINCE, UNTIL))
    groups = [[("VmDisplayName", "==", name), ("CreationTime", "<", bound)] + ([("Result", "==", "Success")] if name != "busy" else [])
              for name in ("quick", "deep", "never", "busy")]
    groups = read.history_groups_of_all_servers({"vbr01": groups})
    found = reader.history(groups, [("State", "==", "Completed")], known)
    summary = summarize(known + found)
    assert {name: (summary[("vbr01", name)]["success"] or {}).get("uid") for name in ("quick", "deep", "never", "busy")} == {
        "quick": "q9", "deep": "d1", "never": None, "busy": "b3"}
    assert len(found) == len(set(record["uid"] for record in found))
    # round 1: 4 VMs x 2 records; then only busy and its successes (quick, deep and never were settled or exhausted)
    assert client.calls[0] == (4, 8)
    assert all(members < 4 for members, _limit in client.calls[1:]), client.calls
    assert len(found) < len([record for record in history if record["result"] == "Success" or record["vm_name"] == "busy"])


def test_history_pages_through_a_vm_with_more_runs_at_one_instant_than_a_page(monkeypatch):
    monkeypatch.setattr(read, "pack", lambda resource, groups, common, budget=None: [(list(groups), list(groups))])
    monkeypatch.setattr(read, "HISTORY_MIN_PAGE", 1)
    known = [task("k", "twin", "s10", 10, result="Failed")]
    # completed without an end time: such a record satisfies nothing (is_running), so the page makes no progress
    same_instant = [dict(task("t%d" % number, "twin", "s9", 9), end_time=None) for number in range(5)]
    client = HistoryClient(known + same_instant + [task("ok", "twin", "s2", 2)], page_size=100)
    reader = Reader(client, REPLICA, Window(SINCE, UNTIL))
    groups = read.history_groups_of_all_servers({"vbr01": [[("VmDisplayName", "==", "twin"),
                                                            ("CreationTime", "<", "2026-11-20T10:00:00.000000Z")]]})
    found = reader.history(groups, [("State", "==", "Completed")], known)
    assert summarize(known + found)[("vbr01", "twin")]["success"]["uid"] == "ok"
    # a small page, one more of the same instant (for successes only), then the rest paged through without a limit
    assert client.calls == [(1, 2), (1, 2), (1, None)]
