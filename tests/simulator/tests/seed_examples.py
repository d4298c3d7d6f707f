"""Field values of the vendor documentation examples (seeds/), re-typed as data, and the structure each example has.

Each case gives the records to render, the renderer switches, and the expected document structure:
(tag, [attribute names], [children]) for elements with children and (tag, [attribute names], text) for leaves.
Links are given as (rel, type, has_name) and are expanded by the test.
"""

BASE = "https://localhost:9398"

REPLICA_TASK = {
    "type": "ReplicaTaskSession", "guid": "809564f0-d2e7-4ee2-af2f-06d385138be2", "vm": "apache02_replica01",
    "created": "2021-10-17T20:00:27.087Z", "ended": "2021-10-17T20:03:11.843Z", "state": "Completed", "result": "Success", "reason": "",
    "size": 8589934592, "server_guid": "a490c017-2c1c-40ee-8bcf-73bcce6ab36f", "server": "enterprise01.tech.local",
    "session_guid": "3ae6d70c-e13f-4ee5-9da6-8920369ced66", "session_name": "Replication Job 1@2021-10-17 20:00:11",
    "session_type": "ReplicaJobSession", "point": None,
}
BACKUP_TASK = {
    "type": "BackupTaskSession", "guid": "88322206-a645-4aa3-9228-028ce51e7c0f", "vm": "AnT_VM2",
    "created": "2021-10-11T20:06:09.627Z", "ended": "2021-10-11T20:07:09.347Z", "state": "Completed", "result": "Success", "reason": "",
    "size": 12884901888, "server_guid": "a490c017-2c1c-40ee-8bcf-73bcce6ab36f", "server": "enterprise01.tech.local",
    "session_guid": "0d3a8230-3db1-4cc1-a7b2-3b0b5c8f784c", "session_name": "vCD Job Template@2021-10-11 20:00:04",
    "session_type": "BackupJobSession", "point": ("a3571c27-a3a9-4ac8-8dfb-71a2336b3218", "AnT_VM2-bFpa@2021-10-11 20:06:23"),
    "vm_uid": "urn:VMware:Vm:a87d15db-dd70-4769-acd6-41bae88219d4.vm-91826",
}
REPLICA_SESSION_QUERY = {
    "type": "ReplicaJobSession", "guid": "1bffbda3-39a8-41eb-b9a0-200b98f3c5e9", "job": "Replication Job 1",
    "job_guid": "1aa9734e-60e1-4fb6-87df-bbaa9bf38de8", "created": "2021-06-15T22:06:57.263Z", "ended": "2021-06-15T22:11:06.11Z",
    "state": "Stopped", "result": "Success", "progress": 100, "retry": False,
    "server_guid": "7445e6ce-86f5-4171-b909-dac209c66563", "server": "enterprise06.tech.local",
}
REPLICA_SESSION = {
    "type": "ReplicaJobSession", "guid": "0bcf5a1e-866c-4b40-8bc3-ce64753b9a6b", "job": "Fileserver02 Replication",
    "job_guid": "2c49a44e-1e59-4527-a6bc-6b2f9b579ee1", "created": "2014-10-19T06:46:31Z", "ended": "2014-10-19T07:02:35Z",
    "state": "Stopped", "result": "Success", "progress": 100, "retry": False,
    "server_guid": "ce15a8c7-aa49-495e-b05b-ee3398c91018", "server": "srv02.tech.local",
}
_CDP_COMMON = {"type": "CdpReplicaTaskSession", "vm": "virt03-ubuntu01", "state": "Completed", "result": "Success", "reason": "",
               "size": 17179869184, "server_guid": "beda8585-1354-451c-afe2-646dcf42afa6", "server": "backupsrv29.tech.local",
               "session_type": "CdpReplicaSession", "point": None}
CDP_TASKS = [
    dict(_CDP_COMMON, guid="787d754e-6399-46f1-8199-2207f0e8fe20", created="2021-06-15T07:00:06.787Z", ended="2021-06-15T15:00:08.847Z",
         session_guid="042da2cf-86a9-4d09-9766-be90f3ccd506", session_name="CDP Policy@2021-06-14 15:00:24"),
    dict(_CDP_COMMON, guid="0e9b9a27-15fd-4dee-98f9-5a98f0d89a3e", created="2021-06-15T15:00:09.05Z", ended="2021-06-15T23:00:06.493Z",
         session_guid="30a2b685-f858-4f15-9ef6-d3b007a99d2d", session_name="CDP Policy@2021-06-15 15:00:08"),
    dict(_CDP_COMMON, guid="136e9284-b6b3-44f2-ad04-af57a610c3cd", created="2021-06-15T23:00:06.51Z", ended="2021-06-16T07:00:06.663Z",
         session_guid="30a2b685-f858-4f15-9ef6-d3b007a99d2d", session_name="CDP Policy@2021-06-15 15:00:08"),
]

ENTITY_ATTRS = ["Href", "Name", "Type", "UID"]
LINK_ATTRS_NAMED = ["Href", "Name", "Rel", "Type"]


