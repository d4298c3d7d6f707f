# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The lean expat reader of _codec gives exactly what xmltodict + canonicalize gave.

The oracle below is the reader as it was before the lean one: ``xmltodict.parse`` with the
collection's options and a frozen copy of the former ``canonicalize``.  Every document is
read by the oracle, by ``_read_xml_reference`` and by ``decode_xml`` (lean reader, falling
back to the reference for shapes it does not model); EM's own shapes must not fall back.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import random

import pytest
import requests
import xmltodict

from ansible_collections.opsbox.veeam_em.plugins.module_utils import _codec
from ansible_collections.opsbox.veeam_em.plugins.module_utils._errors import EMProtocolError

from ansible_collections.opsbox.veeam_em.tests.unit.plugins.module_utils._samples import XML_PAGE

TYPES = ("ReplicaTaskSession", "ReplicaJobSession", "BackupTaskSession", "BackupJobSession",
         "CdpReplicaSession", "CdpReplicaTaskSession", "BackupServer", "Job")
COLLECTIONS = ("backupSessions", "backupTaskSessions", "replicaSessions", "replicaTaskSessions", "cdpReplicaSessions",
               "cdpReplicaTaskSessions", "backupServers", "jobs")
NS = b' xmlns="http://www.veeam.com/ent/v1.0" xmlns:xsd="http://www.w3.org/2001/XMLSchema"' \
     b' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'


# --- the oracle: the former reader, frozen ---------------------------------------------------------------

def _oracle_links(value):
    if isinstance(value, dict):
        inner = next(iter(value.values())) if len(value) == 1 else None
        if isinstance(inner, (list, dict)):
            value = inner
        if isinstance(value, dict):
            value = [value]
    links = []
    for item in value or ():
        if not isinstance(item, dict):
            continue
        canon = dict((_codec.canonical_key(k), v) for k, v in item.items())
        links.append(dict((field, canon.get(field)) for field in ("Rel", "Type", "Href", "Name")))
    return links


def _oracle_canonicalize(value):
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key.startswith("xmlns") or key.startswith("@xmlns"):
                continue
            name = _codec.canonical_key(key)
            out[name] = _oracle_links(item) if name == "Links" else _oracle_canonicalize(item)
        return out
    if isinstance(value, list):
        return [_oracle_canonicalize(item) for item in value]
    return value


def _oracle_force_list(path, _key, _value):
    parent = path[-1][0] if path else None
    if parent in ("Links", "Refs", "EntityReferences", "SupportedVersions", "LogonSessions"):
        return True
    return len(path) >= 2 and path[-2][0] == "Entities"


def oracle(body):
    parsed = xmltodict.parse(body, attr_prefix="", cdata_key="#text", disable_entities=True,
                             force_list=_oracle_force_list)
    root, content = next(iter(parsed.items()))
    if content is None:
        content = {}
    elif not isinstance(content, dict):
        content = {"#text": content}
    return _codec.canonical_key(root), _oracle_canonicalize(content)


def read_both(body, lean=True):
    """Assert that every reader agrees on *body*; with *lean*, that the lean reader took it by itself."""
    expected = oracle(body)
    root, content = _codec._read_xml_reference(body)  # pylint: disable=protected-access
    assert (_codec.canonical_key(root), content) == expected
    assert _codec.decode_xml(body) == expected
    if lean:
        root, content = _codec._read_xml_lean(body)  # pylint: disable=protected-access
        assert (_codec.canonical_key(root), content) == expected
    else:
        with pytest.raises(_codec._NotLean):  # pylint: disable=protected-access
            _codec._read_xml_lean(body)  # pylint: disable=protected-access
    return expected


# --- samples of the tests and hand-written odd cases ---------------------------------------------------

def _page(entities):
    return (b'<?xml version="1.0" encoding="utf-8"?>\r\n<QueryResult' + NS + b'>\n <Entities>' + entities
            + b'</Entities>\n <PagingInfo PageNum="1" PageSize="100" PagesCount="1">\n  <Links>\n'
            b'   <Link Href="https://em/api/query?type=X&amp;page=1" Rel="First" />\n  </Links>\n </PagingInfo>\n</QueryResult>')


