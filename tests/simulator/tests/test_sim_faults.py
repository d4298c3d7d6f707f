"""Every fault kind, switched at run time through /admin/faults (and once from the command line)."""

import http.client
import time
import urllib.parse

import pytest
import requests

from conftest import Client
from em_simulator import testing


def _timed(fn):
    start = time.monotonic()
    result = fn()
    return result, time.monotonic() - start


def test_fixed_latency_and_per_record_cost(client):
    client.sim.set_faults(latency_ms=250)
    resp, elapsed = _timed(lambda: client.get("/api/backupServers"))
    assert resp.status_code == 200 and elapsed >= 0.25
    client.sim.set_faults(per_record_us=20000)
    resp, elapsed = _timed(lambda: client.get("/api/query", {"type": "ReplicaTaskSession", "pageSize": 20}))
    assert resp.status_code == 200 and elapsed >= 0.4


def test_latency_spike(client):
    client.sim.set_faults(latency_spike={"rate": 1.0, "ms": 200})
    _resp, elapsed = _timed(lambda: client.get("/api/backupServers"))
    assert elapsed >= 0.2
    assert client.sim.stats()["faults_injected"]["latency_spike"] == 1


def test_fail_next(client):
    client.sim.set_faults(fail_next={"count": 2, "status": 503})
    statuses = [client.get("/api/backupServers") for _attempt in range(3)]
    assert [r.status_code for r in statuses] == [503, 503, 200]
    assert statuses[0].content.startswith(b'<?xml') and b'StatusCode="503"' in statuses[0].content
    assert client.sim.stats()["faults_injected"]["status_503"] == 2


def test_error_rate_and_statuses(client):
    client.sim.set_faults(error_rate=1.0, error_statuses=[502])
    resp = client.get("/api/backupServers")
    assert resp.status_code == 502 and b"Error" in resp.content
    assert client.sim.stats()["requests"]["GET /api/backupServers"] == {"502": 1}


def test_error_rate_is_reproducible_with_seed(client):
    def run():
        client.sim.set_faults(seed=11, error_rate=0.5, error_statuses=[500, 502, 503])
        return [client.get("/api/backupServers").status_code for _attempt in range(25)]
    first = run()
    assert set(first) - {200} and 200 in first
    assert run() == first


def test_429_with_retry_after(client):
    client.sim.set_faults(throttle_next=1, retry_after=7)
    resp = client.get("/api/backupServers")
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "7" and b"Error" in resp.content
    assert client.get("/api/backupServers").status_code == 200
    client.sim.set_faults(throttle_rate=1.0, retry_after=2)
    resp = client.get("/api/backupServers")
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "2"


def test_connection_reset(client):
    client.sim.set_faults(reset_next=1)
    with pytest.raises(requests.exceptions.ConnectionError):
        client.get("/api/backupServers")
    assert client.get("/api/backupServers").status_code == 200
    client.sim.set_faults(reset_rate=1.0)
    with pytest.raises(requests.exceptions.ConnectionError):
        client.get("/api/backupServers")
    client.sim.clear_faults()
    assert client.sim.stats()["faults_injected"]["reset"] == 2


def test_truncated_body(client):
    client.sim.set_faults(truncate_next=1)
    parts = urllib.parse.urlsplit(client.sim.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    conn.request("GET", "/api/query?type=ReplicaTaskSession&pageSize=50", headers={"X-RestSvcSessionId": client.token})
    resp = conn.getresponse()
    assert resp.status == 200
    length = int(resp.getheader("Content-Length"))
    with pytest.raises(http.client.IncompleteRead) as err:
        resp.read()
    assert 0 < len(err.value.partial) < length
    conn.close()
    client.sim.set_faults(truncate_rate=1.0)
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError)):
        client.get("/api/query", {"type": "ReplicaTaskSession", "pageSize": 50})


def test_forced_token_expiry(clean, client):
    clean.set_faults(token_expire_after=3)
    codes = [client.get("/api/backupServers").status_code for _attempt in range(4)]
    assert codes == [200, 200, 200, 401]
    assert client.logon().status_code == 201
    assert client.get("/api/backupServers").status_code == 200
    assert clean.stats()["faults_injected"]["token_expired"] == 1


def test_logon_cap(clean, client):
    clean.set_faults(max_sessions=2)
    second = Client(clean)
    assert second.logon().status_code == 201
    third = Client(clean)
    resp = third.logon()
    assert resp.status_code == 503 and b"maximum number of concurrent sessions" in resp.content
    assert client.request("DELETE", "/api/logonSessions/" + client.session_id).status_code == 204
    assert third.logon().status_code == 201


def test_mutator_html_200(client):
    client.sim.set_faults(mutators={"html_200": {"next": 1}})
    resp = client.get("/api/backupServers")
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/html")
    assert client.get("/api/backupServers").headers["Content-Type"].startswith("application/xml")


def test_admin_is_never_faulted_and_faults_roundtrip(clean):
    clean.set_faults(error_rate=1.0, reset_rate=1.0)
    assert clean.stats()["open_sessions"] >= 0
    current = clean.admin("GET", "/faults")
    assert current["error_rate"] == 1.0 and current["reset_rate"] == 1.0
    cleared = clean.clear_faults()
    assert cleared["error_rate"] == 0.0
    with pytest.raises(Exception):
        clean.set_faults(no_such_fault=1)


def test_faults_from_command_line(sim_dirs):
    proc = testing.start_simulator(dataset="tiny", now="2026-11-20T12:00:00Z", fault_fail_next=1, fault_fail_status=502,
                                   fault_429_next=1, fault_retry_after=4, **sim_dirs)
    try:
        cli = Client(proc)
        assert cli.get("/api/").status_code == 502
        resp = cli.get("/api/")
        assert resp.status_code == 429 and resp.headers["Retry-After"] == "4"
        assert cli.get("/api/").status_code == 200
    finally:
        assert proc.stop() == 0
