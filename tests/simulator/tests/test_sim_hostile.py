"""Hostile-body mutators, mutators limited to a path, broken TLS certificates and old TLS versions, canary names."""

import json
import os
import socket
import ssl
import sqlite3
import xml.parsers.expat

import pytest
import requests

from em_simulator import dataset, testing, tls

QUERY = {"type": "ReplicaTaskSession", "format": "Entities", "pageSize": 5}


def _mutate(client, name, accept=None):
    client.sim.set_faults(mutators={name: {"rate": 1.0, "path": "/api/query"}})
    headers = {"Accept": accept} if accept else None
    return client.get("/api/query", QUERY, headers=headers)


def test_mutator_path_limits_where_it_applies(client):
    client.sim.set_faults(mutators={"html_200": {"rate": 1.0, "path": "/api/query"}})
    assert client.get("/api/backupServers").headers["Content-Type"].startswith("application/xml")
    assert client.get("/api/").headers["Content-Type"].startswith("application/xml")
    assert client.get("/api/query", QUERY).headers["Content-Type"].startswith("text/html")
    assert client.sim.stats()["faults_injected"]["mutator_html_200"] == 1


@pytest.mark.parametrize("name", ["billion_laughs", "external_entity"])
@pytest.mark.parametrize("accept", [None, "application/json"])
def test_doctype_mutators_send_xml_with_entities(client, name, accept):
    resp = _mutate(client, name, accept)
    body = resp.content
    assert resp.status_code == 200 and body.startswith(b'<?xml version="1.0" encoding="utf-8"?><!DOCTYPE QueryResult [')
    assert resp.headers["Content-Type"].startswith("application/xml")
    assert (b"&lol9;" if name == "billion_laughs" else b'SYSTEM "file:///etc/passwd"') in body
    # Well-formed apart from the entities: a parser that refuses entity declarations still reads it to the DTD.
    parser = xml.parsers.expat.ParserCreate()
    parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
    seen = []
    parser.EntityDeclHandler = lambda *args: seen.append(args[0])
    try:
        parser.Parse(body, True)
    except xml.parsers.expat.ExpatError:
        pass
    assert seen and seen[0] in ("lol0", "xxe")


def test_billion_laughs_nesting(client):
    body = _mutate(client, "billion_laughs").content
    for level in range(1, 10):
        assert (b'<!ENTITY lol%d "' % level) + (b"&lol%d;" % (level - 1)) * 10 + b'">' in body


@pytest.mark.parametrize("name,declared", [("huge", True), ("huge_undeclared", False)])
def test_huge_answers_stream_and_stop_when_the_client_leaves(client, name, declared):
    client.sim.set_faults(mutators={name: {"next": 1, "path": "/api/query"}})
    resp = client.get("/api/query", QUERY, stream=True)
    assert resp.status_code == 200
    if declared:
        assert int(resp.headers["Content-Length"]) > 1000 * 1024 * 1024
    else:
        assert "Content-Length" not in resp.headers and resp.headers.get("Connection") == "close"
    read = 0
    for chunk in resp.iter_content(1024 * 1024):
        read += len(chunk)
        if read > 4 * 1024 * 1024:
            break
    resp.close()
    assert read > 4 * 1024 * 1024
    assert client.get("/api/backupServers").status_code == 200  # the server lives on


def _json_doc(resp):
    return json.loads(resp.content.decode("utf-8-sig"))


def test_wrong_json_types(client):
    doc = _json_doc(_mutate(client, "wrong_json_types", "application/json"))
    records = doc["Entities"]["ReplicaTaskSessions"]["ReplicaTaskSessions"]
    assert records and all(r["UID"] == 12345 and r["Name"] == 12345 and r["CreationTimeUTC"] == 12345 for r in records)


def test_json_list_root(client):
    doc = _json_doc(_mutate(client, "json_list_root", "application/json"))
    assert isinstance(doc, list) and "PagingInfo" in doc[0]


def test_wrong_container_types(client):
    doc = _json_doc(_mutate(client, "wrong_container_types", "application/json"))
    assert isinstance(doc["Entities"], list) and doc["Entities"][0]["UID"].startswith("urn:veeam:")
    refs = _json_doc(client.get("/api/query", {"type": "ReplicaTaskSession", "pageSize": 5},
                                headers={"Accept": "application/json"}))
    assert refs["Refs"] == "Refs"


def test_json_only_mutators_leave_xml_alone(client):
    for name in ("wrong_json_types", "json_list_root", "wrong_container_types"):
        body = _mutate(client, name).content
        assert body.startswith(b'<?xml version="1.0" encoding="utf-8"?>') and b"<QueryResult" in body[:100]


@pytest.mark.parametrize("accept", [None, "application/json"])
def test_missing_fields(client, accept):
    body = _mutate(client, "missing_fields", accept).content
    assert b"UID" not in body.replace(b"Uid", b"") and b"CreationTimeUTC" not in body
    assert b"VmDisplayName" in body