TASK = (b'<ReplicaTaskSession Href="h" Type="ReplicaTaskSession" Name="n" UID="urn:veeam:ReplicaTaskSession:1">'
        b'<Links><Link Href="https://em/api/replicaSessions/2/repicaTaskSessions" Name="j" Type="ReplicaJobSessionReference"'
        b' Rel="Up" /></Links><CreationTimeUTC>2026-11-20T10:00:00Z</CreationTimeUTC><Reason /></ReplicaTaskSession>')

LEAN_CASES = {
    "sample page": XML_PAGE,
    "sample page with BOM": b"\xef\xbb\xbf" + XML_PAGE,
    "empty Entities": _page(b"<ReplicaTaskSessions />"),
    "empty Entities element": _page(b""),
    "one record": _page(b"<ReplicaTaskSessions>" + TASK + b"</ReplicaTaskSessions>"),
    "two plurals": _page(b"<ReplicaTaskSessions>" + TASK + b"</ReplicaTaskSessions><BackupJobSessions />"),
    "missing optional fields": _page(b'<BackupJobSessions><BackupJobSession UID="urn:veeam:BackupJobSession:1" />'
                                     b'<BackupJobSession UID="u2"><Links /></BackupJobSession></BackupJobSessions>'),
    "no Links, no attributes": _page(b"<BackupJobSessions><BackupJobSession><UID>u</UID><State>Working</State>"
                                     b"</BackupJobSession></BackupJobSessions>"),
    "xmlns on inner elements": _page(b'<ReplicaTaskSessions xmlns="urn:x"><ReplicaTaskSession xmlns:a="urn:a" UID="u">'
                                     b'<Reason xmlns="urn:y" /><State xmlns="urn:y">Completed</State>'
                                     b'</ReplicaTaskSession></ReplicaTaskSessions>'),
    "mixed whitespace": _page(b"<ReplicaTaskSessions>\t\r\n <ReplicaTaskSession UID=\"u\">\n\t<State>\n  Completed \t\n"
                              b"</State>\r\n<Reason>  a  b  </Reason><Result>\t</Result></ReplicaTaskSession>"
                              b"\n</ReplicaTaskSessions>"),
    "unicode": _page(u'<ReplicaTaskSessions><ReplicaTaskSession UID="u" VmDisplayName="\u0432\u043c-\u00fc\u20ac \U0001f600">'
                     u'<Reason>\u65e5\u672c \u00e9</Reason></ReplicaTaskSession></ReplicaTaskSessions>'.encode("utf-8")),
    "CDATA and character references": _page(
        b'<ReplicaTaskSessions><ReplicaTaskSession UID="&#x41;&amp;&#66;" Name="&lt;&gt;&quot;&apos;">'
        b'<Reason><![CDATA[a <b> & c]]> tail &amp;amp; &#x41;</Reason><FailureMessage>x<![CDATA[]]>y</FailureMessage>'
        b'<State><![CDATA[  ]]></State></ReplicaTaskSession></ReplicaTaskSessions>'),
    "comments and processing instructions": _page(b'<ReplicaTaskSessions><!-- c --><?pi x?><ReplicaTaskSession UID="u">'
                                                  b'<State>Com<!-- c -->pleted</State></ReplicaTaskSession>'
                                                  b'</ReplicaTaskSessions>'),
    "text next to attributes": _page(b'<ReplicaTaskSessions><ReplicaTaskSession UID="u">loose<State Extra="1">x</State>'
                                     b'<Reason Extra="1" /></ReplicaTaskSession>text</ReplicaTaskSessions>'),
    "attribute and element of one name": _page(b'<ReplicaTaskSessions><ReplicaTaskSession UID="u" Name="a"><Name>b</Name>'
                                               b'<Name>c</Name><UID>v</UID></ReplicaTaskSession></ReplicaTaskSessions>'),
    "repeated elements": b'<QueryResult><PagingInfo><PageNum>1</PageNum><PageNum>2</PageNum><PageNum/></PagingInfo>'
                         b'<Refs><Ref UID="a"/><Ref UID="b">t</Ref></Refs><Refs/></QueryResult>',
    "refs": b'<QueryResult' + NS + b'><Refs><Ref UID="urn:veeam:Job:1" Name="j" Href="h" Type="JobReference">'
            b'<Links><Link Href="h2" Name="s" Type="BackupServerReference" Rel="Up"/></Links></Ref></Refs>'
            b'<PagingInfo PageNum="1" PageSize="1" PagesCount="1"/></QueryResult>',
    "Links of every shape": _page(b'<ReplicaTaskSessions><ReplicaTaskSession UID="u"><Links a="1"><Link Rel="Up">t</Link>'
                                  b'<Other x="y"/><Link><Rel>Down</Rel><Href a="b">h</Href></Link></Links>'
                                  b'</ReplicaTaskSession><ReplicaTaskSession UID="v"><Links>text</Links></ReplicaTaskSession>'
                                  b'<ReplicaTaskSession UID="w"><Links><Links><Link Rel="x"/></Links></Links>'
                                  b'</ReplicaTaskSession><Links><Link Rel="y"/></Links></ReplicaTaskSessions>'),
    "forced lists with text": b'<SupportedVersions Extra="1">x<SupportedVersion Name="v1_5">t</SupportedVersion>'
                              b'<SupportedVersion/></SupportedVersions>',
    "entry document": b'<?xml version="1.0" encoding="utf-8"?><EnterpriseManager' + NS + b'><SupportedVersions>'
                      b'<SupportedVersion Name="v1_7"><Links><Link Href="h" Type="LogonSession" Rel="Create"/></Links>'
                      b'</SupportedVersion></SupportedVersions></EnterpriseManager>',
    "error document": b'<Error' + NS + b' Message="Object reference not set" StatusCode="500"><FirstChanceExceptionMessage>'
                      b'x</FirstChanceExceptionMessage><StackTrace /></Error>',
    "root with text": b"<Error>just text</Error>",
    "root with attributes and text": b'<Error Message="m">text</Error>',
    "empty root": b"<LogonSession/>",
    "root with only xmlns": b'<LogonSession xmlns="urn:x"/>',
    "latin-1 declared": u'<?xml version="1.0" encoding="ISO-8859-1"?><Error Message="\u00fc\u00e9">\u00e4</Error>'.encode("latin-1"),
    "deep nesting": b"<A>" + b"<B><C>" * 200 + b"x" + b"</C></B>" * 200 + b"</A>",
}

