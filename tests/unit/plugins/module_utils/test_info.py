# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The option handling the five info modules share (plugins/module_utils/_info.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

import pytest

from ansible_collections.opsbox.veeam_em.plugins.module_utils import _info
from ansible_collections.opsbox.veeam_em.plugins.module_utils._errors import EMNotFoundError, EMQueryError

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)
GUID = "3ae6d70c-e13f-4ee5-9da6-8920369ced66"


def params(**values):
    """Module parameters as AnsibleModule would hand them over (unset options are None)."""
    base = dict((name, spec.get("default")) for name, spec in _info.COMMON_OPTIONS.items())
    base.update(values)
    return base


@pytest.mark.parametrize("text, expected", [
    ("90m", NOW - datetime.timedelta(minutes=90)),
    ("24h", NOW - datetime.timedelta(hours=24)),
    ("7D", NOW - datetime.timedelta(days=7)),
    (" 2w ", NOW - datetime.timedelta(weeks=2)),
    ("2026-11-20", datetime.datetime(2026, 11, 20, tzinfo=UTC)),
    ("2026-11-20T06:30:00", datetime.datetime(2026, 11, 20, 6, 30, tzinfo=UTC)),
    ("2026-11-20T06:30:00Z", datetime.datetime(2026, 11, 20, 6, 30, tzinfo=UTC)),
    ("2026-11-20T08:30:00+02:00", datetime.datetime(2026, 11, 20, 6, 30, tzinfo=UTC)),
])
def test_moments_are_dates_or_ages_before_now(text, expected):
    assert _info.parse_moment("created_after", text, NOW) == expected


@pytest.mark.parametrize("text", ["yesterday", "24", "h24", "2026-13-45", "-1d", "1y"])
def test_unparsable_moment_names_the_option_and_value(text):
    with pytest.raises(EMQueryError) as caught:
        _info.parse_moment("created_before", text, NOW)
    assert str(caught.value).startswith("created_before: %r" % text)
    assert "24h" in str(caught.value)


def test_choices_are_case_insensitive_and_spelled_like_em():
    assert _info.canonical_choices("result", ["failed", "WARNING", "Failed"], ("Success", "Warning", "Failed", "None")) == ["Failed", "Warning"]
    with pytest.raises(EMQueryError, match="result: 'broken' is not one of Success, Warning, Failed, None"):
        _info.canonical_choices("result", ["broken"], ("Success", "Warning", "Failed", "None"))


def test_ids_are_guids_or_uids_of_the_module_types():
    resources = _info.SPECS["task_session_info"].resources
    assert _info.parse_id(GUID.upper(), resources) == ([("replica", "ReplicaTaskSession"), ("backup", "BackupTaskSession")], GUID)
    assert _info.parse_id("urn:veeam:BackupTaskSession:" + GUID, resources) == ([("backup", "BackupTaskSession")], GUID)
    with pytest.raises(EMQueryError, match="is a UID of type ReplicaJobSession"):
        _info.parse_id("urn:veeam:ReplicaJobSession:" + GUID, resources)


@pytest.mark.parametrize("value", ["../logonSessions", GUID + "/../../logonSessions", GUID + "?format=Entity", "", "urn:veeam:ReplicaTaskSession:nope",
                                   GUID + "\r\nX-Injected: 1", "%2e%2e%2flogonSessions"])
def test_ids_that_could_steer_the_path_are_refused(value):
    with pytest.raises(EMQueryError) as caught:
        _info.parse_id(value, _info.SPECS["task_session_info"].resources)
    assert str(caught.value).startswith("id: ")


def test_id_cannot_be_combined_with_selection_options():
    spec = _info.SPECS["replica_session_info"]
    with pytest.raises(EMQueryError, match="id cannot be combined with result, job_name, latest"):
        _info.check_id_alone(params(id=GUID, result=["Failed"], job_name=["A"], latest=True), spec)
    _info.check_id_alone(params(id=GUID), spec)


