# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Transport without a network: what goes into every request, and how bodies are read."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
import requests

from ansible_collections.opsbox.veeam_em.plugins.module_utils import _transport
from ansible_collections.opsbox.veeam_em.plugins.module_utils._errors import EMProtocolError, EMTransportError
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

    def fake_request(method, url, **kwargs):
        sent.append(dict(kwargs, method=method, url=url))
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer
    monkeypatch.setattr(transport.session, "request", fake_request)
    return transport, sent


@pytest.mark.parametrize("options,verify", [({}, True), ({"ca_path": "/etc/em-ca.pem"}, "/etc/em-ca.pem"),
                                            ({"validate_certs": False, "ca_path": "/etc/em-ca.pem"}, False)])
def test_every_request_carries_verify_timeout_and_one_media_type(monkeypatch, options, verify):
    transport, sent = make(monkeypatch, [FakeResponse()], timeout=12, wire_format="json", **options)
    response = transport.request("GET", "query", params={"type": "X"})
    assert response.status == 200 and response.body == b"<x/>"
    call = sent[0]
    assert call["verify"] == verify
    assert call["timeout"] == 12
    assert call["allow_redirects"] is False
    assert call["headers"]["Accept"] == "application/json"
    assert call["url"] == "https://em:9398/api/query"
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