FALLBACK_CASES = {
    "namespace prefixes": b'<QueryResult xmlns:v="urn:v"><Refs><v:Ref v:UID="a" UID="b"/></Refs></QueryResult>',
    "prefixed root": b'<v:QueryResult xmlns:v="urn:v"><v:Refs/></v:QueryResult>',
    "camelCase names": b'<QueryResult><refs><ref uid="a"/></refs><Refs><Ref UID="b"/></Refs></QueryResult>',
    "xsi:nil": _page(b'<ReplicaTaskSessions><ReplicaTaskSession UID="u"><EndTimeUTC xsi:nil="true" />'
                     b'</ReplicaTaskSession></ReplicaTaskSessions>'),
    "two Links": b'<QueryResult><PagingInfo><Links><Link Rel="a"/></Links><Links><Link Rel="b"/></Links></PagingInfo>'
                 b'</QueryResult>',
    "Links attribute": b'<QueryResult><PagingInfo Links="x"/></QueryResult>',
    "lower-case links": b'<QueryResult><PagingInfo><links><Link Rel="a"/></links><Links/></PagingInfo></QueryResult>',
    "root named Links": b'<Links><Link Rel="a"/></Links>',
    "element named xmlns": b'<QueryResult><xmlnsThing>x</xmlnsThing><Refs/></QueryResult>',
}


@pytest.mark.parametrize("label", sorted(LEAN_CASES))
def test_lean_reader_matches_the_oracle(label):
    read_both(LEAN_CASES[label])


@pytest.mark.parametrize("label", sorted(FALLBACK_CASES))
def test_shapes_the_lean_reader_leaves_to_the_reference(label):
    read_both(FALLBACK_CASES[label], lean=False)


def test_the_sample_page_keeps_its_facts():
    _root, doc = read_both(XML_PAGE)
    records = _codec.query_records(doc)
    assert records[0]["VmDisplayName"] == u'apache02 & "co" \u00fc'
    assert records[0]["Reason"] is None and records[1]["TotalSize"] == "0"
    assert records[0]["Links"][1]["Type"] == "ReplicaJobSessionReference"


# --- random documents ----------------------------------------------------------------------------------

NAMES = ("Links", "QueryResult", "Entities", "Refs", "Ref", "Link", "Name", "UID", "State", "Reason", "SupportedVersions",
         "EntityReferences", "LogonSessions", "ReplicaTaskSessions", "ReplicaTaskSession", "FutureField", "Rel", "Href")
