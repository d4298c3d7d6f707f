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

``validate_certs=false`` silences urllib3's ``InsecureRequestWarning`` for this
transport's own connections only: the inventory plugin runs inside the controller
process, where a process-wide ``urllib3.disable_warnings()`` would also hide the
warning from every other plugin that talks HTTPS without checks.

Paths are checked before anything is sent: a path that could leave the API
(``..`` segments, ``%`` escapes, ``#``, back slashes, control characters) is refused.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import ssl
import threading
import traceback
from http.cookiejar import DefaultCookiePolicy
from urllib.parse import urlencode

from ansible_collections.opsbox.veeam_em.plugins.module_utils._errors import (
    EMProtocolError, EMQueryError, EMTransportError, EM_PORT, TLS_HINT, safe_path,
)
from ansible_collections.opsbox.veeam_em.plugins.module_utils._retry import RetryPolicy

try:
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.connection import HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
except ImportError:
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()
    HTTPAdapter = HTTPConnectionPool = HTTPSConnection = HTTPSConnectionPool = object
else:
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None

DEFAULT_TIMEOUT = 30
# A 500-record page is well under 1 MB; 64 MB leaves room for page_size 10000 of verbose XML
# while still stopping a runaway or hostile server long before it exhausts memory.
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024
MEDIA_TYPES = {"xml": "application/xml", "json": "application/json"}
_CHUNK = 256 * 1024
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~")
_SIZE_HINT = "lower page_size; if that does not help, check what answers at url"
# urlencode's quote_plus per byte value: the unreserved characters stay, a space becomes "+", the rest %XX
_QUERY_BYTES = dict((byte, chr(byte) if chr(byte) in _UNRESERVED else "+" if byte == 0x20 else "%%%02X" % byte)
                    for byte in range(256))
_TLS_OLD_PROTOCOL_HINT = ("enable TLS 1.2 on the Enterprise Manager server (IIS/SChannel); validate_certs and "
                          "ca_path do not change the protocol versions")


class Response:
    """What the layers above need from an HTTP answer; the body is already read."""

    def __init__(self, status, headers, body, method, path):
        self.status = status
        self.headers = headers
        self.body = body
        self.method = method
        self._path = path

    @property
    def path(self):
        """The path and query shown in errors; *path* may be a function that makes it, called once."""
        # The transport passes a function: masking a query URL of 10 kB (the inventory's UID lists) is
        # parsing and re-encoding it, wasted on every answer that is not an error.
        if callable(self._path):
            self._path = self._path()
        return self._path

    @property
    def content_type(self):
        return self.headers.get("Content-Type", "")

    def __repr__(self):
        return "Response(%s %s -> %s, %d bytes)" % (self.method, self.path, self.status, len(self.body))


class _TruncatedBody(Exception):
    """The connection closed before Content-Length bytes arrived (a transient failure)."""


def query_string(params):
    """The query string ``urlencode(params, doseq=True)`` makes for str and int values, by C's ``str.translate``.

    The inventory's filters list hundreds of UIDs: 450 kB of query per run, which urlencode's per-byte
    Python loop, then requests' re-quoting and urllib3's re-checking, walked at about 1 us a byte
    (a tenth of the inventory's time, benchmarks/NOTES.md session 10).  Any other value (a list, a
    bool, bytes) is left to urlencode itself.
    """
    pairs = params.items() if hasattr(params, "items") else params
    parts = []
    for name, value in pairs:
        if value.__class__ is int:
            value = str(value)
        if name.__class__ is not str or value.__class__ is not str:
            return urlencode(params, doseq=True)
        # UTF-8 bytes seen as Latin-1 text: one character per byte, for a 256-entry translation
        parts.append("%s=%s" % (name.encode("utf-8").decode("latin-1").translate(_QUERY_BYTES),
                                value.encode("utf-8").decode("latin-1").translate(_QUERY_BYTES)))
    return "&".join(parts)


def _with_query(url, query):
    """*url* with the ready *query* string added (after its own query, if it has one)."""
    if not query:
        return url
    return url + ("&" if "?" in url else "?") + query


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


# OpenSSL's X509_V_ERR_* verify codes, grouped by what the user has to do about them.
_EXPIRED_CODES = frozenset((10,))  # CERT_HAS_EXPIRED
_NOT_YET_VALID_CODES = frozenset((9,))  # CERT_NOT_YET_VALID
_HOST_MISMATCH_CODES = frozenset((62, 63, 64))  # HOSTNAME_MISMATCH, EMAIL_MISMATCH, IP_ADDRESS_MISMATCH
_UNKNOWN_CA_CODES = frozenset((2, 18, 19, 20, 21))  # issuer unknown, self-signed (in chain), local issuer, leaf only
_UNTRUSTED = "the server certificate is not trusted: "
TLS_EXPIRED = _UNTRUSTED + "certificate has expired"
TLS_NOT_YET_VALID = _UNTRUSTED + "certificate is not valid yet (check the clocks of EM and this host)"
TLS_HOST_MISMATCH = _UNTRUSTED + "host name mismatch (the certificate is not issued for the host in url)"
TLS_UNKNOWN_CA = _UNTRUSTED + "unknown CA / self-signed - set ca_path to the PEM bundle of the CA that signed it"
TLS_OLD_PROTOCOL = "server only offers TLS 1.0/1.1, which the client refuses (TLS 1.2 or later is required)"
_OLD_PROTOCOL_REASONS = ("UNSUPPORTED_PROTOCOL", "TLSV1_ALERT_PROTOCOL_VERSION", "WRONG_SSL_VERSION",
                         "NO_PROTOCOLS_AVAILABLE", "VERSION_TOO_LOW")


def _ssl_errors(exc):
    """Every :class:`ssl.SSLError` in the chain of *exc* (``args``, ``reason``, ``__cause__``, ``__context__``)."""
    seen, found, todo = set(), [], [exc]
    while todo:
        item = todo.pop(0)
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, ssl.SSLError):
            found.append(item)
        todo.extend(arg for arg in item.args if isinstance(arg, BaseException))
        todo.extend((getattr(item, "reason", None), item.__cause__, item.__context__))
    return found


