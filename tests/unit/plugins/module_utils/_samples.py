# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""One EM query page in XML, JSON v12 (PascalCase) and JSON v13 (camelCase), re-typed from em-api.md shapes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

API = "https://em01.tech.local:9398/api"
TASK_1 = "809564f0-d2e7-4ee2-af2f-06d385138be2"
TASK_2 = "0e9b9a27-15fd-4dee-98f9-5a98f0d89a3e"
JOB_SESSION = "3ae6d70c-e13f-4ee5-9da6-8920369ced66"
SERVER = "a490c017-2c1c-40ee-8bcf-73bcce6ab36f"

XML_PAGE = u"""<?xml version="1.0" encoding="utf-8"?>
<QueryResult xmlns="http://www.veeam.com/ent/v1.0" xmlns:xsd="http://www.w3.org/2001/XMLSchema"
             xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <Entities>
  <ReplicaTaskSessions>
   <ReplicaTaskSession Href="{api}/replicaTaskSessions/{t1}?format=Entity" Type="ReplicaTaskSession"
       Name="apache02@2021-10-17 20:00:27" UID="urn:veeam:ReplicaTaskSession:{t1}" VmDisplayName="apache02 &amp; &quot;co&quot; ü">
    <Links>
     <Link Href="{api}/backupServers/{srv}" Name="enterprise01.tech.local" Type="BackupServerReference" Rel="Up" />
     <Link Href="{api}/replicaSessions/{js}" Name="Replication Job 1@2021-10-17 20:00:11" Type="ReplicaJobSessionReference" Rel="Up" />
     <Link Href="{api}/replicaTaskSessions/{t1}" Name="apache02@2021-10-17 20:00:27" Type="ReplicaTaskSessionReference" Rel="Alternate" />
    </Links>
    <JobSessionUid>urn:veeam:ReplicaJobSession:{js}</JobSessionUid>
    <CreationTimeUTC>2021-10-17T20:00:27.087Z</CreationTimeUTC>
    <EndTimeUTC>2021-10-17T20:03:11.8431234Z</EndTimeUTC>
    <State>Completed</State>
    <Result>Success</Result>
    <Reason />
    <TotalSize>8589934592</TotalSize>
    <FutureField>kept</FutureField>
   </ReplicaTaskSession>
   <ReplicaTaskSession Href="{api}/replicaTaskSessions/{t2}?format=Entity" Type="ReplicaTaskSession"
       Name="db01@2021-10-17 21:00:00" UID="urn:veeam:ReplicaTaskSession:{t2}" VmDisplayName="db01">
    <Links>
     <Link Href="{api}/backupServers/{srv}" Name="enterprise01.tech.local" Type="BackupServerReference" Rel="Up" />
     <Link Href="{api}/replicaSessions/{js}" Name="Replication Job 1@2021-10-17 20:00:11" Type="ReplicaJobSessionReference" Rel="Up" />
    </Links>
    <JobSessionUid>urn:veeam:ReplicaJobSession:{js}</JobSessionUid>
    <CreationTimeUTC>2021-10-17T21:00:00Z</CreationTimeUTC>
    <State>InProgress</State>
    <Result>None</Result>
    <Reason>Waiting for "infrastructure" &lt;resources&gt;</Reason>
    <TotalSize>0</TotalSize>
    <FutureField>kept</FutureField>
   </ReplicaTaskSession>
  </ReplicaTaskSessions>
 </Entities>
 <PagingInfo PageNum="2" PageSize="2" PagesCount="3">
  <Links>
   <Link Rel="First" Href="{api}/query?type=ReplicaTaskSession&amp;format=Entities&amp;pageSize=2&amp;page=1" />
   <Link Rel="Next" Href="{api}/query?type=ReplicaTaskSession&amp;format=Entities&amp;pageSize=2&amp;page=3" />
  </Links>
 </PagingInfo>
</QueryResult>
""".format(api=API, t1=TASK_1, t2=TASK_2, js=JOB_SESSION, srv=SERVER).encode("utf-8")


def _link(rel, href, name, ltype):
    return {"Rel": rel, "Href": href, "Name": name, "Type": ltype}


def _v12_records():
    return [
        {"JobSessionUid": "urn:veeam:ReplicaJobSession:%s" % JOB_SESSION, "CreationTimeUTC": "2021-10-17T20:00:27.087Z",
         "EndTimeUTC": "2021-10-17T20:03:11.8431234Z", "State": "Completed", "Result": "Success", "Reason": None,
         "TotalSize": 8589934592, "FutureField": "kept", "VmDisplayName": u'apache02 & "co" \u00fc',
         "Name": "apache02@2021-10-17 20:00:27", "UID": "urn:veeam:ReplicaTaskSession:%s" % TASK_1,
         "Links": [_link("Up", "%s/backupServers/%s" % (API, SERVER), "enterprise01.tech.local", "BackupServerReference"),
                   _link("Up", "%s/replicaSessions/%s" % (API, JOB_SESSION), "Replication Job 1@2021-10-17 20:00:11",
                         "ReplicaJobSessionReference"),
                   _link("Alternate", "%s/replicaTaskSessions/%s" % (API, TASK_1), "apache02@2021-10-17 20:00:27",
                         "ReplicaTaskSessionReference")],
         "Href": "%s/replicaTaskSessions/%s?format=Entity" % (API, TASK_1), "Type": "ReplicaTaskSession"},
        {"JobSessionUid": "urn:veeam:ReplicaJobSession:%s" % JOB_SESSION, "CreationTimeUTC": "2021-10-17T21:00:00Z",
         "EndTimeUTC": None, "State": "InProgress", "Result": "None", "Reason": 'Waiting for "infrastructure" <resources>',
         "TotalSize": 0, "FutureField": "kept", "VmDisplayName": "db01",
         "Name": "db01@2021-10-17 21:00:00", "UID": "urn:veeam:ReplicaTaskSession:%s" % TASK_2,
         "Links": [_link("Up", "%s/backupServers/%s" % (API, SERVER), "enterprise01.tech.local", "BackupServerReference"),
                   _link("Up", "%s/replicaSessions/%s" % (API, JOB_SESSION), "Replication Job 1@2021-10-17 20:00:11",
                         "ReplicaJobSessionReference")],
         "Href": "%s/replicaTaskSessions/%s?format=Entity" % (API, TASK_2), "Type": "ReplicaTaskSession"},
    ]


def _v12_page():
    return {"Refs": None, "Resources": None, "Links": None,
            "Entities": {"BackupJobSessions": None, "ReplicaTaskSessions": {"ReplicaTaskSessions": _v12_records()}},
            "PagingInfo": {"Links": [_link("First", "%s/query?page=1" % API, None, None)],
                           "PageNum": 2, "PageSize": 2, "PagesCount": 3}}


def _camel(value):
    if isinstance(value, dict):
        return dict(((key.lower() if key.isupper() else key[:1].lower() + key[1:]), _camel(item)) for key, item in value.items())
    if isinstance(value, list):
        return [_camel(item) for item in value]
    return value


JSON_V12_PAGE = json.dumps(_v12_page()).encode("utf-8")
JSON_V13_PAGE = json.dumps(_camel(_v12_page()), ensure_ascii=False).encode("utf-8")
JSON_V13_BOM_PAGE = b"\xef\xbb\xbf" + JSON_V13_PAGE
