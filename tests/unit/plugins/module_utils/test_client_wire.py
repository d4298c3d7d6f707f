# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The client over HTTPS against the EM simulator: lifecycle, TLS, faults, paging, formats.

Every test uses the ``em`` fixture, which asserts afterwards that the simulator has no
logon session left open -- failing paths included.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import os
import random
import socket
import threading
import time

import pytest

from ansible_collections.opsbox.veeam_em.plugins.module_utils.client import EMClient
from ansible_collections.opsbox.veeam_em.plugins.module_utils._errors import (
    EMAuthenticationError, EMNotFoundError, EMPermissionError, EMProtocolError, EMQueryError, EMTransportError,
    to_fail_json_kwargs,
)
from ansible_collections.opsbox.veeam_em.plugins.module_utils._times import parse_timestamp

from ansible_collections.opsbox.veeam_em.tests.unit.plugins.module_utils.conftest import (
    RESTORE_OPERATOR, UPN_USER, start,
)

pytestmark = pytest.mark.simulator

TYPES = ("ReplicaTaskSession", "ReplicaJobSession", "BackupTaskSession", "BackupJobSession",
         "CdpReplicaSession", "CdpReplicaTaskSession")
INJECTION = 'x";Result==Success,(VmDisplayName=="y'


def make_client(em, **options):
    options.setdefault("ca_path", em.ca_path)
    username = options.pop("username", em.username)
    password = options.pop("password", em.password)
    return EMClient(em.url, username, password, **options)


def truth(em, resource, **params):
    return em.truth("query", type=resource, **params)


def truth_uids(em, resource, **params):
    return [record["UID"] for record in truth(em, resource, **params)]


def uids(facts):
    return [fact["uid"] for fact in facts]


# -- lifecycle ------------------------------------------------------------------------------------


def test_query_logs_on_once_and_off_once(em):
    em.reset_stats()
    with make_client(em) as client:
        facts = list(client.query("ReplicaTaskSession", sort="-CreationTime"))
    assert uids(facts) == truth_uids(em, "ReplicaTaskSession", sortDesc="CreationTime")
    stats = em.stats()
    assert stats["logons"] == 1 and stats["logoffs"] == 1


def test_logoff_happens_when_the_caller_fails(em):
    with pytest.raises(RuntimeError):
        with make_client(em) as client:
            next(iter(client.query("ReplicaJobSession")))
            raise RuntimeError("caller failed")
    assert em.stats()["open_sessions"] == 0


def test_abandoned_generator_with_pages_in_flight(em):
    with make_client(em, page_size=1, concurrency=8) as client:
        pages = client.query("ReplicaTaskSession", sort="-CreationTime")
        first = [next(pages) for dummy in range(3)]
        pages.close()
        assert uids(first) == truth_uids(em, "ReplicaTaskSession", sortDesc="CreationTime")[:3]
    assert threading.active_count() < 10


def test_limit_stops_early_and_shrinks_the_page(em):
    em.reset_stats()
    with make_client(em, page_size=500) as client:
        facts = list(client.query("ReplicaTaskSession", sort="-CreationTime", limit=5))
    assert uids(facts) == truth_uids(em, "ReplicaTaskSession", sortDesc="CreationTime")[:5]
    assert em.stats()["requests"]["GET /api/query"] == {"200": 1}


@pytest.mark.parametrize("suffix", ["", "/", "/api", "/api/"])
def test_url_with_or_without_api(em, suffix):
    client = EMClient(em.url + suffix, em.username, em.password, ca_path=em.ca_path)
    with client:
        assert client.base_url == em.url + "/api/"


@pytest.mark.parametrize("user", [RESTORE_OPERATOR, UPN_USER])
def test_special_user_names_and_passwords_log_on(em, user):
    name, password, _role = user
    with make_client(em, username=name, password=password) as client:
        assert client.base_url.endswith("/api/")


# -- authentication and permissions ------------------------------------------------------------------