ODD_NAMES = ("links", "uid", "v:Name", "xmlns", "xmlnsX", "fooBar", "a:Links")
TEXTS = (u"", u" ", u"\n  ", u"x", u" a b ", u"&amp;", u"&#x41;&#66;", u"<![CDATA[ <c> ]]>", u"\u00fc\u20ac",
         u"<!-- note -->", u"&lt;&gt;&quot;")


def _random_element(rng, depth, odd, root=True):
    names = NAMES + ODD_NAMES if odd else NAMES
    name = rng.choice(names[1:] if root and not odd else names)  # not a root named Links (the reference takes it)
    attrs = []
    for attr in rng.sample(names if odd else NAMES[1:], rng.choice((0, 0, 1, 2, 4))):
        if attr == "xmlns" or not attr.startswith("xmlns"):
            attrs.append(u' %s="%s"' % (attr, rng.choice(TEXTS[:7]).replace(u"&#x41;&#66;", u"&#65;")))
    parts = [u"<%s%s" % (name, u"".join(attrs))]
    if depth <= 0 or rng.random() < 0.2:
        parts.append(u"/>" if rng.random() < 0.5 else u"></%s>" % name)
        return u"".join(parts)
    parts.append(u">")
    for _index in range(rng.choice((0, 1, 1, 2, 3, 5))):
        if rng.random() < 0.3:
            parts.append(rng.choice(TEXTS))
        parts.append(_random_element(rng, depth - 1, odd, False))
    if rng.random() < 0.3:
        parts.append(rng.choice(TEXTS))
    parts.append(u"</%s>" % name)
    return u"".join(parts)


@pytest.mark.parametrize("odd", [False, True])
def test_random_documents_match_the_oracle(odd):
    rng = random.Random(20261122 + odd)
    lean = 0
    for _index in range(1000):
        body = _random_element(rng, 5, odd).encode("utf-8")
        expected = oracle(body)
        assert _codec.decode_xml(body) == expected, body
        try:
            root, content = _codec._read_xml_lean(body)  # pylint: disable=protected-access
        except _codec._NotLean:  # pylint: disable=protected-access
            continue
        assert (_codec.canonical_key(root), content) == expected, body
        lean += 1
    assert lean > (150 if odd else 900)  # the lean reader did take its share (seeded: 188 and 934)


# --- errors and security -------------------------------------------------------------------------------

@pytest.mark.parametrize("body", [
    b"<QueryResult><Entities>",
    b"",
    b"   ",
    b"<a></b>",
    b"<a>&undefined;</a>",
    b'<r a="\xff\xfe"/>',
    b"<QueryResult><Name>ok\xff\xfe\xc3\x28</Name></QueryResult>",
    b"<a/><b/>",
    b"<a x='1' x='2'/>",
    b"\xef\xbb\xbf\xef\xbb\xbf<a/>",
    b'<?xml version="1.0" encoding="utf-8"?>\n<QueryResult><Refs><Ref UID="u"/></Refs>',
])
def test_malformed_xml_gives_the_same_message(body):
    with pytest.raises(EMProtocolError) as reference:
        _codec._read_xml_reference(body)  # pylint: disable=protected-access
    with pytest.raises(EMProtocolError) as lean:
        _codec.decode_xml(body)
    assert str(lean.value) == str(reference.value)
    assert "not well-formed XML" in str(lean.value)


@pytest.mark.parametrize("body", [
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "b"><!ENTITY c "&a;&a;">]><r>&c;</r>',
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>',
    b'<!DOCTYPE r [<!ENTITY % p SYSTEM "http://example.invalid/p.dtd"> %p;]><r/>',
    b'<!DOCTYPE r SYSTEM "http://example.invalid/x.dtd"><r/>',
])
def test_lean_reader_refuses_a_doctype_by_itself(body):
    with pytest.raises(ValueError) as info:
        _codec._read_xml_lean(body)  # pylint: disable=protected-access
    assert "DOCTYPE" in str(info.value)
    with pytest.raises(EMProtocolError) as decoded:
        _codec.decode_xml(body)
    assert "DOCTYPE" in str(decoded.value)


