# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The connection and tuning options every module shares, and the glue from options to client.

Documented by the ``opsbox.veeam_em.connection`` doc fragment; keep both in step.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import env_fallback, missing_required_lib

from ansible_collections.opsbox.veeam_em.plugins.module_utils import _codec, _transport
from ansible_collections.opsbox.veeam_em.plugins.module_utils._paging import DEFAULT_CONCURRENCY, DEFAULT_PAGE_SIZE
from ansible_collections.opsbox.veeam_em.plugins.module_utils._retry import DEFAULT_RETRIES, DEFAULT_RETRY_DEADLINE
from ansible_collections.opsbox.veeam_em.plugins.module_utils.client import DEFAULT_WIRE_FORMAT

CONNECTION_OPTIONS = ("url", "username", "password", "validate_certs", "ca_path", "timeout",
                      "retries", "retry_deadline", "page_size", "concurrency", "wire_format")


def connection_argument_spec():
    """A fresh argument spec with the connection and tuning options (merge it into a module's spec)."""
    return dict(
        url=dict(type="str", required=True, fallback=(env_fallback, ["VEEAM_EM_URL"])),
        username=dict(type="str", required=True, fallback=(env_fallback, ["VEEAM_EM_USERNAME"])),
        password=dict(type="str", required=True, no_log=True, fallback=(env_fallback, ["VEEAM_EM_PASSWORD"])),
        validate_certs=dict(type="bool", default=True, fallback=(env_fallback, ["VEEAM_EM_VALIDATE_CERTS"])),
        ca_path=dict(type="path", fallback=(env_fallback, ["VEEAM_EM_CA_PATH"])),
        timeout=dict(type="int", default=_transport.DEFAULT_TIMEOUT, fallback=(env_fallback, ["VEEAM_EM_TIMEOUT"])),
        retries=dict(type="int", default=DEFAULT_RETRIES),
        retry_deadline=dict(type="int", default=int(DEFAULT_RETRY_DEADLINE)),
        page_size=dict(type="int", default=DEFAULT_PAGE_SIZE),
        concurrency=dict(type="int", default=DEFAULT_CONCURRENCY),
        wire_format=dict(type="str", default=DEFAULT_WIRE_FORMAT, choices=["xml", "json"]),
    )


def client_kwargs(params):
    """Keyword arguments for :class:`EMClient` taken from validated module or plugin options."""
    return dict((name, params[name]) for name in CONNECTION_OPTIONS if params.get(name) is not None)


def missing_libraries(wire_format="xml"):
    """``[(library, traceback), ...]`` of third-party libraries the client needs but cannot import."""
    missing = []
    if not _transport.HAS_REQUESTS:
        missing.append(("requests", _transport.REQUESTS_IMPORT_ERROR))
    if wire_format == "xml" and not _codec.HAS_XMLTODICT:
        missing.append(("xmltodict", _codec.XMLTODICT_IMPORT_ERROR))
    return missing


def fail_on_missing_libraries(module):
    """Make *module* fail with ``missing_required_lib`` when requests or xmltodict is absent."""
    missing = missing_libraries(module.params.get("wire_format") or "xml")
    if missing:
        names = " and ".join(name for name, _trace in missing)
        module.fail_json(msg=missing_required_lib(names), exception=missing[0][1])
