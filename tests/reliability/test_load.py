# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Load: 50 module runs at once against one simulator, and the inventory of 50,000 VMs within 600 MB.

The parallel runs are a play over 50 inventory hosts with ``forks: 25``, each host's task
delegated to localhost with its own page size, so that 25 clients page through the same data in
different steps at the same time. Every result must equal the truth and every logon be logged off.

The 50,000-VM data set takes minutes to generate the first time; the simulator caches it under
``.cache/simulator`` by a hash of its parameters. The inventory's peak resident memory is the
kernel's figure for the ``ansible-inventory`` process (``os.wait4``), not a sample.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import datetime, timedelta, timezone

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _reliability_support import (  # noqa: E402 pylint: disable=wrong-import-position
    CANARY_PASSWORD, SIMULATOR_CACHE, inventory_answer, iso, latest_truth, module_answer_problems, run_measured,
    run_process,
)

PARALLEL_HOSTS = 50
FORKS = 25
RSS_LIMIT_MB = 600
# 50,000 VMs over a week: 200 replication jobs twice a day, 40 backup jobs, 2,000 CDP VMs.
BIG_DATASET = {"dataset": "fleet", "vms": 50000, "days": 7, "replica_jobs": 200, "replica_runs_per_day": 2,
               "backup_jobs": 40, "cdp_vms": 2000}


@pytest.mark.slow
def test_fifty_module_runs_in_parallel(em, record_property):
    record_property("group", "load")
    record_property("case", "%d module runs, forks %d" % (PARALLEL_HOSTS, FORKS))
    case = em.case_dir("parallel")
    output = os.path.join(case, "output")
    inventory = os.path.join(case, "input", "hosts.ini")
    with open(inventory, "w") as handle:
        handle.write("[load]\n")
        for index in range(PARALLEL_HOSTS):
            handle.write("load%02d page_size=%d\n" % (index, 5 + index))
    play = [{
        "name": "Fifty clients at once", "hosts": "load", "gather_facts": False,
        "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
        "tasks": [
            {"name": "Read every replication task session", "delegate_to": "localhost",
             "opsbox.veeam_em.task_session_info": dict(em.connection(concurrency=4), session_type="replica",
                                                       page_size="{{ page_size | int }}"),
             "register": "load_read"},
            {"name": "Keep the answer", "delegate_to": "localhost",
             "ansible.builtin.copy": {"content": "{{ load_read | to_json }}",
                                      "dest": output + "/{{ inventory_hostname }}.json", "mode": "0600"}},
        ],
    }]
    playbook = os.path.join(case, "input", "parallel.yml")
    with open(playbook, "w") as handle:
        json.dump(play, handle)
    env = dict(em.env, ANSIBLE_LOG_PATH=os.path.join(output, "ansible.log"))
    em.sim.reset_stats()
    run = run_process([os.path.join(em.bindir, "ansible-playbook"), "-i", inventory, "-f", str(FORKS), playbook], env)
    record_property("seconds", round(run.wall, 2))
    assert not run.timed_out and run.returncode == 0, run.tail()
    truth = em.truth("module:task_session_info")
    problems = []
    for index in range(PARALLEL_HOSTS):
        with open(os.path.join(output, "load%02d.json" % index)) as handle:
            result = json.load(handle)
        problems += ["load%02d: %s" % (index, problem) for problem in module_answer_problems(result, "task_session_info", truth)]
    stats = em.sim.stats()
    if (stats["logons"], stats["logoffs"], stats["open_sessions"]) != (PARALLEL_HOSTS, PARALLEL_HOSTS, 0):
        problems.append("logons %d, logoffs %d, open sessions %d" % (stats["logons"], stats["logoffs"], stats["open_sessions"]))
    for name, value in em.secrets.items():
        for dirpath, dummy, filenames in os.walk(output):
            for filename in filenames:
                with open(os.path.join(dirpath, filename), "rb") as handle:
                    if value.encode("utf-8") in handle.read():
                        problems.append("%s in %s" % (name, filename))
    assert not problems, "\n".join(problems[:20])


@pytest.mark.slow
def test_inventory_of_fifty_thousand_vms_within_600_mb(harness, record_property, tmp_path):
    """``ansible-inventory --graph`` builds the inventory (and prints only the group tree) within 600 MB.

    ``--list`` is measured too and its answer checked against the truth, but its peak is only
    recorded: on top of the build it has ansible-core serialise every host's variables into one
    JSON document (about 50 variables per host here), which costs more than the build itself and
    is not this collection's code.
    """
    from em_simulator.testing import start_simulator  # pylint: disable=import-error,import-outside-toplevel

    record_property("group", "load")
    record_property("case", "inventory, 50,000 VMs, build peak RSS <= %d MB" % RSS_LIMIT_MB)
    started = time.monotonic()
    sim = start_simulator(python=sys.executable, tls=True, password=CANARY_PASSWORD, state_dir=SIMULATOR_CACHE,
                          cache_dir=SIMULATOR_CACHE, timeout=1800, **BIG_DATASET)
    try:
        record_property("dataset_generated_now", bool(sim.info.get("dataset_built")))
        record_property("dataset_generate_seconds", round(sim.info.get("generate_seconds", 0.0), 1))
        record_property("simulator_start_seconds", round(time.monotonic() - started, 1))
        source = str(tmp_path / "big.veeam_em.yml")
        with open(source, "w") as handle:
            json.dump({"plugin": "opsbox.veeam_em.veeam_em", "url": sim.url, "username": sim.username,
                       "password": sim.password, "ca_path": sim.ca_path}, handle)
        env = dict(harness.env, ANSIBLE_INVENTORY_UNPARSED_FAILED="true", ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED="true")
        inventory = os.path.join(harness.bindir, "ansible-inventory")

        printed = str(tmp_path / "graph.txt")
        code, wall, build_mb = run_measured([inventory, "-i", source, "--graph"], env, timeout=1200, stdout_path=printed)
        record_property("graph_seconds", round(wall, 1))
        record_property("peak_rss_mb", round(build_mb, 1))
        with open(printed, "rb") as handle:
            assert code == 0, handle.read()[-3000:].decode("utf-8", "replace")
        assert sim.stats()["open_sessions"] == 0

        result = str(tmp_path / "inventory.json")
        # The inventory's own window: its default lookback of 7 days back from the real clock.
        since = iso(datetime.now(timezone.utc) - timedelta(days=7))
        code, wall, list_mb = run_measured([inventory, "-i", source, "--list", "--output", result], env, timeout=1200,
                                           stdout_path=str(tmp_path / "list.txt"))
        record_property("seconds", round(wall, 1))
        record_property("list_peak_rss_mb", round(list_mb, 1))
        assert code == 0
        with open(result) as handle:
            data = json.load(handle)
        record_property("hosts", len(data["_meta"]["hostvars"]))
        assert sim.stats()["open_sessions"] == 0
        truth = latest_truth(sim, since, sim.now)
        answer = inventory_answer(data)
        for source_name in ("replica", "cdp"):
            assert answer[source_name] == truth[source_name], "%s differs from the truth" % source_name
        assert len(data["_meta"]["hostvars"]) >= 50000
        assert build_mb <= RSS_LIMIT_MB, "building the inventory (ansible-inventory --graph) peaked at %.0f MB" % build_mb
    finally:
        sim.stop()
