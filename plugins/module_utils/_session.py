# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""EM logon sessions: make sure the URL is EM, log on, re-log on once on 401, log off.

The token is copied from the ``X-RestSvcSessionId`` response header of the logon
(never derived from the SessionId); the SessionId from the logon body is what
``DELETE /api/logonSessions/{SessionId}`` needs.  Neither the token nor the
password is ever put into an exception, a log line or ``repr()``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import threading
from urllib.parse import urlsplit, urlunsplit

from ansible_collections.opsbox.veeam_em.plugins.module_utils import _codec
from ansible_collections.opsbox.veeam_em.plugins.module_utils._errors import (
    EMAuthenticationError, EMError, EMProtocolError, EM_PORT, error_for_status,
)

LOGON_PATH = "sessionMngr/?v=latest"
TOKEN_HEADER = "X-RestSvcSessionId"
VBR_PORT = 9419
# Fresh tokens one request may try while each earlier one served other requests before it expired.
# With many pages in flight over a short-lived session a request can lose several rounds in a
# row (seen with 8 pages in flight and 5 requests per token: four rounds were not enough).
_MAX_AUTH_ROUNDS = 16
_WAIT_FOR_PEERS = 600


def normalize_base_url(url):
    """``https://em:9398``, ``https://em:9398/api`` and ``.../api/`` all become ``https://em:9398/api/``.

    A URL without a scheme gets ``https://``; anything after ``/api/`` (such as the
    ``/api/v1`` of the Veeam B&R REST API) is cut so that the probe can say what it found.
    """
    text = str(url or "").strip()
    if not text:
        raise EMProtocolError("url is empty", hint="set url (VEEAM_EM_URL), e.g. https://em.example.com:%d" % EM_PORT)
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    if "@" in parts.netloc:
        # Never echo such a url: Ansible does not hide the url option, and the text before "@" is a secret.
        raise EMProtocolError("url carries a user name or password before the host name; they are not used and "
                              "not shown", hint="remove them from url and set username and password "
                                                "(VEEAM_EM_USERNAME / VEEAM_EM_PASSWORD)")
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise EMProtocolError("url %r is not an http(s) URL" % (text,), hint="use https://<em-host>:%d" % EM_PORT)
    path = parts.path.rstrip("/")
    lowered = path.lower()
    if lowered.endswith("/api"):
        path = path[:-4]
    elif "/api/" in lowered:
        path = path[:lowered.index("/api/")]
    return urlunsplit((parts.scheme.lower(), parts.netloc, path + "/api/", "", ""))


def _control_character(text):
    """The first control character (C0, DEL, C1) in *text*, or None."""
    for char in str(text):
        code = ord(char)
        if code < 0x20 or 0x7f <= code < 0xa0:
            return char
    return None


def check_credentials(username, password):
    """Refuse credentials with control characters (CR, LF, NUL, tab, ...) before anything is sent.

    They are base64-encoded into the Authorization header, so they could not inject a header;
    but no EM account name or password contains them, and such a value is almost always a
    pasting or templating accident (a trailing newline from a file lookup).  The password
    itself is never shown.
    """
    char = _control_character(username)
    if char is not None:
        raise EMAuthenticationError("the username %r contains the control character %r" % (username, char),
                                    hint="remove line breaks and other control characters from username "
                                         "(VEEAM_EM_USERNAME), e.g. a trailing newline from a file")
    char = _control_character(password)
    if char is not None:
        raise EMAuthenticationError("the password contains a control character (code %d)" % ord(char),
                                    hint="remove line breaks and other control characters from password "
                                         "(VEEAM_EM_PASSWORD), e.g. a trailing newline from a file")


def basic_authorization(username, password):
    """``Basic base64(user:password)`` with UTF-8 bytes (requests would use latin-1)."""
    raw = u"%s:%s" % (username, password)
    return "Basic " + base64.b64encode(raw.encode("utf-8")).decode("ascii")


def _port(base_url):
    parts = urlsplit(base_url)
    try:
        return parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None


