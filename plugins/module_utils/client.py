# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The Enterprise Manager REST client every module and the inventory plugin use.

Usage::

    with EMClient(url, username, password, ca_path="/etc/pki/em.pem") as client:
        for fact in client.query("ReplicaTaskSession", {"Result": ["Warning", "Failed"]},
                                 sort="-CreationTime"):
            ...

The client only wires the private pieces together: transport (HTTP, TLS,
retries), session (logon lifecycle), query (filters), paging, codec and records.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.opsbox.veeam_em.plugins.module_utils import _codec, _records
from ansible_collections.opsbox.veeam_em.plugins.module_utils._errors import EMQueryError, EMProtocolError
from ansible_collections.opsbox.veeam_em.plugins.module_utils._paging import (
    DEFAULT_CONCURRENCY, DEFAULT_PAGE_SIZE, MAX_PAGES, iter_pages,
)
from ansible_collections.opsbox.veeam_em.plugins.module_utils._query import query_params, resource_type
from ansible_collections.opsbox.veeam_em.plugins.module_utils._retry import (
    DEFAULT_RETRIES, DEFAULT_RETRY_DEADLINE, RetryPolicy,
)
from ansible_collections.opsbox.veeam_em.plugins.module_utils._session import EMSession, normalize_base_url
from ansible_collections.opsbox.veeam_em.plugins.module_utils._transport import (
    DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT, Transport,
)

# Default wire format: XML.  Records per second through codec + normalisation, simulator "fleet" data set,
# 10 pages x 1000 records, best of 5 (tests/unit/plugins/module_utils/codec_benchmark.py):
#                          Python 3.11   Python 3.12
#   ReplicaTaskSession XML      10960         10420
#   ... JSON v12 / v13    23995/23716   19608/20542
#   BackupJobSession XML        10758          9761
#   ... JSON v12 / v13    23259/24027   22315/21053
# JSON is about twice as fast, but 1000 XML records still cost under 0.1 s of CPU, small next to EM's own
# time to answer a page.  XML wins on robustness: it is EM's default and schema-defined representation and
# did not change in v13, while v13 JSON changed key casing and its exact shapes (acronym keys, collection
# wrappers) are unconfirmed.  The JSON path handles both known dialects (tested); choose it for very large runs.
DEFAULT_WIRE_FORMAT = "xml"
MAX_PAGE_SIZE = 10000
MAX_CONCURRENCY = 32


def _check_range(name, value, low, high):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise EMQueryError("%s must be a number from %s to %s, not %r" % (name, low, high, value),
                           hint="fix the %s option" % name)


