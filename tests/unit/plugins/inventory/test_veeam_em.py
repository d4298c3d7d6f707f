# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The inventory plugin as Ansible runs it (InventoryManager, the auto plugin, a config file), against the simulator."""

from __future__ import annotations

import os
import sys

import pytest

from ansible.errors import AnsibleError, AnsibleParserError
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

from .conftest import COLLECTION_ROOT, RESTORE_OPERATOR, check_closed

pytestmark = pytest.mark.simulator


def _install_collection_finder():
    """ansible-test units installs the collection finder; a plain pytest run needs it too."""
    if any(type(finder).__name__ == "_AnsibleCollectionFinder" for finder in sys.meta_path):
        return
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder
    root = os.path.dirname(os.path.dirname(os.path.dirname(COLLECTION_ROOT)))
    _AnsibleCollectionFinder(paths=[root])._install()  # pylint: disable=protected-access


_install_collection_finder()


@pytest.fixture
def em_env(em, monkeypatch):
    """Credentials only in the environment, as the AWX credential type injects them."""
    monkeypatch.setenv("VEEAM_EM_URL", em.url)
    monkeypatch.setenv("VEEAM_EM_USERNAME", em.username)
    monkeypatch.setenv("VEEAM_EM_PASSWORD", em.password)
    monkeypatch.setenv("VEEAM_EM_CA_PATH", em.ca_path)
    return em


def write_config(tmp_path, text, name="test.veeam_em.yml"):
    path = tmp_path / name
    path.write_text("plugin: opsbox.veeam_em.veeam_em\n" + text)
    return str(path)


def load(path, cache=True):
    """Parse *path* the way ansible-inventory does; errors of our plugin are raised, not warned."""
    loader = DataLoader()
    from ansible.plugins.loader import inventory_loader
    plugin = inventory_loader.get("opsbox.veeam_em.veeam_em")
    manager = InventoryManager(loader=loader, sources=[], parse=False)
    plugin.parse(manager._inventory, loader, path, cache=cache)  # pylint: disable=protected-access
    if getattr(plugin, "_cache", None) is not None:  # as InventoryManager does after parse()
        plugin.update_cache_if_changed()
    manager._inventory.reconcile_inventory()  # pylint: disable=protected-access
    return manager


def group_hosts(manager, group):
    found = manager.groups.get(group)
    return sorted(host.name for host in found.get_hosts()) if found is not None else None


def trusted(text):
    """A template written by the playbook author: trusted on ansible-core 2.19+ (plain str before)."""
    try:
        from ansible._internal._datatag._tags import TrustedAsTemplate
    except ImportError:
        return text
    return TrustedAsTemplate().tag(text)


def api_requests(stats):
    return sum(sum(by_status.values()) for path, by_status in stats["requests"].items() if " /api/" in path)


def test_groups_and_hostvars_equal_the_ground_truth(em_env, tmp_path):
    manager = load(write_config(tmp_path, "lookback: 30d\nsources: [replica, cdp, backup]\n"))
    truths = dict((kind, em_env.truth("latest_tasks", kind=kind)) for kind in ("replica", "cdp", "backup"))
    vms = set((row["BackupServerName"], row["VmDisplayName"]) for rows in truths.values() for row in rows)
    names = [vm[1] for vm in vms]
    assert len(manager.hosts) == len(vms)
    for kind, truth in truths.items():
        by_host = {}
        for row in truth:
            host = row["VmDisplayName"] if names.count(row["VmDisplayName"]) == 1 else "%s_%s" % (
                row["VmDisplayName"], row["BackupServerName"])
            by_host[host] = row
        for host, row in by_host.items():
            facts = manager.get_host(host).vars["veeam_%s" % kind]
            assert facts["task_uid"] == row["UID"]
            assert facts["result"] == row["Result"]
            assert facts["job_name"] == row.get("JobName", facts["job_name"])
            assert facts["backup_server_name"] == row["BackupServerName"]
            status = "running" if row["EndTimeUTC"] is None else row["Result"].lower()
            assert facts["status"] == status
            assert host in group_hosts(manager, "veeam_%s_%s" % (kind, status))
        members = set()
        for status in ("success", "warning", "failed", "running"):
            members.update(group_hosts(manager, "veeam_%s_%s" % (kind, status)))
        assert members == set(by_host)
    # a VM name on two backup servers became two hosts, each with its own identity
    doubles = [host for host in manager.hosts if host.endswith("_vbr02.tech.local")]
    assert doubles
    for host in manager.hosts.values():
        assert host.vars["veeam_vm_name"]
        assert not set(host.vars) & {"name", "tags", "environment"}
    check_closed(em_env)


