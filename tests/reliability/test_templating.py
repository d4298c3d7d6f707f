# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Names from the server are data, never templates: inventory, module results, the compliance report.

The simulator runs with ``--canary PATH``: VM names ``{{ lookup('pipe', 'touch PATH') }}`` and
``{% set canary = lookup('pipe', 'touch PATH-stmt') %}canary-stmt``, a job name that would touch
``PATH-job``, and a ``<script>`` VM name.  Whatever templating happens anywhere, a canary file
appears; the tests check that none does and that the names arrive unchanged (and escaped in HTML).

Run: ``.cache/venv/core2.16/bin/python -m pytest tests/reliability/test_templating.py``
"""

import json
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _hostile_support as support  # noqa: E402  pylint: disable=wrong-import-position

CANARY = os.path.join(support.workdir(), "canary")
CANARY_FILES = [CANARY, CANARY + "-stmt", CANARY + "-job"]
EXPRESSION_NAME = "{{ lookup('pipe', 'touch %s') }}" % CANARY
STATEMENT_NAME = "{%% set canary = lookup('pipe', 'touch %s-stmt') %%}canary-stmt" % CANARY
SCRIPT_NAME = "<script>document.title='%s'</script>" % CANARY
JOB_NAME = "Replica {{ lookup('pipe', 'touch %s-job') }}" % CANARY
OUT = os.path.join(support.workdir(), "templating-out")


def _no_canary():
    return [path for path in CANARY_FILES if os.path.exists(path)]


@pytest.fixture(scope="module", name="sim")
def fixture_sim():
    sim = support.start(canary=CANARY, dataset="tiny")
    yield sim
    sim.stop()


@pytest.fixture(scope="module", name="source")
def fixture_source(sim):
    return support.inventory_source(sim, "templating", sources=["replica", "cdp", "backup"])


def _plain(value):
    if isinstance(value, dict) and "__ansible_unsafe" in value:
        return value["__ansible_unsafe"]
    return value


def test_inventory_list_canary_names_not_templated(sim, source):
    run = support.run([os.path.join(support.BIN, "ansible-inventory"), "-i", source, "--list"],
                      env=support.ansible_env(ANSIBLE_INVENTORY_UNPARSED_FAILED="true"))
    support.report("inventory --list canary", seconds=run["seconds"], maxrss_mb=run["maxrss_mb"])
    assert run["rc"] == 0, run["stderr"]
    listing = json.loads(run["stdout"])
    names = set(_plain(host.get("veeam_vm_name")) for host in listing["_meta"]["hostvars"].values())
    jobs = set()
    for host in listing["_meta"]["hostvars"].values():
        replica = _plain(host.get("veeam_replica")) or {}
        if isinstance(replica, dict):
            jobs.add(_plain(replica.get("job_name")))
    assert {EXPRESSION_NAME, STATEMENT_NAME, SCRIPT_NAME} <= names
    assert JOB_NAME in jobs
    assert not _no_canary()
    assert support.PASSWORD not in run["stdout"] + run["stderr"]


PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  vars:
    out: %(out)s
  module_defaults:
    group/opsbox.veeam_em.veeam_em:
      url: "{{ em_url }}"
      username: "{{ em_username }}"
      password: "{{ em_password }}"
  tasks:
    - name: hostvars names
      ansible.builtin.set_fact:
        inventory_names: "{{ groups['all'] | map('extract', hostvars, 'veeam_vm_name') | list }}"
        inventory_jobs: "{{ groups['all'] | map('extract', hostvars) | selectattr('veeam_replica', 'defined')
                            | map(attribute='veeam_replica.job_name') | list }}"
    - name: hostvars debug
      ansible.builtin.debug:
        msg: "{{ item }} / {{ hostvars[host].veeam_vm_name }}"
      loop: "{{ inventory_names }}"
      loop_control:
        index_var: index
      vars:
        host: "{{ groups['all'][index] }}"
    - name: hostvars template
      ansible.builtin.template:
        src: %(template)s
        dest: "{{ out }}/hostvars.txt"
      vars:
        names: "{{ inventory_names + inventory_jobs }}"
    - name: module read
      opsbox.veeam_em.task_session_info:
        session_type: replica
      register: tasks_read
    - name: module debug
      ansible.builtin.debug:
        var: tasks_read.task_sessions | map(attribute='vm_name') | list
    - name: module set_fact
      ansible.builtin.set_fact:
        module_names: "{{ tasks_read.task_sessions | map(attribute='vm_name') | unique | list }}"
        first_name: "{{ (tasks_read.task_sessions | map(attribute='vm_name') | select('search', 'touch') | first) }}"
    - name: module later use
      ansible.builtin.debug:
        msg: "again {{ first_name }} and {{ item }}"
      loop: "{{ module_names }}"
    - name: module template
      ansible.builtin.template:
        src: %(template)s
        dest: "{{ out }}/module.txt"
      vars:
        names: "{{ module_names + [first_name] }}"
    - name: module copy
      ansible.builtin.copy:
        content: "{{ module_names | join('\\n') }}\\n{{ first_name }}\\n"
        dest: "{{ out }}/copy.txt"
    - name: report
      ansible.builtin.include_role:
        name: opsbox.veeam_em.replica_compliance
      vars:
        replica_compliance_report_dir: "{{ out }}/report"
        replica_compliance_fail_on_violation: false
        replica_compliance_now: "{{ em_now }}"
"""


