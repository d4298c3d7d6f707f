# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Fixtures for the over-the-wire tests: the EM simulator from tests/simulator, over HTTPS with its own CA.

Select or skip these tests with ``-m simulator`` / ``-m "not simulator"``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import sys

import pytest

COLLECTION_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
SIMULATOR_ROOT = os.path.join(COLLECTION_ROOT, "tests", "simulator")

# Extra accounts the simulator is started with: (name, password, role).
RESTORE_OPERATOR = (u"EMSIM\\restore", u"Restore-Pass1", u"RestoreOperator")
UPN_USER = (u"j\u00fcrgen@emsim.local", u"p&%+=\"' \u00fc\u00f6\u20ac!x", u"PortalUser")


def pytest_configure(config):
    config.addinivalue_line("markers", "simulator: talks to the EM simulator (tests/simulator) over HTTPS")


if SIMULATOR_ROOT not in sys.path:
    sys.path.insert(0, SIMULATOR_ROOT)
from em_simulator import testing  # pylint: disable=import-error,wrong-import-position

# ansible-test forks every unit test: simulators are shared through this registry, never a plain
# session fixture (which would leave one server per test behind). See SharedSimulators.
SHARED = testing.SharedSimulators("module-utils")


def pytest_sessionfinish(session):  # pylint: disable=unused-argument
    """Stop the simulators this pytest process started (a no-op in forked children)."""
    SHARED.stop_all()


@pytest.fixture(scope="session")
def em_simulator_testing():
    """The simulator's ``em_simulator.testing`` helper module."""
    return testing


def start(em_simulator_testing, **options):
    """Start a simulator over TLS on a free port with the given ``serve`` options."""
    options.setdefault("dataset", "tiny")
    options.setdefault("tls", True)
    options.setdefault("port", 0)
    options.setdefault("fault_seed", 7)
    options.setdefault("now", "2026-11-20T12:00:00Z")
    return em_simulator_testing.start_simulator(**options)


@pytest.fixture(scope="session")
def sim():
    """One simulator for the whole test session (the ``tiny`` data set)."""
    users = [u"%s:%s:%s" % user for user in (RESTORE_OPERATOR, UPN_USER)]
    options = dict(dataset="tiny", tls=True, port=0, fault_seed=7, now="2026-11-20T12:00:00Z", user=users)
    return SHARED.get("tiny", **options)


@pytest.fixture
def em(sim):
    """The shared simulator, reset to defaults before the test; afterwards no logon session may be left open."""
    sim.clear_faults()
    sim.configure(dialect="v12", bom=False, max_page_size=0, typo_links=True)
    sim.reset_stats()
    yield sim
    sim.clear_faults()
    stats = sim.stats()
    assert stats["open_sessions"] == 0, "logon sessions left open: %s" % stats
