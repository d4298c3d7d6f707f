"""EM API over HTTP: logon lifecycle, formats and dialects, collections, by-id, child lists, paging, errors."""

import base64
import http.client
import json
import time
import urllib.parse
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import Client

NS = "{http://www.veeam.com/ent/v1.0}"


def xml(resp):
    return ET.fromstring(resp.content)


def error_message(resp):
    if resp.headers["Content-Type"].startswith("application/json"):
        doc = json.loads(resp.content.decode("utf-8-sig"))
        return doc.get("Message", doc.get("message"))
    root = xml(resp)
    assert root.tag == NS + "Error"
    assert root.get("StatusCode") == str(resp.status_code)
    assert root.find(NS + "FirstChanceExceptionMessage").text == root.get("Message")
    return root.get("Message")


# -- entry point and logon ---------------------------------------------------------------------------------------
def test_entry_point_without_auth(clean):
    cli = Client(clean)
    resp = cli.get("/api/")
    assert resp.status_code == 200 and resp.headers["Server"] == "Microsoft-HTTPAPI/2.0"
    root = xml(resp)
    assert root.tag == NS + "EnterpriseManager"
    assert [v.get("Name") for v in root.find(NS + "SupportedVersions")] == ["v1_5", "v1_6", "v1_7"]
    doc = Client(clean, accept="application/json").get("/api/").json()
    assert [v["Name"] for v in doc["SupportedVersions"]["SupportedVersions"]] == ["v1_5", "v1_6", "v1_7"]


@pytest.mark.parametrize("version", ["latest", "v1_7", "v1_6", "v1_5", None, "V1_7"])
def test_logon_versions(clean, version):
    cli = Client(clean)
    resp = cli.logon(version)
    assert resp.status_code == 201
    token = resp.headers["X-RestSvcSessionId"]
    assert resp.headers["Set-Cookie"] == "X-RestSvcSessionId=%s; Path=/api;" % token
    root = xml(resp)
    assert root.tag == NS + "LogonSession"
    session_id = root.find(NS + "SessionId").text
    assert base64.b64decode(token).decode("ascii") == session_id
    assert root.find(NS + "UserName").text == clean.username
    rels = [(lk.get("Rel"), lk.get("Href")) for lk in root.find(NS + "Links")]
    assert ("Delete", "%s/api/logonSessions/%s" % (clean.url, session_id)) in rels


def test_logon_unknown_version_is_400(clean):
    resp = Client(clean).logon("v1_9")
    assert resp.status_code == 400 and "v1_9" in error_message(resp)


@pytest.mark.parametrize("password", ["wrong", ""])
def test_bad_credentials(clean, password):
    cli = Client(clean, password=password)
    resp = cli.logon()
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"] == "Basic Realm=RestSvc"
    assert error_message(resp)
    assert clean.stats()["logon_failures"] == 1


def test_missing_authorization_on_logon(clean):
    resp = Client(clean).request("POST", "/api/sessionMngr/?v=latest")
    assert resp.status_code == 401 and resp.headers["WWW-Authenticate"] == "Basic Realm=RestSvc"


@pytest.mark.parametrize("user,password", [
    ("restore@corp.example", "R3st0re!"),
    ("CORP\\j\u00fcrgen", "p&%+=\"' \u00e4\u00f6\u00fc\u20ac"),
    ("corp\\J\u00fcRGEN", "p&%+=\"' \u00e4\u00f6\u00fc\u20ac"),
])
def test_special_user_names_and_passwords(clean, user, password):
    resp = Client(clean, username=user, password=password).logon()
    assert resp.status_code == 201


def test_json_logon_body(clean):
    cli = Client(clean, accept="application/json")
    doc = cli.logon().json()
    assert set(doc) == {"UserName", "SessionId", "Links", "Href", "Type"}
    assert doc["Type"] == "LogonSession"
    assert {"Rel": "Delete", "Href": doc["Href"], "Name": None, "Type": None} in doc["Links"]


