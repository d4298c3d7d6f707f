# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Hostile input from the user: filter values, ids that try to steer the path, control characters in credentials.

* Property (hypothesis): any filter value -- quotes, ``; , ( )``, operators, unicode -- built with
  ``_query.predicate``/``build_filter`` parses, with the simulator's own parser, back into exactly
  the predicate meant; over the wire the server answers exactly the matching records.
* Ids with ``../``, ``%2F``, ``?``, ``#`` are refused before any request is sent.
* CR, LF and other control characters in user names and passwords are refused with a clear
  message before anything is sent; the password never appears in it.

Run: ``.cache/venv/core2.16/bin/python -m pytest tests/reliability/test_hostile_user.py``
"""

import json
import os
import sys

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _hostile_support as support  # noqa: E402  pylint: disable=wrong-import-position

support.collection_tree()

from em_simulator import dataset, filterlang  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.opsbox.veeam_em.plugins.module_utils import _query  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.opsbox.veeam_em.plugins.module_utils._errors import (  # noqa: E402  pylint: disable=wrong-import-position
    EMAuthenticationError, EMQueryError,
)
from ansible_collections.opsbox.veeam_em.plugins.module_utils._transport import check_path  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.opsbox.veeam_em.plugins.module_utils.client import EMClient  # noqa: E402  pylint: disable=wrong-import-position

# Characters that mean something to the filter grammar, spaces, and a few beyond ASCII.
_SYNTAX = u'"\';,()=!<> \t'
_VALUES = st.lists(st.one_of(st.sampled_from(list(_SYNTAX) + ["==", "!=", "<=", ">=", '""', "urn:veeam:"]),
                             st.characters(blacklist_categories=("Cs",))), min_size=1, max_size=30).map(u"".join)
_STRING_FIELDS = [(kind, field) for kind in sorted(_query.RESOURCES) for field, field_kind
                  in sorted(_query.RESOURCES[kind].fields.items()) if field_kind == _query.STRING]
HOSTILE_VALUES = list(dataset.SPECIAL_VM_NAMES) + [u'a"b', u'";', u'x,y', u'(', u')', u'VmDisplayName=="*"',
                                                   u'\u0441\u0435\u0440\u0432\u0435\u0440-01', u'  padded  ']


def _cmp(field, op, value):
    return ("cmp", field, op, value)


@settings(database=None, max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(field=st.sampled_from(_STRING_FIELDS), op=st.sampled_from(["==", "!="]), value=_VALUES)
def test_builder_single_value_parses_back_exactly(field, op, value):
    kind, name = field
    text = _query.predicate(kind, name, op, value)
    assert filterlang.parse(text) == _cmp(name, op, value)


@settings(database=None, max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.lists(_VALUES, min_size=2, max_size=4), op=st.sampled_from(["==", "!="]), other=_VALUES)
def test_builder_list_and_conjunction_parse_back_exactly(values, op, other):
    """A list is one OR (==) / AND (!=) group; predicates are ANDed; neither can be broken out of."""
    text = _query.build_filter("ReplicaTaskSession", [("VmDisplayName", op, values), ("JobName", "==", other)])
    group = ("or" if op == "==" else "and", [_cmp("VmDisplayName", op, value) for value in values])
    assert filterlang.parse(text) == ("and", [group, _cmp("JobName", "==", other)])


@pytest.fixture(scope="module", name="sim")
def fixture_sim():
    sim = support.start()
    yield sim
    sim.stop()


@pytest.fixture(scope="module", name="all_tasks")
def fixture_all_tasks(sim):
    return sim.truth("query", type="ReplicaTaskSession")


def _expected(all_tasks, value):
    # The server compares strings like SQLite NOCASE (ASCII-only folding, README rule 7).
    return sorted(record["UID"] for record in all_tasks
                  if filterlang.fold(record["VmDisplayName"]) == filterlang.fold(value))


def test_client_filter_values_over_the_wire(sim, all_tasks):
    """The special VM names and other hostile values select exactly their records, never more, never an error."""
    with EMClient(sim.url, sim.username, sim.password) as client:
        for value in HOSTILE_VALUES:
            got = sorted(fact["uid"] for fact in client.query("ReplicaTaskSession", {"VmDisplayName": value}))
            assert got == _expected(all_tasks, value), value
    assert sim.stats()["open_sessions"] == 0


@settings(database=None, max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(value=_VALUES)
def test_client_generated_filter_values_over_the_wire(sim, all_tasks, value):
    with EMClient(sim.url, sim.username, sim.password) as client:
        got = sorted(fact["uid"] for fact in client.query("ReplicaTaskSession", {"VmDisplayName": value}))
    assert got == _expected(all_tasks, value)


def _yaml_unsafe_list(values):
    return "[" + ", ".join("!unsafe %s" % json.dumps(value) for value in values) + "]"


def test_module_vm_name_hostile_values(sim, all_tasks):
    """task_session_info with vm_name set to every hostile value returns exactly their task sessions."""
    playbook = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: hostile vm names
      opsbox.veeam_em.task_session_info:
        url: "{{ em_url }}"
        username: "{{ em_username }}"
        password: "{{ em_password }}"
        session_type: replica
        vm_name: %s
""" % _yaml_unsafe_list(HOSTILE_VALUES)
    run = support.run_playbook(playbook, sim=sim)
    result = run["tasks"]["hostile vm names"]["result"]
    support.report("module vm_name hostile", seconds=run["tasks"]["hostile vm names"]["seconds"])
    assert not result.get("failed"), result
    expected = sorted(set(uid for value in HOSTILE_VALUES for uid in _expected(all_tasks, value)))
    assert sorted(fact["uid"] for fact in result["task_sessions"]) == expected
    assert expected  # the special names exist in the data set
    assert sim.stats()["open_sessions"] == 0