def describe_non_em(response, base_url):
    """A sentence saying what answered at ``GET /api/`` instead of Enterprise Manager."""
    headers = response.headers
    kind = _codec.sniff_format(response.body, response.content_type)
    bearer = "bearer" in headers.get("WWW-Authenticate", "").lower()
    text_head = response.body[:2048].decode("utf-8", "replace").lower()
    vbr_markers = ("x-api-version", "oauth2", "/api/v1", "errorcode")
    if bearer or _port(base_url) == VBR_PORT or any(marker in text_head for marker in vbr_markers):
        return ("the URL answers like the Veeam Backup & Replication REST API (port %d, /api/v1, OAuth2 bearer tokens), "
                "not the Enterprise Manager REST API" % VBR_PORT)
    if kind == "html":
        return "the URL answers with an HTML web page, not the Enterprise Manager REST API"
    return "the URL answered HTTP %s with %s, not Enterprise Manager's entry document" % (
        response.status, "an empty body" if not response.body else "a %s document" % (kind or "non-XML, non-JSON"))


def _logon_session_id(response):
    """The SessionId to log off with: from the LogonSession body, else its Delete link, else ``Location``."""
    try:
        _root, doc = _codec.decode(response.body, response.content_type)
    except EMProtocolError:
        doc = {}
    session_id = doc.get("SessionId")
    if isinstance(session_id, str) and session_id.strip():
        return session_id.strip()
    hrefs = [link.get("Href") for link in doc.get("Links") or () if (link.get("Rel") or "").lower() == "delete"]
    hrefs.append(response.headers.get("Location"))
    for href in hrefs:
        if href and "/logonsessions/" in href.lower():
            return _codec.href_id(href)
    return None


