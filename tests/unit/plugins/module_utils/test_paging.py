# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading
import time

import pytest

from ansible_collections.opsbox.veeam_em.plugins.module_utils._errors import EMProtocolError
from ansible_collections.opsbox.veeam_em.plugins.module_utils._paging import iter_pages


def server(total_records, page_size, delay=0.0, tamper=None):
    """A fetch_page over records r0..rN; *tamper(number, records, info)* may change an answer."""
    uids = ["urn:veeam:X:%d" % i for i in range(total_records)]
    pages = max(1, -(-total_records // page_size)) if total_records else 0
    calls = []

    def fetch(number):
        calls.append(number)
        if delay:
            time.sleep(delay)
        chunk = uids[(number - 1) * page_size:number * page_size]
        records = [{"UID": uid} for uid in chunk]
        info = {"PageNum": number, "PageSize": page_size, "PagesCount": pages}
        if tamper:
            records, info = tamper(number, records, info)
        return records, info
    return fetch, uids, calls


def flatten(pages):
    return [record["UID"] for page in pages for record in page]


@pytest.mark.parametrize("total,size", [(0, 5), (1, 1), (7, 1), (20, 7), (21, 7), (1000, 1000), (1001, 1000)])
@pytest.mark.parametrize("concurrency", [1, 2, 8])
def test_all_records_in_order(total, size, concurrency):
    fetch, uids, calls = server(total, size)
    assert flatten(iter_pages(fetch, concurrency)) == uids
    assert sorted(calls) == list(range(1, max(1, len(calls)) + 1))


def test_pages_are_fetched_concurrently_but_bounded():
    active = []
    peak = []
    lock = threading.Lock()
    inner, uids, _calls = server(40, 2)

    def fetch(number):
        with lock:
            active.append(number)
            peak.append(len(active))
        time.sleep(0.01)
        try:
            return inner(number)
        finally:
            with lock:
                active.remove(number)
    assert flatten(iter_pages(fetch, 4)) == uids
    assert max(peak) == 4


def test_closing_early_stops_fetching():
    fetch, _uids, calls = server(100, 1, delay=0.005)
    pages = iter_pages(fetch, 4)
    next(pages)
    next(pages)
    pages.close()
    seen = len(calls)
    time.sleep(0.05)
    assert len(calls) == seen <= 2 + 4 + 1


@pytest.mark.parametrize("read", [1, 2, 5])
def test_closing_a_serial_walk_fetches_nothing_ahead(read):
    """With concurrency 1 (how the inventory reads requests it may stop) only the pages consumed are fetched."""
    fetch, _uids, calls = server(100, 1)
    pages = iter_pages(fetch, 1)
    for dummy in range(read):
        next(pages)
    pages.close()
    assert calls == list(range(1, read + 1))


def test_no_paging_info_is_a_single_page():
    assert flatten(iter_pages(lambda number: ([{"UID": "a"}], None), 4)) == ["a"]


def _expect(tamper, match, total=10, size=2, concurrency=1):
    fetch, _uids, _calls = server(total, size, tamper=tamper)
    with pytest.raises(EMProtocolError, match=match):
        list(iter_pages(fetch, concurrency))


@pytest.mark.parametrize("concurrency", [1, 4])
def test_empty_page_before_the_last(concurrency):
    _expect(lambda n, r, i: ([] if n == 3 else r, i), "page 3 of 5 is empty", concurrency=concurrency)


@pytest.mark.parametrize("concurrency", [1, 4])
def test_repeated_page_when_server_ignores_page_parameter(concurrency):
    fetch, _uids, _calls = server(10, 2)

    def ignoring(number):
        records, info = fetch(1)
        return records, dict(info, PageNum=None)
    with pytest.raises(EMProtocolError, match="repeats page 1"):
        list(iter_pages(ignoring, concurrency))


def test_page_number_mismatch():
    _expect(lambda n, r, i: (r, dict(i, PageNum=1)), "asked for page 2, got page 1")


def test_absurd_page_count():
    _expect(lambda n, r, i: (r, dict(i, PagesCount=10 ** 9)), "absurd PagesCount")
    _expect(lambda n, r, i: (r, dict(i, PagesCount=-1)), "absurd PagesCount")


def test_missing_page_count():
    _expect(lambda n, r, i: (r, dict(i, PagesCount=None)), "no PagesCount")


def test_shrinking_page_count_loses_data():
    _expect(lambda n, r, i: (r, dict(i, PagesCount=4 if n > 1 else 5)), "went down from 5 to 4")


def test_records_on_page_one_with_zero_pages():
    _expect(lambda n, r, i: (r, dict(i, PagesCount=0)), "PagesCount is 0")


def test_growing_result_walks_the_new_pages_and_drops_boundary_duplicates():
    # Two records are inserted at the front after page 1 was served (sortDesc by time):
    # later pages shift by two, the walk extends to the new last page and drops the repeats.
    base = ["r%d" % i for i in range(10)]
    grown = ["new1", "new2"] + base

    def fetch(number):
        data = base if number == 1 else grown
        pages = -(-len(data) // 4)
        chunk = data[(number - 1) * 4:number * 4]
        return [{"UID": uid} for uid in chunk], {"PageNum": number, "PageSize": 4, "PagesCount": pages}
    got = flatten(iter_pages(fetch, 1))
    assert got == base


def test_worker_errors_surface_in_the_caller():
    fetch, _uids, _calls = server(10, 2)

    def failing(number):
        if number == 4:
            raise EMProtocolError("boom")
        return fetch(number)
    with pytest.raises(EMProtocolError, match="boom"):
        list(iter_pages(failing, 3))
