# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.opsbox.veeam_em.plugins.module_utils import _codec
from ansible_collections.opsbox.veeam_em.plugins.module_utils._errors import EMProtocolError
from ansible_collections.opsbox.veeam_em.plugins.module_utils._records import normalize

from ansible_collections.opsbox.veeam_em.tests.unit.plugins.module_utils._samples import (
    XML_PAGE, JSON_V12_PAGE, JSON_V13_PAGE, JSON_V13_BOM_PAGE, TASK_1,
)

ALL_PAGES = [("xml", XML_PAGE, "application/xml"), ("json-v12", JSON_V12_PAGE, "application/json"),
             ("json-v13", JSON_V13_PAGE, "application/json; charset=utf-8"), ("json-v13-bom", JSON_V13_BOM_PAGE, None)]


@pytest.mark.parametrize("label,body,ctype", ALL_PAGES)
def test_every_dialect_gives_the_same_canonical_page(label, body, ctype):
    _root, doc = _codec.decode(body, ctype)
    records = _codec.query_records(doc)
    assert [record["UID"] for record in records] == ["urn:veeam:ReplicaTaskSession:%s" % TASK_1, records[1]["UID"]]
    assert _codec.paging_info(doc) == {"PageNum": 2, "PageSize": 2, "PagesCount": 3}
    first = records[0]
    assert first["VmDisplayName"] == u'apache02 & "co" \u00fc'
    assert first["FutureField"] == "kept"
    assert first["Links"][0] == {"Rel": "Up", "Type": "BackupServerReference", "Name": "enterprise01.tech.local",
                                 "Href": "https://em01.tech.local:9398/api/backupServers/a490c017-2c1c-40ee-8bcf-73bcce6ab36f"}


def test_facts_are_identical_across_formats():
    facts = []
    for _label, body, ctype in ALL_PAGES:
        _root, doc = _codec.decode(body, ctype)
        facts.append([normalize(record) for record in _codec.query_records(doc)])
    assert facts[0] == facts[1] == facts[2] == facts[3]


def test_xml_root_and_namespaces_are_stripped():
    root, doc = _codec.decode(XML_PAGE)
    assert root == "QueryResult"
    assert not any(key.startswith("xmlns") for key in doc)


def test_single_link_and_single_record_are_lists():
    body = (b'<QueryResult xmlns="http://www.veeam.com/ent/v1.0"><Entities><BackupJobSessions>'
            b'<BackupJobSession UID="urn:veeam:BackupJobSession:1" Name="a"><Links><Link Rel="Up" Href="h" Type="T"/></Links>'
            b'</BackupJobSession></BackupJobSessions></Entities></QueryResult>')
    _root, doc = _codec.decode(body)
    records = _codec.query_records(doc)
    assert len(records) == 1
    assert records[0]["Links"] == [{"Rel": "Up", "Href": "h", "Type": "T", "Name": None}]
    assert _codec.paging_info(doc) is None


def test_empty_entities_give_no_records():
    _root, doc = _codec.decode(b'<QueryResult><Entities><ReplicaTaskSessions /></Entities>'
                               b'<PagingInfo PageNum="1" PageSize="5" PagesCount="0"/></QueryResult>')
    assert _codec.query_records(doc) == []
    _root, doc = _codec.decode(b'{"entities": {"replicaTaskSessions": {"replicaTaskSessions": []}}, "refs": null}')
    assert _codec.query_records(doc) == []


def test_refs_are_records_too():
    _root, doc = _codec.decode(b'{"Refs": {"Refs": [{"UID": "urn:veeam:Job:1", "Name": "j", "Links": null}]}}')
    assert _codec.query_records(doc) == [{"UID": "urn:veeam:Job:1", "Name": "j", "Links": []}]


@pytest.mark.parametrize("body", [
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e "boom">]><QueryResult>&e;</QueryResult>',
    b'<?xml version="1.0"?><!DOCTYPE QueryResult SYSTEM "http://example.invalid/x.dtd"><QueryResult/>',
    b'<?xml version="1.0"?><!-- ' + b"x" * 5000 + b' --><!doctype r [<!ENTITY a "aaaa">]><r>&a;</r>',
])
def test_doctype_and_entities_are_refused(body):
    with pytest.raises(EMProtocolError) as info:
        _codec.decode(body)
    assert "DOCTYPE" in str(info.value)


def test_doctype_refused_by_parser_even_if_prefilter_misses(monkeypatch):
    monkeypatch.setattr(_codec, "_DOCTYPE", type("Never", (), {"search": staticmethod(lambda body: None)})())
    with pytest.raises(EMProtocolError):
        _codec.decode(b'<!DOCTYPE r [<!ENTITY a "aaaa">]><r>&a;</r>', "application/xml")


@pytest.mark.parametrize("body,ctype", [
    (b"<QueryResult><Entities>", "application/xml"),
    (b'{"Refs": ', "application/json"),
    (b"[1, 2]", "application/json"),
    (b"plain text", "text/plain"),
    (b"<!DOCTYPE html><html><body>Login</body></html>", "text/html"),
    (b"\xff\xfe{}", "application/json"),
])
def test_malformed_bodies_are_protocol_errors(body, ctype):
    with pytest.raises(EMProtocolError):
        _codec.decode(body, ctype)


