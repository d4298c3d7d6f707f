# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Transport without a network: what goes into every request, and how bodies are read."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ssl
import warnings

import pytest
import requests

from ansible_collections.opsbox.veeam_em.plugins.module_utils import _transport
from ansible_collections.opsbox.veeam_em.plugins.module_utils._errors import EMProtocolError, EMQueryError, EMTransportError
from ansible_collections.opsbox.veeam_em.plugins.module_utils._retry import RetryPolicy


class FakeResponse:
    def __init__(self, status=200, body=b"<x/>", headers=None, chunks=None, fail_after=None):
        self.status_code = status
        self.headers = requests.structures.CaseInsensitiveDict(headers or {"Content-Length": str(len(body))})
        self._chunks = chunks if chunks is not None else [body]
        self._fail_after = fail_after
        self.closed = False

    def iter_content(self, _size):
        for index, chunk in enumerate(self._chunks):
            if self._fail_after is not None and index >= self._fail_after:
                raise requests.exceptions.ChunkedEncodingError("IncompleteRead")
            yield chunk

    def close(self):
        self.closed = True


def make(monkeypatch, answers, **options):
    sent = []
    transport = _transport.Transport("https://em:9398/api/", retry_policy=RetryPolicy(retries=3, sleep=lambda s: None),
                                     **options)

    def fake_send(prepared, **kwargs):
        sent.append(dict(kwargs, method=prepared.method, url=prepared.url, headers=prepared.headers))
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer
    monkeypatch.setattr(transport.session, "send", fake_send)
    return transport, sent


@pytest.mark.parametrize("options,verify", [({}, True), ({"ca_path": "/etc/em-ca.pem"}, "/etc/em-ca.pem"),
                                            ({"validate_certs": False, "ca_path": "/etc/em-ca.pem"}, False)])
def test_every_request_carries_verify_timeout_and_one_media_type(monkeypatch, options, verify):
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    transport, sent = make(monkeypatch, [FakeResponse()], timeout=12, wire_format="json", **options)
    response = transport.request("GET", "query", params={"type": "X"})
    assert response.status == 200 and response.body == b"<x/>"
    call = sent[0]
    assert call["verify"] == verify
    assert call["timeout"] == 12
    assert call["allow_redirects"] is False
    assert call["headers"]["Accept"] == "application/json"
    assert call["stream"] is True
    assert call["url"] == "https://em:9398/api/query?type=X"
    assert response.path == "/api/query?type=X"