def test_predicates_cover_every_selection_option():
    spec = _info.SPECS["replica_session_info"]
    predicates, results_here = _info.build_predicates(
        params(name="Job A@2026-11-20 06:00:00", backup_server="vbr01", job_name=["Job A", 'Job "B"'], is_retry=False,
               state=["stopped"], result=["failed", "warning"], created_after="24h", created_before="2026-11-22T11:00:00Z"),
        spec, NOW)
    assert results_here is None
    assert predicates == [
        ("Name", "==", "Job A@2026-11-20 06:00:00"),
        ("BackupServerName", "==", "vbr01"),
        ("JobName", "==", ["Job A", 'Job "B"']),
        ("IsRetry", "==", False),
        ("State", "==", ["Stopped"]),
        ("Result", "==", ["Failed", "Warning"]),
        ("CreationTime", ">=", NOW - datetime.timedelta(hours=24)),
        ("CreationTime", "<=", datetime.datetime(2026, 11, 22, 11, 0, tzinfo=UTC)),
    ]


def test_cdp_task_results_are_kept_on_this_side():
    predicates, results_here = _info.build_predicates(params(result=["failed"]), _info.SPECS["cdp_task_session_info"], NOW)
    assert predicates == []
    assert results_here == ["Failed"]


def test_states_must_fit_the_type():
    with pytest.raises(EMQueryError, match="state: 'Stopped' is not one of InProgress, Pending, Completed"):
        _info.build_predicates(params(state=["Stopped"]), _info.SPECS["task_session_info"], NOW)


def test_window_must_not_be_reversed():
    with pytest.raises(EMQueryError, match="created_after .1h. is later than created_before .2h."):
        _info.build_predicates(params(created_after="1h", created_before="2h"), _info.SPECS["backup_session_info"], NOW)


def test_limit_must_be_positive():
    with pytest.raises(EMQueryError, match="limit: 0 must be 1 or more"):
        _info.check_limit(params(limit=0))


def fact(uid, created, **extra):
    base = {"uid": uid, "creation_time": created, "result": "Success", "state": "Stopped"}
    base.update(extra)
    return base


def test_latest_keeps_the_newest_per_key_in_the_requested_order():
    facts = [fact("c", "2026-11-22T03", job_uid="j1"), fact("b", "2026-11-22T02", job_uid="j2"), fact("a", "2026-11-22T01", job_uid="j1")]
    assert [item["uid"] for item in _info.keep_latest(facts, ("job_uid",), True)] == ["c", "b"]
    assert [item["uid"] for item in _info.keep_latest(facts, ("job_uid",), False)] == ["b", "c"]


def test_merge_and_summary():
    merged = _info.merge_sorted([[fact("r2", "2026-11-22T04"), fact("r1", "2026-11-22T01")], [fact("b1", "2026-11-22T02", result="Failed")]], True)
    assert [item["uid"] for item in merged] == ["r2", "b1", "r1"]
    assert _info.summarize(merged + [fact("x", "t", result=None, state="Working")]) == {
        "total": 4, "by_result": {"Success": 2, "Failed": 1, "None": 1}, "by_state": {"Stopped": 3, "Working": 1}}


class RecordingClient:
    """Stands in for EMClient at the boundary: records the queries it is asked and answers from tables."""

    def __init__(self, tables, known_ids=()):
        self.tables = tables
        self.known_ids = known_ids
        self.calls = []

    def query(self, resource, predicates=None, raw_filter=None, sort=None, limit=None):
        self.calls.append((resource, predicates, raw_filter, sort, limit))
        rows = list(self.tables.get(resource, []))
        for field, op, value in predicates or ():
            if field == "JobSessionUid" and op == "==":
                rows = [row for row in rows if row["job_session_uid"] in value]
        return iter(rows[:limit] if limit else rows)

    def get_by_id(self, resource, guid):
        self.calls.append((resource, guid))
        if (resource, guid) not in self.known_ids:
            raise EMNotFoundError("GET %s/%s answered 404" % (resource, guid))
        return fact("urn:veeam:%s:%s" % (resource, guid), "2026-11-22T01")