def test_token_required(clean):
    cli = Client(clean)
    for path in ("/api/query?type=BackupServer", "/api/replicaSessions", "/api/logonSessions", "/api/nothing"):
        resp = cli.get(path)
        assert resp.status_code == 401, path
        assert "authorization header expected but not found" in error_message(resp)
    cli.token = "bm90LWEtdG9rZW4="
    assert cli.get("/api/backupServers").status_code == 401


def test_cookie_wins_over_header(clean, client):
    other = Client(clean)
    other.token = "bm90LWEtdG9rZW4="
    resp = other.get("/api/backupServers", headers={"Cookie": "X-RestSvcSessionId=%s" % client.token})
    assert resp.status_code == 200
    resp = client.get("/api/backupServers", headers={"Cookie": "X-RestSvcSessionId=bm90LWEtdG9rZW4="})
    assert resp.status_code == 401


def test_logon_sessions_and_logout(clean, client):
    stats = clean.stats()
    assert stats["open_sessions"] == 1 and stats["logons"] == 1
    listing = xml(client.get("/api/logonSessions"))
    assert listing.tag == NS + "LogonSessions"
    assert client.session_id in [s.find(NS + "SessionId").text for s in listing]
    single = client.get("/api/logonSessions/" + client.session_id)
    assert single.status_code == 200 and xml(single).find(NS + "SessionId").text == client.session_id
    resp = client.request("DELETE", "/api/logonSessions/" + client.session_id)
    assert resp.status_code == 204 and resp.content == b""
    assert client.get("/api/backupServers").status_code == 401
    stats = clean.stats()
    assert stats["open_sessions"] == 0 and stats["logoffs"] == 1
    assert stats["requests"]["DELETE /api/logonSessions/{id}"] == {"204": 1}
    assert not [key for key in stats["requests"] if "/admin" in key]  # admin calls are not counted


def test_idle_expiry(clean, client):
    clean.configure(session_timeout=1)
    assert client.get("/api/backupServers").status_code == 200
    time.sleep(1.3)
    assert client.get("/api/backupServers").status_code == 401
    assert clean.stats()["expired_sessions"] >= 1
    assert client.logon().status_code == 201
    assert client.get("/api/backupServers").status_code == 200


def test_admin_expire_all(clean, client):
    assert clean.expire_sessions()["expired"] == 1
    assert client.get("/api/backupServers").status_code == 401


def test_restore_operator_gets_403(clean):
    cli = Client(clean, username="restore@corp.example", password="R3st0re!")
    assert cli.logon().status_code == 201
    for path in ("/api/query?type=ReplicaTaskSession", "/api/replicaTaskSessions", "/api/backupSessions"):
        resp = cli.get(path)
        assert resp.status_code == 403 and error_message(resp) == "Access denied."
    assert cli.get("/api/logonSessions").status_code == 200


# -- formats and dialects -----------------------------------------------------------------------------------------
def _first_task(client):
    return xml(client.get("/api/query", {"type": "ReplicaTaskSession", "pageSize": 1, "format": "Entities",
                                         "filter": "State==Completed"})).find(NS + "Entities")[0][0]


@pytest.mark.parametrize("accept,is_json", [("application/json", True), ("application/xml, text/xml, application/json, */*", True),
                                            ("*/*", False), ("application/xml", False), (None, False)])
def test_accept_negotiation(client, accept, is_json):
    resp = client.get("/api/backupServers", headers={"Accept": accept} if accept else None)
    assert resp.headers["Content-Type"].startswith("application/json" if is_json else "application/xml")


