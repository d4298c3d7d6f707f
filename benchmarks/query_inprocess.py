# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Child process of the harness for the concurrency run: one paged query through the collection's client.

Imports ``EMClient`` from the tree on ``PYTHONPATH``, logs on (not timed), then times one
``client.query(...)`` walked to the end - the paged transfer whose speed depends on the number
of pages in flight - and logs off. ``--concurrency`` omitted means the client's default, read
from the tree. Writes ``{"seconds", "uids", "concurrency", "page_size"}`` as JSON to ``--output``.
"""

import argparse
import json
import sys
import time

from ansible_collections.opsbox.veeam_em.plugins.module_utils.client import EMClient  # pylint: disable=import-error


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--ca-path", required=True)
    parser.add_argument("--resource", required=True)
    parser.add_argument("--filter", required=True, help="raw EM filter expression")
    parser.add_argument("--sort", default="-CreationTime")
    parser.add_argument("--page-size", type=int, required=True)
    parser.add_argument("--concurrency", type=int, help="pages in flight (default: the client's default)")
    parser.add_argument("--output", required=True)
    args = parser.parse_args()
    options = {"ca_path": args.ca_path, "page_size": args.page_size}
    if args.concurrency:
        options["concurrency"] = args.concurrency
    with EMClient(args.url, args.username, args.password, **options) as client:
        started = time.monotonic()
        uids = [fact["uid"] for fact in client.query(args.resource, raw_filter=args.filter, sort=args.sort)]
        seconds = time.monotonic() - started
        concurrency = client.concurrency
    with open(args.output, "w") as handle:
        json.dump({"seconds": seconds, "uids": uids, "concurrency": concurrency, "page_size": args.page_size}, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main())