def test_tasks_are_attached_with_batched_queries():
    sessions = [fact("urn:veeam:ReplicaJobSession:%d" % number, "2026-11-22T%02d" % (number % 24)) for number in range(85)]
    tasks = [fact("t%d" % number, "2026-11-22T00", job_session_uid=sessions[number % 85]["uid"]) for number in range(170)]
    client = RecordingClient({"ReplicaJobSession": sessions, "ReplicaTaskSession": tasks})
    result = _info.collect(client, params(include_tasks=True), "replica_session_info", NOW)
    task_queries = [call for call in client.calls if call[0] == "ReplicaTaskSession"]
    assert len(task_queries) == 3  # 85 sessions in batches of 40
    assert all(len(session["tasks"]) == 2 for session in result["replica_sessions"])
    assert result["summary"]["total"] == 85


def test_task_sessions_of_both_kinds_are_merged_and_labelled():
    client = RecordingClient({
        "ReplicaTaskSession": [fact("r", "2026-11-22T05", vm_name="a"), fact("r0", "2026-11-22T01", vm_name="a")],
        "BackupTaskSession": [fact("b", "2026-11-22T03", vm_name="a")],
    })
    result = _info.collect(client, params(latest=True), "task_session_info", NOW)
    assert [(item["uid"], item["session_type"]) for item in result["task_sessions"]] == [("r", "replica"), ("b", "backup")]
    assert [call[4] for call in client.calls] == [None, None]  # latest needs every record of the window


def test_limit_goes_to_the_server_when_nothing_is_dropped_afterwards():
    client = RecordingClient({"BackupJobSession": [fact(str(number), "2026-11-22T%02d" % (23 - number)) for number in range(10)]})
    result = _info.collect(client, params(limit=3), "backup_session_info", NOW)
    assert [item["uid"] for item in result["backup_sessions"]] == ["0", "1", "2"]
    assert client.calls[0][3:] == ("-CreationTime", 3)


def test_unknown_id_is_an_empty_list_and_known_id_is_found_in_the_right_type():
    client = RecordingClient({}, known_ids=[("BackupTaskSession", GUID)])
    result = _info.collect(client, params(id=GUID), "task_session_info", NOW)
    assert [item["session_type"] for item in result["task_sessions"]] == ["backup"]
    assert client.calls == [("ReplicaTaskSession", GUID), ("BackupTaskSession", GUID)]
    empty = _info.collect(RecordingClient({}), params(id=GUID), "cdp_session_info", NOW)
    assert empty == {"cdp_sessions": [], "summary": {"total": 0, "by_result": {}, "by_state": {}}}


@pytest.mark.parametrize("module_name, values, message", [
    ("task_session_info", dict(id="../logonSessions"), "id: '../logonSessions' is not a GUID"),
    ("task_session_info", dict(id="urn:veeam:BackupTaskSession:" + GUID, session_type="replica"), "is a UID of type BackupTaskSession"),
    ("backup_session_info", dict(created_after="soon"), "created_after: 'soon'"),
    ("cdp_session_info", dict(result=["ok"]), "result: 'ok' is not one of"),
    ("replica_session_info", dict(limit=-5), "limit: -5 must be 1 or more"),
    ("cdp_task_session_info", dict(id=GUID, vm_name=["a"]), "id cannot be combined with vm_name"),
])
def test_every_bad_option_is_refused_without_a_server(module_name, values, message):
    with pytest.raises(EMQueryError, match=message):
        _info.validate_options(params(**values), module_name, NOW)


def test_latest_splits_the_read_only_where_the_window_spans_a_split():
    six_hours, two_days = (NOW - span for span in _info.RECENT_SPANS)
    assert six_hours > two_days
    assert _info.latest_splits([], NOW) == [six_hours, two_days]
    assert _info.latest_splits([("CreationTime", ">=", NOW - datetime.timedelta(days=30))], NOW) == [six_hours, two_days]
    assert _info.latest_splits([("CreationTime", ">=", NOW - datetime.timedelta(hours=36))], NOW) == [six_hours]
    assert _info.latest_splits([("CreationTime", ">=", NOW - datetime.timedelta(hours=3))], NOW) == []
    assert _info.latest_splits([("CreationTime", "<=", NOW - datetime.timedelta(days=3))], NOW) == []
    assert _info.latest_splits([("CreationTime", "<=", NOW - datetime.timedelta(hours=12))], NOW) == [two_days]
    assert _info.latest_splits([("CreationTime", "<=", NOW - datetime.timedelta(hours=1))], NOW) == [six_hours, two_days]