def test_no_cookies_and_no_netrc(monkeypatch, tmp_path):
    netrc = tmp_path / "netrc"
    netrc.write_text(u"machine em login someone password netrc-secret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    assert requests.utils.get_netrc_auth("https://em:9398/api/") == ("someone", "netrc-secret")
    transport, _sent = make(monkeypatch, [])
    jar = transport.session.cookies
    jar.set("X-RestSvcSessionId", "token", domain="em")
    prepared = transport.session.prepare_request(requests.Request("GET", "https://em:9398/api/"))
    assert "Cookie" not in prepared.headers
    assert "Authorization" not in prepared.headers


def test_size_cap_from_content_length(monkeypatch):
    transport, _sent = make(monkeypatch, [FakeResponse(headers={"Content-Length": "5000"})], max_response_bytes=1000)
    with pytest.raises(EMProtocolError) as info:
        transport.request("GET", "query")
    assert "1000 bytes allowed" in str(info.value) and "GET /api/query" in str(info.value)


def test_size_cap_while_streaming(monkeypatch):
    answer = FakeResponse(headers={"Transfer-Encoding": "chunked"}, chunks=[b"x" * 600, b"x" * 600])
    transport, _sent = make(monkeypatch, [answer], max_response_bytes=1000)
    with pytest.raises(EMProtocolError):
        transport.request("GET", "query")
    assert answer.closed


def test_short_body_is_retried_then_reported(monkeypatch):
    short = [FakeResponse(body=b"<x", headers={"Content-Length": "10"}) for dummy in range(3)]
    transport, sent = make(monkeypatch, list(short))
    with pytest.raises(EMTransportError) as info:
        transport.request("GET", "query")
    assert len(sent) == 3 and "broke while reading" in str(info.value)


def test_broken_stream_is_retried(monkeypatch):
    broken = FakeResponse(chunks=[b"<x", b"/>"], headers={"Transfer-Encoding": "chunked"}, fail_after=1)
    transport, sent = make(monkeypatch, [broken, FakeResponse()])
    assert transport.request("GET", "query").status == 200
    assert len(sent) == 2


def test_post_is_never_retried(monkeypatch):
    transport, sent = make(monkeypatch, [requests.exceptions.ConnectionError("reset"), FakeResponse()])
    with pytest.raises(EMTransportError):
        transport.request("POST", "sessionMngr/?v=latest", retry=True)
    assert len(sent) == 1


def test_tls_failure_hint(monkeypatch):
    error = requests.exceptions.SSLError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate")
    transport, sent = make(monkeypatch, [error, FakeResponse()])
    with pytest.raises(EMTransportError) as info:
        transport.request("GET", "")
    assert len(sent) == 1  # a certificate problem does not go away by retrying
    text = str(info.value)
    assert "not trusted" in text and "ca_path" in text and "validate_certs" in text


def test_timeout_is_reported_with_the_option(monkeypatch):
    transport, sent = make(monkeypatch, [requests.exceptions.ReadTimeout("slow")] * 3, timeout=3)
    with pytest.raises(EMTransportError) as info:
        transport.request("GET", "query")
    assert len(sent) == 3 and "no answer within 3 seconds" in str(info.value) and "timeout" in info.value.hint


def test_unknown_wire_format():
    with pytest.raises(ValueError):
        _transport.Transport("https://em:9398/api/", wire_format="yaml")


def _verify_error(code, message):
    error = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: %s" % message)
    error.verify_code = code
    error.verify_message = message
    return error


def _wrapped(inner):
    """An ssl error as requests hands it over: SSLError(MaxRetryError(reason=SSLError(inner)))."""
    outer = requests.exceptions.SSLError(Exception("HTTPSConnectionPool: Max retries exceeded"))
    outer.__context__ = inner
    return outer


def _protocol_error(reason):
    error = ssl.SSLError(1, "[SSL: %s] %s" % (reason, reason.lower().replace("_", " ")))
    error.reason = reason
    return error


@pytest.mark.parametrize("inner,expected", [
    (_verify_error(10, "certificate has expired"), "certificate has expired"),
    (_verify_error(62, "Hostname mismatch, certificate is not valid for 'em'."), "host name mismatch"),
    (_verify_error(64, "IP address mismatch, certificate is not valid for '127.0.0.1'."), "host name mismatch"),
    (_verify_error(19, "self-signed certificate in certificate chain"), "unknown CA / self-signed - set ca_path"),
    (_verify_error(20, "unable to get local issuer certificate"), "unknown CA / self-signed - set ca_path"),
    (_verify_error(9, "certificate is not yet valid"), "not valid yet"),
    (_protocol_error("TLSV1_ALERT_PROTOCOL_VERSION"), "server only offers TLS 1.0/1.1, which the client refuses"),
    (_protocol_error("UNSUPPORTED_PROTOCOL"), "server only offers TLS 1.0/1.1, which the client refuses"),
])
def test_describe_tls_names_the_cause(inner, expected):
    assert expected in _transport.describe_tls(_wrapped(inner))


@pytest.mark.parametrize("text,expected", [
    ("certificate verify failed: certificate has expired", "certificate has expired"),
    ("certificate verify failed: Hostname mismatch, certificate is not valid", "host name mismatch"),
    ("certificate verify failed: self-signed certificate", "unknown CA"),
    ("[SSL: UNSUPPORTED_PROTOCOL] unsupported protocol", "TLS 1.0/1.1"),
    ("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: path length constraint exceeded", "not trusted"),
    ("[SSL: SSLV3_ALERT_HANDSHAKE_FAILURE] handshake failure", "the TLS handshake failed"),
])
def test_describe_tls_falls_back_to_the_text(text, expected):
    assert expected in _transport.describe_tls(requests.exceptions.SSLError(text))


def test_old_protocol_gets_its_own_hint(monkeypatch):
    transport, _sent = make(monkeypatch, [_wrapped(_protocol_error("TLSV1_ALERT_PROTOCOL_VERSION"))])
    with pytest.raises(EMTransportError) as info:
        transport.request("GET", "")
    assert "TLS 1.0/1.1" in str(info.value) and "enable TLS 1.2" in str(info.value)
    assert info.value.hint != _transport.TLS_HINT


@pytest.mark.parametrize("path", ["replicaSessions/..", "replicaSessions/../logonSessions", "./query",
                                  "replicaSessions/a%2Fb", "replicaSessions/a#b", "query?x=1#y", "a\\b",
                                  "replicaSessions/a\r\nX-Injected: 1", "replicaSessions/a b", "query?x=\n"])
def test_paths_that_could_steer_the_request_are_refused_before_sending(monkeypatch, path):
    transport, sent = make(monkeypatch, [FakeResponse()])
    with pytest.raises(EMQueryError) as info:
        transport.request("GET", path)
    assert not sent
    assert "refusing to request the path" in str(info.value)


@pytest.mark.parametrize("path", ["", "sessionMngr/?v=latest", "query", "logonSessions/sid-1",
                                  "replicaSessions/0b83da50-2fcf-4616-8a0a-5b1b3c0d2e4f", "backupServers/x/jobs"])
def test_em_paths_pass(path):
    assert _transport.check_path(path) == path


@pytest.mark.parametrize("validate_certs,ca_path,verify", [
    (True, None, True), (True, "/etc/em-ca.pem", "/etc/em-ca.pem"), (None, None, True), ("no", None, True),
    (False, None, False), (False, "/etc/em-ca.pem", False)])
def test_certificates_are_checked_unless_validate_certs_is_false(validate_certs, ca_path, verify):
    """Only an explicit False turns checks off; anything else, even an odd value, keeps them on."""
    assert _transport.requests_verify(validate_certs, ca_path) == verify


def test_a_default_transport_checks_certificates_with_urllib3s_own_connection():
    transport = _transport.Transport("https://em:9398/api/")
    pool = transport.session.get_adapter("https://em:9398/").poolmanager.connection_from_url("https://em:9398/")
    assert transport.verify is True
    assert pool.ConnectionCls is _transport.HTTPSConnection
    transport.close()


def test_validate_certs_false_leaves_the_process_warning_filters_alone():
    before = list(warnings.filters)
    quiet = _transport.Transport("https://em:9398/api/", validate_certs=False)
    checked = _transport.Transport("https://em:9398/api/")
    assert warnings.filters == before
    quiet_pool = quiet.session.get_adapter("https://em:9398/").poolmanager.connection_from_url("https://em:9398/")
    checked_pool = checked.session.get_adapter("https://em:9398/").poolmanager.connection_from_url("https://em:9398/")
    assert quiet_pool.ConnectionCls.__name__ == "_OptedOutHTTPSConnection"
    assert checked_pool.ConnectionCls.__name__ != "_OptedOutHTTPSConnection"
    connection = quiet_pool.ConnectionCls("em", 9398)
    connection.is_verified = False  # what urllib3 sets after an unchecked handshake
    assert connection.is_verified is True  # so urllib3 does not warn for this connection
    quiet.close()
    checked.close()


def test_requests_in_flight_never_exceed_the_pool(monkeypatch):
    """Threads beyond pool_size wait for a free slot (the inventory reads its sources side by side)."""
    import threading
    import time
    transport = _transport.Transport("https://em:9398/api/", pool_size=3,
                                     retry_policy=RetryPolicy(retries=1, sleep=lambda s: None))
    lock = threading.Lock()
    state = {"now": 0, "most": 0}

    def fake_send(prepared, **kwargs):
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        time.sleep(0.02)
        with lock:
            state["now"] -= 1
        return FakeResponse()
    monkeypatch.setattr(transport.session, "send", fake_send)
    threads = [threading.Thread(target=transport.request, args=("GET", "query")) for _index in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert state["most"] == 3


QUERY_VALUES = [
    "plain", "", 'CreationTime>="2026-12-07T14:35:59.668971Z";(State!="Stopped",Result=="Failed")',
    'VmDisplayName!="quote""vm"', "a b+c&d=e%f#g?h/i", u"caf\u00e9 \u65e5\u672c \U0001F600", "tab\tnew\nline\x00\x7f",
    "~unreserved_.-", 500, 0,
]


@pytest.mark.parametrize("value", QUERY_VALUES)
def test_query_string_is_what_urlencode_makes(value):
    params = {"type": "ReplicaTaskSession", "filter": value, "page": 2}
    assert _transport.query_string(params) == _transport.urlencode(params, doseq=True)
    assert _transport.query_string([("x y", value)]) == _transport.urlencode([("x y", value)], doseq=True)


@pytest.mark.parametrize("value", [["a", "b"], True, b"by\xfftes", None])
def test_query_string_leaves_other_values_to_urlencode(value):
    params = {"type": "X", "odd": value}
    assert _transport.query_string(params) == _transport.urlencode(params, doseq=True)


@pytest.mark.parametrize("path", ["query", "sessionMngr/?v=latest", "replicaSessions/x"])
@pytest.mark.parametrize("value", QUERY_VALUES)
def test_the_url_sent_is_the_one_requests_would_prepare(monkeypatch, path, value):
    """The query string is added after requests prepared the URL; the result must not differ from requests' own."""
    transport, sent = make(monkeypatch, [FakeResponse()])
    params = {"type": "ReplicaTaskSession", "filter": value}
    transport.request("GET", path, params=params)
    assert sent[0]["url"] == requests.Request("GET", "https://em:9398/api/" + path, params=params).prepare().url


def test_the_path_in_errors_is_made_only_when_asked(monkeypatch):
    calls = []
    monkeypatch.setattr(_transport, "safe_path", lambda url: calls.append(url) or "/shown")
    transport, _sent = make(monkeypatch, [FakeResponse()])
    response = transport.request("GET", "query", params={"filter": 'Name=="a"'})
    assert calls == []
    assert response.path == "/shown" and response.path == "/shown"
    assert calls == ['https://em:9398/api/query?filter=Name%3D%3D%22a%22']


@pytest.mark.parametrize("options,verify", [({}, "/etc/env-bundle.pem"), ({"ca_path": "/etc/em-ca.pem"}, "/etc/em-ca.pem"),
                                            ({"validate_certs": False}, False)])
def test_the_environment_bundle_applies_only_when_no_choice_was_made(monkeypatch, options, verify):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/env-bundle.pem")
    transport, sent = make(monkeypatch, [FakeResponse()], **options)
    transport.request("GET", "query")
    assert sent[0]["verify"] == verify


def test_a_proxy_from_the_environment_is_still_used(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    transport, sent = make(monkeypatch, [FakeResponse()])
    transport.request("GET", "query", params={"type": "X"})
    assert sent[0]["proxies"].get("https") == "http://proxy.example:3128"