def test_strings_from_em_are_never_templated(em_env, tmp_path):
    manager = load(write_config(tmp_path, "lookback: 30d\n"))
    hostile = [host for host in manager.hosts.values() if "{{" in host.name]
    assert hostile, "the data set has no VM named like a template"
    templar = Templar(loader=DataLoader())
    for host in hostile:
        variables = dict(host.get_vars())
        variables["group_names"] = [group.name for group in host.get_groups()]
        templar.available_variables = variables
        assert templar.template(trusted("{{ veeam_vm_name }}")) == host.vars["veeam_vm_name"]
        assert templar.template(trusted("{{ inventory_hostname }}")) == host.name
        for kind in ("replica", "cdp"):
            if "veeam_" + kind in host.vars:
                assert templar.template(trusted("{{ veeam_" + kind + ".job_name }}")) == host.vars["veeam_" + kind]["job_name"]
        rendered = templar.template(trusted("{{ group_names | join(',') }}"))
        assert rendered == ",".join(variables["group_names"])
    jobs = [group for group in manager.groups if "{{" in group]
    assert jobs, "the data set has no job named like a template"
    for group in jobs:
        templar.available_variables = {"names": [manager.groups[group].name]}
        assert templar.template(trusted("{{ names | first }}")) == group


@pytest.mark.parametrize("setting", ["never", "always"])
def test_group_names_follow_transform_invalid_group_chars(em_env, tmp_path, monkeypatch, setting):
    import ansible.constants
    monkeypatch.setattr(ansible.constants, "TRANSFORM_INVALID_GROUP_CHARS", setting)
    manager = load(write_config(tmp_path, "lookback: 30d\n"))
    servers = sorted(group for group in manager.groups if group.startswith("veeam_server_"))
    if setting == "never":
        assert servers == ["veeam_server_vbr01.tech.local", "veeam_server_vbr02.tech.local"]
        assert any(" " in group for group in manager.groups)
    else:
        assert servers == ["veeam_server_vbr01_tech_local", "veeam_server_vbr02_tech_local"]
        assert all(group.replace("_", "a").isalnum() for group in manager.groups)
    check_closed(em_env)


def test_compose_groups_keyed_groups(em_env, tmp_path):
    config = """lookback: 30d
strict: true
compose:
  replica_days: (veeam_replica.age_seconds / 86400) | int
groups:
  replica_ok: veeam_replica.status in ['success', 'warning']
keyed_groups:
  - key: veeam_replica.job_name
    prefix: job
  - key: replica_days | string
    prefix: age
"""
    manager = load(write_config(tmp_path, config + "sources: [replica]\n"))
    expected = set(group_hosts(manager, "veeam_replica_success")) | set(group_hosts(manager, "veeam_replica_warning"))
    assert expected and set(group_hosts(manager, "replica_ok")) == expected
    assert set(group_hosts(manager, "job_Web_Replica_1")) == set(group_hosts(manager, "veeam_job_Web Replica 1"))
    for host in manager.hosts.values():
        assert int(host.vars["replica_days"]) == host.vars["veeam_replica"]["age_seconds"] // 86400
        assert "age_%s" % host.vars["replica_days"] in [group.name for group in host.get_groups()]
    # strict: a variable some hosts lack fails the run; without strict they are skipped
    missing = config.replace("(veeam_replica.age_seconds", "(veeam_cdp.age_seconds")
    with pytest.raises(AnsibleError):
        load(write_config(tmp_path, missing))
    relaxed = load(write_config(tmp_path, missing.replace("strict: true", "strict: false")))
    assert any("replica_days" not in host.vars for host in relaxed.hosts.values())
    assert any("replica_days" in host.vars for host in relaxed.hosts.values())
    check_closed(em_env)