@pytest.fixture(scope="module", name="play")
def fixture_play(sim, source):
    os.makedirs(os.path.join(OUT, "report"), exist_ok=True)
    template = os.path.join(OUT, "names.j2")
    with open(template, "w", encoding="utf-8") as handle:
        handle.write("{% for name in names %}{{ name }}\n{% endfor %}")
    run = support.run_playbook(PLAYBOOK % {"out": OUT, "template": template}, sim=sim, inventory=source,
                               extra_vars={"em_now": sim.now})
    support.report("templating playbook", seconds=run["seconds"], maxrss_mb=run["maxrss_mb"])
    failed = dict((name, task["result"]) for name, task in run["tasks"].items() if task["result"].get("failed"))
    assert run["rc"] == 0 and not failed, (failed, run["stderr"][-3000:])
    return run


def _read(name):
    with open(os.path.join(OUT, name), encoding="utf-8") as handle:
        return handle.read()


@pytest.mark.slow  # one shared playbook of about 20 s
def test_playbook_hostvars_canary_names_not_templated(play):
    text = _read("hostvars.txt")
    for name in (EXPRESSION_NAME, STATEMENT_NAME, SCRIPT_NAME, JOB_NAME):
        assert name in text.splitlines(), name
    debug_lines = [task["result"] for name, task in play["tasks"].items() if name == "hostvars debug"]
    assert EXPRESSION_NAME in json.dumps(debug_lines)
    assert not _no_canary()


@pytest.mark.slow  # one shared playbook of about 20 s
def test_module_results_canary_names_not_templated(play):
    for name in ("module.txt", "copy.txt"):
        lines = _read(name).splitlines()
        assert EXPRESSION_NAME in lines and STATEMENT_NAME in lines and SCRIPT_NAME in lines, name
    later = json.dumps(play["tasks"]["module later use"]["result"])
    assert json.dumps("again %s and" % EXPRESSION_NAME)[1:-1] in later
    assert not _no_canary()


@pytest.mark.slow  # one shared playbook of about 20 s
def test_report_canary_names_escaped(play):
    reports = os.listdir(os.path.join(OUT, "report"))
    html_files = [name for name in reports if name.endswith(".html")]
    assert html_files, reports
    with open(os.path.join(OUT, "report", html_files[0]), encoding="utf-8") as handle:
        html = handle.read()
    assert "<script>document.title" not in html  # escaped, no script injection
    assert "&lt;script&gt;document.title" in html
    assert "lookup(" in html and "touch %s" % CANARY in html  # shown as text
    assert not _no_canary()


@pytest.mark.slow  # one shared playbook of about 20 s
def test_canary_files_absent_after_everything(play):
    assert play["rc"] == 0
    assert not _no_canary()
