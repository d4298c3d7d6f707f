# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The compliance verdicts, on hand-built task sessions and host variables, for every status and reason."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.opsbox.veeam_em.plugins.filter.compliance_evaluate import (
    FilterModule, compliance_evaluate, evaluate, failure_message,
)

NOW = "2026-11-20T12:00:00Z"
NOW_DT = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)


def stamp(hours_ago):
    return (NOW_DT - timedelta(hours=hours_ago)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def task(uid, vm, hours_ago, result="Success", running=False, server="vbr01", session="s-gold", reason=None,
         session_name="Gold@2026-11-20 01:00:00", minutes=10):
    return {
        "uid": uid, "vm_name": vm, "backup_server_name": server, "job_session_uid": session,
        "job_session_name": session_name, "creation_time": stamp(hours_ago),
        "end_time": None if running else stamp(hours_ago - minutes / 60.0),
        "state": "InProgress" if running else "Completed", "result": "None" if running else result, "reason": reason,
    }


SESSIONS = [{"uid": "s-gold", "job_name": "Gold"}, {"uid": "s-silver", "job_name": "Silver"}]


def run(tasks, sessions=None, **options):
    options.setdefault("sources", ["replica"])
    return evaluate({"replica": {"tasks": tasks, "sessions": SESSIONS if sessions is None else sessions}}, NOW, **options)


def row(result, vm, server="vbr01"):
    found = [item for item in result["vms"] if item["vm_name"] == vm and item["backup_server_name"] == server]
    assert len(found) == 1, found
    return found[0]


def test_recent_success_is_compliant():
    result = run([task("a", "web-01", 3), task("b", "web-01", 9)])
    vm = row(result, "web-01")
    assert vm["compliant"] is True and vm["status"] == "compliant"
    assert vm["reasons"] == [] and vm["reason"] is None
    assert vm["last_result"] == "Success"
    assert vm["last_success_time"] == stamp(3 - 10 / 60.0)
    assert vm["last_success_age_hours"] == pytest.approx(2.83, abs=0.01)
    assert vm["job_name"] == "Gold" and vm["task_uid"] == "a" and vm["source"] == "replica"
    assert result["summary"] == {"total": 1, "compliant": 1, "violations": 0, "excluded": 0, "compliant_percent": 100.0,
                                 "by_reason": {"running_past_rpo": 0, "failed": 0, "warning": 0, "never_succeeded": 0,
                                               "stale": 0},
                                 "by_last_result": {"Success": 1}}
    assert result["message"] == ""


def test_last_run_failed_with_a_recent_success_before_it():
    vm = row(run([task("a", "db-01", 2, "Failed", reason="Snapshot creation failed"), task("b", "db-01", 8)]), "db-01")
    assert vm["compliant"] is False and vm["status"] == "violation"
    assert vm["reasons"] == ["failed"]
    assert "Snapshot creation failed" in vm["detail"]
    assert vm["last_result"] == "Failed"


def test_failed_and_stale_when_the_success_is_also_too_old():
    vm = row(run([task("a", "db-01", 2, "Failed"), task("b", "db-01", 30)]), "db-01")
    assert vm["reasons"] == ["failed", "stale"] and vm["reason"] == "failed"


def test_warning_is_a_violation_unless_accepted():
    tasks = [task("a", "app-01", 1, "Warning", reason="Low free space"), task("b", "app-01", 30)]
    assert row(run(tasks), "app-01")["reasons"] == ["warning", "stale"]
    # Accepted, the warning run is the last good run: neither warning nor stale.
    accepted = row(run(tasks, accept_warning=True), "app-01")
    assert accepted["compliant"] is True
    assert accepted["last_success_time"] == stamp(1 - 10 / 60.0)


def test_stale_success():
    vm = row(run([task("a", "file-01", 25)]), "file-01")
    assert vm["reasons"] == ["stale"]
    assert "last success 24h 50m ago, RPO 24h" in vm["detail"]


def test_never_succeeded_in_the_window():
    vm = row(run([task("a", "sql-01", 2, "Failed"), task("b", "sql-01", 14, "Failed")]), "sql-01")
    assert vm["reasons"] == ["failed", "never_succeeded"]
    assert vm["last_success_time"] is None and vm["last_success_age_hours"] is None


def test_running_past_rpo():
    vm = row(run([task("a", "big-01", 26, running=True), task("b", "big-01", 40)]), "big-01")
    assert vm["reasons"] == ["running_past_rpo", "stale"]
    assert vm["running"] is True and vm["last_result"] == "None" and vm["last_run_state"] == "InProgress"
    assert "running for 26h, RPO 24h" in vm["detail"]
    assert "last success 39h 50m ago" in vm["detail"]


def test_running_within_rpo_is_judged_on_the_run_before():
    fresh = row(run([task("a", "web-02", 1, running=True), task("b", "web-02", 7)]), "web-02")
    assert fresh["compliant"] is True and fresh["running"] is True
    assert fresh["last_completed_result"] == "Success"
    failed_before = row(run([task("a", "web-02", 1, running=True), task("b", "web-02", 7, "Failed")]), "web-02")
    assert failed_before["reasons"] == ["failed", "never_succeeded"]


def test_first_run_still_running_has_never_succeeded():
    vm = row(run([task("a", "new-01", 1, running=True)]), "new-01")
    assert vm["reasons"] == ["never_succeeded"]


def test_failed_run_followed_by_a_successful_retry_is_compliant():
    vm = row(run([task("a", "db-02", 3, "Failed"), task("b", "db-02", 2.5)]), "db-02")
    assert vm["compliant"] is True and vm["last_result"] == "Success"


def test_rpo_override_by_vm_pattern_and_job():
    tasks = [task("a", "sql-01", 5), task("b", "sql-02", 5, session="s-silver"), task("c", "web-01", 5, session="s-silver"),
             task("d", "web-02", 5)]
    result = run(tasks, rpo_by_vm={"sql-*": 4, "sql-02": 8}, rpo_by_job={"Silver": 2})
    assert row(result, "sql-01")["rpo_hours"] == 4 and row(result, "sql-01")["reasons"] == ["stale"]
    # An exact name wins over a pattern, and a VM override over a job override.
    assert row(result, "sql-02")["rpo_hours"] == 8 and row(result, "sql-02")["compliant"]
    assert row(result, "web-01")["rpo_hours"] == 2 and row(result, "web-01")["reasons"] == ["stale"]
    assert row(result, "web-02")["rpo_hours"] == 24 and row(result, "web-02")["compliant"]


def test_include_and_exclude_vms_and_a_missing_included_vm():
    tasks = [task("a", "web-01", 2), task("b", "web-02", 30), task("c", "db-01", 30)]
    result = run(tasks, include_vms=["web-*", "ghost-01", "gone-*"], exclude_vms=["web-02"])
    assert sorted(item["vm_name"] for item in result["vms"]) == ["ghost-01", "web-01"]
    ghost = row(result, "ghost-01", server=None)
    assert ghost["reasons"] == ["never_succeeded"] and ghost["detail"] == "no task session in the window"
    assert result["summary"]["excluded"] == 2
    assert result["summary"]["violations"] == 1


def test_exclude_job_judges_a_vm_in_two_jobs_on_the_other_job():
    tasks = [task("a", "app-02", 1, "Failed", session="s-silver"), task("b", "app-02", 6)]
    assert row(run(tasks), "app-02")["reasons"] == ["failed"]
    vm = row(run(tasks, exclude_jobs=["Silv*"]), "app-02")
    assert vm["compliant"] is True and vm["job_name"] == "Gold"
    assert row(run(tasks, include_jobs=["Silver"]), "app-02")["reasons"] == ["failed", "never_succeeded"]


def test_job_name_falls_back_to_the_session_name():
    vm = row(run([task("a", "x-01", 1, session="unknown", session_name="Replica; prod@DR {{ env }}@2026-11-20 11:00:00")],
                 sessions=[]), "x-01")
    assert vm["job_name"] == "Replica; prod@DR {{ env }}"


def test_same_vm_name_on_two_servers_gives_two_rows():
    result = run([task("a", "app-01", 1, server="vbr01"), task("b", "app-01", 30, server="vbr02")])
    assert row(result, "app-01", "vbr01")["compliant"] is True
    assert row(result, "app-01", "vbr02")["reasons"] == ["stale"]


def test_a_vm_is_compliant_only_in_every_source():
    data = {
        "replica": {"tasks": [task("a", "café-db", 2)], "sessions": SESSIONS},
        "cdp": {"tasks": [dict(task("c", "café-db", 30, running=True), policy_session_uid="p1",
                               policy_session_name="CDP Policy 1@2026-11-19 06:00:00")],
                "sessions": [{"uid": "p1", "policy_name": "CDP Policy 1"}]},
    }
    result = evaluate(data, NOW, sources=["replica", "cdp"])
    vm = row(result, "café-db")
    assert vm["reasons"] == ["running_past_rpo", "never_succeeded"]
    assert vm["source"] == "cdp" and vm["job_name"] == "CDP Policy 1"
    assert vm["checks"]["replica"]["compliant"] is True
    assert vm["checks"]["cdp"]["compliant"] is False
    # Only the sources asked for count.
    assert row(evaluate(data, NOW, sources=["replica"]), "café-db")["compliant"] is True


def test_rows_are_sorted_most_urgent_first_and_worst_lists_five():
    tasks = [task("a", "ok-01", 1), task("b", "stale-01", 30), task("c", "stale-02", 60), task("d", "failed-01", 1, "Failed"),
             task("e", "warn-01", 1, "Warning"), task("f", "run-01", 30, running=True), task("g", "never-01", 1, "Failed"),
             task("h", "never-01", 2, "Failed")]
    result = run(tasks)
    names = [item["vm_name"] for item in result["vms"]]
    assert names == ["run-01", "failed-01", "never-01", "warn-01", "stale-02", "stale-01", "ok-01"]
    assert [item["vm_name"] for item in result["worst"]] == names[:5]
    assert result["summary"]["by_reason"] == {"running_past_rpo": 1, "failed": 2, "warning": 1, "never_succeeded": 0,
                                              "stale": 2}


def test_failure_message_lists_twenty_then_counts():
    result = run([task(str(index), "vm-%02d" % index, 1, "Failed") for index in range(23)] + [task("ok", "ok-01", 1)])
    lines = result["message"].splitlines()
    assert lines[0] == "23 of 24 VMs are not compliant:"
    assert len(lines) == 22 and lines[-1] == "... and 3 more"
    assert lines[1].startswith("- vm-00 on vbr01: failed, never_succeeded (")
    assert failure_message(result["vms"], limit=2).splitlines()[-1] == "... and 21 more"
    assert len(run([task(str(index), "vm-%02d" % index, 1, "Failed") for index in range(5)], message_limit=3)["message"]
               .splitlines()) == 5


def test_hostile_names_are_kept_verbatim_and_never_trusted_as_templates():
    name = "{{ lookup('pipe', 'id') }}"
    result = compliance_evaluate({"replica": {"tasks": [task("a", name, 30)], "sessions": SESSIONS}}, NOW, sources=["replica"])
    vm = result["vms"][0]
    assert vm["vm_name"] == name and name in result["message"]
    for value in (vm["vm_name"], result["message"], vm["detail"]):
        assert_untrusted(value)


def assert_untrusted(value):
    """ansible-core 2.16 marks unsafe text with __UNSAFE__; 2.19 and later with the absence of TrustedAsTemplate."""
    try:
        from ansible._internal._datatag._tags import TrustedAsTemplate
    except ImportError:
        assert getattr(value, "__UNSAFE__", False) is True
    else:
        assert not TrustedAsTemplate.is_tagged_on(value)


# ------------------------------------------------------------------------------ inventory host variables

def source_vars(result="Success", hours_ago=2.0, running=False, completed="Success", completed_hours_ago=None,
                success_hours_ago=2.0, job="Gold", reason=None):
    """What the inventory plugin puts under veeam_<source> for one VM."""
    return {
        "status": "running" if running else result.lower(), "result": "None" if running else result,
        "state": "InProgress" if running else "Completed", "running": running,
        "creation_time": stamp(hours_ago), "end_time": None if running else stamp(hours_ago - 0.1),
        "duration_seconds": None if running else 360.0, "age_seconds": int(hours_ago * 3600), "job_name": job,
        "job_uid": "urn:veeam:Job:" + job, "session_uid": "s", "session_name": job + "@x", "is_retry": False,
        "task_uid": "t-" + job, "backup_server_name": "vbr01", "backup_server_uid": "urn:veeam:BackupServer:1",
        "total_size": 1, "reason": reason, "last_completed_result": completed,
        "last_completed_time": stamp(completed_hours_ago if completed_hours_ago is not None else hours_ago - 0.1)
        if completed else None,
        "last_success_time": stamp(success_hours_ago) if success_hours_ago is not None else None,
    }


def host(vm, server="vbr01", prefix="veeam_", **sources):
    variables = {prefix + "vm_name": vm, prefix + "backup_server_name": server,
                 prefix + "backup_server_uid": "urn:veeam:BackupServer:" + server, "inventory_hostname": vm}
    for name, facts in sources.items():
        variables[prefix + name] = facts
    return variables


def test_hostvars_every_reason():
    hosts = {
        "ok": host("ok-01", replica=source_vars()),
        "failed": host("failed-01", replica=source_vars("Failed", completed="Failed", reason="Disk full")),
        "warning": host("warn-01", replica=source_vars("Warning", completed="Warning", success_hours_ago=30)),
        "stale": host("stale-01", replica=source_vars(hours_ago=30, success_hours_ago=30)),
        "never": host("never-01", replica=source_vars("Failed", completed="Failed", success_hours_ago=None)),
        "running": host("run-01", replica=source_vars(hours_ago=25, running=True, completed="Success", completed_hours_ago=26,
                                                      success_hours_ago=26)),
        "running_ok": host("run-02", replica=source_vars(hours_ago=1, running=True, completed="Success", completed_hours_ago=5,
                                                         success_hours_ago=5)),
        "no_sources": host("lonely-01", backup=source_vars("Failed", completed="Failed")),
    }
    result = evaluate(hosts, NOW, mode="hostvars", sources=["replica", "cdp"])
    verdicts = dict((item["host"], item["reasons"]) for item in result["vms"])
    assert verdicts == {
        "ok": [], "failed": ["failed"], "warning": ["warning", "stale"], "stale": ["stale"],
        "never": ["failed", "never_succeeded"], "running": ["running_past_rpo", "stale"], "running_ok": [],
    }
    failed = [item for item in result["vms"] if item["host"] == "failed"][0]
    assert "Disk full" in failed["detail"] and failed["job_name"] == "Gold" and failed["vm_name"] == "failed-01"
    assert result["mode"] == "hostvars"


def test_hostvars_as_a_list_with_another_prefix_and_accepted_warning():
    hosts = [host("warn-01", prefix="em_", replica=source_vars("Warning", completed="Warning", success_hours_ago=30))]
    result = evaluate(hosts, NOW, mode="hostvars", sources=["replica"], hostvar_prefix="em_", accept_warning=True)
    assert result["vms"][0]["compliant"] is True and result["vms"][0]["host"] == "warn-01"
    assert evaluate(hosts, NOW, mode="hostvars", sources=["replica"])["summary"]["total"] == 0


def test_hostvars_and_records_agree_on_the_same_data():
    """Host variables built by the inventory plugin's own code give the same verdicts as the task sessions."""
    build = pytest.importorskip("ansible_collections.opsbox.veeam_em.plugins.plugin_utils._inventory_build")
    tasks = [task("a", "ok-01", 2), task("b", "failed-01", 1, "Failed"), task("c", "failed-01", 6),
             task("d", "stale-01", 30), task("e", "run-01", 26, running=True), task("f", "run-01", 50),
             task("g", "never-01", 3, "Failed"), task("h", "warn-01", 2, "Warning"), task("i", "retry-01", 3, "Failed"),
             task("j", "retry-01", 2.5)]
    sessions = [dict(item, uid=item["uid"], job_uid="urn:veeam:Job:" + item["job_name"], is_retry=False, name="x")
                for item in SESSIONS]
    inventory = build.build_inventory({"replica": {"tasks": tasks, "sessions": sessions}}, NOW_DT, sanitize=lambda name: name)
    from_hostvars = evaluate(inventory["hosts"], NOW, mode="hostvars", sources=["replica"])
    from_records = run(tasks, sessions=sessions)

    def essence(result):
        return sorted((item["vm_name"], item["backup_server_name"], tuple(item["reasons"]), item["last_result"],
                       item["last_success_time"], item["job_name"]) for item in result["vms"])

    assert essence(from_hostvars) == essence(from_records)
    assert from_records["summary"]["violations"] == 5


# ------------------------------------------------------------------------------ bad input

@pytest.mark.parametrize("options, message", [
    ({"rpo_hours": 0}, "more than zero"),
    ({"rpo_hours": "soon"}, "not a number"),
    ({"rpo_by_vm": {"a": -1}}, "more than zero"),
    ({"rpo_by_vm": ["a"]}, "dictionary"),
    ({"sources": ["tape"]}, "sources must be"),
    ({"sources": []}, "sources must be"),
    ({"mode": "magic"}, "mode must be"),
    ({"include_vms": "web-01"}, "list of names"),
    ({"message_limit": "many"}, "whole number"),
])
def test_bad_options_are_refused_with_the_option_named(options, message):
    tasks = [task("a", "a", 1)]
    with pytest.raises(AnsibleFilterError, match=message):
        evaluate({"replica": {"tasks": tasks}}, NOW, **options)


def test_bad_now_and_input_are_refused():
    with pytest.raises(AnsibleFilterError, match="not an ISO 8601"):
        evaluate({}, "yesterday")
    with pytest.raises(AnsibleFilterError, match="now is required"):
        evaluate({}, "")
    with pytest.raises(AnsibleFilterError, match="dictionary of sources"):
        evaluate([], NOW)
    with pytest.raises(AnsibleFilterError, match="list under 'tasks'"):
        evaluate({"replica": {"tasks": "x"}}, NOW)
    with pytest.raises(AnsibleFilterError, match="host variables"):
        evaluate("x", NOW, mode="hostvars")


def test_the_filter_is_registered():
    assert FilterModule().filters()["compliance_evaluate"] is compliance_evaluate
