# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""One error hierarchy for everything the EM client can raise.

Every error carries the operation (HTTP method and API path), the HTTP status, the
message EM itself put in its Error document and a hint that says what to change.
Secrets never reach these objects: callers pass paths, never headers, and
:func:`safe_path` drops anything that looks like a credential from a query string.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from urllib.parse import urlsplit, parse_qsl, quote, urlencode

_SECRET_PARAM = re.compile(r"(pass|secret|token|session|auth|key)", re.IGNORECASE)

EM_PORT = 9398

ROLE_HINT = (
    "the EM account's role does not allow this request; give it the Portal Administrator or Portal "
    "User role (a Restore Operator may log on, but EM does not document that it may read every "
    "session) under Enterprise Manager > Configuration > Roles"
)
TLS_HINT = (
    "the server certificate could not be verified; pass the PEM bundle of the CA that signed EM's "
    "certificate in ca_path (VEEAM_EM_CA_PATH), or set validate_certs=false (VEEAM_EM_VALIDATE_CERTS) "
    "only on a trusted network"
)


def safe_path(url):
    """Return the path and query of *url* with credential-like query values masked.

    EM URLs carry no secrets today; this is a second line of defence so that an
    error text can always show where a request went.
    """
    if not url:
        return url
    parts = urlsplit(url)
    path = parts.path or "/"
    if not parts.query:
        return path
    pairs = []
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        pairs.append((name, "***" if _SECRET_PARAM.search(name) else value))
    return path + "?" + urlencode(pairs, safe="/:=;,()\"<>!*", quote_via=quote)


class EMError(Exception):
    """Base class: something went wrong talking to Enterprise Manager."""

    default_hint = None

    def __init__(self, message, method=None, path=None, status=None, em_message=None, hint=None):
        super(EMError, self).__init__(message)
        self.message = message
        self.method = method
        self.path = path
        self.status = status
        self.em_message = em_message
        self.hint = hint if hint is not None else self.default_hint

    def __str__(self):
        text = self.message
        where = " ".join(part for part in (self.method, self.path) if part)
        if where:
            text = "%s (%s)" % (text, where)
        if self.status is not None:
            text = "%s: HTTP %s" % (text, self.status)
        if self.em_message:
            text = "%s; Enterprise Manager says: %s" % (text, self.em_message)
        if self.hint:
            # EM's own messages usually end with a full stop already.
            text = "%s%s Hint: %s" % (text, "" if text.endswith(".") else ".", self.hint)
        return text

    def __repr__(self):
        return "%s(%r)" % (type(self).__name__, str(self))


class EMAuthenticationError(EMError):
    """Logon rejected (bad credentials) or the session could not be re-established."""

    default_hint = (
        "check username and password (VEEAM_EM_USERNAME / VEEAM_EM_PASSWORD); domain accounts are "
        "written DOMAIN\\user or user@domain"
    )


class EMPermissionError(EMError):
    """HTTP 403: the account is known but its EM role does not allow the request."""

    default_hint = ROLE_HINT


class EMNotFoundError(EMError):
    """HTTP 404: no such resource or id."""

    default_hint = "the id may be wrong or the session may be older than EM keeps session history"


class EMQueryError(EMError):
    """A query EM rejected (HTTP 400) or one that was rejected before it was sent."""

    default_hint = "check the filter field names and values against the resource type"


class EMTransportError(EMError):
    """The server could not be reached: connection refused, DNS, timeout, TLS."""


class EMProtocolError(EMError):
    """The server answered, but not like Enterprise Manager does."""

    default_hint = (
        "url must point at the Enterprise Manager REST API, usually https://<em-host>:%d (the Veeam "
        "Backup & Replication REST API on port 9419 is a different API)" % EM_PORT
    )


_STATUS_CLASSES = {
    400: EMQueryError,
    401: EMAuthenticationError,
    403: EMPermissionError,
    404: EMNotFoundError,
}


def error_for_status(status, method, path, em_message=None):
    """Build the right EMError for an HTTP error *status* answered to *method* *path*."""
    cls = _STATUS_CLASSES.get(status)
    if cls is None:
        if status == 429:
            return EMProtocolError("Enterprise Manager kept throttling the requests", method, path, status, em_message,
                                   hint="lower concurrency, raise retry_deadline, or run at a quieter time")
        if status >= 500:
            return EMProtocolError(
                "Enterprise Manager failed to answer the request", method, path, status, em_message,
                hint="a server-side error; retry later, and look at the EM server's logs if it persists",
            )
        return EMProtocolError("unexpected answer from Enterprise Manager", method, path, status, em_message)
    summaries = {
        400: "Enterprise Manager rejected the request",
        401: "Enterprise Manager did not accept the credentials",
        403: "Enterprise Manager denied access",
        404: "Enterprise Manager has no such resource",
    }
    return cls(summaries[status], method, path, status, em_message)


def to_fail_json_kwargs(exc):
    """Turn an exception into keyword arguments for ``module.fail_json``.

    Besides ``msg`` the result carries the structured fields so that a playbook can
    branch on ``status`` or ``error_type`` without parsing text.
    """
    if not isinstance(exc, EMError):
        return {"msg": "unexpected error talking to Enterprise Manager: %s" % (exc,), "error_type": type(exc).__name__}
    kwargs = {
        "msg": str(exc),
        "error_type": type(exc).__name__,
        "status": exc.status,
        "method": exc.method,
        "path": exc.path,
        "em_message": exc.em_message,
        "hint": exc.hint,
    }
    return kwargs
