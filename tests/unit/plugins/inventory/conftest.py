# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Simulators for the inventory tests: several generated data sets, each over HTTPS with its own CA.

Every data set has retries, VMs in two jobs, runs stopped part-way, running sessions, VMs
removed from a job, the same VM name on two backup servers and hostile names.
"""

from __future__ import annotations

import os
import sys

import pytest

COLLECTION_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
SIMULATOR_ROOT = os.path.join(COLLECTION_ROOT, "tests", "simulator")
NOW = "2026-11-20T12:00:00Z"
RESTORE_OPERATOR = ("EMSIM\\restore", "Restore-Pass1", "RestoreOperator")

# name -> serve options
DATASETS = {
    "tiny": {"dataset": "tiny"},
    "demo": {"dataset": "demo"},
    "mixed": {"dataset": "demo", "vms": 150, "days": 9, "replica_jobs": 9, "replica_runs_per_day": 3,
              "backup_jobs": 4, "cdp_vms": 14, "seed": 23},
    # The fleet preset at 1,000 VMs: the smallest size found (2026-12-07) holding a VM that left one job and whose
    # newest success is in an older run of another job; the small sets have no such VM.
    "fleet1000": {"dataset": "fleet", "vms": 1000, "days": 8, "cdp_vms": 100},
}


def pytest_configure(config):
    config.addinivalue_line("markers", "simulator: talks to the EM simulator (tests/simulator) over HTTPS")


if SIMULATOR_ROOT not in sys.path:
    sys.path.insert(0, SIMULATOR_ROOT)
from em_simulator import testing  # pylint: disable=import-error,wrong-import-position

# ansible-test forks every unit test: simulators are shared through this registry, never a plain
# session fixture (which would leave one server per test behind). See SharedSimulators.
SHARED = testing.SharedSimulators("inventory")


def pytest_sessionfinish(session):  # pylint: disable=unused-argument
    """Stop the simulators this pytest process started (a no-op in forked children)."""
    SHARED.stop_all()


@pytest.fixture(scope="session")
def em_testing():
    """The simulator's ``em_simulator.testing`` helper module."""
    return testing


@pytest.fixture(scope="session")
def simulators():
    """Get the simulator of a data set by name, starting it on first use (shared across forked tests)."""
    cache_dir = os.environ.get("VEEAM_EM_SIM_CACHE") or os.path.join(SHARED.directory, "cache")

    def get(name):
        return SHARED.get(name, tls=True, port=0, now=NOW, state_dir=os.path.join(SHARED.directory, "state"),
                          cache_dir=cache_dir, user=["%s:%s:%s" % RESTORE_OPERATOR], **DATASETS[name])

    return get


@pytest.fixture
def em(simulators):
    """The ``tiny`` simulator, reset; afterwards no logon session may be left open."""
    sim = simulators("tiny")
    sim.clear_faults()
    sim.reset_stats()
    yield sim
    sim.clear_faults()
    assert sim.stats()["open_sessions"] == 0


def check_closed(sim):
    """Assert that every logon session of *sim* was closed."""
    stats = sim.stats()
    assert stats["open_sessions"] == 0, stats
    return stats