@pytest.mark.parametrize("accept", [None, "application/json"])
def test_bom(client, accept):
    assert _mutate(client, "bom", accept).content.startswith(b"\xef\xbb\xbf")


def test_unknown_mutator_is_refused(clean):
    with pytest.raises(Exception):
        clean.set_faults(mutators={"no_such_mutator": {"rate": 1.0}})


def _handshake(sim, **context_options):
    context = ssl.create_default_context(cafile=sim.ca_path)
    for key, value in context_options.items():
        setattr(context, key, value)
    host, port = sim.url.split("//", 1)[1].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=host) as conn:
            return conn.version()


@pytest.fixture(name="tls_sims", scope="module")
def fixture_tls_sims(sim_dirs):
    sims = {}
    try:
        for variant in ("expired", "wrong_host", "untrusted"):
            sims[variant] = testing.start_simulator(dataset="tiny", tls_cert=variant, **sim_dirs)
        for version in ("1.0", "1.1", "1.2"):
            sims[version] = testing.start_simulator(dataset="tiny", tls_max_version=version, **sim_dirs)
        yield sims
    finally:
        for sim in sims.values():
            sim.stop()


@pytest.mark.parametrize("variant,words", [("expired", "certificate has expired"),
                                           ("wrong_host", "mismatch"),
                                           ("untrusted", "unable to get local issuer certificate")])
def test_broken_certificates(tls_sims, variant, words):
    sim = tls_sims[variant]
    assert sim.info["tls_cert"] == variant and sim.url.startswith("https://")
    with pytest.raises(ssl.SSLCertVerificationError) as info:
        _handshake(sim)
    assert words in str(info.value)
    assert sim.stats()["open_sessions"] == 0  # the admin calls of the tests still get through


def test_variant_certificates_are_removed_at_exit(sim_dirs):
    sim = testing.start_simulator(dataset="tiny", tls_cert="expired", **sim_dirs)
    mine = "server-expired-%d" % sim.info["pid"]

    def leftovers():
        return [name for name in os.listdir(sim_dirs["state_dir"]) if name.startswith(mine)]
    assert len(leftovers()) == 2
    assert sim.stop() == 0
    assert not leftovers()


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion:DeprecationWarning")  # old versions on purpose
@pytest.mark.parametrize("version,expected", [("1.0", "TLSv1"), ("1.1", "TLSv1.1")])
def test_old_tls_versions_only(tls_sims, version, expected):
    sim = tls_sims[version]
    with pytest.raises(ssl.SSLError):
        _handshake(sim)  # a default client (TLS 1.2+) is refused
    old = {"minimum_version": ssl.TLSVersion.TLSv1, "maximum_version": ssl.TLSVersion.TLSv1_1}
    context = ssl.create_default_context(cafile=sim.ca_path)
    context.minimum_version = old["minimum_version"]
    context.maximum_version = old["maximum_version"]
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    host, port = sim.url.split("//", 1)[1].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=host) as conn:
            assert conn.version() == expected


def test_tls_1_2_cap(tls_sims):
    assert _handshake(tls_sims["1.2"]) == "TLSv1.2"
    assert requests.get(tls_sims["1.2"].url + "/api/", verify=tls_sims["1.2"].ca_path, timeout=10).status_code == 200


def test_canary_names(sim_dirs):
    canary = "/tmp/em-sim-canary-test/never"
    params = dataset.resolve_params("tiny", canary=canary)
    assert dataset.cache_key(dataset.resolve_params("tiny")) != dataset.cache_key(params)
    assert "canary" not in dataset.resolve_params("tiny")  # presets keep their cache keys
    path, _built = dataset.ensure_dataset(sim_dirs["cache_dir"], params)
    with sqlite3.connect(path) as db:
        vms = set(row[0] for row in db.execute("SELECT name FROM vms"))
        jobs = set(row[0] for row in db.execute("SELECT name FROM jobs"))
    assert "{{ lookup('pipe', 'touch %s') }}" % canary in vms
    assert "{%% set canary = lookup('pipe', 'touch %s-stmt') %%}canary-stmt" % canary in vms
    assert "<script>document.title='%s'</script>" % canary in vms
    assert "Replica {{ lookup('pipe', 'touch %s-job') }}" % canary in jobs
    assert len(vms) >= 10


@pytest.mark.parametrize("bad", ["relative/path", "/tmp/with space", "/tmp/quote'", "/tmp/$(id)"])
def test_canary_path_is_checked(bad):
    with pytest.raises(ValueError):
        dataset.resolve_params("tiny", canary=bad)


def test_tls_constants():
    assert tls.CERT_VARIANTS[0] == "valid" and "1.0" in tls.TLS_VERSIONS
