# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Nothing the collection prints or writes holds a secret, even at -vvvv.

Every case of the suite already scans its stdout, stderr, Ansible log, returned JSON and output
files; these cases add what the matrix does not do: the most verbose output (-vvvv) of every
entry point, the inventory cache on disk (written, then read back), a failed logon with a wrong
but equally recognisable password, and the role's report files. The secrets are the password,
the Basic ``Authorization`` value and every session token: the tokens of the sessions the
simulator saw logged off (``base64(session id)``, read from its request log) and any other
word shaped like one (48 base64 characters that decode to a GUID).
"""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _reliability_support import ENTRY_POINTS, basic_value  # noqa: E402 pylint: disable=wrong-import-position

WRONG_PASSWORD = "RelCanary-WRONG-4kV!pw"
QUICK = ("module:task_session_info", "inventory")


def entry_params():
    """Every entry point; the subset keeps a module and the inventory."""
    for entry in ENTRY_POINTS:
        yield pytest.param(entry, id=entry, marks=[] if entry in QUICK else [pytest.mark.slow])


@pytest.mark.parametrize("entry", list(entry_params()))
def test_most_verbose_output_holds_no_secret(em, record_property, entry):
    record_property("group", "secrets")
    record_property("case", "%s -vvvv" % entry)
    outcome = em.run(entry, em.connection(), label="vvvv", verbosity=4, cache=entry == "inventory")
    record_property("seconds", round(outcome.run.wall, 2))
    assert not em.truth_problems(outcome), em.truth_problems(outcome)
    # -vvvv really was on: Ansible names its configuration file and plugins only then.
    assert "config file" in outcome.run.stdout + outcome.run.stderr
    assert not em.secret_problems(outcome), em.secret_problems(outcome)


def test_inventory_cache_holds_no_secret(em, record_property):
    record_property("group", "secrets")
    record_property("case", "inventory cache written and read")
    connection = em.connection()
    first = em.run("inventory", connection, label="cache-write", cache=True)
    assert not em.truth_problems(first), em.truth_problems(first)
    cache_dir = os.path.join(first.output_dir, "inventory-cache")
    assert os.listdir(cache_dir), "the inventory cache was not written"
    assert not em.secret_problems(first), em.secret_problems(first)
    # A second run with the same source file reads the cache and makes no request.
    source = os.path.join(first.case_dir, "input", "em.veeam_em.yml")
    second = em.run_inventory_source(source, label="cache-read")
    assert second.run.returncode == 0, second.run.tail()
    assert second.requests == [], "a cache hit still sent %d requests" % len(second.requests)
    assert not em.secret_problems(second), em.secret_problems(second)


@pytest.mark.parametrize("entry", list(entry_params()))
def test_failed_logon_output_holds_no_secret(em, record_property, entry):
    record_property("group", "secrets")
    record_property("case", "%s wrong password -vvvv" % entry)
    connection = em.connection(password=WRONG_PASSWORD)
    outcome = em.run(entry, connection, label="wrong-password", verbosity=4)
    record_property("seconds", round(outcome.run.wall, 2))
    assert outcome.run.returncode != 0 and not outcome.run.timed_out, outcome.run.tail()
    problems = em.failure_problems(outcome, r"Enterprise Manager rejected the logon of user", 60)
    em.secrets["wrong password"] = WRONG_PASSWORD
    em.secrets["wrong Basic value"] = basic_value(em.sim.username, WRONG_PASSWORD)
    try:
        problems += em.secret_problems(outcome)
    finally:
        del em.secrets["wrong password"], em.secrets["wrong Basic value"]
    assert not problems, "\n".join(problems)