class EMClient:
    """A logged-on connection to one Enterprise Manager; use it as a context manager."""

    def __init__(self, url, username, password, validate_certs=True, ca_path=None, timeout=DEFAULT_TIMEOUT,
                 retries=DEFAULT_RETRIES, retry_deadline=DEFAULT_RETRY_DEADLINE, page_size=DEFAULT_PAGE_SIZE,
                 concurrency=DEFAULT_CONCURRENCY, wire_format=DEFAULT_WIRE_FORMAT,
                 max_response_bytes=DEFAULT_MAX_RESPONSE_BYTES, retry_policy=None):
        _check_range("timeout", timeout, 1, 3600)
        _check_range("retries", retries, 1, 100)
        _check_range("retry_deadline", retry_deadline, 0, 86400)
        _check_range("page_size", page_size, 1, MAX_PAGE_SIZE)
        _check_range("concurrency", concurrency, 1, MAX_CONCURRENCY)
        if wire_format not in ("xml", "json"):
            raise EMQueryError("wire_format must be xml or json, not %r" % (wire_format,), hint="fix the wire_format option")
        if not username or password is None:
            raise EMQueryError("username and password are required", hint="set them or VEEAM_EM_USERNAME / VEEAM_EM_PASSWORD")
        self.page_size = int(page_size)
        self.concurrency = int(concurrency)
        self.warnings = []
        policy = retry_policy or RetryPolicy(retries=int(retries), deadline=float(retry_deadline))
        self._transport = Transport(normalize_base_url(url), validate_certs=validate_certs, ca_path=ca_path,
                                    timeout=timeout, retry_policy=policy, wire_format=wire_format,
                                    max_response_bytes=max_response_bytes, pool_size=self.concurrency)
        self._session = EMSession(self._transport, username, password)

    def __repr__(self):
        return "EMClient(%r)" % (self._session,)

    @property
    def base_url(self):
        return self._transport.base_url

    # lifecycle -----------------------------------------------------------------------------------

    def open(self):
        """Probe ``GET /api/`` and log on.  On failure nothing stays open."""
        try:
            self._session.probe()
            self._session.logon()
        except BaseException:
            self._transport.close()
            raise
        return self

    def close(self):
        """Log off (best effort, never raises) and release the connections."""
        try:
            if self._session.logged_on and not self._session.logoff():
                self.warnings.append("could not confirm the logoff of the Enterprise Manager session; "
                                     "EM ends it after 15 minutes of idleness")
        finally:
            self._transport.close()

    def __enter__(self):
        return self.open()

    def __exit__(self, exc_type, exc, tb):
        self.close()
        return False

    # reading -------------------------------------------------------------------------------------

    def query_records(self, resource, predicates=None, raw_filter=None, sort=None, limit=None, concurrency=None):
        """Canonical records of ``GET /api/query`` across all pages (see :meth:`query`)."""
        resource = resource_type(resource)
        params = query_params(resource, predicates, raw_filter, sort)
        if limit is not None:
            _check_range("limit", limit, 0, 10 ** 9)
        if concurrency is not None:
            _check_range("concurrency", concurrency, 1, self.concurrency)
        page_size = self.page_size if limit is None else max(1, min(self.page_size, int(limit)))
        params["pageSize"] = str(page_size)

        def fetch(number):
            page_params = dict(params, page=str(number))
            _root, doc = self._session.get_document("query", params=page_params)
            return _codec.query_records(doc), _codec.paging_info(doc)

        return self._walk(fetch, resource, limit, self.concurrency if concurrency is None else int(concurrency))

    def _walk(self, fetch, resource, limit, concurrency):
        if limit == 0:
            return
        count = 0
        pages = iter_pages(fetch, concurrency, MAX_PAGES, describe="query type=%s" % resource.name)
        try:
            for records in pages:
                for record in records:
                    yield record
                    count += 1
                    if limit is not None and count >= limit:
                        return
        finally:
            pages.close()

    def query(self, resource, predicates=None, raw_filter=None, sort=None, limit=None, concurrency=None):
        """Facts of every record of *resource* matching the filter, in server order.

        *predicates*: ``{field: value or [values]}`` or ``[(field, op, value), ...]``;
        *raw_filter*: an EM filter expression ANDed in parentheses; *sort*:
        ``"-CreationTime"`` or ``("CreationTime", "desc")``; *limit*: stop after so
        many; *concurrency*: pages in flight for this query (at most the client's).
        Filter problems raise :class:`EMQueryError` here, before any request.
        Closing the returned generator stops the paging at once (see :func:`iter_pages`).
        """
        resource = resource_type(resource)
        records = self.query_records(resource, predicates, raw_filter, sort, limit, concurrency)
        return self._facts(records, resource.name)

    @staticmethod
    def _facts(records, type_name):
        try:
            for record in records:
                yield _records.normalize(record, type_name)
        finally:
            records.close()

    def children(self, resource, parent_uid, predicates=None, raw_filter=None, sort=None, limit=None):
        """Task sessions of one job session (or CDP task sessions of one CDP session).

        Done as one paged query on the documented parent field (``JobSessionUid``,
        ``PolicySessionUid``) rather than by following the parent's ``Down`` link:
        the link returns references only (one extra GET per task) and its path is
        misspelt (``repicaTaskSessions``) in EM's own examples.
        """
        resource = resource_type(resource)
        if not resource.parent_field:
            raise EMQueryError("%s has no parent session" % resource.name)
        if isinstance(predicates, dict):
            items = [(field, "==", value) for field, value in predicates.items()]
        else:
            items = list(predicates or ())
        items.append((resource.parent_field, "==", parent_uid))
        return self.query(resource, items, raw_filter, sort, limit)

    def get_by_id(self, resource, identifier):
        """Facts of one record by its id or UID (``GET /api/<collection>/{ID}?format=Entity``)."""
        resource = resource_type(resource)
        bare = _records.bare_id(str(identifier or "").strip())
        if not bare or "/" in bare or "?" in bare:
            raise EMQueryError("%r is not an id of %s" % (identifier, resource.name))
        _root, doc = self._session.get_document("%s/%s" % (resource.collection, bare), params={"format": "Entity"})
        if not doc:
            raise EMProtocolError("empty answer for %s %s" % (resource.name, bare))
        return _records.normalize(doc, resource.name)
