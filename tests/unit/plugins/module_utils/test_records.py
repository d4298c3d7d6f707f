# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

import pytest

from ansible_collections.opsbox.veeam_em.plugins.module_utils import _codec
from ansible_collections.opsbox.veeam_em.plugins.module_utils._records import normalize, snake_case, bare_id
from ansible_collections.opsbox.veeam_em.plugins.module_utils._times import parse_timestamp, format_fact_time

from ansible_collections.opsbox.veeam_em.tests.unit.plugins.module_utils._samples import XML_PAGE, JOB_SESSION, SERVER, TASK_1


def _facts():
    _root, doc = _codec.decode(XML_PAGE)
    return [normalize(record) for record in _codec.query_records(doc)]


def test_task_session_facts():
    done, running = _facts()
    assert done == {
        "uid": "urn:veeam:ReplicaTaskSession:%s" % TASK_1,
        "id": TASK_1,
        "name": "apache02@2021-10-17 20:00:27",
        "type": "ReplicaTaskSession",
        "creation_time": "2021-10-17T20:00:27.087000Z",
        "end_time": "2021-10-17T20:03:11.843123Z",
        "duration_seconds": 164.756,
        "state": "Completed",
        "result": "Success",
        "backup_server_name": "enterprise01.tech.local",
        "backup_server_uid": "urn:veeam:BackupServer:%s" % SERVER,
        "vm_name": u'apache02 & "co" \u00fc',
        "vm_uid": None,
        "job_session_uid": "urn:veeam:ReplicaJobSession:%s" % JOB_SESSION,
        "job_session_name": "Replication Job 1@2021-10-17 20:00:11",
        "reason": None,
        "total_size": 8589934592,
        "future_field": "kept",
    }
    assert running["end_time"] is None
    assert running["duration_seconds"] is None
    assert running["result"] == "None"
    assert running["reason"] == 'Waiting for "infrastructure" <resources>'
    assert running["total_size"] == 0


def test_job_session_derives_job_and_server_from_links():
    record = {
        "Type": "ReplicaJobSession", "UID": "urn:veeam:ReplicaJobSession:abc", "Name": "J@2014-10-19 06:46:31",
        "CreationTimeUTC": "2014-10-19T06:46:31Z", "EndTimeUTC": "2014-10-19T07:02:35Z", "State": "stopped",
        "Result": "SUCCESS", "Progress": "100", "IsRetry": "false", "JobType": "Replica",
        "Links": [{"Rel": "Up", "Type": "BackupServerReference", "Href": "https://x/api/backupServers/srv1", "Name": "srv02"},
                  {"Rel": "Up", "Type": "JobReference", "Href": "https://x/api/jobs/job1?format=Entity", "Name": "Fileserver02"}],
    }
    facts = normalize(record)
    assert facts["job_uid"] == "urn:veeam:Job:job1"
    assert facts["job_name"] == "Fileserver02"
    assert facts["backup_server_uid"] == "urn:veeam:BackupServer:srv1"
    assert facts["state"] == "Stopped" and facts["result"] == "Success"
    assert facts["progress"] == 100 and facts["is_retry"] is False
    assert facts["duration_seconds"] == 964.0
    assert facts["failure_message"] is None


def test_job_fields_win_over_links():
    record = {"Type": "BackupJobSession", "JobUid": "urn:veeam:Job:real", "JobName": "Real",
              "Links": [{"Rel": "Up", "Type": "JobReference", "Href": "https://x/api/jobs/other", "Name": "Other"}]}
    facts = normalize(record)
    assert (facts["job_uid"], facts["job_name"]) == ("urn:veeam:Job:real", "Real")