def test_older_exclusion_names_the_jobs_seen_per_server():
    spec = _info.SPECS["replica_session_info"]
    recent = [fact("s1", "t", backup_server_uid="urn:veeam:BackupServer:a", job_uid="urn:veeam:Job:1"),
              fact("s2", "t", backup_server_uid="urn:veeam:BackupServer:a", job_uid="urn:veeam:Job:2"),
              fact("s3", "t", backup_server_uid="urn:veeam:BackupServer:b", job_uid="urn:veeam:Job:3")]
    text = _info.older_exclusion("ReplicaJobSession", recent, spec)
    assert text == ('(BackupServerUid=="urn:veeam:BackupServer:a";(JobUid!="urn:veeam:Job:1";JobUid!="urn:veeam:Job:2")),'
                    '(BackupServerUid=="urn:veeam:BackupServer:b";JobUid!="urn:veeam:Job:3"),'
                    '((BackupServerUid!="urn:veeam:BackupServer:a";BackupServerUid!="urn:veeam:BackupServer:b"))')
    # not exact without both UIDs, nothing to exclude without records, too long for one URL
    assert _info.older_exclusion("ReplicaJobSession", recent + [fact("s4", "t", job_uid="j")], spec) is None
    assert _info.older_exclusion("ReplicaJobSession", [], spec) is None
    many = [fact("s%d" % n, "t", backup_server_uid="urn:veeam:BackupServer:a", job_uid="urn:veeam:Job:%040d" % n)
            for n in range(300)]
    assert _info.older_exclusion("ReplicaJobSession", many, spec) is None


class WindowClient(RecordingClient):
    """Applies the CreationTime predicates, so that the two parts of a latest read see different records."""

    def query(self, resource, predicates=None, raw_filter=None, sort=None, limit=None):
        self.calls.append((resource, predicates, raw_filter, sort, limit))
        rows = list(self.tables.get(resource, []))
        for field, op, value in predicates or ():
            if field == "CreationTime":
                bound = value.strftime("%Y-%m-%dT%H")
                rows = [row for row in rows if {">=": row["creation_time"] >= bound, "<": row["creation_time"] < bound,
                                                "<=": row["creation_time"] <= bound}[op]]
        return iter(sorted(rows, key=lambda row: row["creation_time"], reverse=sort == "-CreationTime"))


@pytest.mark.parametrize("sort", ["newest_first", "oldest_first"])
def test_latest_reads_the_recent_spans_then_only_the_jobs_absent_from_them(sort):
    server = "urn:veeam:BackupServer:a"
    sessions = [fact("new1", "2026-11-22T10", job_uid="j1", backup_server_uid=server),
                fact("mid1", "2026-11-21T10", job_uid="j1", backup_server_uid=server),
                fact("mid3", "2026-11-21T09", job_uid="j3", backup_server_uid=server),
                fact("old1", "2026-11-10T10", job_uid="j1", backup_server_uid=server),
                fact("old3", "2026-11-15T10", job_uid="j3", backup_server_uid=server),
                fact("old2", "2026-11-12T10", job_uid="j2", backup_server_uid=server),
                fact("older2", "2026-11-11T10", job_uid="j2", backup_server_uid=server)]
    client = WindowClient({"ReplicaJobSession": sessions})
    result = _info.collect(client, params(latest=True, sort=sort, filter='Result=="Success"'), "replica_session_info", NOW)
    uids = [item["uid"] for item in result["replica_sessions"]]
    assert uids == (["new1", "mid3", "old2"] if sort == "newest_first" else ["old2", "mid3", "new1"])
    newest, middle, oldest = client.calls
    six_hours, two_days = (NOW - span for span in _info.RECENT_SPANS)
    assert newest[1][-1] == ("CreationTime", ">=", six_hours) and newest[2] == 'Result=="Success"'
    assert middle[1][-2:] == [("CreationTime", "<", six_hours), ("CreationTime", ">=", two_days)]
    assert middle[2] == ('(Result=="Success");((BackupServerUid=="%s";JobUid!="j1"),(BackupServerUid!="%s"))'
                         % (server, server))
    assert oldest[1][-1] == ("CreationTime", "<", two_days)
    # the jobs seen in either newer part are left out of the oldest one
    assert oldest[2] == ('(Result=="Success");((BackupServerUid=="%s";(JobUid!="j1";JobUid!="j3")),'
                         '(BackupServerUid!="%s"))' % (server, server))
    assert newest[3] == middle[3] == oldest[3] == "-CreationTime"


