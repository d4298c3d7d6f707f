# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.opsbox.veeam_em.plugins.module_utils._errors import (
    EMAuthenticationError, EMError, EMNotFoundError, EMPermissionError, EMProtocolError, EMQueryError,
    EMTransportError, error_for_status, safe_path, to_fail_json_kwargs,
)


@pytest.mark.parametrize("status,cls", [(400, EMQueryError), (401, EMAuthenticationError), (403, EMPermissionError),
                                        (404, EMNotFoundError), (500, EMProtocolError), (418, EMProtocolError),
                                        (429, EMProtocolError), (302, EMProtocolError)])
def test_status_classes(status, cls):
    exc = error_for_status(status, "GET", "/api/query?type=X", "EM says no")
    assert isinstance(exc, cls) and isinstance(exc, EMError)
    text = str(exc)
    for part in ("GET", "/api/query?type=X", "HTTP %d" % status, "EM says no", "Hint:"):
        assert part in text


def test_throttling_has_its_own_hint():
    text = str(error_for_status(429, "GET", "/api/query", None))
    assert "throttling" in text and "concurrency" in text


def test_permission_hint_names_the_roles():
    text = str(error_for_status(403, "GET", "/api/query", "Access denied"))
    for role in ("Portal Administrator", "Portal User"):
        assert role in text


def test_transport_error_has_no_default_hint_but_takes_one():
    assert EMTransportError("x").hint is None
    assert "ca_path" in str(EMTransportError("x", hint="use ca_path"))


def test_safe_path_masks_secret_like_parameters_and_drops_host():
    shown = safe_path("https://user:pw@em:9398/api/query?type=A&filter=Name%3D%3D%22a%22&sessionToken=abc&password=p")
    assert shown.startswith("/api/query?type=A&filter=Name==\"a\"")
    assert "abc" not in shown and "pw" not in shown and "em:9398" not in shown
    assert "sessionToken=***" in shown and "password=***" in shown
    assert safe_path("https://em:9398/api/") == "/api/"


def test_fail_json_kwargs():
    exc = error_for_status(404, "GET", "/api/replicaSessions/x", "not found")
    kwargs = to_fail_json_kwargs(exc)
    assert kwargs["msg"] == str(exc)
    assert kwargs["status"] == 404 and kwargs["method"] == "GET" and kwargs["path"] == "/api/replicaSessions/x"
    assert kwargs["em_message"] == "not found" and kwargs["error_type"] == "EMNotFoundError" and kwargs["hint"]
    assert to_fail_json_kwargs(ValueError("odd"))["msg"].endswith("odd")


def test_repr_is_the_message():
    assert "HTTP 401" in repr(error_for_status(401, "POST", "/api/sessionMngr/?v=latest"))
