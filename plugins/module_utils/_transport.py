# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""HTTP(S) to Enterprise Manager: one pooled ``requests`` session, TLS, timeouts, size cap, retries.

The transport knows URLs, headers and bytes; it knows nothing about EM documents.

Certificates: ``verify`` is passed with every request.  requests replaces a
session-level ``verify=True`` with ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` from
the environment, but leaves an explicit per-request ``False`` or ``ca_path``
alone; so ``validate_certs=false`` really disables checks and ``ca_path`` really
wins, while the environment bundle still applies when neither is given.

Proxies: ``trust_env`` stays on, so ``HTTPS_PROXY``/``HTTP_PROXY``/``NO_PROXY``
(and lower-case forms) work as for any requests-based tool.  ``.netrc`` is not
consulted: a no-op session ``auth`` keeps requests from adding netrc credentials.

Redirects are not followed: EM does not redirect, and following one could carry
the session token to another host.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback
from http.cookiejar import DefaultCookiePolicy

from ansible_collections.opsbox.veeam_em.plugins.module_utils._errors import (
    EMProtocolError, EMTransportError, EM_PORT, TLS_HINT, safe_path,
)
from ansible_collections.opsbox.veeam_em.plugins.module_utils._retry import RetryPolicy

try:
    import requests
    import urllib3
    from requests.adapters import HTTPAdapter
except ImportError:
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None

DEFAULT_TIMEOUT = 30
# A 500-record page is well under 1 MB; 64 MB leaves room for page_size 10000 of verbose XML
# while still stopping a runaway or hostile server long before it exhausts memory.
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024
MEDIA_TYPES = {"xml": "application/xml", "json": "application/json"}
_CHUNK = 256 * 1024
_SIZE_HINT = "lower page_size; if that does not help, check what answers at url"


class Response:
    """What the layers above need from an HTTP answer; the body is already read."""

    def __init__(self, status, headers, body, method, path):
        self.status = status
        self.headers = headers
        self.body = body
        self.method = method
        self.path = path

    @property
    def content_type(self):
        return self.headers.get("Content-Type", "")

    def __repr__(self):
        return "Response(%s %s -> %s, %d bytes)" % (self.method, self.path, self.status, len(self.body))


class _TruncatedBody(Exception):
    """The connection closed before Content-Length bytes arrived (a transient failure)."""


def _no_auth(request):
    return request


def _is_transient(exc):
    if isinstance(exc, _TruncatedBody):
        return True
    if not HAS_REQUESTS:
        return False
    if isinstance(exc, requests.exceptions.SSLError):
        return False
    return isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.Timeout,
                            requests.exceptions.ChunkedEncodingError))


def _describe_tls(exc):
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
        return "the server certificate is not trusted"
    if "hostname" in text.lower() and "match" in text.lower():
        return "the server certificate does not match the host name in url"
    return "the TLS handshake failed"


class Transport:
    """Send requests to one EM base URL (``https://host:9398/api/``)."""

    def __init__(self, base_url, validate_certs=True, ca_path=None, timeout=DEFAULT_TIMEOUT, retry_policy=None,
                 wire_format="xml", max_response_bytes=DEFAULT_MAX_RESPONSE_BYTES, pool_size=4):
        if not HAS_REQUESTS:
            raise EMTransportError("the Python library requests is required", hint="install requests")
        if wire_format not in MEDIA_TYPES:
            raise ValueError("wire_format must be xml or json")
        self.base_url = base_url
        self.timeout = timeout
        self.wire_format = wire_format
        self.accept = MEDIA_TYPES[wire_format]
        self.max_response_bytes = max_response_bytes
        self.retry_policy = retry_policy or RetryPolicy()
        if not validate_certs:
            self.verify = False
            # The user chose this explicitly (the option documents the risk); one warning per request adds nothing.
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        elif ca_path:
            self.verify = ca_path
        else:
            self.verify = True
        self.session = requests.Session()
        self.session.auth = _no_auth
        # The token travels in the X-RestSvcSessionId header only.  EM also sets it as a cookie and prefers
        # the cookie when both arrive, which would pin a stale token after a re-logon: keep no cookies.
        self.session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=max(1, pool_size), max_retries=0)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)

    def url(self, path):
        """Absolute URL of an API path relative to the base (``query``, ``sessionMngr/?v=latest``)."""
        return self.base_url + path.lstrip("/")

    def close(self):
        self.session.close()

    def _read(self, response, method, path):
        declared = response.headers.get("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_response_bytes:
            response.close()
            raise EMProtocolError("the answer is %s bytes, more than the %d bytes allowed" % (declared, self.max_response_bytes),
                                  method, path, response.status_code, hint=_SIZE_HINT)
        chunks = []
        size = 0
        for chunk in response.iter_content(_CHUNK):
            size += len(chunk)
            if size > self.max_response_bytes:
                response.close()
                raise EMProtocolError("the answer is larger than the %d bytes allowed" % self.max_response_bytes,
                                      method, path, response.status_code, hint=_SIZE_HINT)
            chunks.append(chunk)
        body = b"".join(chunks)
        encoding = response.headers.get("Content-Encoding", "identity").lower()
        if declared is not None and declared.isdigit() and encoding in ("", "identity") and size < int(declared):
            raise _TruncatedBody("got %d of %s bytes" % (size, declared))
        return body

    def request(self, method, path, headers=None, params=None, retry=True):
        """Send one request (with retries for GET) and return a :class:`Response` of any status.

        HTTP error statuses are returned, not raised: the session layer maps them.
        Network failures raise :class:`EMTransportError` naming the method and path.
        """
        url = self.url(path)
        shown = safe_path(url if not params else requests.Request("GET", url, params=params).prepare().url)
        all_headers = {"Accept": self.accept}
        all_headers.update(headers or {})

        def attempt():
            response = self.session.request(method, url, params=params, headers=all_headers, timeout=self.timeout,
                                            verify=self.verify, allow_redirects=False, stream=True)
            try:
                body = self._read(response, method, shown)
            finally:
                response.close()
            return Response(response.status_code, response.headers, body, method, shown)

        try:
            if retry:
                return self.retry_policy.run(method, attempt, _is_transient)
            return attempt()
        except requests.exceptions.SSLError as exc:
            raise EMTransportError("%s connecting to %s" % (_describe_tls(exc), self.base_url), method, shown, hint=TLS_HINT)
        except requests.exceptions.Timeout:
            raise EMTransportError("no answer within %s seconds" % self.timeout, method, shown,
                                   hint="raise timeout (VEEAM_EM_TIMEOUT) or check the network path to EM")
        except requests.exceptions.ConnectionError as exc:
            raise EMTransportError("cannot connect to %s (%s)" % (self.base_url, _reason(exc)), method, shown,
                                   hint="check the host name and that EM's REST service listens on that port "
                                        "(Enterprise Manager uses %d); check HTTPS_PROXY/NO_PROXY if a proxy is in the way" % EM_PORT)
        except (requests.exceptions.ChunkedEncodingError, _TruncatedBody) as exc:
            raise EMTransportError("the connection broke while reading the answer (%s)" % (_reason(exc),), method, shown,
                                   hint="a network or server problem; retry later")
        except requests.exceptions.RequestException as exc:
            raise EMTransportError("request failed (%s)" % (_reason(exc),), method, shown)


def _reason(exc):
    """A short, secret-free reason: the innermost exception's class and message, without URLs' queries."""
    inner = exc
    while inner.args and isinstance(inner.args[0], Exception):
        inner = inner.args[0]
    reason = getattr(inner, "reason", None)
    if isinstance(reason, Exception):
        inner = reason
    text = str(inner)
    return "%s: %s" % (type(inner).__name__, text) if text else type(inner).__name__
