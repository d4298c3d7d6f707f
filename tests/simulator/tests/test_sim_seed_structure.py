"""The renderer reproduces the structure of the vendor documentation examples (element order, attributes, link rels/types)."""

import xml.etree.ElementTree as ET

import pytest

import seed_examples as seeds
from em_simulator import model, render

NS = "{%s}" % model.NS


class _Cfg(object):
    def __init__(self, typo_links=True, cdp_task_href_quirk=False):
        self.base_url = seeds.BASE
        self.typo_links = typo_links
        self.cdp_task_href_quirk = cdp_task_href_quirk


def _task_record(case):
    created = model.parse_time(case["created"])
    rec = {"_type": case["type"], "_guid": case["guid"], "_id": 1,
           "UID": "urn:veeam:%s:%s" % (case["type"], case["guid"]),
           "Name": "%s@%s" % (case["vm"], model.fmt_name_time(created)), "VmDisplayName": case["vm"],
           "CreationTimeUTC": model.fmt_time(created), "EndTimeUTC": model.fmt_time(model.parse_time(case["ended"])),
           "State": case["state"], "Result": case["result"], "Reason": case["reason"], "TotalSize": case["size"],
           "BackupServerName": case["server"], "_server_guid": case["server_guid"], "_session_guid": case["session_guid"],
           "_session_name": case["session_name"], "_point": case["point"]}
    session_uid = "urn:veeam:%s:%s" % (case["session_type"], case["session_guid"])
    if case["type"] == "CdpReplicaTaskSession":
        rec["PolicySessionUid"] = session_uid
    else:
        rec["JobSessionUid"] = session_uid
    if "vm_uid" in case:
        rec["VmUid"] = case["vm_uid"]
    return rec


def _session_record(case):
    created = model.parse_time(case["created"])
    return {"_type": case["type"], "_guid": case["guid"], "_id": 1, "UID": "urn:veeam:%s:%s" % (case["type"], case["guid"]),
            "Name": "%s@%s" % (case["job"], model.fmt_name_time(created)), "JobUid": "urn:veeam:Job:" + case["job_guid"],
            "JobName": case["job"], "JobType": "Replica", "CreationTimeUTC": model.fmt_time(created),
            "EndTimeUTC": model.fmt_time(model.parse_time(case["ended"])), "State": case["state"], "Result": case["result"],
            "Progress": case["progress"], "FailureMessage": None, "IsRetry": case["retry"], "BackupServerName": case["server"],
            "_server_guid": case["server_guid"], "_job_guid": case["job_guid"]}


def _canon(elem):
    tag = elem.tag.replace(NS, "")
    attrs = sorted(elem.attrib)
    if tag == "Links":
        links = []
        for child in elem:
            assert child.tag == NS + "Link"
            names = sorted(child.attrib)
            assert names in (sorted(seeds.LINK_ATTRS_NAMED), ["Href", "Rel", "Type"], ["Href", "Rel"]), names
            links.append((child.get("Rel"), child.get("Type"), "Name" in child.attrib))
        return (tag, attrs, links)
    children = list(elem)
    if children:
        return (tag, attrs, [_canon(c) for c in children])
    return (tag, attrs, elem.text)


def _expected(node):
    tag, attrs, rest = node
    if isinstance(rest, list) and tag != "Links":
        rest = [_expected(c) for c in rest]
    return (tag, sorted(attrs), rest)


def _parse(data):
    assert data.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    return ET.fromstring(data)


def test_replica_task_session_entity():
    rnd = render.Renderer(_Cfg())
    root = _parse(render.Xml().single(rnd.entity(_task_record(seeds.REPLICA_TASK))))
    assert _canon(root) == _expected(seeds.EXPECTED["replica_task_entity"])
    assert root.get("Href") == seeds.EXPECTED_HREFS["replica_task_entity"]
    assert root.get("Name") == "apache02_replica01@2021-10-17 20:00:27"


def test_backup_task_session_entity():
    rnd = render.Renderer(_Cfg())
    root = _parse(render.Xml().single(rnd.entity(_task_record(seeds.BACKUP_TASK))))
    assert _canon(root) == _expected(seeds.EXPECTED["backup_task_entity"])
    related = [lk for lk in root.find(NS + "Links") if lk.get("Rel") == "Related"][0]
    assert related.get("Href") == seeds.EXPECTED_HREFS["backup_task_related"]
    assert related.get("Name") == "AnT_VM2-bFpa@2021-10-11 20:06:23"


