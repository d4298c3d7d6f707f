# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Baseline 1, the serial pager.

Re-implements, in our own code, how the most careful public Enterprise Manager clients read task
sessions: the query service ``GET /api/query?type=<TaskSessionType>&format=Entities&pageSize=2000
&sortDesc=<creation time>``, then follow the ``Next`` link of ``PagingInfo`` one page at a time,
one request in flight, until there is none. No server-side filter is sent; every record is parsed
and the answer (newest task per VM, or the failed/warning tasks of the last 24 h) is reduced on
the client. Output: the answer as JSON, checked by the harness against the simulator's truth.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import NS, SORT_FIELDS, TYPES, parse_xml, run_cli, task_records  # noqa: E402 pylint: disable=import-error,wrong-import-position

PAGE_SIZE = 2000


def fetch(session, url, source, reducer):
    """Page serially through every task session of the source, newest first."""
    type_name = TYPES[source]
    next_url = "%s/api/query?type=%s&format=Entities&sortDesc=%s&pageSize=%d&page=1" % (
        url, type_name, SORT_FIELDS[source], PAGE_SIZE)
    while next_url:
        root = parse_xml(session.get(next_url))
        for record in task_records(root, type_name):
            reducer.add(source, record)
        next_url = None
        paging = root.find(NS + "PagingInfo")
        if paging is not None:
            for link in paging.iter(NS + "Link"):
                if link.get("Rel") == "Next":
                    next_url = link.get("Href")


if __name__ == "__main__":
    sys.exit(run_cli(__doc__.splitlines()[0], fetch))
