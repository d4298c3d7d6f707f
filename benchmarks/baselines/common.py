# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Pieces the two baselines share: logon, XML entity reading and the client-side reductions.

The reductions compute the same answers as the collection does, so the harness can check every
baseline against the simulator's ground truth before it trusts its timing:

* ``s1``: per source (``replica``, ``cdp``), the newest task session of each (backup server, VM)
  created in the window ``[now - lookback, now]`` -> ``{source: {"server|vm": uid}}``;
* ``s2``: the replication task sessions with result Failed or Warning created in the window
  -> sorted list of UIDs.
"""

import argparse
import json
import time
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta

import requests

NS = "{http://www.veeam.com/ent/v1.0}"
TYPES = {"replica": "ReplicaTaskSession", "cdp": "CdpReplicaTaskSession"}
COLLECTIONS = {"replica": "replicaTaskSessions", "cdp": "cdpReplicaTaskSessions"}
SORT_FIELDS = {"replica": "CreationTime", "cdp": "CreationTimeUTC"}


def parse_time(text):
    """ISO 8601 UTC (``Z``, optional fraction) -> aware datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def logon(session, url, username, password):
    """POST /api/sessionMngr/ with Basic auth; the session then carries X-RestSvcSessionId."""
    response = session.post(url.rstrip("/") + "/api/sessionMngr/?v=latest", auth=(username, password))
    response.raise_for_status()
    session.headers["X-RestSvcSessionId"] = response.headers["X-RestSvcSessionId"]
    return response.headers.get("Location")


def logoff(session, location):
    """DELETE the logon session (best effort, as the public tools do)."""
    if location:
        try:
            session.delete(location)
        except requests.RequestException:
            pass


def new_session(ca_path):
    """A requests session that trusts the simulator's CA and ignores REQUESTS_CA_BUNDLE."""
    session = requests.Session()
    session.trust_env = False
    session.verify = ca_path or True
    return session


def task_records(root, type_name):
    """Yield one small dict per task session entity element of ``type_name`` under ``root``."""
    for element in root.iter(NS + type_name):
        server = None
        links = element.find(NS + "Links")
        if links is not None:
            for link in links.iter(NS + "Link"):
                if link.get("Type") == "BackupServerReference":
                    server = link.get("Name")
                    break
        yield {
            "uid": element.get("UID"),
            "vm": element.get("VmDisplayName"),
            "server": server,
            "creation": element.findtext(NS + "CreationTimeUTC"),
            "result": element.findtext(NS + "Result"),
        }


class Reducer(object):
    """Client-side reduction of a stream of task records to the scenario's answer."""

    def __init__(self, scenario, now, lookback_hours):
        self.scenario = scenario
        self.until = parse_time(now)
        self.since = self.until - timedelta(hours=lookback_hours)
        self.newest = {}
        self.problems = []
        self.seen = 0

    def add(self, source, record):
        """Take one record into account."""
        self.seen += 1
        created = parse_time(record["creation"])
        if created < self.since or created > self.until:
            return
        if self.scenario == "s2":
            if record["result"] in ("Failed", "Warning"):
                self.problems.append(record["uid"])
            return
        per_source = self.newest.setdefault(source, {})
        key = "%s|%s" % (record["server"], record["vm"])
        current = per_source.get(key)
        if current is None or created > current[0]:
            per_source[key] = (created, record["uid"])

    def answer(self):
        """The reduced answer, JSON-serialisable."""
        if self.scenario == "s2":
            return sorted(self.problems)
        return dict((source, dict((key, value[1]) for key, value in per_source.items()))
                    for source, per_source in self.newest.items())


def sources_for(scenario):
    """S1 reads replication and CDP (the inventory's default sources); S2 reads replication only."""
    return ["replica", "cdp"] if scenario == "s1" else ["replica"]


def run_cli(description, fetch):
    """Command line shared by the baselines; ``fetch(session, url, source, reducer)`` does the transfer."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--url", required=True)
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--ca-path")
    parser.add_argument("--scenario", choices=["s1", "s2"], required=True)
    parser.add_argument("--now", required=True, help="the data clock, ISO 8601")
    parser.add_argument("--lookback-hours", type=float, required=True)
    parser.add_argument("--output", required=True, help="file the JSON answer is written to")
    args = parser.parse_args()
    started = time.monotonic()
    reducer = Reducer(args.scenario, args.now, args.lookback_hours)
    session = new_session(args.ca_path)
    location = logon(session, args.url, args.username, args.password)
    try:
        for source in sources_for(args.scenario):
            fetch(session, args.url.rstrip("/"), source, reducer)
    finally:
        logoff(session, location)
    with open(args.output, "w") as handle:
        json.dump({"answer": reducer.answer(), "records_parsed": reducer.seen,
                   "seconds": time.monotonic() - started}, handle)
    return 0


def parse_xml(response):
    """Raise on HTTP errors, then parse the whole body into one tree with the C XML parser.

    The body is fed in 64 MB slices: expat refuses a single buffer of more than about 1 GB
    ("out of memory"), which the 30-day collection of a large installation exceeds.
    """
    response.raise_for_status()
    content = response.content
    parser = ET.XMLParser()
    step = 64 * 1024 * 1024
    for start in range(0, len(content), step):
        parser.feed(content[start:start + step])
    return parser.close()
