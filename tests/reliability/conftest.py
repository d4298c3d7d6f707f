# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Fixtures of the reliability suite and the per-test record ``make reliability`` turns into its matrix.

Run: ``.cache/venv/core2.16/bin/python -m pytest -q -p no:cacheprovider tests/reliability`` (everything) or
with ``-m "not slow"`` (the subset ``make test`` runs). One simulator (``tiny`` data set, HTTPS with its own
CA, a recognisable password) serves every case of a pytest process; each case sets its faults and switches
through ``/admin`` and the harness resets them before the next one.

With ``RELIABILITY_RESULTS=<file>`` in the environment, every test's outcome, duration, group and
figures (``record_property``) are written there as JSON when the session ends.
"""

from __future__ import annotations

import json
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _reliability_support import CANARY_PASSWORD, SIMULATOR_CACHE, Harness  # noqa: E402 pylint: disable=wrong-import-position

_RESULTS = {}


def pytest_configure(config):
    """Register the suite's markers."""
    config.addinivalue_line("markers", "slow: left out of the make test subset (the full matrix, load, 50,000 VMs)")


def _group_of(report):
    """The matrix row of a test: its ``group`` property, else the file name."""
    for name, value in report.user_properties:
        if name == "group":
            return value
    return os.path.splitext(os.path.basename(report.nodeid.split("::", 1)[0]))[0]


def pytest_runtest_logreport(report):
    """Keep each test's outcome (the worst of its phases), duration, group and figures."""
    entry = _RESULTS.setdefault(report.nodeid, {"outcome": "passed", "duration": 0.0, "group": None, "properties": {}})
    entry["duration"] += report.duration
    entry["group"] = _group_of(report)
    for name, value in report.user_properties:
        entry["properties"][name] = value
    if report.failed:
        entry["outcome"] = "failed"
    elif report.skipped and entry["outcome"] == "passed":
        entry["outcome"] = "skipped"


def pytest_sessionfinish(session):
    """Write the per-test record for the runner (only when asked, and only from the main process)."""
    path = os.environ.get("RELIABILITY_RESULTS")
    if not path or hasattr(session.config, "workerinput"):
        return
    with open(path, "w") as handle:
        json.dump(_RESULTS, handle, indent=1, sort_keys=True)


@pytest.fixture(scope="session")
def harness(tmp_path_factory):
    """The one simulator of this pytest process, with the harness around it."""
    from em_simulator.testing import start_simulator  # pylint: disable=import-error,import-outside-toplevel

    base = str(tmp_path_factory.mktemp("reliability"))
    log_path = os.path.join(base, "simulator.log")
    with open(log_path, "wb") as log:
        sim = start_simulator(python=sys.executable, dataset="tiny", tls=True, password=CANARY_PASSWORD,
                              state_dir=SIMULATOR_CACHE, cache_dir=SIMULATOR_CACHE, stderr=log)
    try:
        suite = Harness(sim, log_path, base)
        suite.reset()
        yield suite
    finally:
        sim.stop()


@pytest.fixture
def em(harness):  # pylint: disable=redefined-outer-name
    """The harness, reset before the test; after it, no logon session may be left open."""
    harness.reset()
    yield harness
    harness.sim.clear_faults()
    open_sessions = harness.open_sessions()
    if open_sessions:
        # Report it, but do not let the leftovers count against the next cases (the logon cap ones).
        harness.sim.expire_sessions()
    assert open_sessions == 0, "%d logon sessions were left open on the simulator" % open_sessions
