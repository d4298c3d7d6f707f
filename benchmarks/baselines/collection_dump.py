# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Baseline 2, the collection dump.

Re-implements, in our own code, the approach of the widely used Enterprise Manager dashboard
script: one ``GET /api/<taskSessionCollection>?format=Entity`` that returns the whole 30-day
session collection as entities in a single response, then filtering and reduction on the client
(newest task per VM, or the failed/warning tasks of the last 24 h). Output: the answer as JSON,
checked by the harness against the simulator's truth.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import COLLECTIONS, TYPES, parse_xml, run_cli, task_records  # noqa: E402 pylint: disable=import-error,wrong-import-position


def fetch(session, url, source, reducer):
    """Download the whole collection in one request and reduce it."""
    root = parse_xml(session.get("%s/api/%s?format=Entity" % (url, COLLECTIONS[source])))
    for record in task_records(root, TYPES[source]):
        reducer.add(source, record)


if __name__ == "__main__":
    sys.exit(run_cli(__doc__.splitlines()[0], fetch))
