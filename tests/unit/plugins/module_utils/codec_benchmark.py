# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Records per second through codec + normalisation, XML vs JSON v12 vs JSON v13.

Not a test (pytest does not collect it).  Run from the collection root, with the
collection importable as ``ansible_collections.opsbox.veeam_em``::

    python tests/unit/plugins/module_utils/codec_benchmark.py [--dataset fleet] [--pages 10] [--page-size 1000]

It starts the simulator, downloads the same pages of ReplicaTaskSession and
BackupJobSession records in each format once, then times only decoding and
normalisation (no network), best of five runs.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import json
import os
import sys
import time

from ansible_collections.opsbox.veeam_em.plugins.module_utils import _codec, _records
from ansible_collections.opsbox.veeam_em.plugins.module_utils.client import EMClient

SIMULATOR_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "simulator"))
VARIANTS = (("xml", "v12"), ("json", "v12"), ("json", "v13"))


def download(sim, resource, wire_format, dialect, pages, page_size):
    sim.configure(dialect=dialect)
    bodies = []
    client = EMClient(sim.url, sim.username, sim.password, ca_path=sim.ca_path, wire_format=wire_format)
    with client:
        session = client._session  # pylint: disable=protected-access
        for number in range(1, pages + 1):
            params = {"type": resource, "format": "Entities", "sortDesc": "CreationTime",
                      "pageSize": str(page_size), "page": str(number)}
            response = session.request("GET", "query", params=params)
            bodies.append((response.body, response.content_type))
    return bodies


def decode_all(bodies, resource):
    count = 0
    for body, content_type in bodies:
        _root, doc = _codec.decode(body, content_type)
        for record in _codec.query_records(doc):
            _records.normalize(record, resource)
            count += 1
    return count


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="fleet")
    parser.add_argument("--pages", type=int, default=10)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    sys.path.insert(0, SIMULATOR_ROOT)
    from em_simulator.testing import start_simulator  # pylint: disable=import-error
    sim = start_simulator(dataset=args.dataset, tls=True, port=0, timeout=1800)
    results = []
    try:
        for resource in ("ReplicaTaskSession", "BackupJobSession"):
            for wire_format, dialect in VARIANTS:
                bodies = download(sim, resource, wire_format, dialect, args.pages, args.page_size)
                size = sum(len(body) for body, _ctype in bodies)
                best = None
                count = 0
                for dummy in range(args.repeat):
                    started = time.perf_counter()
                    count = decode_all(bodies, resource)
                    elapsed = time.perf_counter() - started
                    best = elapsed if best is None else min(best, elapsed)
                results.append({"resource": resource, "format": wire_format, "dialect": dialect, "records": count,
                                "bytes_per_record": size // max(1, count), "records_per_second": int(count / best)})
    finally:
        sim.stop()
    sys.stdout.write(json.dumps({"python": sys.version.split()[0], "dataset": args.dataset, "results": results}, indent=1) + "\n")


if __name__ == "__main__":
    main()