def test_bad_credentials_are_not_retried_and_not_echoed(em):
    em.reset_stats()
    password = u"Wrong-\u00fc\u20ac-Secret"
    with pytest.raises(EMAuthenticationError) as info:
        with make_client(em, password=password, retries=5):
            pass
    text = str(info.value) + repr(info.value)
    assert "HTTP 401" in text and "POST" in text and "/api/sessionMngr/" in text
    assert "user name or password is incorrect" in text
    assert password not in text
    assert em.stats()["logon_failures"] == 1


@pytest.mark.parametrize("wire_format,dialect", [("xml", "v12"), ("json", "v12"), ("json", "v13")])
def test_restore_operator_gets_a_permission_error_with_the_role_hint(em, wire_format, dialect):
    em.configure(dialect=dialect)
    tokens = []
    with pytest.raises(EMPermissionError) as info:
        with make_client(em, username=RESTORE_OPERATOR[0], password=RESTORE_OPERATOR[1], wire_format=wire_format) as client:
            tokens.append(client._session._token)  # pylint: disable=protected-access
            list(client.query("ReplicaJobSession"))
    text = str(info.value) + repr(info.value) + repr(to_fail_json_kwargs(info.value))
    assert "HTTP 403" in text and "GET /api/query" in text and "Portal Administrator" in text
    assert info.value.em_message
    assert tokens[0] and tokens[0] not in text and RESTORE_OPERATOR[1] not in text


def test_expired_session_means_exactly_one_relogon_with_eight_pages_in_flight(em):
    em.reset_stats()
    expected = truth_uids(em, "ReplicaTaskSession", sortDesc="CreationTime")
    with make_client(em, page_size=1, concurrency=8) as client:
        pages = client.query("ReplicaTaskSession", sort="-CreationTime")
        got = [next(pages)["uid"]]
        em.expire_sessions()
        got.extend(fact["uid"] for fact in pages)
    assert got == expected
    assert em.stats()["logons"] == 2