def test_warm_cache_makes_no_request(em_env, tmp_path):
    cache = tmp_path / "cache"
    config = write_config(tmp_path, "lookback: 30d\ncache: true\ncache_plugin: ansible.builtin.jsonfile\n"
                                    "cache_connection: %s\ncache_timeout: 600\n" % cache)
    cold = load(config)
    first = em_env.stats()
    assert api_requests(first) > 0
    written = sorted(os.listdir(str(cache)))
    assert written
    stamp = os.path.getmtime(str(cache / written[0]))
    em_env.reset_stats()
    warm = load(config)
    assert api_requests(em_env.stats()) == 0
    assert em_env.stats()["logons"] == 0
    assert sorted(warm.hosts) == sorted(cold.hosts)
    for name in cold.hosts:
        for kind in ("replica", "cdp"):
            facts = dict(cold.get_host(name).vars.get("veeam_" + kind, {}), age_seconds=None)
            assert dict(warm.get_host(name).vars.get("veeam_" + kind, {}), age_seconds=None) == facts
    assert os.path.getmtime(str(cache / written[0])) == stamp, "a cache hit must not rewrite (extend) the cache"
    # --flush-cache / refresh_inventory: read again
    load(config, cache=False)
    assert api_requests(em_env.stats()) > 0
    # a different window misses the cache
    em_env.reset_stats()
    load(write_config(tmp_path, "lookback: 20d\ncache: true\ncache_plugin: ansible.builtin.jsonfile\n"
                                "cache_connection: %s\n" % cache))
    assert api_requests(em_env.stats()) > 0
    check_closed(em_env)


@pytest.mark.parametrize("text, option", [
    ("lookback: soon\n", "lookback"),
    ("lookback: 0d\n", "lookback"),
    ("hostvar_prefix: ansible_\n", "hostvar_prefix"),
    ("group_prefix: '{{ nope }}'\n", "nope"),
    ("hostvar_prefix: 'a-'\n", "hostvar_prefix"),
    ("sources: []\n", "sources"),
    ("sources: [tape]\n", "sources"),
    ("strategy: quick\n", "strategy"),
    ("duplicates: merge\n", "duplicates"),
    ("page_size: 0\n", "page_size"),
    ("wire_format: yaml\n", "wire_format"),
])
def test_bad_configuration_names_the_option(em_env, tmp_path, text, option):
    with pytest.raises(AnsibleParserError) as failure:
        load(write_config(tmp_path, text))
    assert option in str(failure.value)
    assert api_requests(em_env.stats()) == 0


def test_bad_credentials_and_unreachable_server(em_env, tmp_path, monkeypatch):
    monkeypatch.setenv("VEEAM_EM_PASSWORD", "wrong")
    with pytest.raises(AnsibleError) as failure:
        load(write_config(tmp_path, ""))
    assert "rejected the logon" in str(failure.value) and "HTTP 401" in str(failure.value)
    assert "wrong" not in str(failure.value)
    monkeypatch.setenv("VEEAM_EM_URL", "https://127.0.0.1:9")
    with pytest.raises(AnsibleError) as failure:
        load(write_config(tmp_path, "retries: 1\ntimeout: 2\n"))
    assert "127.0.0.1:9" in str(failure.value) or "connect" in str(failure.value).lower()
    check_closed(em_env)


