# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The fault matrix: every fault the simulator injects x every entry point, transient and persistent.

Transient: the fault stays inside the retry budget (at most two failures in a row, only on reads,
which the client retries); the answer must equal the simulator's ground truth exactly.
Persistent: one read in the middle of paging fails on every attempt (or every logon is refused);
the run must fail within the configured deadline with the message _errors.py documents, and
must not present what it read before as the answer.

Faults that fail a request are placed with the simulator's fault seed: every request draws the
same six random numbers, so for a run that sends its requests one at a time (concurrency 1) the
seed decides exactly which requests fail. The suite reads the request sequence of a fault-free
run from the simulator's log, picks a seed that hits only retried reads (or, for a persistent
case, one read in the middle of paging on every attempt) and checks afterwards that the
simulator injected exactly the planned number of faults. After every case no logon session may
be open and nothing the run printed or wrote may hold the password, the Basic value or a token.
"""

from __future__ import annotations

import os
import sys

import pytest
import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _reliability_support import (  # noqa: E402 pylint: disable=wrong-import-position
    ENTRY_POINTS, ROLL_INDEX, baseline_requests, basic_value, find_logoff_seed, find_persistent_seed, find_transient_seed,
    methods_of, persistent_target,
)

# Seeded faults: simulator keys for a rate and a seed, the roll they use, the persistent failure's message.
SEEDED = {
    "5xx": (lambda rate: {"error_rate": rate, "error_statuses": [502, 503]}, "error",
            r"Enterprise Manager failed to answer the request"),
    "429": (lambda rate: {"throttle_rate": rate, "retry_after": 1}, "throttle",
            r"Enterprise Manager kept throttling the requests"),
    "reset": (lambda rate: {"reset_rate": rate}, "reset", r"cannot connect to|the connection broke"),
    "truncate": (lambda rate: {"truncate_rate": rate}, "truncate", r"the connection broke while reading the answer"),
    "latency": (lambda rate: {"latency_spike": {"rate": rate, "ms": 2500}}, "latency_spike",
                r"no answer within 1 seconds"),
}
FAULTS = ("latency", "5xx", "429", "reset", "truncate", "token_expiry", "logon_cap")
TRANSIENT_RATE = 0.15
PERSISTENT_RATE = 0.5
PERSISTENT_ATTEMPTS = 3
PERSISTENT_DEADLINE = 10
# Ansible's own start-up and the role's tasks before the first read, on a busy 2-CPU machine.
OVERHEAD_SECONDS = 25
# The representative subset make test runs: one module through every case, and a few of the others.
SUBSET = {("module:task_session_info", fault, mode) for fault in FAULTS for mode in ("transient", "persistent")}
SUBSET |= {("inventory", "5xx", "transient"), ("inventory", "reset", "persistent")}


def cases():
    """Every (entry point, fault, mode), the subset unmarked and the rest marked slow."""
    for entry in ENTRY_POINTS:
        for fault in FAULTS:
            for mode in ("transient", "persistent"):
                marks = [] if (entry, fault, mode) in SUBSET else [pytest.mark.slow]
                yield pytest.param(entry, fault, mode, marks=marks, id="%s-%s-%s" % (entry, fault, mode))


def injected(stats):
    """Faults the simulator injected, all kinds together."""
    return sum(stats.get("faults_injected", {}).values())


def token_page_size(em, entry):
    """A page size that makes at least four pages: one record per page for the modules with few records."""
    if entry.startswith("module:") and len(em.truth(entry)) < 40:
        return 1
    return 5


def hold_session(em):
    """Log on outside the client (as another tool would) and return the logoff function."""
    session = requests.Session()
    session.trust_env = False
    answer = session.post(em.sim.url + "/api/sessionMngr/?v=latest", verify=em.sim.ca_path, timeout=30,
                          headers={"Authorization": "Basic " + basic_value(em.sim.username, em.sim.password)})
    assert answer.status_code == 201, answer.text
    token = answer.headers["X-RestSvcSessionId"]
    location = answer.headers["Location"]

    def logoff():
        session.delete(location, headers={"X-RestSvcSessionId": token}, verify=em.sim.ca_path, timeout=30)
        session.close()
    return logoff


def run_transient(em, entry, fault):
    """A fault inside the retry budget; returns (outcome, problems)."""
    connection = em.connection()
    planned = None
    if fault in ("5xx", "429", "reset", "truncate"):
        config, roll, dummy = SEEDED[fault]
        sequence = methods_of(baseline_requests(em, entry))
        seed, planned = find_transient_seed(sequence, ROLL_INDEX[roll], TRANSIENT_RATE)
        em.sim.set_faults(dict(config(TRANSIENT_RATE), seed=seed))
    elif fault == "latency":
        # Slow answers, all under the timeout: nothing fails, everything waits.
        em.sim.set_faults({"latency_spike": {"rate": 0.3, "ms": 400}, "seed": 7})
    elif fault == "token_expiry":
        # Small pages, a token dies after two requests: several re-logons in the middle of paging.
        em.sim.set_faults({"token_expire_after": 2})
        connection = em.connection(page_size=token_page_size(em, entry))
    else:
        # The logon cap at one session: the client must do everything, pages in parallel included, on one.
        em.sim.set_faults({"max_sessions": 1})
        connection = em.connection(concurrency=4)
    em.sim.reset_stats()
    outcome = em.run(entry, connection, label="%s-transient" % fault)
    stats = em.sim.stats()
    problems = em.truth_problems(outcome)
    if planned is not None and injected(stats) != planned:
        problems.append("the simulator injected %d faults, the plan was %d" % (injected(stats), planned))
    if fault == "latency" and not injected(stats):
        problems.append("no latency spike was injected")
    if fault == "token_expiry" and stats["logons"] < 2:
        problems.append("the token never expired (%d logons)" % stats["logons"])
    return outcome, problems


def run_persistent(em, entry, fault):
    """A fault that outlasts the retry budget; returns (outcome, problems)."""
    connection = em.connection(retries=PERSISTENT_ATTEMPTS, retry_deadline=PERSISTENT_DEADLINE)
    deadline = PERSISTENT_DEADLINE + OVERHEAD_SECONDS
    release = None
    if fault in SEEDED:
        config, roll, message = SEEDED[fault]
        requests_made = baseline_requests(em, entry)
        seed = find_persistent_seed(methods_of(requests_made), ROLL_INDEX[roll], PERSISTENT_RATE, PERSISTENT_ATTEMPTS,
                                    persistent_target(requests_made))
        if fault == "latency":
            connection["timeout"] = 1
            deadline += PERSISTENT_ATTEMPTS * 1
        em.sim.set_faults(dict(config(PERSISTENT_RATE), seed=seed))
    elif fault == "token_expiry":
        # Every token dies after its first request, which the re-logon spends on ending the old session:
        # the client must give up with the documented message instead of logging on without end.
        message = r"refused the session again right after a new logon"
        em.sim.set_faults({"token_expire_after": 1})
        connection["page_size"] = token_page_size(em, entry)
    else:
        message = r"maximum number of concurrent sessions"
        release = hold_session(em)
        em.sim.set_faults({"max_sessions": 1})
    em.sim.reset_stats()
    try:
        outcome = em.run(entry, connection, label="%s-persistent" % fault)
    finally:
        if release:
            em.sim.clear_faults()
            release()
    problems = em.failure_problems(outcome, message, deadline)
    if fault in SEEDED and injected(em.sim.stats()) != PERSISTENT_ATTEMPTS:
        problems.append("the simulator injected %d faults, the plan was %d" % (injected(em.sim.stats()), PERSISTENT_ATTEMPTS))
    return outcome, problems


@pytest.mark.parametrize("entry, fault, mode", list(cases()))
def test_fault(em, record_property, entry, fault, mode):
    record_property("group", "fault matrix: %s" % entry)
    record_property("case", "%s %s" % (fault, mode))
    outcome, problems = (run_transient if mode == "transient" else run_persistent)(em, entry, fault)
    record_property("seconds", round(outcome.run.wall, 2))
    problems += em.secret_problems(outcome)
    open_sessions = em.open_sessions()
    if open_sessions:
        problems.append("%d logon sessions left open" % open_sessions)
    assert not problems, "\n".join(problems)


def logoff_cases():
    """Every (entry point, fault); the module and the inventory ones are in make test's subset."""
    for entry in ENTRY_POINTS:
        for fault in ("5xx", "reset"):
            quick = entry in ("module:task_session_info", "inventory")
            yield pytest.param(entry, fault, marks=[] if quick else [pytest.mark.slow], id="%s-%s" % (entry, fault))