STEERING_IDS = ["../logonSessions", "..", "abc%2F..%2FlogonSessions", "%2e%2e", "abc?format=Entity&x=1",
                "abc#fragment", "abc\\..\\x", "abc\r\nX-Injected: 1", "abc def"]


@pytest.mark.parametrize("identifier", STEERING_IDS)
def test_client_get_by_id_refuses_steering_ids(sim, identifier):
    sim.reset_stats()
    with EMClient(sim.url, sim.username, sim.password) as client:
        with pytest.raises(EMQueryError) as info:
            client.get_by_id("ReplicaJobSession", identifier)
    assert "refusing" in str(info.value) or "is not an id" in str(info.value)
    requests_made = sim.stats()["requests"]
    assert set(requests_made) <= {"GET /api/", "POST /api/sessionMngr", "DELETE /api/logonSessions/{id}"}, requests_made


@pytest.mark.parametrize("path", ["replicaSessions/..", "replicaSessions/a%2Fb", "replicaSessions/a#b", "a/./b",
                                  "replicaSessions/a\\b", "query?x=1#y"])
def test_transport_check_path_refuses(path):
    with pytest.raises(EMQueryError):
        check_path(path)


def test_transport_check_path_keeps_em_paths():
    for path in ("", "sessionMngr/?v=latest", "query", "replicaSessions/0b83da50-2fcf-4616-8a0a-5b1b3c0d2e4f",
                 "logonSessions/abc-123"):
        assert check_path(path) == path


def test_module_id_refuses_steering_ids(sim):
    tasks = [{"name": "id %d" % index, "ignore_errors": True, "opsbox.veeam_em.replica_session_info": {
        "url": "{{ em_url }}", "username": "{{ em_username }}", "password": "{{ em_password }}", "id": identifier}}
        for index, identifier in enumerate(["../logonSessions", "abc%2F..", "abc?x=1", "abc#x"])]
    sim.reset_stats()
    run = support.run_playbook([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}], sim=sim)
    for index in range(4):
        result = run["tasks"]["id %d" % index]["result"]
        assert result.get("failed") and "id" in result["msg"] and "GUID" in result["msg"], result
    assert sim.stats()["logons"] == 0  # refused before any request


CONTROL_USERNAMES = ["EMSIM\\veeam\r\nX-Injected: 1", "EMSIM\\veeam\n", "EMSIM\\vee\x00am", "EMSIM\\veeam\t"]
CONTROL_PASSWORDS = ["Sim-Passw0rd!\r\nX-Injected: 1", "Sim-Passw0rd!\n", "Sim\x00Passw0rd", "Sim\x7fPassw0rd"]


@pytest.mark.parametrize("username", CONTROL_USERNAMES)
def test_client_username_control_characters_refused(sim, username):
    sim.reset_stats()
    with pytest.raises(EMAuthenticationError) as info:
        EMClient(sim.url, username, sim.password).open()
    text = str(info.value)
    assert "control character" in text and "username" in text
    assert "\r" not in text and "\n" not in text  # the name is shown escaped
    assert sim.stats()["logons"] == 0 and sim.stats()["logon_failures"] == 0 and not sim.stats()["requests"]


@pytest.mark.parametrize("password", CONTROL_PASSWORDS)
def test_client_password_control_characters_refused(sim, password):
    sim.reset_stats()
    with pytest.raises(EMAuthenticationError) as info:
        EMClient(sim.url, sim.username, password).open()
    text = str(info.value)
    assert "control character" in text and "password" in text
    assert password not in text and "Passw0rd" not in text
    assert not sim.stats()["requests"]


def test_module_credentials_control_characters_refused(sim):
    playbook = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: crlf username
      ignore_errors: true
      opsbox.veeam_em.replica_session_info:
        url: "{{ em_url }}"
        username: "EMSIM\\\\veeam\\r\\nX-Injected: 1"
        password: "{{ em_password }}"
    - name: crlf password
      ignore_errors: true
      opsbox.veeam_em.replica_session_info:
        url: "{{ em_url }}"
        username: "{{ em_username }}"
        password: "Hostile-Passw0rd-7f3a\\r\\nX-Injected: 1"
"""
    sim.reset_stats()
    run = support.run_playbook(playbook, sim=sim)
    for name, word in (("crlf username", "username"), ("crlf password", "password")):
        result = run["tasks"][name]["result"]
        assert result.get("failed") and "control character" in result["msg"] and word in result["msg"], result
    assert support.PASSWORD not in run["stdout"] + run["stderr"]
    assert not sim.stats()["requests"]