def test_forbidden_source_warns_unless_strict(em_env, tmp_path, monkeypatch):
    monkeypatch.setenv("VEEAM_EM_USERNAME", RESTORE_OPERATOR[0])
    monkeypatch.setenv("VEEAM_EM_PASSWORD", RESTORE_OPERATOR[1])
    warnings = []
    from ansible_collections.opsbox.veeam_em.plugins.inventory import veeam_em
    monkeypatch.setattr(veeam_em.display, "warning", warnings.append)
    manager = load(write_config(tmp_path, "lookback: 30d\n"))
    assert not manager.hosts
    assert len([text for text in warnings if "left empty" in text and "403" in text]) == 2
    assert group_hosts(manager, "veeam_replica_success") == []
    with pytest.raises(AnsibleError) as failure:
        load(write_config(tmp_path, "strict_permissions: true\n"))
    assert "403" in str(failure.value)
    check_closed(em_env)


def test_duplicate_names(em_env, tmp_path, monkeypatch):
    warnings = []
    from ansible_collections.opsbox.veeam_em.plugins.inventory import veeam_em
    monkeypatch.setattr(veeam_em.display, "warning", warnings.append)
    suffixed = load(write_config(tmp_path, "lookback: 30d\n"))
    kept = load(write_config(tmp_path, "lookback: 30d\nduplicates: warn\n"))
    assert len(kept.hosts) < len(suffixed.hosts)
    assert any("stands for 2 different VMs" in text for text in warnings)
    with pytest.raises(AnsibleError, match="stands for 2 different VMs"):
        load(write_config(tmp_path, "lookback: 30d\nduplicates: error\n"))
    lower = load(write_config(tmp_path, "lookback: 30d\nhostname: vm_name | upper\n"))
    assert sorted(lower.hosts) == sorted(name.upper() if "_vbr0" not in name else name.rsplit("_vbr0", 1)[0].upper()
                                         + "_vbr0" + name.rsplit("_vbr0", 1)[1] for name in suffixed.hosts)
    check_closed(em_env)


def test_templated_options(em_env, tmp_path, monkeypatch):
    monkeypatch.delenv("VEEAM_EM_PASSWORD")
    monkeypatch.setenv("MY_EM_SECRET", em_env.password)
    manager = load(write_config(tmp_path, "password: \"{{ lookup('ansible.builtin.env', 'MY_EM_SECRET') }}\"\n"
                                          "lookback: \"{{ '3' ~ '0d' }}\"\n"))
    assert manager.hosts
    check_closed(em_env)


def test_empty_ca_path_from_awx_means_no_bundle(em_env, tmp_path, monkeypatch):
    """AWX injects VEEAM_EM_CA_PATH="" for a credential without a CA; that must not become the current directory."""
    monkeypatch.setenv("VEEAM_EM_CA_PATH", "")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", em_env.ca_path)
    monkeypatch.chdir(tmp_path)
    assert load(write_config(tmp_path, "lookback: 30d\nsources: [replica]\n")).hosts
    check_closed(em_env)


def test_verify_file(tmp_path, monkeypatch):
    from ansible.plugins.loader import inventory_loader
    from ansible_collections.opsbox.veeam_em.plugins.inventory import veeam_em
    said = []
    monkeypatch.setattr(veeam_em.display, "vvv", said.append)
    plugin = inventory_loader.get("opsbox.veeam_em.veeam_em")
    for name, accepted in (("prod.veeam_em.yml", True), ("veeam_em.yaml", True), ("prod.yml", False),
                           ("veeam_em.yml.bak", False), ("aws_ec2.yml", False)):
        path = tmp_path / name
        path.write_text("plugin: opsbox.veeam_em.veeam_em\n")
        assert plugin.verify_file(str(path)) is accepted
    assert len(said) == 3 and all("veeam_em.yml or veeam_em.yaml" in text for text in said)
    assert plugin.verify_file(str(tmp_path / "missing.veeam_em.yml")) is False
