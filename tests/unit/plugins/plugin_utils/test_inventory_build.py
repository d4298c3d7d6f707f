# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Records to hosts, groups and variables, without a server."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ansible.inventory.group import to_safe_group_name

from ansible_collections.opsbox.veeam_em.plugins.plugin_utils._inventory_build import (
    InventoryBuildError, assign_hostnames, build_inventory, check_prefix, parse_lookback,
)
from ansible_collections.opsbox.veeam_em.plugins.plugin_utils._unsafe import make_unsafe

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)


def forced(name):
    return to_safe_group_name(name, force=True, silent=True)


def task(uid, vm, session_uid, hour, result="Success", running=False, server="vbr01", size=10):
    return {"uid": uid, "vm_name": vm, "job_session_uid": session_uid, "backup_server_name": server,
            "backup_server_uid": "urn:veeam:BackupServer:" + server, "creation_time": "2026-11-20T%02d:00:00.000000Z" % hour,
            "end_time": None if running else "2026-11-20T%02d:10:00.000000Z" % hour, "total_size": size, "reason": None,
            "state": "InProgress" if running else "Completed", "result": "None" if running else result}


def session(uid, job, retry=False):
    return {"uid": uid, "job_uid": "urn:veeam:Job:" + job, "job_name": job, "is_retry": retry, "name": job + "@x"}


DATA = {
    "replica": {
        "sessions": [session("s1", "Gold"), session("s2", "Gold", retry=True), session("s3", "Silver; {{ x }}")],
        "tasks": [
            task("r1", "web", "s1", 8, result="Failed"),
            task("r2", "web", "s2", 9),                       # the retry succeeded
            task("r3", "db", "s3", 10, running=True),         # still running
            task("r4", "db", "s1", 8, result="Warning"),
            task("r5", "web", "s3", 7, server="vbr02", result="Failed"),
        ],
    },
    "cdp": {"sessions": [{"uid": "p1", "policy_uid": "P", "policy_name": "CDP 1"}],
            "tasks": [dict(task("c1", "db", None, 11, running=True), policy_session_uid="p1")]},
}


@pytest.mark.parametrize("text, seconds", [("7d", 7 * 86400), ("36h", 36 * 3600), ("1d12h", 36 * 3600), ("2w", 14 * 86400),
                                           ("90m", 5400), (" 1D 30S ", 86430)])
def test_parse_lookback(text, seconds):
    assert parse_lookback(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "7", "d", "seven days", "0d", "-1d", None, 7])
def test_parse_lookback_refuses(text):
    with pytest.raises(ValueError, match="lookback"):
        parse_lookback(text)


@pytest.mark.parametrize("prefix", ["ansible_", "1x", "a-b", "env iron"])
def test_check_prefix_refuses(prefix):
    with pytest.raises(ValueError, match="hostvar_prefix"):
        check_prefix("hostvar_prefix", prefix, ["replica"])


def test_check_prefix_accepts():
    check_prefix("hostvar_prefix", "veeam_", ["replica", "cdp", "backup"])
    check_prefix("hostvar_prefix", "", ["replica"])


def test_hosts_groups_and_variables():
    result = build_inventory(DATA, NOW, forced)
    assert sorted(result["hosts"]) == ["db", "web_vbr01", "web_vbr02"]
    web = result["hosts"]["web_vbr01"]["veeam_replica"]
    assert (web["status"], web["result"], web["job_name"], web["is_retry"], web["task_uid"]) == ("success", "Success", "Gold", True, "r2")
    assert web["last_success_time"] == "2026-11-20T09:10:00.000000Z"
    assert web["age_seconds"] == 3 * 3600
    db = result["hosts"]["db"]
    assert (db["veeam_replica"]["status"], db["veeam_replica"]["running"]) == ("running", True)
    assert (db["veeam_replica"]["last_completed_result"], db["veeam_replica"]["last_success_time"]) == ("Warning", None)
    assert db["veeam_cdp"]["job_name"] == "CDP 1" and db["veeam_cdp"]["status"] == "running"
    assert db["veeam_vm_name"] == "db" and db["veeam_backup_server_name"] == "vbr01"
    groups = result["groups"]
    assert groups["veeam_replica_success"] == ["web_vbr01"]
    assert groups["veeam_replica_running"] == ["db"]
    assert groups["veeam_replica_failed"] == ["web_vbr02"]
    assert groups["veeam_replica_warning"] == [] and groups["veeam_cdp_failed"] == []
    assert groups["veeam_job_Silver_____x___"] == ["db", "web_vbr02"]
    assert groups["veeam_server_vbr01"] == ["db", "web_vbr01"]
    assert not any(name in host for host in result["hosts"].values() for name in ("name", "tags", "environment"))


def test_group_names_follow_the_sanitiser_given():
    kept = build_inventory(DATA, NOW, lambda name: name, group_prefix="em_")
    assert "em_job_Silver; {{ x }}" in kept["groups"]