def test_doctype_refused_when_the_prefilter_misses(monkeypatch):
    monkeypatch.setattr(_codec, "_DOCTYPE", type("Never", (), {"search": staticmethod(lambda body: None)})())
    body = b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>'
    with pytest.raises(EMProtocolError) as lean:
        _codec.decode_xml(body)
    with pytest.raises(EMProtocolError) as reference:
        _codec._read_xml_reference(body)  # pylint: disable=protected-access
    assert str(lean.value) == str(reference.value)
    assert "DOCTYPE declarations are not accepted" in str(lean.value)


def test_entity_declarations_are_refused_by_the_lean_reader():
    handler = _codec._refuse_entities  # pylint: disable=protected-access
    with pytest.raises(ValueError):
        handler("e", False, "value", None, None, None, None)


def test_em_shapes_need_no_xmltodict(monkeypatch):
    monkeypatch.setattr(_codec, "HAS_XMLTODICT", False)
    _root, doc = _codec.decode_xml(XML_PAGE)
    assert len(_codec.query_records(doc)) == 2
    with pytest.raises(EMProtocolError) as info:
        _codec.decode_xml(FALLBACK_CASES["camelCase names"])
    assert "xmltodict is required" in str(info.value)


# --- every document the simulator serves (tiny data set) ------------------------------------------------

def _simulator_bodies(em):
    """``(label, body)`` of query pages of every type (entities and references), collections, entities,
    the entry document, logon sessions and error documents, as EM v12 XML."""
    session = requests.Session()
    session.trust_env = False
    session.verify = em.ca_path
    bodies = [("entry", session.get(em.url + "/api/").content)]
    logon = session.post(em.url + "/api/sessionMngr/?v=latest", auth=(em.username, em.password))
    bodies.append(("logon", logon.content))
    session.headers["X-RestSvcSessionId"] = logon.headers["X-RestSvcSessionId"]
    try:
        for kind in TYPES:
            for fmt in ("Entities", "References"):
                for page in ("1", "2", "99"):
                    answer = session.get(em.url + "/api/query", params={
                        "type": kind, "format": fmt, "pageSize": "7", "page": page, "sortDesc": "CreationTime"
                        if kind not in ("BackupServer", "Job") else "Name"})
                    bodies.append(("query %s %s %s" % (kind, fmt, page), answer.content))
        for collection in COLLECTIONS:
            listing = session.get(em.url + "/api/%s" % collection)
            bodies.append(("collection %s" % collection, listing.content))
            bodies.append(("entities %s" % collection, session.get(em.url + "/api/%s" % collection,
                                                                   params={"format": "Entity"}).content))
            _root, doc = _codec.decode_xml(listing.content)
            refs = _codec.collection_records(doc)[:2]
            for ref in refs:
                href = ref["Href"]
                bodies.append(("entity %s" % href, session.get(href, params={"format": "Entity"}).content))
                bodies.append(("ref %s" % href, session.get(href).content))
                for link in ref["Links"]:
                    if link["Rel"] == "Down" and link["Href"]:
                        bodies.append(("down %s" % link["Href"], session.get(link["Href"]).content))
        bodies.append(("logon sessions", session.get(em.url + "/api/logonSessions").content))
        bodies.append(("error 400", session.get(em.url + "/api/query", params={"type": "Nope"}).content))
        bodies.append(("error 404", session.get(em.url + "/api/nowhere").content))
        em.set_faults(mutators={"missing_fields": {"rate": 1.0}, "bom": {"rate": 1.0}})
        answer = session.get(em.url + "/api/query", params={"type": "ReplicaTaskSession", "format": "Entities",
                                                            "pageSize": "5"})
        bodies.append(("missing fields, BOM", answer.content))
        em.clear_faults()
    finally:
        em.clear_faults()
        session.delete(logon.headers["Location"])
    bodies.append(("error 401", session.get(em.url + "/api/jobs").content))
    return bodies


@pytest.mark.simulator
def test_every_simulator_document_matches_the_oracle(em):
    bodies = _simulator_bodies(em)
    assert len(bodies) > 80
    records = 0
    for label, body in bodies:
        assert body.lstrip(b"\xef\xbb\xbf").startswith(b"<?xml"), label
        _root, doc = read_both(body)
        records += len(_codec.query_records(doc))
    assert records > 100
    assert any(b"repicaTaskSessions" in body for _label, body in bodies)  # the typo link is among them