class EMSession:
    """One EM logon session over a :class:`Transport`.

    Thread-safe: concurrent requests that meet a 401 together cause one re-logon.
    """

    def __init__(self, transport, username, password):
        check_credentials(username, password)
        self._transport = transport
        self._username = username
        self._password = password
        self._lock = threading.Lock()
        self._token = None
        self._session_id = None
        self._generation = 0
        self._in_flight = {}  # token generation -> requests under way with it
        self._in_flight_done = threading.Condition(self._lock)
        self._worked = set()  # token generations that got at least one non-401 answer
        self.logons = 0

    def __repr__(self):
        return "EMSession(url=%r, username=%r, logged_on=%r)" % (self._transport.base_url, self._username, self.logged_on)

    @property
    def logged_on(self):
        return self._token is not None

    @staticmethod
    def _error_for(response):
        return error_for_status(response.status, response.method, response.path,
                                _codec.error_message(response.body, response.content_type))

    def _raise_for(self, response):
        raise self._error_for(response)

    def _decode(self, response):
        try:
            return _codec.decode(response.body, response.content_type)
        except EMProtocolError as exc:
            exc.method, exc.path, exc.status = response.method, response.path, response.status
            raise

    def probe(self):
        """Check that the base URL is Enterprise Manager's REST API (``GET /api/``, no auth)."""
        response = self._transport.request("GET", "")
        base = self._transport.base_url
        if response.status == 200:
            kind = _codec.sniff_format(response.body, response.content_type)
            if kind in ("xml", "json"):
                try:
                    root, doc = _codec.decode(response.body, response.content_type)
                except EMProtocolError:
                    root, doc = None, {}
                if _codec.is_entry_document(root, doc):
                    return
        if response.status == 429 or response.status >= 500:
            # Still unavailable after the retries: say so, rather than send the operator looking
            # for a wrong port because a busy EM answered its entry point with an error.
            raise self._error_for(response)
        raise EMProtocolError("%s is not an Enterprise Manager REST API: %s" % (base, describe_non_em(response, base)),
                              response.method, response.path, response.status,
                              hint="Enterprise Manager's REST API is https://<em-host>:%d/api/" % EM_PORT)

    def _logon_locked(self):
        headers = {"Authorization": basic_authorization(self._username, self._password), "Content-Length": "0"}
        response = self._transport.request("POST", LOGON_PATH, headers=headers, retry=False)
        if response.status == 401:
            raise EMAuthenticationError(
                "Enterprise Manager rejected the logon of user %r" % (self._username,), response.method, response.path,
                response.status, _codec.error_message(response.body, response.content_type))
        if response.status not in (200, 201):
            self._raise_for(response)
        token = response.headers.get(TOKEN_HEADER)
        if not token:
            raise EMProtocolError("the logon answer has no %s header" % TOKEN_HEADER, response.method, response.path,
                                  response.status)
        self._token = token  # from here on the session exists on EM: keep what logging off needs
        self._session_id = _logon_session_id(response)
        self._generation += 1
        self.logons += 1

    def logon(self):
        """Create the logon session (``POST /api/sessionMngr/?v=latest``); never retried."""
        with self._lock:
            self._logon_locked()

    def _delete_session(self, session_id, token):
        """One best-effort ``DELETE /api/logonSessions/{id}``, retried like a read; True when EM confirmed it.

        A logoff lost to one 503 or one connection reset would leave the session open on EM
        until its idle timeout; a repeated DELETE of a session already gone is harmless (404).
        """
        if not session_id or not token:
            return False
        try:
            response = self._transport.request("DELETE", "logonSessions/%s" % session_id,
                                               headers={TOKEN_HEADER: token})
        except EMError:
            return False
        return response.status in (200, 202, 204)

    def logoff(self):
        """End the logon session; returns False when EM could not confirm it.  Never raises."""
        with self._lock:
            session_id, token = self._session_id, self._token
            self._session_id = self._token = None
        return self._delete_session(session_id, token)

    def _relogon(self, generation):
        with self._lock:
            if self._generation != generation or self._token is None:
                return  # another thread already logged on anew (or we were logged off)
            old_id = self._session_id
            self._logon_locked()
            token = self._token
        # The old session was refused; should EM still list it, do not leave it behind.
        if old_id != self._session_id:
            self._delete_session(old_id, token)

    def request(self, method, path, params=None):
        """An authenticated request; errors raise.

        A 401 means the session expired: log on anew (once for all threads that
        saw it) and retry.  A 401 on the retry is final when the new token served
        no request at all (EM refuses fresh sessions; logging on again would
        loop).  When the new token did serve requests and then expired while this
        request waited -- several pages in flight over a short-lived session -- that
        is a new expiry and allows another round, at most ``_MAX_AUTH_ROUNDS``;
        running out of rounds has its own message, as its cause is another one.
        """
        for attempt in range(1, _MAX_AUTH_ROUNDS + 1):
            with self._lock:
                token, generation = self._token, self._generation
                if token is None:
                    raise EMAuthenticationError("not logged on to Enterprise Manager", method, path)
                self._in_flight[generation] = self._in_flight.get(generation, 0) + 1
            response = None
            try:
                response = self._transport.request(method, path, headers={TOKEN_HEADER: token}, params=params)
            finally:
                token_worked = self._finish(generation, response, wait=attempt > 1)
            if response.status != 401:
                if response.status >= 300:
                    self._raise_for(response)
                return response
            if attempt > 1 and not token_worked:
                raise EMAuthenticationError("Enterprise Manager refused the session again right after a new logon",
                                            response.method, response.path, response.status,
                                            _codec.error_message(response.body, response.content_type),
                                            hint="the account may have lost its EM role, or EM ends sessions at once")
            if attempt == _MAX_AUTH_ROUNDS:
                break  # no logon that this request would not use
            self._relogon(generation)
        raise EMAuthenticationError(
            "Enterprise Manager ended %d new sessions in a row before this request was answered; each served other "
            "requests and expired first" % (_MAX_AUTH_ROUNDS - 1), response.method, response.path, response.status,
            _codec.error_message(response.body, response.content_type),
            hint="EM ends sessions after very few requests or very quickly; lower concurrency, or check EM's "
                 "session timeout and session limits")

    def _finish(self, generation, response, wait):
        """Account for one finished request; tell whether the token of *generation* ever worked.

        With *wait*, first let every other request on that token finish, so that the
        answer does not depend on which of the parallel requests returned first.
        """
        with self._in_flight_done:
            left = self._in_flight[generation] - 1
            if left:
                self._in_flight[generation] = left
            else:
                del self._in_flight[generation]
            if response is not None and response.status != 401:
                self._worked.add(generation)
            self._in_flight_done.notify_all()
            if wait:
                self._in_flight_done.wait_for(lambda: generation not in self._in_flight, timeout=_WAIT_FOR_PEERS)
            return generation in self._worked

    def get_document(self, path, params=None):
        """``GET`` an API path and decode it: ``(root name or None, canonical dict)``.

        Answers of the query service and single entities are checked for EM's shape here, so a
        malformed answer fails with the request it answered rather than read as no records.
        """
        response = self.request("GET", path, params=params)
        root, doc = self._decode(response)
        try:
            if path.split("?", 1)[0].strip("/").lower() == "query":
                _codec.check_query_result(doc)
            elif (params or {}).get("format") == "Entity" and doc:
                _codec.check_record(doc, "the entity")
        except EMProtocolError as exc:
            exc.method, exc.path, exc.status = response.method, response.path, response.status
            raise
        return root, doc