def describe_tls(exc):
    """Say why a TLS connection failed, in the words the user needs (expired, host name, unknown CA, old TLS)."""
    for error in _ssl_errors(exc):
        code = getattr(error, "verify_code", None)
        if code in _EXPIRED_CODES:
            return TLS_EXPIRED
        if code in _NOT_YET_VALID_CODES:
            return TLS_NOT_YET_VALID
        if code in _HOST_MISMATCH_CODES:
            return TLS_HOST_MISMATCH
        if code in _UNKNOWN_CA_CODES:
            return TLS_UNKNOWN_CA
        if (getattr(error, "reason", None) or "") in _OLD_PROTOCOL_REASONS:
            return TLS_OLD_PROTOCOL
    text = str(exc).lower()
    if "certificate has expired" in text:
        return TLS_EXPIRED
    if "mismatch" in text and ("hostname" in text or "ip address" in text or "host name" in text):
        return TLS_HOST_MISMATCH
    if "self-signed" in text or "self signed" in text or "unable to get local issuer" in text:
        return TLS_UNKNOWN_CA
    if any(reason.lower() in text for reason in _OLD_PROTOCOL_REASONS) or "unsupported protocol" in text:
        return TLS_OLD_PROTOCOL
    if "certificate verify failed" in text:
        return _UNTRUSTED + "certificate verify failed"
    return "the TLS handshake failed"


def requests_verify(validate_certs=True, ca_path=None):
    """The ``verify`` argument for requests: certificates are checked unless the user opted out.

    ``True`` (the default: the system bundle, or ``REQUESTS_CA_BUNDLE``) or the ``ca_path``
    bundle; ``False`` only for an explicit ``validate_certs=false``, whatever ``ca_path`` says.
    """
    if validate_certs is False:
        return False
    return ca_path or True


class _OptedOutHTTPSConnection(HTTPSConnection):
    """Used only after the user set ``validate_certs=false``: keeps urllib3 from warning per request.

    This class does not switch verification off and is never used while checks are on (see
    ``_Adapter``): by then ``requests_verify`` has already told requests not to check.  urllib3
    warns when ``is_verified`` is false after connecting; here the user chose that on purpose
    (the option documents the risk), so the choice is reported as settled for these
    connections instead of silencing the warning for the whole process.
    """

    is_verified = property(lambda self: True, lambda self, value: None)


class _OptedOutHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _OptedOutHTTPSConnection


class _Adapter(HTTPAdapter):
    """The requests adapter; only with *quiet_unverified* (``validate_certs=false``) do its HTTPS pools use
    the opted-out connection class above; otherwise it is requests' own adapter, unchanged."""

    def __init__(self, quiet_unverified=False, **kwargs):
        self._quiet_unverified = quiet_unverified
        super(_Adapter, self).__init__(**kwargs)

    def _quiet(self, manager):
        # Only the plain pool classes are swapped; a SOCKS proxy manager keeps its own.
        if self._quiet_unverified and manager.pool_classes_by_scheme.get("https") is HTTPSConnectionPool:
            manager.pool_classes_by_scheme = {"http": HTTPConnectionPool, "https": _OptedOutHTTPSConnectionPool}
        return manager

    def init_poolmanager(self, *args, **kwargs):
        super(_Adapter, self).init_poolmanager(*args, **kwargs)
        self._quiet(self.poolmanager)

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        return self._quiet(super(_Adapter, self).proxy_manager_for(proxy, **proxy_kwargs))


_UNSAFE_PATH_CHARS = re.compile(r"[#%\\\x00-\x20\x7f]")


