# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Child process of the harness: client CPU of the codec plus normalisation against a bare parse.

Downloads ``--pages`` query pages of ``ReplicaTaskSession`` entities (``--page-size`` records,
newest first) from the simulator once as XML and once as JSON, keeps the bytes in memory, then
times, best of ``--repeat``, in CPU seconds of this process (``time.process_time``):

* bare: ``xmltodict.parse(body)`` / ``json.loads(body)`` with default arguments;
* ours: what the collection's client does with the same bytes - ``_codec.decode`` (safe XML
  parsing, canonical keys), ``_codec.query_records`` and ``_records.normalize`` of every record,
  imported from the tree on ``PYTHONPATH``.

Writes ``{"xml": {...}, "json": {...}}`` with the seconds, records and bytes to ``--output``.
"""

import argparse
import json
from datetime import datetime
import sys
import time

import requests
import xmltodict

from ansible_collections.opsbox.veeam_em.plugins.module_utils import _codec, _records  # pylint: disable=import-error

MEDIA = {"xml": "application/xml", "json": "application/json"}
TYPE = "ReplicaTaskSession"


def download(args, wire):
    """The raw bodies and content types of the pages, in the given wire format."""
    session = requests.Session()
    session.trust_env = False
    session.verify = args.ca_path
    base = args.url.rstrip("/")
    logon = session.post(base + "/api/sessionMngr/?v=latest", auth=(args.username, args.password))
    logon.raise_for_status()
    session.headers["X-RestSvcSessionId"] = logon.headers["X-RestSvcSessionId"]
    pages = []
    try:
        for number in range(1, args.pages + 1):
            response = session.get(base + "/api/query", headers={"Accept": MEDIA[wire]}, params={
                "type": TYPE, "format": "Entities", "sortDesc": "CreationTime",
                "pageSize": str(args.page_size), "page": str(number)})
            response.raise_for_status()
            pages.append((response.content, response.headers.get("Content-Type")))
    finally:
        if logon.headers.get("Location"):
            session.delete(logon.headers["Location"])
    return pages


def bare(pages, wire):
    """Parse every page with the plain library call; return the number of documents parsed."""
    parse = xmltodict.parse if wire == "xml" else json.loads
    for body, _ctype in pages:
        parse(body)
    return len(pages)


def ours(pages, _wire):
    """Decode, unwrap and normalise every page as the client does; return the number of records."""
    count = 0
    for body, ctype in pages:
        _root, doc = _codec.decode(body, ctype)
        for record in _codec.query_records(doc):
            _records.normalize(record, TYPE)
            count += 1
    return count


def least(pages, _wire):
    """JSON: the least a pure-Python client can do to hand back renamed facts: the bare parse, then one new
    dict per record with every key renamed through a ready map (no value is converted, nothing checked).

    The collection may use only ansible-core, requests and xmltodict, so its normalisation is Python;
    if this alone is over the target, no Python normalisation can meet it.
    """
    renamed = {}
    count = 0
    for body, _ctype in pages:
        for record in _codec.query_records(json.loads(body)):
            fact = {}
            for key, value in record.items():
                name = renamed.get(key)
                if name is None:
                    name = renamed[key] = key.lower()
                fact[name] = value
            count += 1
    return count


def _renamed_records(pages):
    """The records of :func:`least` one by one: parsed, keys renamed through a ready map, nothing converted."""
    renamed = {}
    for body, _ctype in pages:
        for record in _codec.query_records(json.loads(body)):
            fact = {}
            for key, value in record.items():
                name = renamed.get(key)
                if name is None:
                    name = renamed[key] = key.lower()
                fact[name] = value
            yield fact


def least_with_times(pages, _wire):
    """:func:`least`, plus what the fact shape cannot do without: the creation and end times read as
    datetimes (C's ``datetime.fromisoformat``) for ``duration_seconds``. Still no other conversion."""
    count = 0
    parse_time = datetime.fromisoformat
    for fact in _renamed_records(pages):
        created, ended = fact.get("creationtimeutc"), fact.get("endtimeutc")
        if created and ended:
            fact["duration_seconds"] = (parse_time(ended.replace("Z", "+00:00"))
                                        - parse_time(created.replace("Z", "+00:00"))).total_seconds()
        count += 1
    return count


def least_facts(pages, _wire):
    """The least work that hands back the documented fact shape from JSON, with nothing checked:
    :func:`least`, the two times read (C's ``datetime.fromisoformat``) and written in the fact form
    (``strftime``, six fraction digits and ``Z``) with ``duration_seconds``, and the ``Up`` links read
    for the backup server and the parent session (GUID and name each). Missing from it and present in
    the collection: case-insensitive keys (v13), enum spellings, ``None`` for empty texts, unknown
    fields kept in snake_case, type checks. If this is over the target, the target cannot be met by
    a Python normalisation that returns these facts."""
    count = 0
    parse_time = datetime.fromisoformat
    for fact in _renamed_records(pages):
        created, ended = fact.get("creationtimeutc"), fact.get("endtimeutc")
        # fromisoformat reads the trailing "Z" from Python 3.11 on, the lowest the harness runs
        created = parse_time(created) if created else None
        ended = parse_time(ended) if ended else None
        fact["creation_time"] = created.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if created else None
        fact["end_time"] = ended.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if ended else None
        fact["duration_seconds"] = (ended - created).total_seconds() if created and ended else None
        for link in fact.get("links") or ():
            if link["Rel"] == "Up":
                fact[link["Type"]] = (link["Href"].rsplit("/", 1)[-1], link["Name"])
        count += 1
    return count


def best_cpu(function, pages, wire, repeat):
    """Lowest CPU seconds of ``repeat`` calls, and the last call's return value."""
    best = None
    value = None
    for _index in range(repeat):
        started = time.process_time()
        value = function(pages, wire)
        spent = time.process_time() - started
        best = spent if best is None else min(best, spent)
    return best, value


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--ca-path", required=True)
    parser.add_argument("--pages", type=int, default=10)
    parser.add_argument("--page-size", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--output", required=True)
    args = parser.parse_args()
    result = {}
    for wire in ("xml", "json"):
        pages = download(args, wire)
        bare_seconds, _docs = best_cpu(bare, pages, wire, args.repeat)
        our_seconds, records = best_cpu(ours, pages, wire, args.repeat)
        result[wire] = {"pages": len(pages), "records": records, "bytes": sum(len(body) for body, _ctype in pages),
                        "bare_seconds": bare_seconds, "ours_seconds": our_seconds}
        if wire == "json":
            result[wire]["least_seconds"] = best_cpu(least, pages, wire, args.repeat)[0]
            result[wire]["least_times_seconds"] = best_cpu(least_with_times, pages, wire, args.repeat)[0]
            result[wire]["least_facts_seconds"] = best_cpu(least_facts, pages, wire, args.repeat)[0]
    with open(args.output, "w") as handle:
        json.dump(result, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main())