def test_json_v12_query_shapes(client):
    client.accept = "application/json"
    refs = client.get("/api/query", {"type": "ReplicaTaskSession", "pageSize": 2}).json()
    assert list(refs) == ["Refs", "Entities", "Resources", "Links", "PagingInfo"]
    assert refs["Entities"] is None and len(refs["Refs"]["Refs"]) == 2
    assert list(refs["Refs"]["Refs"][0]) == ["Links", "UID", "Name", "Href", "Type"]
    ents = client.get("/api/query", {"type": "ReplicaTaskSession", "pageSize": 2, "format": "entities"}).json()
    assert ents["Refs"] is None
    lists = ents["Entities"]
    assert lists["ReplicaJobSessions"] is None and lists["BackupTaskSessions"] is None
    items = lists["ReplicaTaskSessions"]["ReplicaTaskSessions"]
    assert len(items) == 2
    item = items[0]
    assert list(item)[-5:] == ["Name", "UID", "Links", "Href", "Type"]
    assert isinstance(item["TotalSize"], int) and item["Type"] == "ReplicaTaskSession"
    assert set(ents["PagingInfo"]) == {"Links", "PageNum", "PageSize", "PagesCount"}
    plain = client.get("/api/replicaSessions", {"format": "Entity"}).json()
    assert list(plain) == ["ReplicaJobSessions"]
    session = plain["ReplicaJobSessions"][0]
    assert session["FailureMessage"] is None or isinstance(session["FailureMessage"], str)
    assert isinstance(session["IsRetry"], bool) and isinstance(session["Progress"], int)
    assert list(client.get("/api/replicaSessions").json()) == ["Refs"]


def test_json_v13_camel_case(clean, client):
    clean.configure(dialect="v13")
    client.accept = "application/json"
    doc = client.get("/api/query", {"type": "ReplicaTaskSession", "pageSize": 1, "format": "Entities"}).json()
    item = doc["entities"]["replicaTaskSessions"]["replicaTaskSessions"][0]
    assert {"uid", "name", "vmDisplayName", "jobSessionUid", "creationTimeUTC", "links", "href", "type"} <= set(item)
    assert set(item["links"][0]) == {"rel", "href", "name", "type"}
    assert set(doc["pagingInfo"]) == {"links", "pageNum", "pageSize", "pagesCount"}
    err = client.get("/api/query", {"type": "Nope"})
    assert set(err.json()) == {"firstChanceExceptionMessage", "message", "stackTrace", "status", "statusCode"}
    logon = Client(clean, accept="application/json").logon().json()
    assert "sessionId" in logon and "userName" in logon


def test_bom(clean, client):
    clean.configure(bom=True)
    client.accept = "application/json"
    resp = client.get("/api/backupServers")
    assert resp.content.startswith(b"\xef\xbb\xbf")
    assert "Refs" in json.loads(resp.content.decode("utf-8-sig"))
    client.accept = None
    assert client.get("/api/backupServers").content.startswith(b"<?xml")


def test_json_error_document(client):
    client.accept = "application/json"
    resp = client.get("/api/query", {"type": "Nope"})
    assert resp.status_code == 400
    assert list(resp.json()) == ["FirstChanceExceptionMessage", "Message", "StackTrace", "Status", "StatusCode"]
    assert resp.json()["StatusCode"] == 400


def test_xml_escaping_of_hrefs(client):
    raw = client.get("/api/query", {"type": "BackupServer", "pageSize": 1}).text
    assert "&amp;pageSize=1&amp;page=1" in raw


# -- collections, by id, child lists --------------------------------------------------------------------------------
def test_plain_collections_30_day_window(sim_dirs):
    # tiny has 3 days of history: move the data clock so part of it falls out of the 30-day window.
    from em_simulator import testing
    other = testing.start_simulator(dataset="tiny", now="2026-11-20T12:00:00Z", days=40, **sim_dirs)
    try:
        cli = Client(other)
        assert cli.logon().status_code == 201
        refs = xml(cli.get("/api/replicaSessions"))
        assert refs.tag == NS + "EntityReferences"
        cutoff = "2026-10-21T12:00:00Z"
        in_window = other.truth("query", type="ReplicaJobSession", filter='CreationTime>="%s"' % cutoff)
        everything = other.truth("query", type="ReplicaJobSession")
        assert len(everything) > len(in_window) > 0
        assert sorted(r.get("UID") for r in refs) == sorted(r["UID"] for r in in_window)
        query_all = xml(cli.get("/api/query", {"type": "ReplicaJobSession", "pageSize": 10000}))
        assert len(query_all.find(NS + "Refs")) == len(everything)
    finally:
        other.stop()