@pytest.mark.parametrize("module_name, values, refused", [
    ("task_session_info", dict(result=["Failed"], limit=3), "result, limit"),
    ("task_session_info", dict(vm_name=["a"], job_session_uid="x", latest=True), "vm_name, job_session_uid, latest"),
    ("task_session_info", dict(id=GUID), "id"),
    ("task_session_info", dict(sort="oldest_first"), "sort=oldest_first"),
    ("cdp_task_session_info", dict(state=["Completed"], policy_session_name="p", filter="x==1"),
     "state, filter, policy_session_name"),
])
def test_latest_per_vm_refuses_the_options_it_cannot_honour(module_name, values, refused):
    options = params(latest_per_vm=True, created_after="7d", **values)
    with pytest.raises(EMQueryError, match="latest_per_vm cannot be combined with %s:" % refused):
        _info.validate_options(options, module_name, NOW)
    with pytest.raises(EMQueryError, match="latest_per_vm cannot be combined with"):
        _info.collect(RecordingClient({}), options, module_name, NOW)


def test_latest_per_vm_needs_a_window_start():
    with pytest.raises(EMQueryError, match="latest_per_vm needs created_after"):
        _info.validate_options(params(latest_per_vm=True), "cdp_task_session_info", NOW)


def test_latest_per_vm_window_takes_the_combinable_options():
    window = _info.latest_per_vm_window(params(latest_per_vm=True, created_after="7d", backup_server="vbr01",
                                               job_name=["Job 1"]), NOW)
    assert (window.since, window.until) == (NOW - datetime.timedelta(days=7), NOW)
    assert (window.backup_servers, window.jobs) == (["vbr01"], ["Job 1"])
    window = _info.latest_per_vm_window(params(created_after="2026-11-01", created_before="2026-11-02"), NOW)
    assert (window.since.day, window.until.day, window.backup_servers, window.jobs) == (1, 2, [], [])
    with pytest.raises(EMQueryError, match="is later than created_before"):
        _info.validate_options(params(latest_per_vm=True, created_after="1d", created_before="2d"), "task_session_info", NOW)
    with pytest.raises(EMQueryError, match="job_name: .* holds an empty value"):
        _info.validate_options(params(latest_per_vm=True, created_after="1d", job_name=[""]), "task_session_info", NOW)


def test_latest_per_vm_reads_each_kind_and_merges_them_newest_first(monkeypatch):
    calls = []
    answers = {"replica": [fact("r2", "2026-11-22T05"), fact("r1", "2026-11-22T01")],
               "backup": [fact("b1", "2026-11-22T03")], "cdp": [fact("c1", "2026-11-22T04")]}

    def fake_read(client, kind, window):
        calls.append((kind, window.since, window.until))
        return {"tasks": [dict(item) for item in answers[kind]], "queries": 1, "records": 2}

    monkeypatch.setattr(_info, "read_latest_per_vm", fake_read)
    client = RecordingClient({})
    result = _info.collect(client, params(latest_per_vm=True, created_after="1d"), "task_session_info", NOW)
    assert [(item["uid"], item["session_type"]) for item in result["task_sessions"]] == [
        ("r2", "replica"), ("b1", "backup"), ("r1", "replica")]
    assert calls == [("replica", NOW - datetime.timedelta(days=1), NOW), ("backup", NOW - datetime.timedelta(days=1), NOW)]
    assert result["summary"]["total"] == 3
    cdp = _info.collect(client, params(latest_per_vm=True, created_after="1d"), "cdp_task_session_info", NOW)
    assert cdp["cdp_task_sessions"] == [fact("c1", "2026-11-22T04")]  # one kind: no session_type added
    assert calls[-1][0] == "cdp" and client.calls == []
