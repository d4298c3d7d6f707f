# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

import pytest

from ansible_collections.opsbox.veeam_em.plugins.module_utils._errors import EMQueryError
from ansible_collections.opsbox.veeam_em.plugins.module_utils._query import (
    build_filter, query_params, resource_type, sort_params, quote, RESOURCES,
)

INJECTION = 'x";Result==Success,(VmDisplayName=="y'


def split_top_level(expression):
    """Split an EM filter on top-level ';' the way a server parser would (quotes respected)."""
    parts, depth, quoted, current = [], 0, False, ""
    for char in expression:
        if char == '"':
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
        if char == ";" and not quoted and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts


def test_injection_stays_one_predicate():
    expression = build_filter("ReplicaTaskSession", {"VmDisplayName": INJECTION})
    assert expression == 'VmDisplayName=="x"";Result==Success,(VmDisplayName==""y"'
    assert split_top_level(expression) == [expression]


def test_injection_next_to_other_predicates_keeps_structure():
    expression = build_filter("ReplicaTaskSession", [("VmDisplayName", "==", INJECTION), ("Result", "==", "failed")])
    parts = split_top_level(expression)
    assert len(parts) == 2
    assert parts[0].startswith("VmDisplayName==")
    assert parts[1] == 'Result=="Failed"'


def test_quote_doubles_inner_quotes():
    assert quote('a"b') == '"a""b"'
    assert quote("") == '""'


def test_enum_values_are_normalised_case_insensitively():
    assert build_filter("BackupJobSession", {"state": "STOPPED", "result": "warning"}) == 'State=="Stopped";Result=="Warning"'


def test_enum_rejects_unknown_value_before_any_request():
    with pytest.raises(EMQueryError) as info:
        build_filter("ReplicaTaskSession", {"State": "Stopped"})  # a job-session state, not a task state
    assert "InProgress" in str(info.value)


def test_list_becomes_parenthesised_or_group():
    assert build_filter("ReplicaTaskSession", {"Result": ["Warning", "Failed"]}) == '(Result=="Warning",Result=="Failed")'


def test_not_equal_list_becomes_and_group():
    assert build_filter("ReplicaTaskSession", [("Result", "!=", ["Success", "None"])]) == '(Result!="Success";Result!="None")'


def test_list_with_ordering_operator_is_refused():
    with pytest.raises(EMQueryError):
        build_filter("ReplicaTaskSession", [("CreationTime", ">", ["2024-01-01", "2024-01-02"])])


@pytest.mark.parametrize("value", [
    datetime.datetime(2024, 3, 1, 12, 30, 15),
    datetime.datetime(2024, 3, 1, 14, 30, 15, tzinfo=datetime.timezone(datetime.timedelta(hours=2))),
    "2024-03-01T12:30:15Z",
    "2024-03-01 13:30:15+01:00",
])
def test_times_are_rendered_in_utc(value):
    assert build_filter("BackupJobSession", [("CreationTime", ">=", value)]) == 'CreationTime>="2024-03-01T12:30:15Z"'


@pytest.mark.parametrize("value", [
    datetime.datetime(2024, 3, 1, 12, 30, 15, 123456),
    "2024-03-01T12:30:15.123456789Z",
    "2024-03-01T14:30:15.123456+02:00",
])
def test_fractions_are_kept_so_a_fact_time_can_bound_its_own_session(value):
    assert build_filter("BackupJobSession", [("CreationTime", "<=", value)]) == 'CreationTime<="2024-03-01T12:30:15.123456Z"'


def test_date_only_means_midnight_utc():
    assert build_filter("BackupJobSession", [("EndTime", "<", datetime.date(2024, 3, 1))]) == 'EndTime<"2024-03-01T00:00:00Z"'


@pytest.mark.parametrize("value", ["yesterday", 1700000000, "2024-13-01"])
def test_bad_times_are_refused(value):
    with pytest.raises(EMQueryError):
        build_filter("BackupJobSession", [("CreationTime", ">=", value)])


def test_cdp_types_use_their_own_field_names():
    assert build_filter("CdpReplicaTaskSession", [("CreationTime", ">=", "2021-06-15")]) == 'CreationTimeUTC>="2021-06-15T00:00:00Z"'
    assert build_filter("CdpReplicaSession", {"uid": "urn:veeam:CdpReplicaSession:1"}) == 'Id=="urn:veeam:CdpReplicaSession:1"'
    assert build_filter("CdpReplicaSession", {"end_time_utc": "2021-06-15"}) == 'EndTimeUTC=="2021-06-15T00:00:00Z"'