def test_sniffing():
    assert _codec.sniff_format(b"  <x/>") == "xml"
    assert _codec.sniff_format(b"\xef\xbb\xbf{}") == "json"
    assert _codec.sniff_format(b"<html>", "text/html; charset=utf-8") == "html"
    assert _codec.sniff_format(b"", "application/problem+json") == "json"


def test_canonical_keys():
    assert _codec.canonical_key("uid") == "UID"
    assert _codec.canonical_key("creationTimeUtc") == "CreationTimeUTC"
    assert _codec.canonical_key("vmDisplayName") == "VmDisplayName"
    assert _codec.canonical_key("somethingNew") == "SomethingNew"
    assert _codec.canonical_key("xsi:nil") == "Nil"


@pytest.mark.parametrize("body,expected", [
    (b'<Error Message="Object reference not set" StatusCode="500" xmlns="http://www.veeam.com/ent/v1.0">'
     b'<FirstChanceExceptionMessage>x</FirstChanceExceptionMessage></Error>', "Object reference not set"),
    (b'{"FirstChanceExceptionMessage":null,"Message":"Node [root] does not exist.","StatusCode":400}', "Node [root] does not exist."),
    (b'\xef\xbb\xbf{"message":"camel","statusCode":400}', "camel"),
    (b'{"FirstChanceExceptionMessage":"only detail","Message":" "}', "only detail"),
    (b"<html>nope</html>", None),
    (b"", None),
])
def test_error_message(body, expected):
    assert _codec.error_message(body) == expected


def test_entry_document_detection():
    assert _codec.is_entry_document(*_codec.decode(b'<EnterpriseManager xmlns="http://www.veeam.com/ent/v1.0"/>'))
    assert _codec.is_entry_document(*_codec.decode(b'{"supportedVersions": {"supportedVersions": []}}'))
    assert not _codec.is_entry_document(*_codec.decode(b'{"errorCode": "Unauthorized", "message": "x"}'))
    assert not _codec.is_entry_document(*_codec.decode(b"<LogonSession/>"))


@pytest.mark.parametrize("links", [
    {"Link": {"Rel": "Up", "Href": "h"}},
    {"link": [{"rel": "Up", "href": "h"}]},
    {"Rel": "Up", "Href": "h"},
    [{"REL": "Up", "HREF": "h", "Extra": 1}],
])
def test_link_shapes(links):
    assert _codec.canonicalize({"Links": links})["Links"] == [{"Rel": "Up", "Href": "h", "Type": None, "Name": None}]


def test_single_attribute_link_is_kept():
    assert _codec.canonicalize({"Links": {"Href": "h"}})["Links"] == [{"Rel": None, "Href": "h", "Type": None, "Name": None}]
    assert _codec.canonicalize({"Links": None})["Links"] == []


def test_check_query_result_accepts_em_xml():
    body = (b'<?xml version="1.0" encoding="utf-8"?><QueryResult xmlns="http://www.veeam.com/ent/v1.0"><Entities>'
            b'<ReplicaTaskSessions><ReplicaTaskSession Href="h" Type="ReplicaTaskSession" Name="n" UID="urn:veeam:R:1">'
            b'<CreationTimeUTC>2026-11-20T10:00:00Z</CreationTimeUTC><Reason /><TotalSize>5</TotalSize>'
            b'</ReplicaTaskSession></ReplicaTaskSessions></Entities>'
            b'<PagingInfo PageNum="1" PageSize="100" PagesCount="1"/></QueryResult>')
    _root, doc = _codec.decode(body, "application/xml")
    _codec.check_query_result(doc)


def test_check_query_result_refuses_xml_records_without_uid():
    body = (b'<QueryResult><Refs><Ref Name="a" Href="h"/></Refs></QueryResult>')
    _root, doc = _codec.decode(body, "application/xml")
    with pytest.raises(EMProtocolError) as info:
        _codec.check_query_result(doc)
    assert "record 1 of Refs has no UID (a required field)" in str(info.value)


@pytest.mark.parametrize("record,words", [
    ({"UID": "u", "IsRetry": 3}, "a number as IsRetry"),
    ({"UID": "u", "Progress": True}, "a boolean as Progress"),
    ({"UID": "u", "CreationTimeUTC": {"a": 1, "#text": 5}}, "an object as CreationTimeUTC"),
    ({"UID": "  "}, "a string as UID"),
])
def test_check_record_field_types(record, words):
    with pytest.raises(EMProtocolError) as info:
        _codec.check_record(record, "the record")
    assert words in str(info.value)


@pytest.mark.parametrize("body,words", [
    (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "b"><!ENTITY c "&a;&a;">]><r>&c;</r>', "DOCTYPE"),
    (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>', "DOCTYPE"),
    (b'\xef\xbb\xbf<!doctype r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>', "DOCTYPE"),
    (b'<r a="\xff\xfe"/>', "not well-formed XML"),
    (b'{"a": "\xff"}', "not valid JSON"),
    (b'[{"Refs": null}]', "not an object"),
])
def test_hostile_bodies_are_protocol_errors(body, words):
    with pytest.raises(EMProtocolError) as info:
        _codec.decode(body)
    assert words in str(info.value)


@pytest.mark.parametrize("body,ctype", [(b'\xef\xbb\xbf{"Refs": null}', "application/json"),
                                        (b'\xef\xbb\xbf<?xml version="1.0" encoding="utf-8"?><QueryResult/>', "application/xml")])
def test_a_bom_is_tolerated(body, ctype):
    _root, doc = _codec.decode(body, ctype)
    _codec.check_query_result(doc)
