# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""TLS refusals through the client, a module and the inventory plugin, each with a message saying which problem it is.

The simulator serves an expired certificate, one for another host name, one from an unknown
CA (``--tls-cert``), and only TLS 1.0 or 1.1 (``--tls-max-version``).  ``validate_certs=false``
must keep urllib3's InsecureRequestWarning away from our own requests only, not from the rest
of the process (the inventory plugin runs inside the controller).

Run: ``.cache/venv/core2.16/bin/python -m pytest tests/reliability/test_tls.py -s``
"""

import os
import sys
import time
import warnings

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _hostile_support as support  # noqa: E402  pylint: disable=wrong-import-position

support.collection_tree()

import requests  # noqa: E402  pylint: disable=wrong-import-position
import urllib3  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.opsbox.veeam_em.plugins.module_utils.client import EMClient  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.opsbox.veeam_em.plugins.module_utils._errors import EMTransportError  # noqa: E402  pylint: disable=wrong-import-position

# case -> (simulator options, words the message must contain)
CASES = {
    "expired_certificate": ({"tls_cert": "expired"}, "certificate has expired"),
    "wrong_host_name": ({"tls_cert": "wrong_host"}, "host name mismatch"),
    "untrusted_ca": ({"tls_cert": "untrusted"}, "unknown CA / self-signed - set ca_path"),
    "tls_1_0_only": ({"tls_max_version": "1.0"}, "server only offers TLS 1.0/1.1, which the client refuses"),
    "tls_1_1_only": ({"tls_max_version": "1.1"}, "server only offers TLS 1.0/1.1, which the client refuses"),
}


@pytest.fixture(scope="module", name="sims")
def fixture_sims():
    started = {}
    try:
        for name, (options, _words) in CASES.items():
            started[name] = support.start(**options)
        started["valid"] = support.start(tls=True)
        yield started
    finally:
        for sim in started.values():
            sim.stop()


def _client_error(sim, **options):
    kwargs = dict(url=sim.url, username=sim.username, password=sim.password, ca_path=sim.ca_path, retries=2,
                  retry_deadline=5)
    kwargs.update(options)
    started = time.monotonic()
    with pytest.raises(EMTransportError) as info:
        with EMClient(**kwargs) as client:
            list(client.query("ReplicaTaskSession", limit=1))
    return str(info.value), time.monotonic() - started


def _make_client_test(name):
    def test(sims, request):
        text, seconds = _client_error(sims[name])
        support.report("client tls " + name, request.node, seconds=seconds)
        assert CASES[name][1] in text, text
        assert "GET /api/" in text
        assert seconds < 2
        assert sims[name].stats()["open_sessions"] == 0 and sims[name].stats()["logons"] == 0
    return test


for _name in CASES:
    globals()["test_client_" + _name] = _make_client_test(_name)


def test_client_untrusted_ca_without_ca_path(sims):
    """Without ca_path the system store does not know the simulator's CA either: the same message."""
    text, _seconds = _client_error(sims["valid"], ca_path=None)
    assert "unknown CA / self-signed - set ca_path" in text


def test_client_valid_certificate_still_works(sims):
    with EMClient(sims["valid"].url, sims["valid"].username, sims["valid"].password, ca_path=sims["valid"].ca_path) as client:
        assert len(list(client.query("ReplicaTaskSession", limit=3))) == 3


@pytest.fixture(scope="module", name="module_answers")
def fixture_module_answers(sims):
    tasks = []
    for name in CASES:
        tasks.append({"name": "case " + name, "ignore_errors": True, "opsbox.veeam_em.replica_session_info": {
            "url": sims[name].url, "username": sims[name].username, "password": sims[name].password,
            "ca_path": sims[name].ca_path, "retries": 2, "retry_deadline": 5, "limit": 1}})
    run = support.run_playbook([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}])
    support.report("module-playbook tls", maxrss_mb=run["maxrss_mb"], seconds=run["seconds"])
    return run["tasks"]


def _make_module_test(name):
    def test(module_answers, sims, request):
        answer = module_answers["case " + name]
        support.report("module tls " + name, request.node, seconds=answer["seconds"])
        result = answer["result"]
        assert result.get("failed") and result["error_type"] == "EMTransportError", result
        assert CASES[name][1] in result["msg"], result["msg"]
        assert sims[name].stats()["open_sessions"] == 0
    return test


for _name in CASES:
    globals()["test_module_" + _name] = _make_module_test(_name)


def _make_inventory_test(name):
    def test(sims, request):
        """``ansible-inventory`` as a user runs it: the plugin's failure names the TLS problem, nothing is built."""
        sim = sims[name]
        source = support.inventory_source(sim, "tls_" + name, retries=2, retry_deadline=5)
        env = support.ansible_env(ANSIBLE_INVENTORY_ENABLED="opsbox.veeam_em.veeam_em",
                                  ANSIBLE_INVENTORY_UNPARSED_FAILED="true")
        run = support.run(["ansible-inventory", "-i", source, "--list"], env=env, timeout=120)
        support.report("inventory tls " + name, request.node, seconds=run["seconds"], maxrss_mb=run["maxrss_mb"])
        text = " ".join((run["stdout"] + run["stderr"]).split())  # the CLI wraps long messages
        assert run["rc"] != 0, run["stdout"][-2000:]
        assert CASES[name][1] in text, text[-3000:]
        assert sim.password not in text
        assert sim.stats()["open_sessions"] == 0 and sim.stats()["logons"] == 0
    return test


for _name in CASES:
    globals()["test_inventory_" + _name] = _make_inventory_test(_name)


def test_client_validate_certs_false_warns_only_for_others(sims):
    """validate_certs=false: no InsecureRequestWarning from our requests, the process-wide filters untouched."""
    sim = sims["untrusted_ca"]
    filters_before = list(warnings.filters)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with EMClient(sim.url, sim.username, sim.password, validate_certs=False) as client:
            records = list(client.query("ReplicaTaskSession", limit=5))
        ours = [w for w in caught if issubclass(w.category, urllib3.exceptions.InsecureRequestWarning)]
        requests.get(sim.url + "/api/", verify=False, timeout=10)  # someone else's unchecked request
        others = [w for w in caught if issubclass(w.category, urllib3.exceptions.InsecureRequestWarning)]
    assert len(records) == 5
    assert not ours, [str(w.message) for w in ours]
    assert len(others) == 1  # still warned about: nothing was switched off for the process
    assert warnings.filters == filters_before
    assert sim.stats()["open_sessions"] == 0