def test_job_sessions_filter_on_creation_time_not_utc_element():
    with pytest.raises(EMQueryError):
        build_filter("ReplicaJobSession", [("CreationTimeUTC", ">=", "2021-06-15")])


def test_cdp_task_has_no_documented_result_filter():
    with pytest.raises(EMQueryError):
        build_filter("CdpReplicaTaskSession", {"Result": "Success"})


def test_unknown_field_names_the_known_ones():
    with pytest.raises(EMQueryError) as info:
        build_filter("ReplicaJobSession", {"VmName": "a"})
    assert "VmName" in str(info.value) and "JobName" in str(info.value)


def test_bool_and_int_fields():
    assert build_filter("ReplicaJobSession", {"IsRetry": True}) == 'IsRetry=="true"'
    assert build_filter("ReplicaJobSession", {"is_retry": "no"}) == 'IsRetry=="false"'
    assert build_filter("BackupTaskSession", [("TotalSize", ">", 1024)]) == 'TotalSize>"1024"'
    for bad in ({"IsRetry": "maybe"}, {"IsRetry": 1}):
        with pytest.raises(EMQueryError):
            build_filter("ReplicaJobSession", bad)
    with pytest.raises(EMQueryError):
        build_filter("BackupTaskSession", [("TotalSize", ">", True)])
    with pytest.raises(EMQueryError):
        build_filter("BackupTaskSession", [("TotalSize", ">", "1k")])


def test_strings_must_be_strings():
    with pytest.raises(EMQueryError):
        build_filter("ReplicaTaskSession", {"VmDisplayName": 5})
    with pytest.raises(EMQueryError):
        build_filter("ReplicaTaskSession", {"VmDisplayName": None})


def test_unknown_operator():
    with pytest.raises(EMQueryError):
        build_filter("ReplicaTaskSession", [("VmDisplayName", "=~", "a")])


def test_raw_filter_is_anded_in_parentheses():
    expression = build_filter("ReplicaJobSession", {"Result": "Failed"}, raw_filter="JobName==a,JobName==b")
    assert expression == 'Result=="Failed";(JobName==a,JobName==b)'
    assert build_filter("ReplicaJobSession", None, raw_filter="  JobName==a ") == "(JobName==a)"
    assert build_filter("ReplicaJobSession") is None


@pytest.mark.parametrize("raw", ['JobName=="a', "(JobName==a", "JobName==a)", ")("])
def test_unbalanced_raw_filter_is_refused(raw):
    with pytest.raises(EMQueryError):
        build_filter("ReplicaJobSession", raw_filter=raw)


def test_raw_filter_with_doubled_quotes_is_accepted():
    assert build_filter("ReplicaJobSession", raw_filter='JobName=="say ""hi"" (x)"') == '(JobName=="say ""hi"" (x)")'


def test_sorting():
    assert sort_params("ReplicaJobSession", "-creation_time") == {"sortDesc": "CreationTime"}
    assert sort_params("ReplicaJobSession", "Name") == {"sortAsc": "Name"}
    assert sort_params("ReplicaJobSession", ("EndTime", "DESC")) == {"sortDesc": "EndTime"}
    assert sort_params("CdpReplicaSession", "creation_time desc") == {"sortDesc": "CreationTimeUTC"}
    assert sort_params("ReplicaJobSession", None) == {}
    with pytest.raises(EMQueryError):
        sort_params("ReplicaJobSession", "-VmDisplayName")
    with pytest.raises(EMQueryError):
        sort_params("ReplicaJobSession", ("Name", "sideways"))


def test_query_params_always_ask_for_entities():
    params = query_params("replica_task_session", {"Result": "Failed"}, sort="-CreationTime")
    assert params == {"type": "ReplicaTaskSession", "format": "Entities", "filter": 'Result=="Failed"',
                      "sortDesc": "CreationTime"}


def test_registry():
    assert set(RESOURCES) == {"BackupJobSession", "ReplicaJobSession", "BackupTaskSession", "ReplicaTaskSession",
                              "CdpReplicaSession", "CdpReplicaTaskSession"}
    assert resource_type("cdpreplicatasksession").collection == "cdpReplicaTaskSessions"
    assert resource_type("ReplicaTaskSession").parent_field == "JobSessionUid"
    with pytest.raises(EMQueryError):
        resource_type("Job")