@pytest.mark.parametrize("coll,tname,plural", [
    ("backupSessions", "BackupJobSession", "BackupJobSessions"), ("backupTaskSessions", "BackupTaskSession", "BackupTaskSessions"),
    ("replicaSessions", "ReplicaJobSession", "ReplicaJobSessions"), ("replicaTaskSessions", "ReplicaTaskSession", "ReplicaTaskSessions"),
    ("cdpReplicaSessions", "CdpReplicaSession", "CdpReplicaSessions"),
    ("cdpReplicaTaskSessions", "CdpReplicaTaskSession", "CdpReplicaTaskSessions"),
    ("backupServers", "BackupServer", "BackupServers"), ("jobs", "Job", "Jobs")])
def test_collection_and_by_id(client, coll, tname, plural):
    refs = xml(client.get("/api/" + coll))
    assert refs.tag == NS + "EntityReferences" and len(refs) > 0
    ref = refs[0]
    assert ref.tag == NS + "Ref" and ref.get("Type") == tname + "Reference"
    ents = xml(client.get("/api/" + coll, {"format": "Entity"}))
    assert ents.tag == NS + plural and ents[0].tag == NS + tname and len(ents) == len(refs)
    guid = ref.get("UID").rsplit(":", 1)[1]
    one = client.get(ref.get("Href"))
    assert one.status_code == 200 and xml(one).tag == NS + "EntityRef" and xml(one).get("UID") == ref.get("UID")
    alt = [lk.get("Href") for lk in ref.find(NS + "Links") if lk.get("Rel") == "Alternate"][0]
    ent = client.get(alt)
    assert ent.status_code == 200 and xml(ent).tag == NS + tname
    assert client.get("/api/%s/%s" % (coll, guid.upper()), params={"format": "entity"}).status_code == 200


def test_unknown_and_malformed_ids(client):
    resp = client.get("/api/replicaSessions/00000000-0000-4000-8000-000000000000")
    assert resp.status_code == 404 and "was not found" in error_message(resp)
    resp = client.get("/api/replicaSessions/not-a-guid")
    assert resp.status_code == 400
    assert client.get("/api/noSuchCollection").status_code == 404


def test_wrong_method_is_405(client):
    resp = client.request("DELETE", "/api/replicaSessions")
    assert resp.status_code == 405 and resp.headers["Allow"] == "GET" and error_message(resp)
    resp = client.request("GET", "/api/sessionMngr/?v=latest")
    assert resp.status_code == 405 and resp.headers["Allow"] == "POST"
    assert client.request("POST", "/api/query?type=Job", data=b"").status_code == 405


def test_child_lists_and_typo_alias(clean, client):
    sessions = xml(client.get("/api/replicaSessions", {"format": "Entity"}))
    session = [s for s in sessions if s.find(NS + "State").text == "Stopped"][0]
    down = [lk.get("Href") for lk in session.find(NS + "Links") if lk.get("Rel") == "Down"][0]
    assert down.endswith("/repicaTaskSessions")
    typo = xml(client.get(down))
    correct = xml(client.get(down.replace("/repicaTaskSessions", "/replicaTaskSessions")))
    uids = sorted(r.get("UID") for r in typo)
    assert uids and uids == sorted(r.get("UID") for r in correct)
    truth = clean.truth("query", type="ReplicaTaskSession", filter='JobSessionUid=="%s"' % session.get("UID"))
    assert uids == sorted(r["UID"] for r in truth)
    clean.configure(typo_links=False)
    session2 = xml(client.get(session.get("Href")))
    assert [lk.get("Href") for lk in session2.find(NS + "Links") if lk.get("Rel") == "Down"][0].endswith("/replicaTaskSessions")
    backup = xml(client.get("/api/backupSessions"))[0]
    bdown = [lk.get("Href") for lk in backup.find(NS + "Links") if lk.get("Rel") == "Down"][0]
    assert bdown.endswith("/taskSessions") and len(xml(client.get(bdown))) > 0
    cdp = xml(client.get("/api/cdpReplicaSessions"))[0]
    cdown = [lk.get("Href") for lk in cdp.find(NS + "Links") if lk.get("Rel") == "Down"][0]
    tasks = xml(client.get(cdown, params={"format": "Entity"}))
    assert tasks.tag == NS + "CdpReplicaTaskSessions" and len(tasks) > 0
    job = xml(client.get("/api/jobs"))[0]
    jdown = [lk.get("Href") for lk in job.find(NS + "Links") if lk.get("Rel") == "Down"][0]
    assert len(xml(client.get(jdown))) > 0