def task_entity(tag, links, fields):
    return (tag, ENTITY_ATTRS + ["VmDisplayName"], [("Links", [], links)] + fields)


EXPECTED = {
    "replica_task_entity": task_entity("ReplicaTaskSession", [
        ("Up", "BackupServerReference", True), ("Up", "ReplicaJobSessionReference", True), ("Alternate", "ReplicaTaskSessionReference", True),
    ], [("JobSessionUid", [], "urn:veeam:ReplicaJobSession:3ae6d70c-e13f-4ee5-9da6-8920369ced66"),
        ("CreationTimeUTC", [], "2021-10-17T20:00:27.087Z"), ("EndTimeUTC", [], "2021-10-17T20:03:11.843Z"),
        ("State", [], "Completed"), ("Result", [], "Success"), ("Reason", [], None), ("TotalSize", [], "8589934592")]),
    "backup_task_entity": task_entity("BackupTaskSession", [
        ("Up", "BackupServerReference", True), ("Up", "BackupJobSessionReference", True), ("Alternate", "BackupTaskSessionReference", True),
        ("Related", "VmRestorePoint", True),
    ], [("JobSessionUid", [], "urn:veeam:BackupJobSession:0d3a8230-3db1-4cc1-a7b2-3b0b5c8f784c"),
        ("CreationTimeUTC", [], "2021-10-11T20:06:09.627Z"), ("EndTimeUTC", [], "2021-10-11T20:07:09.347Z"),
        ("State", [], "Completed"), ("Result", [], "Success"), ("Reason", [], None), ("TotalSize", [], "12884901888"),
        ("VmUid", [], "urn:VMware:Vm:a87d15db-dd70-4769-acd6-41bae88219d4.vm-91826")]),
    "replica_session_ref": ("EntityRef", ENTITY_ATTRS, [("Links", [], [
        ("Up", "BackupServerReference", True), ("Up", "JobReference", True), ("Alternate", "ReplicaJobSession", True),
        ("Down", "ReplicaTaskSessionReferenceList", False)])]),
    "replica_session_entity": ("ReplicaJobSession", ENTITY_ATTRS, [("Links", [], [
        ("Up", "BackupServerReference", True), ("Up", "JobReference", True), ("Alternate", "ReplicaJobSessionReference", True),
        ("Down", "ReplicaTaskSessionReferenceList", False)]),
        ("JobUid", [], "urn:veeam:Job:2c49a44e-1e59-4527-a6bc-6b2f9b579ee1"), ("JobName", [], "Fileserver02 Replication"),
        ("JobType", [], "Replica"), ("CreationTimeUTC", [], "2014-10-19T06:46:31Z"), ("EndTimeUTC", [], "2014-10-19T07:02:35Z"),
        ("State", [], "Stopped"), ("Result", [], "Success"), ("Progress", [], "100"), ("IsRetry", [], "false")]),
    "replica_session_query": ("QueryResult", [], [
        ("Entities", [], [("ReplicaJobSessions", [], [("ReplicaJobSession", ENTITY_ATTRS, [("Links", [], [
            ("Up", "BackupServerReference", True), ("Up", "JobReference", True), ("Alternate", "ReplicaJobSessionReference", True),
            ("Down", "ReplicaTaskSessionReferenceList", False)]),
            ("JobUid", [], "urn:veeam:Job:1aa9734e-60e1-4fb6-87df-bbaa9bf38de8"), ("JobName", [], "Replication Job 1"),
            ("JobType", [], "Replica"), ("CreationTimeUTC", [], "2021-06-15T22:06:57.263Z"), ("EndTimeUTC", [], "2021-06-15T22:11:06.11Z"),
            ("State", [], "Stopped"), ("Result", [], "Success"), ("Progress", [], "100"), ("IsRetry", [], "false")])])]),
        ("PagingInfo", ["PageNum", "PageSize", "PagesCount"], [("Links", [], [("First", None, False), ("Last", None, False)])])]),
}
_CDP_ENTITY = ("CdpReplicaTaskSession", ENTITY_ATTRS + ["VmDisplayName"], None)
EXPECTED_HREFS = {
    "replica_task_entity": "https://localhost:9398/api/replicaTaskSessions/809564f0-d2e7-4ee2-af2f-06d385138be2?format=Entity",
    "backup_task_related": "https://localhost:9398/api/vmRestorePoints/a3571c27-a3a9-4ac8-8dfb-71a2336b3218?format=Entity",
    "replica_session_down_typo": "https://localhost:9398/api/replicaSessions/0bcf5a1e-866c-4b40-8bc3-ce64753b9a6b/repicaTaskSessions",
    "replica_session_down": "https://localhost:9398/api/replicaSessions/1bffbda3-39a8-41eb-b9a0-200b98f3c5e9/replicaTaskSessions",
    "cdp_entity_quirk": "https://localhost:9398/api/replicaTaskSessions/787d754e-6399-46f1-8199-2207f0e8fe20?format=Entity",
    "cdp_alternate": "https://localhost:9398/api/cdpReplicaTaskSessions/787d754e-6399-46f1-8199-2207f0e8fe20",
}
