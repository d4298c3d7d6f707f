# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Turn the records read from Enterprise Manager into hosts, groups and host variables.

Pure functions: no Ansible inventory object, no network. The plugin passes the group
name sanitiser of its base class (which honours ``TRANSFORM_INVALID_GROUP_CHARS``) and
a host name function; the unit tests call these directly.
"""

from __future__ import annotations

import re
from datetime import timedelta

from ansible_collections.opsbox.veeam_em.plugins.module_utils._times import parse_timestamp
from ansible_collections.opsbox.veeam_em.plugins.module_utils._vm_latest import (
    SOURCES, is_running, summarize,
)

STATUSES = ("success", "warning", "failed", "running")
DUPLICATE_MODES = ("suffix", "warn", "error")

# Names a play or Ansible itself gives a meaning to; a host variable must never take one.
RESERVED_NAMES = frozenset((
    "name", "tags", "environment", "vars", "hostvars", "groups", "group_names", "inventory_hostname",
    "inventory_hostname_short", "inventory_dir", "inventory_file", "omit", "playbook_dir", "role_names",
    "ansible_host", "ansible_user", "ansible_port", "ansible_connection", "when", "become", "action",
))

_LOOKBACK_PART = re.compile(r"(\d+)\s*([smhdw])", re.IGNORECASE)
_LOOKBACK_FULL = re.compile(r"^\s*(?:\d+\s*[smhdw]\s*)+$", re.IGNORECASE)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class InventoryBuildError(Exception):
    """The records cannot be turned into an inventory as configured (for example duplicate host names)."""


def parse_lookback(text):
    """``"7d"``, ``"36h"``, ``"1d12h"``, ``"2w"``, ``"90m"`` -> timedelta; ValueError otherwise."""
    if not isinstance(text, str) or not _LOOKBACK_FULL.match(text):
        raise ValueError("lookback must be a duration such as 7d, 36h, 1d12h, 2w or 90m, not %r" % (text,))
    seconds = sum(int(count) * _UNITS[unit.lower()] for count, unit in _LOOKBACK_PART.findall(text))
    if seconds <= 0:
        raise ValueError("lookback must be longer than zero, not %r" % (text,))
    return timedelta(seconds=seconds)


def check_prefix(option, prefix, sources):
    """Refuse a host variable prefix that would produce a reserved or invalid variable name."""
    if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$|^$", prefix or ""):
        raise ValueError("%s must consist of letters, digits and underscores and not start with a digit, not %r"
                         % (option, prefix))
    suffixes = list(sources) + ["vm_name", "backup_server_name", "backup_server_uid"]
    for name in ["%s%s" % (prefix, suffix) for suffix in suffixes]:
        if name in RESERVED_NAMES or name.startswith("ansible_") or not re.match(r"^[A-Za-z_]", name):
            raise ValueError("%s=%r makes the host variable %r, which Ansible reserves" % (option, prefix, name))


def status_of(task):
    """The group word of a task session: running while it runs, else its result in lower case."""
    if is_running(task):
        return "running"
    return str(task.get("result") or "none").lower()


def _age(now, stamp):
    if not stamp:
        return None
    return int((now - parse_timestamp(stamp)).total_seconds())


def source_facts(source_name, entry, sessions_by_uid, now):
    """The host variable dict of one source for one VM."""
    source = SOURCES[source_name]
    newest, completed, success = entry["newest"], entry["completed"], entry["success"]
    session = sessions_by_uid.get(newest.get(source.parent_key)) or {}
    return {
        "status": status_of(newest),
        "result": newest.get("result"),
        "state": newest.get("state"),
        "running": is_running(newest),
        "creation_time": newest.get("creation_time"),
        "end_time": newest.get("end_time"),
        "duration_seconds": newest.get("duration_seconds"),
        "age_seconds": _age(now, newest.get("creation_time")),
        "job_name": session.get(source.job_name_key),
        "job_uid": session.get(source.job_key),
        "session_uid": newest.get(source.parent_key),
        "session_name": session.get("name") or newest.get("job_session_name") or newest.get("policy_session_name"),
        "is_retry": session.get("is_retry"),
        "task_uid": newest.get("uid"),
        "backup_server_name": newest.get("backup_server_name"),
        "backup_server_uid": newest.get("backup_server_uid"),
        "total_size": newest.get("total_size"),
        "reason": newest.get("reason"),
        "last_completed_result": completed.get("result") if completed else None,
        "last_completed_time": completed.get("end_time") if completed else None,
        "last_success_time": success.get("end_time") if success else None,
    }


def collect_vms(data, now):
    """``{vm_key: {"vm_name", "backup_server_name", "backup_server_uid", "sources": {source: facts}}}``.

    *data* maps a source name to what :func:`read_source` returned (or the cache held).
    """
    vms = {}
    for source_name in sorted(data):
        part = data[source_name]
        sessions_by_uid = dict((session["uid"], session) for session in part.get("sessions", ()))
        for key, entry in summarize(part.get("tasks", ())).items():
            vm = vms.setdefault(key, {"vm_name": key[1], "backup_server_name": key[0],
                                      "backup_server_uid": entry["newest"].get("backup_server_uid"), "sources": {}})
            vm["sources"][source_name] = source_facts(source_name, entry, sessions_by_uid, now)
    return vms


def newest_time(vm):
    """Creation time of the newest task session of a VM across its sources."""
    return max(facts.get("creation_time") or "" for facts in vm["sources"].values())


def assign_hostnames(vms, hostname_of, duplicates="suffix"):
    """Map host name -> vm_key, resolving names two different VMs share.

    ``suffix``: every VM of a shared name gets ``<name>_<backup server name>``; ``warn``:
    the VM with the newest task session keeps the name, the others are dropped with a
    warning; ``error``: raise :class:`InventoryBuildError`. Returns (mapping, warnings).
    """
    if duplicates not in DUPLICATE_MODES:
        raise InventoryBuildError("duplicates must be one of %s, not %r" % (", ".join(DUPLICATE_MODES), duplicates))
    by_name = {}
    for key in sorted(vms, key=lambda item: (str(item[0]), str(item[1]))):
        name = hostname_of(vms[key])
        if name is None or not str(name).strip():
            raise InventoryBuildError("the hostname expression gave an empty name for VM %r on %r" % (key[1], key[0]))
        by_name.setdefault(str(name), []).append(key)
    hosts = {}
    warnings = []
    for name, keys in sorted(by_name.items()):
        if len(keys) == 1:
            hosts[name] = keys[0]
            continue
        described = ", ".join("%r on %r" % (key[1], key[0]) for key in keys)
        if duplicates == "error":
            raise InventoryBuildError("host name %r stands for %d different VMs (%s); set duplicates=suffix or "
                                      "change the hostname expression" % (name, len(keys), described))
        if duplicates == "warn":
            keep = max(keys, key=lambda key: (newest_time(vms[key]), str(key)))
            hosts[name] = keep
            warnings.append("host name %r stands for %d different VMs (%s); kept the one on %r with the newest task "
                            "session" % (name, len(keys), described, keep[0]))
            continue
        for key in keys:
            suffixed = "%s_%s" % (name, key[0])
            if suffixed in hosts or suffixed in by_name:
                raise InventoryBuildError("host name %r stands for several VMs on backup server %r; the suffix cannot "
                                          "tell them apart, change the hostname expression" % (name, key[0]))
            hosts[suffixed] = key
    return hosts, warnings


def host_variables(vm, hostvar_prefix):
    """The host variables of one VM: the identity plus one dict per source, under the prefix."""
    variables = {
        hostvar_prefix + "vm_name": vm["vm_name"],
        hostvar_prefix + "backup_server_name": vm["backup_server_name"],
        hostvar_prefix + "backup_server_uid": vm["backup_server_uid"],
    }
    for source_name, facts in vm["sources"].items():
        variables[hostvar_prefix + source_name] = facts
    return variables


def host_groups(vm, group_prefix, sanitize):
    """Groups of one VM: status per source, its backup server, and the job of each source's newest run."""
    names = []
    for source_name in sorted(vm["sources"]):
        facts = vm["sources"][source_name]
        names.append("%s%s_%s" % (group_prefix, source_name, facts["status"]))
        if facts.get("job_name"):
            names.append("%sjob_%s" % (group_prefix, facts["job_name"]))
    if vm["backup_server_name"]:
        names.append("%sserver_%s" % (group_prefix, vm["backup_server_name"]))
    seen = []
    for name in names:
        clean = sanitize(name)
        if clean not in seen:
            seen.append(clean)
    return seen


