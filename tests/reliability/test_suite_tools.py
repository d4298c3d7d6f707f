# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The suite's own tools: fault planning must agree with the simulator's fault engine, and the
secret scanner must find what it is meant to find (a scanner that finds nothing proves nothing)."""

from __future__ import annotations

import base64
import os
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _reliability_support import (  # noqa: E402 pylint: disable=wrong-import-position
    ROLL_INDEX, basic_value, find_persistent_seed, find_transient_seed, persistent_target, scan_outputs, secret_hits,
    simulate_transient, token_of,
)
from em_simulator.faults import FaultEngine  # noqa: E402 pylint: disable=wrong-import-position,import-error

SEQUENCE = ["GET", "POST"] + ["GET"] * 12 + ["DELETE"]


def engine_faults(config, methods_answered):
    """Replay a request sequence through the simulator's real fault engine; failed reads are sent again."""
    engine = FaultEngine()
    engine.set(config)
    injected = 0
    for method in methods_answered:
        while True:
            plan = engine.plan()
            if not plan.kinds:
                break
            assert method == "GET", "the plan put a fault on a %s" % method
            injected += len(plan.kinds)
    return injected


def test_transient_plan_matches_the_simulator_engine():
    for roll, config in (("error", {"error_rate": 0.15, "error_statuses": [502, 503]}), ("reset", {"reset_rate": 0.15}),
                         ("throttle", {"throttle_rate": 0.15}), ("truncate", {"truncate_rate": 0.15})):
        seed, planned = find_transient_seed(SEQUENCE, ROLL_INDEX[roll], 0.15)
        assert planned >= 2
        assert engine_faults(dict(config, seed=seed), SEQUENCE) == planned


def test_a_seed_that_hits_the_logon_is_refused():
    # Seed 0 hits request 1 (the logon) at rate 1.0: no retried read can absorb that.
    assert simulate_transient(SEQUENCE, 0, ROLL_INDEX["error"], 1.0, 2) is None


def test_persistent_plan_fails_one_read_in_the_middle_of_paging():
    requests = [("GET", "/api/"), ("POST", "/api/sessionMngr/?v=latest")] + [("GET", "/api/query?page=%d" % n) for n in (1, 2, 3)]
    requests.append(("DELETE", "/api/logonSessions/x"))
    target = persistent_target(requests)
    assert requests[target][1].endswith("page=2")
    methods = [method for method, dummy in requests]
    seed = find_persistent_seed(methods, ROLL_INDEX["error"], 0.5, 3, target)
    engine = FaultEngine()
    engine.set({"error_rate": 0.5, "error_statuses": [503], "seed": seed})
    outcomes = [bool(engine.plan().kinds) for dummy in range(target + 4)]
    assert outcomes == [False] * target + [True, True, True, False]


def test_the_scanner_finds_every_kind_of_secret(tmp_path):
    session_id = str(uuid.uuid4())
    secrets = {"password": "RelCanary-x", "Basic auth value": basic_value("EMSIM\\veeam", "RelCanary-x")}
    assert secret_hits("nothing here", secrets) == []
    assert secret_hits("msg: RelCanary-x", secrets) == ["password"]
    assert secret_hits("Authorization: Basic " + basic_value("EMSIM\\veeam", "RelCanary-x"), secrets) == ["Basic auth value"]
    # A token the suite never saw is still found by its shape: base64 of a GUID.
    assert secret_hits("X-RestSvcSessionId: %s" % token_of(session_id), secrets) == ["a session token"]
    assert secret_hits(base64.b64encode(b"not a guid, but 36 characters long!!").decode(), secrets) == []
    (tmp_path / "cache.json").write_text('{"token": "%s"}' % token_of(session_id))
    assert scan_outputs({}, [str(tmp_path)], secrets) == ["%s: a session token" % (tmp_path / "cache.json")]