@pytest.mark.parametrize("entry,fault", list(logoff_cases()))
def test_logoff_survives_a_transient_fault(em, record_property, entry, fault):
    """The logoff meets one 503 (or one connection reset): the session must still be ended.

    EM keeps an abandoned session until its idle timeout; a retried DELETE is harmless (a second
    one for a session already gone answers 404), so the logoff gets the same retries as a read.
    """
    record_property("group", "fault matrix: %s" % entry)
    record_property("case", "logoff %s transient" % fault)
    config, roll, dummy = SEEDED[fault]
    sequence = methods_of(baseline_requests(em, entry))
    assert sequence[-1] == "DELETE"
    # Every request before the logoff must pass: with a long run (the role makes dozens of requests)
    # a 30% rate leaves no seed in reach, 1/n keeps about one in a hundred seeds usable.
    rate = min(0.3, 1.0 / len(sequence))
    em.sim.set_faults(dict(config(rate), seed=find_logoff_seed(sequence, ROLL_INDEX[roll], rate)))
    em.sim.reset_stats()
    outcome = em.run(entry, em.connection(), label="logoff-%s" % fault)
    record_property("seconds", round(outcome.run.wall, 2))
    problems = em.truth_problems(outcome) + em.secret_problems(outcome)
    if injected(em.sim.stats()) != 1:
        problems.append("the simulator injected %d faults, the plan was 1" % injected(em.sim.stats()))
    open_sessions = em.open_sessions()
    if open_sessions:
        problems.append("%d logon sessions left open after a transient fault on the logoff" % open_sessions)
        em.sim.expire_sessions()
    assert not problems, "\n".join(problems)