def test_replica_job_session_ref_and_entity_with_typo_link():
    rnd = render.Renderer(_Cfg(typo_links=True))
    rec = _session_record(seeds.REPLICA_SESSION)
    ref = _parse(render.Xml().single(rnd.ref(rec, tag="EntityRef")))
    assert _canon(ref) == _expected(seeds.EXPECTED["replica_session_ref"])
    assert ref.get("Type") == "ReplicaJobSessionReference"
    ent = _parse(render.Xml().single(rnd.entity(rec)))
    assert _canon(ent) == _expected(seeds.EXPECTED["replica_session_entity"])
    downs = [lk.get("Href") for lk in ent.find(NS + "Links") if lk.get("Rel") == "Down"]
    assert downs == [seeds.EXPECTED_HREFS["replica_session_down_typo"]]
    assert ref.get("Name") == ent.get("Name") == "Fileserver02 Replication@2014-10-19 06:46:31"


def test_replica_job_session_query_result():
    rnd = render.Renderer(_Cfg(typo_links=False))
    rec = _session_record(seeds.REPLICA_SESSION_QUERY)
    pairs = [("type", "ReplicaJobSession"), ("format", "Entities"), ("filter", 'BackupServerName=="enterprise06.tech.local";Result==Success')]
    paging = (1, 100, 1, rnd.paging_links(pairs, 1, 100, 1))
    root = _parse(render.Xml().query_result(None, [rnd.entity(rec)], "ReplicaJobSessions", paging))
    assert _canon(root) == _expected(seeds.EXPECTED["replica_session_query"])
    entity = root.find(NS + "Entities")[0][0]
    assert [lk.get("Href") for lk in entity.find(NS + "Links") if lk.get("Rel") == "Down"] == [seeds.EXPECTED_HREFS["replica_session_down"]]
    info = root.find(NS + "PagingInfo")
    assert (info.get("PageNum"), info.get("PageSize"), info.get("PagesCount")) == ("1", "100", "1")
    first = info.find(NS + "Links")[0].get("Href")
    assert first.endswith("&pageSize=100&page=1") and "type=ReplicaJobSession&format=Entities&filter=" in first


@pytest.mark.parametrize("quirk", [True, False])
def test_cdp_task_session_query_result(quirk):
    rnd = render.Renderer(_Cfg(cdp_task_href_quirk=quirk))
    recs = [_task_record(c) for c in seeds.CDP_TASKS]
    paging = (1, 100, 1, rnd.paging_links([("type", "CdpReplicaTaskSession"), ("format", "Entities")], 1, 100, 1))
    root = _parse(render.Xml().query_result(None, [rnd.entity(r) for r in recs], "CdpReplicaTaskSessions", paging))
    plural = root.find(NS + "Entities")[0]
    assert plural.tag == NS + "CdpReplicaTaskSessions"
    assert len(plural) == 3
    for elem, case in zip(plural, seeds.CDP_TASKS):
        tag, attrs, rest = _canon(elem)
        assert tag == "CdpReplicaTaskSession"
        assert attrs == sorted(seeds.ENTITY_ATTRS + ["VmDisplayName"])
        assert rest[0] == ("Links", [], [("Up", "BackupServerReference", True), ("Up", "CdpReplicaSessionReference", True),
                                         ("Alternate", "CdpReplicaTaskSessionReference", True)])
        assert [(c[0], c[2]) for c in rest[1:]] == [
            ("PolicySessionUid", "urn:veeam:CdpReplicaSession:" + case["session_guid"]), ("CreationTimeUTC", case["created"]),
            ("EndTimeUTC", case["ended"]), ("State", "Completed"), ("Result", "Success"), ("TotalSize", "17179869184")]
    first = plural[0]
    expected_href = seeds.EXPECTED_HREFS["cdp_entity_quirk"] if quirk else seeds.EXPECTED_HREFS["cdp_alternate"] + "?format=Entity"
    assert first.get("Href") == expected_href
    assert [lk.get("Href") for lk in first.find(NS + "Links") if lk.get("Rel") == "Alternate"] == [seeds.EXPECTED_HREFS["cdp_alternate"]]


def test_running_session_omits_end_time_and_reports_none():
    rnd = render.Renderer(_Cfg())
    rec = _session_record(seeds.REPLICA_SESSION)
    rec.update({"EndTimeUTC": None, "State": "Working", "Result": "None", "Progress": 40})
    root = _parse(render.Xml().single(rnd.entity(rec)))
    names = [c.tag.replace(NS, "") for c in root]
    assert "EndTimeUTC" not in names and "FailureMessage" not in names
    assert root.find(NS + "Result").text == "None" and root.find(NS + "State").text == "Working"