def test_token_expiry_in_the_middle_of_paging(em):
    expected = truth_uids(em, "ReplicaTaskSession", sortDesc="CreationTime")
    em.reset_stats()
    with make_client(em, page_size=3, concurrency=8) as client:
        em.set_faults(token_expire_after=5)
        facts = list(client.query("ReplicaTaskSession", sort="-CreationTime"))
        em.clear_faults()
    assert uids(facts) == expected
    stats = em.stats()
    pages = -(-len(expected) // 3)
    # about one logon per five successful requests plus the first -- not one per 401
    assert 2 <= stats["logons"] <= 2 + -(-pages // 5)


# -- transport and TLS -------------------------------------------------------------------------------


def test_untrusted_certificate_names_the_options(em, monkeypatch):
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(EMTransportError) as info:
        with EMClient(em.url, em.username, em.password):
            pass
    text = str(info.value)
    assert "not trusted" in text and "ca_path" in text and "validate_certs" in text and "GET /api/" in text


def test_validate_certs_false_wins_over_requests_ca_bundle(em, monkeypatch):
    import certifi  # shipped with requests; a bundle that does not contain the simulator's CA
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())
    monkeypatch.setenv("CURL_CA_BUNDLE", certifi.where())
    # control: with checks on, the environment bundle is used and the simulator is not trusted
    with pytest.raises(EMTransportError):
        with EMClient(em.url, em.username, em.password):
            pass
    with EMClient(em.url, em.username, em.password, validate_certs=False) as client:
        assert next(iter(client.query("ReplicaJobSession")))["uid"]
    # and ca_path wins over the environment bundle too
    with make_client(em) as client:
        assert next(iter(client.query("ReplicaJobSession")))["uid"]


def test_proxy_environment_is_honoured(em, monkeypatch):
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    port = dead.getsockname()[1]
    dead.close()
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:%d" % port)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with pytest.raises(EMTransportError):
        with make_client(em, retries=1):
            pass
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with make_client(em) as client:
        assert client.base_url


def test_closed_port_names_the_em_port(em):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    started = time.monotonic()
    with pytest.raises(EMTransportError) as info:
        with EMClient("https://127.0.0.1:%d" % port, "u", "p", retries=2, retry_deadline=3):
            pass
    assert "cannot connect" in str(info.value) and "9398" in str(info.value)
    assert time.monotonic() - started < 10


@pytest.mark.parametrize("mode,expected", [("vbr", "Veeam Backup & Replication REST API"), ("html", "HTML web page")])
def test_non_em_servers_are_recognised(em_simulator_testing, em, mode, expected):
    other = start(em_simulator_testing, impersonate=mode)
    try:
        with pytest.raises(EMProtocolError) as info:
            with EMClient(other.url, other.username, other.password, ca_path=other.ca_path):
                pass
        assert expected in str(info.value) and "9398" in str(info.value)
        assert other.stats()["open_sessions"] == 0
    finally:
        other.stop()


def test_timeout_reaches_the_request(em):
    with pytest.raises(EMTransportError) as info:
        with make_client(em, timeout=1, retries=2, retry_deadline=4) as client:
            em.set_faults(latency_ms=2500)
            try:
                list(client.query("ReplicaJobSession"))
            finally:
                em.clear_faults()
    assert "no answer within 1 seconds" in str(info.value) and "GET /api/query" in str(info.value)


def test_latency_is_tolerated(em):
    with make_client(em, page_size=5, concurrency=4) as client:
        em.set_faults(latency_ms=100, latency_spike={"rate": 0.3, "ms": 300})
        facts = list(client.query("ReplicaJobSession", sort="-CreationTime"))
        em.clear_faults()
    assert uids(facts) == truth_uids(em, "ReplicaJobSession", sortDesc="CreationTime")


# -- retries -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [502, 503, 504])
def test_5xx_burst_is_retried(em, status):
    with make_client(em, page_size=10, concurrency=4, retries=4) as client:
        em.set_faults(fail_next={"count": 3, "status": status})
        facts = list(client.query("ReplicaTaskSession", sort="-CreationTime"))
    assert uids(facts) == truth_uids(em, "ReplicaTaskSession", sortDesc="CreationTime")
    assert em.stats()["faults_injected"]["status_%d" % status] == 3


def test_5xx_longer_than_the_retries_is_reported_with_em_message(em):
    with pytest.raises(EMProtocolError) as info:
        with make_client(em, retries=2) as client:
            em.set_faults(fail_next={"count": 2, "status": 503})
            list(client.query("ReplicaJobSession"))
    text = str(info.value)
    assert "HTTP 503" in text and "GET /api/query" in text and "injected fault" in text


def test_500_is_not_retried(em):
    em.reset_stats()
    with pytest.raises(EMProtocolError) as info:
        with make_client(em, retries=4) as client:
            em.set_faults(fail_next={"count": 1, "status": 500})
            list(client.query("ReplicaJobSession"))
    assert info.value.status == 500
    assert em.stats()["requests"]["GET /api/query"] == {"500": 1}


def test_429_honours_retry_after(em):
    with make_client(em, retries=4) as client:
        em.set_faults(throttle_next=2, retry_after=1)
        started = time.monotonic()
        facts = list(client.query("ReplicaJobSession", sort="-CreationTime"))
        elapsed = time.monotonic() - started
    assert uids(facts) == truth_uids(em, "ReplicaJobSession", sortDesc="CreationTime")
    assert elapsed >= 2.0


def test_429_with_a_long_retry_after_gives_up_within_the_deadline(em):
    with pytest.raises(EMProtocolError) as info:
        with make_client(em, retries=4, retry_deadline=5) as client:
            em.set_faults(throttle_next=5, retry_after=600)
            started = time.monotonic()
            try:
                list(client.query("ReplicaJobSession"))
            finally:
                em.clear_faults()
                elapsed = time.monotonic() - started
    assert info.value.status == 429
    assert elapsed < 5


def test_connection_resets_are_retried(em):
    with make_client(em, page_size=10, concurrency=4) as client:
        em.set_faults(reset_next=3)
        facts = list(client.query("ReplicaTaskSession", sort="-CreationTime"))
    assert uids(facts) == truth_uids(em, "ReplicaTaskSession", sortDesc="CreationTime")
    assert em.stats()["faults_injected"]["reset"] == 3


@pytest.mark.parametrize("wire_format", ["xml", "json"])
def test_truncated_bodies_are_retried(em, wire_format):
    with make_client(em, page_size=10, concurrency=4, wire_format=wire_format) as client:
        em.set_faults(truncate_next=3)
        facts = list(client.query("ReplicaTaskSession", sort="-CreationTime"))
    assert uids(facts) == truth_uids(em, "ReplicaTaskSession", sortDesc="CreationTime")
    assert em.stats()["faults_injected"]["truncate"] == 3


def test_random_faults_everywhere(em):
    with make_client(em, page_size=4, concurrency=8, retries=8, retry_deadline=60) as client:
        em.set_faults(error_rate=0.1, error_statuses=[502, 503, 504], throttle_rate=0.05, retry_after=0,
                      reset_rate=0.05, truncate_rate=0.05, seed=11)
        try:
            facts = list(client.query("ReplicaTaskSession", sort="-CreationTime"))
        finally:
            em.clear_faults()
    assert uids(facts) == truth_uids(em, "ReplicaTaskSession", sortDesc="CreationTime")


def test_logon_cap(em):
    em.set_faults(max_sessions=1)
    try:
        with make_client(em) as first:
            with pytest.raises(EMProtocolError) as info:
                with make_client(em):
                    pass
            assert "maximum number of concurrent sessions" in str(info.value)
            assert info.value.status == 503 and "POST /api/sessionMngr/" in str(info.value)
            assert next(iter(first.query("ReplicaJobSession")))["uid"]
    finally:
        em.clear_faults()


# -- hostile bodies ----------------------------------------------------------------------------------


def test_oversized_answer_is_refused(em):
    with pytest.raises(EMProtocolError) as info:
        with make_client(em, max_response_bytes=1024 * 1024) as client:
            em.set_faults(mutators={"oversized": {"next": 1}})
            list(client.query("ReplicaJobSession"))
    assert "1048576 bytes allowed" in str(info.value) and "page_size" in str(info.value)


def test_html_instead_of_a_document(em):
    with pytest.raises(EMProtocolError) as info:
        with make_client(em) as client:
            em.set_faults(mutators={"html_200": {"next": 1}})
            list(client.query("ReplicaJobSession"))
    assert "HTML" in str(info.value) and "GET /api/query" in str(info.value)


@pytest.mark.parametrize("wire_format", ["xml", "json"])
def test_invalid_utf8(em, wire_format):
    with pytest.raises(EMProtocolError):
        with make_client(em, wire_format=wire_format) as client:
            em.set_faults(mutators={"invalid_utf8": {"next": 1}})
            list(client.query("ReplicaTaskSession"))


# -- paging ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("page_size", [1, 7, 1000])
@pytest.mark.parametrize("concurrency", [1, 8])
def test_paging_matches_ground_truth(em, page_size, concurrency):
    for resource, sort in (("ReplicaTaskSession", "CreationTime"), ("BackupTaskSession", "Name")):
        expected = truth_uids(em, resource, sortDesc=sort)
        with make_client(em, page_size=page_size, concurrency=concurrency) as client:
            got = uids(client.query(resource, sort=(sort, "desc")))
        assert got == expected
        assert len(set(got)) == len(got)


def test_server_side_page_size_clamp(em):
    em.configure(max_page_size=5)
    with make_client(em, page_size=1000, concurrency=3) as client:
        got = uids(client.query("ReplicaTaskSession", sort="-CreationTime"))
    assert got == truth_uids(em, "ReplicaTaskSession", sortDesc="CreationTime")


# -- queries -----------------------------------------------------------------------------------------


def test_injection_name_matches_only_that_vm(em):
    everything = truth(em, "ReplicaTaskSession", sortDesc="CreationTime")
    expected = [record["UID"] for record in everything if record["VmDisplayName"] == INJECTION]
    assert expected, "the data set should contain the injection VM"
    with make_client(em) as client:
        facts = list(client.query("ReplicaTaskSession", {"VmDisplayName": INJECTION}, sort="-CreationTime"))
    assert uids(facts) == expected
    assert all(fact["vm_name"] == INJECTION for fact in facts)


def test_filters_match_ground_truth(em):
    everything = truth(em, "ReplicaTaskSession", sortDesc="CreationTime")
    cut = everything[len(everything) // 2]["CreationTimeUTC"]
    expected = [record["UID"] for record in everything
                if record["Result"] in ("Warning", "Failed") and record["CreationTimeUTC"] >= cut[:19]]
    with make_client(em) as client:
        facts = list(client.query("ReplicaTaskSession", [("Result", "==", ["warning", "failed"]),
                                                         ("CreationTime", ">=", parse_timestamp(cut).replace(microsecond=0))],
                                  sort="-CreationTime"))
    assert uids(facts) == expected


def test_raw_filter_is_combined(em):
    everything = truth(em, "ReplicaJobSession", sortDesc="CreationTime")
    expected = [record["UID"] for record in everything if record["Result"] == "Success" and record["State"] == "Stopped"]
    with make_client(em) as client:
        facts = list(client.query("ReplicaJobSession", {"Result": "Success"}, raw_filter="State==Stopped", sort="-CreationTime"))
    assert uids(facts) == expected


def test_bad_query_fails_before_any_request(em):
    em.reset_stats()
    with make_client(em) as client:
        with pytest.raises(EMQueryError):
            client.query("ReplicaTaskSession", {"NoSuchField": "x"})
        with pytest.raises(EMQueryError):
            client.query("ReplicaTaskSession", {"State": "Sideways"})
    assert "GET /api/query" not in em.stats()["requests"]


def test_server_rejected_raw_filter_is_a_query_error(em):
    with pytest.raises(EMQueryError) as info:
        with make_client(em) as client:
            list(client.query("ReplicaJobSession", raw_filter="NoSuchField==1"))
    assert info.value.status == 400 and info.value.em_message


def test_get_by_id_and_not_found(em):
    first = truth(em, "ReplicaJobSession", sortDesc="CreationTime")[0]
    with make_client(em) as client:
        fact = client.get_by_id("ReplicaJobSession", first["UID"])
        assert fact["uid"] == first["UID"]
        with pytest.raises(EMNotFoundError) as info:
            client.get_by_id("ReplicaJobSession", "00000000-0000-0000-0000-000000000000")
    assert info.value.status == 404 and "replicaSessions/00000000" in str(info.value)


def test_children_of_a_job_session(em):
    parent = truth(em, "ReplicaJobSession", sortDesc="CreationTime")[0]["UID"]
    expected = [record["UID"] for record in truth(em, "ReplicaTaskSession", sortDesc="CreationTime")
                if record["JobSessionUid"] == parent]
    with make_client(em) as client:
        assert uids(client.children("ReplicaTaskSession", parent, sort="-CreationTime")) == expected


# -- formats -----------------------------------------------------------------------------------------


def _all_facts(em, wire_format, dialect="v12", bom=False):
    em.configure(dialect=dialect, bom=bom)
    out = {}
    with make_client(em, wire_format=wire_format, page_size=50) as client:
        for resource in TYPES:
            out[resource] = list(client.query(resource, sort="-Name"))
    return out


def test_xml_and_both_json_dialects_give_identical_facts(em):
    xml = _all_facts(em, "xml")
    assert all(xml[resource] for resource in TYPES)
    assert _all_facts(em, "json", "v12") == xml
    assert _all_facts(em, "json", "v13") == xml
    assert _all_facts(em, "json", "v13", bom=True) == xml


def test_random_records_by_id_are_identical_in_every_format(em):
    rng = random.Random(int(os.environ.get("EM_PROPERTY_SEED", "20261122")))
    picks = []
    for resource in TYPES:
        records = truth(em, resource)
        picks.extend((resource, record["UID"]) for record in rng.sample(records, min(4, len(records))))
    results = []
    for wire_format, dialect, bom in (("xml", "v12", False), ("json", "v12", False), ("json", "v13", False), ("json", "v13", True)):
        em.configure(dialect=dialect, bom=bom)
        with make_client(em, wire_format=wire_format) as client:
            results.append([client.get_by_id(resource, uid) for resource, uid in picks])
    assert results[0] == results[1] == results[2] == results[3]


def test_facts_agree_with_ground_truth(em):
    for resource in TYPES:
        expected = dict((record["UID"], record) for record in truth(em, resource))
        with make_client(em) as client:
            facts = list(client.query(resource))
        assert len(facts) == len(expected)
        for fact in facts:
            record = expected[fact["uid"]]
            assert fact["name"] == record["Name"]
            assert fact["state"] == record["State"]
            assert parse_timestamp(fact["creation_time"]) == parse_timestamp(record["CreationTimeUTC"])
            if record.get("EndTimeUTC"):
                assert parse_timestamp(fact["end_time"]) == parse_timestamp(record["EndTimeUTC"])
                assert fact["duration_seconds"] >= 0
            else:
                assert fact["end_time"] is None and fact["duration_seconds"] is None
            if "BackupServerUid" in record:
                assert fact["backup_server_uid"] == record["BackupServerUid"]
                assert fact["backup_server_name"] == record["BackupServerName"]
            if "TotalSize" in record:
                assert fact["total_size"] == record["TotalSize"]
            if "VmDisplayName" in record:
                assert fact["vm_name"] == record["VmDisplayName"]
            if "JobSessionUid" in record:
                assert fact["job_session_uid"] == record["JobSessionUid"]
            if "PolicySessionUid" in record:
                assert fact["policy_session_uid"] == record["PolicySessionUid"]
            if "JobUid" in record and resource.endswith("JobSession"):
                assert fact["job_uid"] == record["JobUid"] and fact["job_name"] == record["JobName"]


# -- latest: the recent span first, then only the jobs absent from it ----------------------------------


@pytest.mark.parametrize("module_name, resource, key", [
    ("replica_session_info", "ReplicaJobSession", ("backup_server_uid", "job_uid")),
    ("backup_session_info", "BackupJobSession", ("backup_server_uid", "job_uid")),
    ("cdp_session_info", "CdpReplicaSession", ("backup_server_uid", "policy_uid")),
])
@pytest.mark.parametrize("days_later", [0, 1.5, 40])
@pytest.mark.parametrize("extra", [{}, {"sort": "oldest_first"}, {"filter": 'Result=="Success"'}])
def test_latest_reads_less_and_answers_the_same(em, module_name, resource, key, days_later, extra):
    from ansible_collections.opsbox.veeam_em.plugins.module_utils import _info

    # "now" later than the data moves jobs out of the recent span, so that the older read is exercised
    now = parse_timestamp(em.now) + datetime.timedelta(days=days_later)
    params = dict((name, spec.get("default")) for name, spec in _info.COMMON_OPTIONS.items())
    params.update(latest=True, **extra)
    with make_client(em) as client:
        everything = list(client.query(resource, raw_filter=extra.get("filter"), sort="-CreationTime"))
        expected = _info.keep_latest(everything, key, extra.get("sort") != "oldest_first")
        em.reset_stats()
        result = _info.collect(client, params, module_name, now)
    facts = result[_info.SPECS[module_name].return_key]
    assert expected and uids(facts) == uids(expected)
    assert em.stats()["records_sent"] <= len(everything)