def default_hostname(vm):
    """The default host name: the VM name as EM reports it."""
    return vm["vm_name"]


def _memoized(sanitize):
    """*sanitize* computed once per distinct name: group names repeat on every host, and
    ansible-core's sanitiser formats its (verbose) warning text on every call."""
    cache = {}

    def sanitized(name):
        if name not in cache:
            cache[name] = sanitize(name)
        return cache[name]
    return sanitized


def build_inventory(data, now, sanitize, group_prefix="veeam_", hostvar_prefix="veeam_", hostname_of=None,
                    duplicates="suffix"):
    """Hosts, groups and variables from the records of every source.

    Returns ``{"hosts": {name: variables}, "groups": {group: [host, ...]}, "warnings": [...]}``;
    the status groups of the sources read are always present, even when empty.
    """
    vms = collect_vms(data, now)
    mapping, warnings = assign_hostnames(vms, hostname_of or default_hostname, duplicates)
    sanitize = _memoized(sanitize)
    hosts = {}
    groups = {}
    for source_name in sorted(data):
        for status in STATUSES:
            groups.setdefault(sanitize("%s%s_%s" % (group_prefix, source_name, status)), [])
    for name in sorted(mapping):
        vm = vms[mapping[name]]
        hosts[name] = host_variables(vm, hostvar_prefix)
        for group in host_groups(vm, group_prefix, sanitize):
            groups.setdefault(group, []).append(name)
    return {"hosts": hosts, "groups": groups, "warnings": warnings}