def test_duplicates():
    vms = {("vbr01", "web"): {"vm_name": "web", "sources": {"replica": {"creation_time": "2"}}},
           ("vbr02", "web"): {"vm_name": "web", "sources": {"replica": {"creation_time": "3"}}}}
    hosts, warnings = assign_hostnames(vms, lambda vm: vm["vm_name"], "suffix")
    assert hosts == {"web_vbr01": ("vbr01", "web"), "web_vbr02": ("vbr02", "web")} and not warnings
    hosts, warnings = assign_hostnames(vms, lambda vm: vm["vm_name"], "warn")
    assert hosts == {"web": ("vbr02", "web")} and "2 different VMs" in warnings[0]
    with pytest.raises(InventoryBuildError, match="2 different VMs"):
        assign_hostnames(vms, lambda vm: vm["vm_name"], "error")
    with pytest.raises(InventoryBuildError, match="empty name"):
        assign_hostnames(vms, lambda vm: "", "suffix")
    with pytest.raises(InventoryBuildError, match="suffix cannot"):
        assign_hostnames({("a", "x"): {"vm_name": "x"}, ("a", "y"): {"vm_name": "y"}}, lambda vm: "same", "suffix")


def test_make_unsafe_marks_every_string():
    from ansible.utils.unsafe_proxy import AnsibleUnsafeText
    value = make_unsafe({"a": ["{{ x }}", 1, None, True, {"b": "c"}], "n": 2.5})
    assert value["n"] == 2.5 and value["a"][1:4] == [1, None, True]
    if AnsibleUnsafeText("x").__class__ is AnsibleUnsafeText:  # ansible-core 2.16 .. 2.18
        assert isinstance(value["a"][0], AnsibleUnsafeText) and isinstance(value["a"][4]["b"], AnsibleUnsafeText)
        assert all(isinstance(key, AnsibleUnsafeText) for key in value)
    else:  # 2.19 and later: untrusted plain strings
        from ansible._internal._datatag._tags import TrustedAsTemplate
        trusted = TrustedAsTemplate().tag("{{ x }}")
        assert not TrustedAsTemplate.is_tagged_on(make_unsafe(trusted))


class _TaggedStr(str):
    pass


class _TaggedInt(int):
    pass


class _TaggedFloat(float):
    pass


class _TaggedDict(dict):
    pass


class _CountingTag:
    """Stands in for Origin.tag: returns a tagged copy (a subclass, as ansible-core does) and counts calls."""

    # base types, not exact ones: on 2.16 the strings arrive as AnsibleUnsafeText
    TYPES = ((str, _TaggedStr), (int, _TaggedInt), (float, _TaggedFloat), (dict, _TaggedDict))

    def __init__(self):
        self.calls = []

    def __call__(self, value):
        self.calls.append(value)
        return [tagged for base, tagged in self.TYPES if isinstance(value, base)][0](value)


def test_make_unsafe_tags_each_distinct_value_once():
    tag = _CountingTag()
    memo = {}
    first = make_unsafe({"job": "Gold", "size": 1, "ratio": 1.0, "ok": True, "none": None}, memo, tag)
    second = make_unsafe({"job": "Gold", "size": 1}, memo, tag)
    assert isinstance(first["job"], _TaggedStr) and first["job"] is second["job"]
    assert isinstance(first["size"], _TaggedInt) and first["size"] is second["size"]
    assert isinstance(first["ratio"], _TaggedFloat)           # 1 and 1.0 stay apart
    assert first["ok"] is True and first["none"] is None       # never tagged
    assert isinstance(first, _TaggedDict) and isinstance(second, _TaggedDict)
    assert all(isinstance(key, _TaggedStr) for key in first)
    scalars = sorted(repr(type(value)(value)) if not isinstance(value, str) else repr(str(value))
                     for value in tag.calls if not isinstance(value, dict))
    assert scalars == sorted(repr(value) for value in ["job", "Gold", "size", 1, "ratio", 1.0, "ok", "none"])
    assert len([value for value in tag.calls if isinstance(value, dict)]) == 2


def test_make_unsafe_without_memo_never_tags():
    tag = _CountingTag()
    assert make_unsafe({"job": "Gold", "size": 1}, None, tag) == {"job": "Gold", "size": 1}
    assert not tag.calls


def test_origin_tagger_is_none_without_an_origin():
    from ansible_collections.opsbox.veeam_em.plugins.plugin_utils._unsafe import origin_tagger

    class Plain:
        pass

    assert origin_tagger(Plain()) is None


def test_tagged_values_are_kept_by_the_variable_visitor_of_2_19():
    """On 2.19+ the inventory proxy keeps a value that already has an origin instead of copying it."""
    try:
        from ansible._internal._datatag._tags import Origin, TrustedAsTemplate
        from ansible._internal._json import AnsibleVariableVisitor
    except ImportError:  # ansible-core 2.16 .. 2.18: no data tagging, nothing to keep
        return
    from ansible_collections.opsbox.veeam_em.plugins.plugin_utils._unsafe import origin_tagger

    class Proxy:
        _default_origin = Origin(description="<inventory plugin test>")

    tag = origin_tagger(Proxy())
    value = make_unsafe({"job": "{{ x }}", "n": 3}, {}, tag)
    visited = AnsibleVariableVisitor(origin=Proxy._default_origin).visit(value)
    assert visited["job"] is value["job"] and visited["n"] is value["n"]
    assert not TrustedAsTemplate.is_tagged_on(visited["job"])