def test_running_sessions_have_no_end_time(client):
    ents = xml(client.get("/api/query", {"type": "ReplicaJobSession", "format": "Entities", "filter": "State==Working"}))
    running = ents.find(NS + "Entities")[0]
    assert len(running) >= 1
    for item in running:
        assert item.find(NS + "EndTimeUTC") is None and item.find(NS + "Result").text == "None"
    tasks = xml(client.get("/api/query", {"type": "CdpReplicaTaskSession", "format": "Entities", "filter": "State==InProgress"}))
    for item in tasks.find(NS + "Entities")[0]:
        assert item.find(NS + "EndTimeUTC") is None and item.find(NS + "Result").text == "None"


# -- paging --------------------------------------------------------------------------------------------------------
def _paging(root):
    info = root.find(NS + "PagingInfo")
    links = dict((lk.get("Rel"), lk.get("Href")) for lk in info.find(NS + "Links"))
    return int(info.get("PageNum")), int(info.get("PageSize")), int(info.get("PagesCount")), links


def test_paging_walk_matches_truth(clean, client):
    truth = clean.truth("query", type="ReplicaTaskSession", filter="Result!=Success", sortDesc="CreationTime")
    seen = []
    url = "/api/query?type=ReplicaTaskSession&filter=Result!%3DSuccess&sortDesc=CreationTime&pageSize=3"
    pages = 0
    while url:
        root = xml(client.get(url))
        page, size, count, links = _paging(root)
        pages += 1
        assert page == pages and size == 3 and count == max(1, -(-len(truth) // 3))
        assert set(links) >= {"First", "Last"}
        assert ("Previous" in links) == (page > 1)
        assert ("Next" in links) == (page < count)
        assert links["First"].endswith("&pageSize=3&page=1") and links["Last"].endswith("&pageSize=3&page=%d" % count)
        seen.extend(r.get("UID") for r in root.find(NS + "Refs"))
        url = links.get("Next")
    assert seen == [r["UID"] for r in truth]


def test_page_size_one_and_last_page(client):
    root = xml(client.get("/api/query", {"type": "BackupServer", "pageSize": 1}))
    page, size, count, links = _paging(root)
    assert (page, size, count) == (1, 1, 2) and set(links) == {"First", "Next", "Last"}
    last = xml(client.get(links["Last"]))
    assert _paging(last)[0] == 2 and set(_paging(last)[3]) == {"First", "Previous", "Last"}
    assert len(last.find(NS + "Refs")) == 1


def test_page_past_the_end_is_empty(client):
    root = xml(client.get("/api/query", {"type": "BackupServer", "pageSize": 1, "page": 9}))
    page, _size, count, links = _paging(root)
    assert page == 9 and count == 2 and len(root.find(NS + "Refs")) == 0 and "Next" not in links
    client.accept = "application/json"
    doc = client.get("/api/query", {"type": "BackupServer", "pageSize": 1, "page": 9}).json()
    assert doc["Refs"]["Refs"] == [] and doc["PagingInfo"]["PageNum"] == 9


@pytest.mark.parametrize("size", ["0", "-1", "x"])
def test_bad_page_size(client, size):
    resp = client.get("/api/query", {"type": "BackupServer", "pageSize": size})
    assert resp.status_code == 400 and "pageSize" in error_message(resp)


def test_default_and_max_page_size(clean, client):
    root = xml(client.get("/api/query", {"type": "ReplicaTaskSession"}))
    assert _paging(root)[1] == 100
    clean.configure(default_page_size=7, max_page_size=5)
    assert _paging(xml(client.get("/api/query", {"type": "ReplicaTaskSession"})))[1] == 5
    assert _paging(xml(client.get("/api/query", {"type": "ReplicaTaskSession", "pageSize": 50})))[1] == 5


def test_paging_links_keep_params_and_encode_filter(client):
    flt = 'VmDisplayName=="vm with spaces";CreationTime>="2026-11-01T00:00:00Z"'
    root = xml(client.get("/api/query", {"Type": "replicaTaskSession", "FORMAT": "entities", "filter": flt, "pageSize": 1, "page": 2}))
    links = _paging(root)[3]
    first = links["First"]
    assert "Type=replicaTaskSession&FORMAT=entities&filter=" in first and first.endswith("&pageSize=1&page=1")
    assert "%3D%3D%22vm%20with%20spaces%22;CreationTime%3E%3D%222026-11-01T00%3A00%3A00Z%22" in first
    again = xml(client.get(links["First"]))
    assert _paging(again)[0] == 1


def test_sorting_against_truth(clean, client):
    for param, field in (("sortAsc", "Name"), ("sortDesc", "VmDisplayName"), ("sortAsc", "TotalSize"), ("sortDesc", "Result"),
                         ("sortAsc", "EndTime"), ("sortDesc", "JobName")):
        truth = clean.truth("query", type="ReplicaTaskSession", **{param: field})
        root = xml(client.get("/api/query", {"type": "ReplicaTaskSession", param: field, "pageSize": 1000}))
        assert [r.get("UID") for r in root.find(NS + "Refs")] == [r["UID"] for r in truth], (param, field)
    resp = client.get("/api/query", {"type": "ReplicaTaskSession", "sortAsc": "Bogus"})
    assert resp.status_code == 400 and "Bogus" in error_message(resp)


# -- connection handling ----------------------------------------------------------------------------------------------
def test_keep_alive_and_content_length(client):
    parts = urllib.parse.urlsplit(client.sim.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    sock = None
    for path in ("/api/backupServers", "/api/query?type=Job", "/api/nothing", "/api/jobs"):
        conn.request("GET", path, headers={"X-RestSvcSessionId": client.token})
        resp = conn.getresponse()
        body = resp.read()
        assert int(resp.getheader("Content-Length")) == len(body)
        assert sock is None or conn.sock is sock  # same TCP connection every time
        sock = conn.sock
    conn.request("DELETE", "/api/logonSessions/" + client.session_id, headers={"X-RestSvcSessionId": client.token})
    resp = conn.getresponse()
    assert resp.status == 204 and resp.read() == b""
    conn.request("GET", "/api/", headers={})
    assert conn.getresponse().status == 200 and conn.sock is sock
    conn.close()


def test_concurrent_clients_page_through_consistently(clean):
    truth = [r["UID"] for r in clean.truth("query", type="ReplicaTaskSession", sortAsc="CreationTime")]
    size = 7
    pages = -(-len(truth) // size)

    def fetch(page):
        cli = Client(clean)
        assert cli.logon().status_code == 201
        root = xml(cli.get("/api/query", {"type": "ReplicaTaskSession", "sortAsc": "CreationTime", "pageSize": size, "page": page}))
        return page, [r.get("UID") for r in root.find(NS + "Refs")]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = dict(pool.map(fetch, range(1, pages + 1)))
    assert [uid for page in sorted(results) for uid in results[page]] == truth
    assert clean.stats()["logons"] == pages