def check_path(path):
    """Refuse an API path that could point anywhere but where the caller meant; returns it unchanged.

    EM paths are plain segments (``replicaSessions/<guid>``) plus a query string.  ``..``
    segments would be resolved away by urllib3, ``%`` escapes (``%2F``) decoded by the
    server, ``#`` cut off as a fragment; none of them belongs in an EM path.
    """
    text = str(path)
    segment_part, _sep, query = text.partition("?")
    bad = _UNSAFE_PATH_CHARS.search(segment_part) or "#" in query or any(
        ord(char) < 0x20 or ord(char) == 0x7f for char in query)
    if bad or any(segment in (".", "..") for segment in segment_part.split("/")):
        raise EMQueryError("refusing to request the path %r: it contains characters or segments that could steer "
                           "the request away from the resource meant" % (text,),
                           hint="ids are GUIDs (8-4-4-4-12 hex digits) or UIDs urn:veeam:<Type>:<guid>")
    return text


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
        # Certificates are checked unless the user set validate_certs=false (see requests_verify).
        self.verify = requests_verify(validate_certs, ca_path)
        self.session = requests.Session()
        self.session.auth = _no_auth
        # The token travels in the X-RestSvcSessionId header only.  EM also sets it as a cookie and prefers
        # the cookie when both arrive, which would pin a stale token after a re-logon: keep no cookies.
        self.session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        # With validate_certs=false the user chose this explicitly (the option documents the risk): one warning
        # per request adds nothing, but the silence must stay within this transport's own connections.
        adapter = _Adapter(quiet_unverified=self.verify is False, pool_connections=1, pool_maxsize=max(1, pool_size),
                           max_retries=0)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        # At most pool_size requests on the wire at once, whoever sends them: readers that run side by side
        # (the inventory's sources) share the budget instead of adding to it, and the pool is never short
        # of a connection (an extra one would be opened, handshaken and thrown away).
        self._in_flight = threading.BoundedSemaphore(max(1, pool_size))

    def url(self, path):
        """Absolute URL of an API path relative to the base (``query``, ``sessionMngr/?v=latest``)."""
        return self.base_url + path.lstrip("/")

    def close(self):
        self.session.close()

    def _send(self, method, url, query, headers):
        """``Session.request`` with the query string already made: requests prepares the URL without it.

        requests would quote the ready query once more and urllib3 check it while parsing the URL, both
        per byte in Python; the string query_string makes is already in the form they would leave.
        urllib3 still checks the request target once before sending it.
        """
        prepared = self.session.prepare_request(requests.Request(method, url, headers=headers))
        settings = self.session.merge_environment_settings(prepared.url, {}, True, self.verify, None)
        prepared.url = _with_query(prepared.url, query)
        return self.session.send(prepared, timeout=self.timeout, allow_redirects=False, **settings)

    def _read(self, response, method, shown):
        declared = response.headers.get("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_response_bytes:
            response.close()
            raise EMProtocolError("the answer is %s bytes, more than the %d bytes allowed" % (declared, self.max_response_bytes),
                                  method, shown(), response.status_code, hint=_SIZE_HINT)
        chunks = []
        size = 0
        for chunk in response.iter_content(_CHUNK):
            size += len(chunk)
            if size > self.max_response_bytes:
                response.close()
                raise EMProtocolError("the answer is larger than the %d bytes allowed" % self.max_response_bytes,
                                      method, shown(), response.status_code, hint=_SIZE_HINT)
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
        url = self.url(check_path(path))
        query = query_string(params) if params else ""
        all_headers = {"Accept": self.accept}
        all_headers.update(headers or {})

        def shown():
            return safe_path(_with_query(url, query))

        def attempt():
            # held for one exchange only, never while a retry waits
            with self._in_flight:
                response = self._send(method, url, query, all_headers)
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
            reason = describe_tls(exc)
            raise EMTransportError("TLS connection to %s refused: %s" % (self.base_url, reason), method, shown(),
                                   hint=_TLS_OLD_PROTOCOL_HINT if reason == TLS_OLD_PROTOCOL else TLS_HINT)
        except requests.exceptions.Timeout:
            raise EMTransportError("no answer within %s seconds" % self.timeout, method, shown(),
                                   hint="raise timeout (VEEAM_EM_TIMEOUT) or check the network path to EM")
        except requests.exceptions.ConnectionError as exc:
            raise EMTransportError("cannot connect to %s (%s)" % (self.base_url, _reason(exc)), method, shown(),
                                   hint="check the host name and that EM's REST service listens on that port "
                                        "(Enterprise Manager uses %d); check HTTPS_PROXY/NO_PROXY if a proxy is in the way" % EM_PORT)
        except (requests.exceptions.ChunkedEncodingError, _TruncatedBody) as exc:
            raise EMTransportError("the connection broke while reading the answer (%s)" % (_reason(exc),), method, shown(),
                                   hint="a network or server problem; retry later")
        except requests.exceptions.RequestException as exc:
            raise EMTransportError("request failed (%s)" % (_reason(exc),), method, shown())


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