def test_cdp_task_session_parent_from_link():
    record = {"Type": "CdpReplicaTaskSession", "UID": "urn:veeam:CdpReplicaTaskSession:t", "VmDisplayName": "virt03",
              "CreationTimeUTC": "2021-06-15T07:00:06.787Z", "State": "Completed", "Result": "Success",
              "TotalSize": "17179869184",
              "Links": [{"Rel": "Up", "Type": "CdpReplicaSessionReference", "Href": "https://x/api/cdpReplicaSessions/p1",
                         "Name": "CDP Policy@2021-06-14 15:00:24"}]}
    facts = normalize(record)
    assert facts["policy_session_uid"] == "urn:veeam:CdpReplicaSession:p1"
    assert facts["policy_session_name"] == "CDP Policy@2021-06-14 15:00:24"
    assert facts["total_size"] == 17179869184
    assert facts["end_time"] is None
    assert "job_session_uid" not in facts


def test_cdp_session_policy_fields():
    record = {"Type": "CdpReplicaSession", "UID": "urn:veeam:CdpReplicaSession:s", "PolicyUid": "urn:veeam:CdpPolicy:p",
              "PolicyName": "CDP Policy", "PolicyType": "CdpReplica", "Progress": 50, "IsRetry": False, "Result": "None"}
    facts = normalize(record)
    assert (facts["policy_uid"], facts["policy_name"], facts["policy_type"]) == ("urn:veeam:CdpPolicy:p", "CDP Policy", "CdpReplica")
    assert facts["progress"] == 50 and facts["is_retry"] is False


def test_type_from_uid_or_hint():
    assert normalize({"UID": "urn:veeam:BackupTaskSession:1"})["type"] == "BackupTaskSession"
    assert normalize({"Name": "x"}, "ReplicaTaskSession")["type"] == "ReplicaTaskSession"
    assert normalize({"Type": "ReplicaTaskSessionReference", "UID": "urn:veeam:ReplicaTaskSession:1"})["type"] == "ReplicaTaskSession"


def test_unknown_nested_fields_are_kept_in_snake_case():
    facts = normalize({"Type": "BackupTaskSession", "NewThingUTC": {"Inner": 1}, "HTTPPort": "1"})
    assert facts["new_thing_utc"] == {"Inner": 1}
    assert facts["http_port"] == "1"


@pytest.mark.parametrize("name,snake", [("CreationTimeUTC", "creation_time_utc"), ("VmDisplayName", "vm_display_name"),
                                        ("UID", "uid"), ("JobSessionUid", "job_session_uid"), ("vmUid", "vm_uid")])
def test_snake_case(name, snake):
    assert snake_case(name) == snake


@pytest.mark.parametrize("text,expected", [
    ("2014-10-19T05:22:52Z", "2014-10-19T05:22:52.000000Z"),
    ("2025-06-05T01:04:29.56Z", "2025-06-05T01:04:29.560000Z"),
    ("2025-08-15T20:00:24.003406Z", "2025-08-15T20:00:24.003406Z"),
    ("2025-08-15T20:00:24.0034069Z", "2025-08-15T20:00:24.003406Z"),
    ("2025-08-15T22:00:24+02:00", "2025-08-15T20:00:24.000000Z"),
    ("2025-08-15T20:00:24", "2025-08-15T20:00:24.000000Z"),
])
def test_timestamps(text, expected):
    assert format_fact_time(parse_timestamp(text)) == expected


def test_placeholder_and_empty_times_are_none():
    assert parse_timestamp("0001-01-01T00:00:00") is None
    assert parse_timestamp("") is None
    assert normalize({"Type": "BackupJobSession", "CreationTimeUTC": "garbage", "EndTimeUTC": ""})["creation_time"] is None


def test_naive_datetime_is_utc():
    assert parse_timestamp(datetime.datetime(2024, 1, 1, 12)).tzinfo is not None
    assert format_fact_time(parse_timestamp(datetime.datetime(2024, 1, 1, 12))) == "2024-01-01T12:00:00.000000Z"


def test_bare_id():
    assert bare_id("urn:veeam:Job:abc") == "abc"
    assert bare_id("abc") == "abc"
    assert bare_id(None) is None
