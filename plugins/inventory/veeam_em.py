# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: veeam_em
short_description: The VMs Veeam replication, CDP and backup processed, grouped by their last result
version_added: 1.0.0
description:
  - Reads task sessions from Veeam Backup Enterprise Manager and makes every VM that replication
    (and CDP, and optionally backup) processed in the O(lookback) window a host, grouped by its last result.
  - B(Last result.) For each source, a VM's last result is the result of its newest task session of that kind
    created in the window C([now - lookback, now]), across jobs and retries. A VM is identified by its backup
    server name and VM name. A failed run followed by a successful retry means success; a VM replicated by two
    jobs takes the newer task session.
  - B(Running sessions.) While the newest task session of a VM still runs, its status is C(running) and it is in
    the C(running) group; the host variables keep the newest completed result in C(last_completed_result).
    CDP task sessions last about eight hours and the current one always runs, so CDP VMs are normally in
    C(veeam_cdp_running); group on C(veeam_cdp.last_completed_result) with O(keyed_groups) to see their outcome.
  - B(Groups.) V(<group_prefix><source>_success), V(_warning), V(_failed), V(_running) for each source read
    (always created, possibly empty); V(<group_prefix>server_<backup server name>); and
    V(<group_prefix>job_<job or CDP policy name>) for the job of each source's newest task session. Group names
    are sanitised as the C(TRANSFORM_INVALID_GROUP_CHARS) setting (E(ANSIBLE_TRANSFORM_INVALID_GROUP_CHARS)) asks,
    exactly as Ansible treats the groups of any inventory source - with its default V(never) they keep the
    characters of job and server names (and Ansible warns once); with V(always) or V(silently) every character that
    is not a letter, digit or underscore becomes an underscore.
  - B(Host variables.) V(<hostvar_prefix>vm_name), V(<hostvar_prefix>backup_server_name),
    V(<hostvar_prefix>backup_server_uid) and one dict per source, V(<hostvar_prefix>replica), V(<hostvar_prefix>cdp),
    V(<hostvar_prefix>backup), with the keys C(status) (success, warning, failed or running), C(result), C(state),
    C(running), C(creation_time), C(end_time), C(duration_seconds), C(age_seconds) (of the newest task session at
    the time the inventory was built), C(job_name), C(job_uid) (the CDP policy for CDP), C(session_uid),
    C(session_name), C(is_retry), C(task_uid), C(backup_server_name), C(backup_server_uid), C(total_size),
    C(reason), C(last_completed_result), C(last_completed_time) and C(last_success_time) (end of the newest task
    session with result Success in the window, or null).
  - Every string that came from Enterprise Manager (host names, group names, variables) is marked unsafe, so a VM
    or job named like a Jinja2 template is never rendered.
  - B(Strategies.) O(strategy=full_scan) reads every task session of the window; its cost grows with VMs x runs
    per day x days. O(strategy=fast) reads the job (CDP policy) sessions that overlap the window (for jobs, those
    of the last six hours, then of the last two days, then older ones, each only of jobs without a full run in the
    newer ones), then the task sessions of each job's newest runs down to its newest full run (not a retry,
    finished, not stopped part-way),
    then, for each job with older runs in the window, the task sessions of VMs not seen in those recent runs
    (VMs removed from the job or skipped by a stopped run), then, for VMs whose newest completed or successful
    task session is still unknown, their older completed task sessions (only the successful ones when that is all
    a VM lacks), newest first and only until each has been found, in small pages, each only for the VMs still
    lacking one. Its cost grows with VMs x (runs since the last full run); on a simulated installation of 1000
    VMs, 60 replica jobs running six times a day, 500 CDP VMs and a 7 day window it read 6% of the records and
    made 23% of the requests of V(full_scan).
  - Both strategies give the same hosts, groups and variables; the tests check both against Enterprise Manager's
    data (retries, VMs in two jobs, runs stopped part-way, running sessions, VMs removed from a job, the same VM
    name on two backup servers). V(fast) differs in one corner only - a job or CDP policy session that starts
    while the inventory is being read. V(fast) reads the list of sessions first and does not see such a
    session's task sessions; V(full_scan) may see the ones created before its own query ran. A job with more
    VMs than fit in one request's exclusion list (about 300) has its older runs read in full, which costs more
    but does not change the answer.
extends_documentation_fragment:
  - opsbox.veeam_em.connection.plugins
  - constructed
  - inventory_cache
options:
  plugin:
    description: The name of this plugin; the file must name it to be read by it.
    type: str
    required: true
    choices: [opsbox.veeam_em.veeam_em]
  sources:
    description:
      - The kinds of task sessions read. Each makes its own groups and host variable dict.
    type: list
    elements: str
    choices: [replica, cdp, backup]
    default: [replica, cdp]
  strategy:
    description:
      - How the newest task session of each VM is found; see the description above for cost and meaning.
    type: str
    choices: [fast, full_scan]
    default: fast
  lookback:
    description:
      - Length of the window, ending now. A duration such as V(7d), V(36h), V(1d12h), V(2w) or V(90m).
      - A VM whose newest task session is older than the window is not in the inventory.
    type: str
    default: 7d
  backup_servers:
    description: Read only these backup servers (names as Enterprise Manager shows them). Default all.
    type: list
    elements: str
    default: []
  jobs:
    description:
      - Read only these replication and backup jobs and CDP policies (by name). Default all.
    type: list
    elements: str
    default: []
  group_prefix:
    description: Prefix of every group this plugin makes (not of O(groups) and O(keyed_groups)).
    type: str
    default: veeam_
  hostvar_prefix:
    description: Prefix of every host variable this plugin sets. A prefix that makes a reserved name is refused.
    type: str
    default: veeam_
  hostname:
    description:
      - A Jinja2 expression (like the values of O(compose)) that gives the host name of a VM. It sees the host
        variables above and C(vm_name) and C(backup_server_name). Default the VM name.
      - For example V(vm_name | lower) or V(vm_name ~ '.corp.example.com').
    type: str
  duplicates:
    description:
      - What to do when two different VMs (on different backup servers) get the same host name.
      - V(suffix) names each of them C(<name>_<backup server name>); V(warn) keeps the one with the newest task
        session and warns; V(error) fails.
    type: str
    choices: [suffix, warn, error]
    default: suffix
  strict_permissions:
    description:
      - When the account may not read one source (HTTP 403), fail instead of warning and leaving that source empty.
    type: bool
    default: false
notes:
  - Accepts only files whose name ends in C(veeam_em.yml) or C(veeam_em.yaml).
  - The string options are templated, so O(password) may be a vaulted value or a lookup.
  - With caching on, the raw records are cached (at most three task sessions per VM and source) and hosts and
    groups are rebuilt from them on every run; a cache hit makes no request to Enterprise Manager and does not
    extend the cache's lifetime.
author:
  - opsbox.veeam_em contributors (@opsbox)
"""

EXAMPLES = r"""
# inventory/prod.veeam_em.yml
# The connection comes from VEEAM_EM_URL, VEEAM_EM_USERNAME, VEEAM_EM_PASSWORD and VEEAM_EM_CA_PATH
# (what the AWX credential type in docs/awx injects). To put it in the file instead - string options
# are templated, so a lookup or a vaulted value works:
#   url: https://em.example.com:9398
#   username: CORP\svc-ansible
#   password: "{{ lookup('ansible.builtin.env', 'EM_PASSWORD') }}"
plugin: opsbox.veeam_em.veeam_em
sources: [replica, cdp, backup]
lookback: 36h
backup_servers: [vbr01.corp.example.com]
# host names in lower case
hostname: vm_name | lower
strict: true
# a group per last completed CDP result (the current CDP task session always runs)
keyed_groups:
  - key: veeam_cdp.last_completed_result | default('none') | lower
    prefix: cdp_completed
compose:
  replica_overdue: veeam_replica.age_seconds is defined and veeam_replica.age_seconds > 86400
groups:
  replica_trouble: veeam_replica is defined and veeam_replica.status in ['failed', 'warning']
# cached for an hour: a run within the hour makes no request to Enterprise Manager
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: /var/cache/ansible/veeam_em
cache_timeout: 3600
"""

from datetime import datetime, timezone
import hashlib
import json
import os

from ansible.errors import AnsibleError, AnsibleOptionsError, AnsibleParserError
from ansible.inventory.group import to_safe_group_name
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.utils.display import Display

from ansible_collections.opsbox.veeam_em.plugins.module_utils._arguments import client_kwargs, missing_libraries
from ansible_collections.opsbox.veeam_em.plugins.module_utils._errors import EMError, EMPermissionError
from ansible_collections.opsbox.veeam_em.plugins.module_utils.client import EMClient
from ansible_collections.opsbox.veeam_em.plugins.module_utils._times import format_fact_time
from ansible_collections.opsbox.veeam_em.plugins.plugin_utils._inventory_build import (
    InventoryBuildError, build_inventory, check_prefix, parse_lookback,
)
from ansible_collections.opsbox.veeam_em.plugins.module_utils._vm_latest import Window, read_sources
from ansible_collections.opsbox.veeam_em.plugins.plugin_utils._unsafe import make_unsafe, origin_tagger

display = Display()

CACHE_VERSION = 1
SUFFIXES = ("veeam_em.yml", "veeam_em.yaml")
TEMPLATED = ("url", "username", "password", "ca_path", "lookback", "group_prefix", "hostvar_prefix", "wire_format")


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    """Hosts from the task sessions Enterprise Manager recorded."""

    NAME = "opsbox.veeam_em.veeam_em"

    def verify_file(self, path):
        """Accept only readable files named ``*veeam_em.yml`` or ``*veeam_em.yaml``."""
        if not super(InventoryModule, self).verify_file(path):
            return False
        if to_text(path).endswith(SUFFIXES):
            return True
        display.vvv("Skipping %s: the %s inventory plugin reads only files whose name ends in %s"
                    % (path, self.NAME, " or ".join(SUFFIXES)))
        return False

    def _templated(self, name, value):
        if isinstance(value, str) and self.templar.is_template(value):
            try:
                value = self.templar.template(value, disable_lookups=False)
            except AnsibleError as exc:
                raise AnsibleParserError("%s: option %s: %s" % (self.NAME, name, to_text(exc)))
        return to_text(value) if value is not None and not isinstance(value, (bool, int, list)) else value

    def _settings(self):
        """Validated, templated options; AnsibleParserError names the option at fault."""
        options = dict((name, self.get_option(name)) for name in (
            "url", "username", "password", "validate_certs", "ca_path", "timeout", "retries", "retry_deadline",
            "page_size", "concurrency", "wire_format", "sources", "strategy", "lookback", "backup_servers", "jobs",
            "group_prefix", "hostvar_prefix", "hostname", "duplicates", "strict_permissions"))
        for name in TEMPLATED:
            options[name] = self._templated(name, options[name])
        for name in ("backup_servers", "jobs", "sources"):
            options[name] = [self._templated(name, item) for item in options[name] or []]
        if os.environ.get("VEEAM_EM_CA_PATH") == "" and options["ca_path"] == os.getcwd():
            # An AWX credential without a CA certificate injects VEEAM_EM_CA_PATH="", which Ansible's
            # path type turns into the current directory; it means "no CA bundle".
            options["ca_path"] = None
        for name in ("url", "username", "password"):
            if not options[name]:
                raise AnsibleParserError("%s: option %s is required (or set VEEAM_EM_%s)" % (self.NAME, name, name.upper()))
        if not options["sources"]:
            raise AnsibleParserError("%s: option sources must name at least one of replica, cdp, backup" % self.NAME)
        try:
            options["lookback"] = parse_lookback(options["lookback"])
        except ValueError as exc:
            raise AnsibleParserError("%s: option %s" % (self.NAME, exc))
        options["group_prefix"] = options["group_prefix"] or ""
        options["hostvar_prefix"] = options["hostvar_prefix"] or ""
        try:
            check_prefix("hostvar_prefix", options["hostvar_prefix"], options["sources"])
        except ValueError as exc:
            raise AnsibleParserError("%s: option %s" % (self.NAME, exc))
        missing = missing_libraries(options["wire_format"])
        if missing:
            raise AnsibleError("%s needs the Python libraries %s on the controller"
                               % (self.NAME, " and ".join(name for name, _trace in missing)))
        try:
            # the client checks the connection and tuning values; constructing it sends nothing
            EMClient(**client_kwargs(options)).close()
        except EMError as exc:
            raise AnsibleParserError("%s: %s" % (self.NAME, exc))
        return options

    def _fingerprint(self, options):
        """What the cached records depend on; a different value makes the cache miss."""
        parts = [CACHE_VERSION, options["url"], options["username"], sorted(options["sources"]),
                 options["lookback"].total_seconds(), sorted(options["backup_servers"]), sorted(options["jobs"])]
        return hashlib.sha256(json.dumps(parts).encode("utf-8")).hexdigest()

    def _fetch(self, options):
        """Read every source from Enterprise Manager; returns the cacheable payload."""
        until = datetime.now(timezone.utc)
        window = Window(until - options["lookback"], until, options["backup_servers"], options["jobs"])
        payload = {"version": CACHE_VERSION, "since": format_fact_time(window.since),
                   "until": format_fact_time(until), "sources": {}, "warnings": []}
        try:
            client = EMClient(**client_kwargs(options))
            with client:
                tolerated = () if options["strict_permissions"] else (EMPermissionError,)
                for source, part in read_sources(client, options["sources"], window, options["strategy"],
                                                 tolerated=tolerated):
                    if tolerated and isinstance(part, tolerated):
                        payload["warnings"].append("%s: source %s left empty: %s" % (self.NAME, source, part))
                        part = {"sessions": [], "tasks": [], "queries": 0, "records": 0}
                    elif isinstance(part, Exception):
                        raise part
                    payload["sources"][source] = part
                    display.vv("%s: %s: %d queries, %d records, %d task sessions kept (strategy %s)"
                               % (self.NAME, source, part["queries"], part["records"], len(part["tasks"]),
                                  options["strategy"]))
            payload["warnings"].extend(client.warnings)
        except EMError as exc:
            raise AnsibleError("%s: %s" % (self.NAME, exc))
        return payload

    def _hostname_function(self, options):
        expression = options["hostname"]
        if not expression:
            return None
        prefix = options["hostvar_prefix"]

        def hostname_of(vm):
            variables = dict(vm_name=vm["vm_name"], backup_server_name=vm["backup_server_name"])
            variables[prefix + "vm_name"] = vm["vm_name"]
            variables[prefix + "backup_server_name"] = vm["backup_server_name"]
            for source, facts in vm["sources"].items():
                variables[prefix + source] = facts
            try:
                return self._compose(expression, make_unsafe(variables))
            except Exception as exc:  # the templar raises many types; all mean a bad expression
                raise AnsibleParserError("%s: option hostname: %s" % (self.NAME, to_text(exc)))
        return hostname_of

    def parse(self, inventory, loader, path, cache=True):
        super(InventoryModule, self).parse(inventory, loader, path)
        try:
            self._read_config_data(path)
        except AnsibleOptionsError as exc:
            raise AnsibleParserError("%s: %s" % (self.NAME, to_text(exc)))
        options = self._settings()

        cache_key = self.get_cache_key(path)
        fingerprint = self._fingerprint(options)
        use_cache = self.get_option("cache") and cache
        update_cache = self.get_option("cache") and not cache
        payload = None
        if use_cache:
            try:
                payload = self._cache[cache_key]
            except KeyError:
                update_cache = True
            if payload is not None and (not isinstance(payload, dict) or payload.get("fingerprint") != fingerprint):
                payload = None
                update_cache = True
        if payload is None:
            payload = self._fetch(options)
            payload["fingerprint"] = fingerprint
        if update_cache:
            self._cache[cache_key] = payload
        self._populate(payload, options)

    def _populate(self, payload, options):
        for warning in payload.get("warnings", ()):
            display.warning(warning)
        try:
            result = build_inventory(payload["sources"], datetime.now(timezone.utc), to_safe_group_name,
                                     group_prefix=options["group_prefix"], hostvar_prefix=options["hostvar_prefix"],
                                     hostname_of=self._hostname_function(options), duplicates=options["duplicates"])
        except InventoryBuildError as exc:
            raise AnsibleError("%s: %s" % (self.NAME, exc))
        for warning in result["warnings"]:
            display.warning("%s: %s" % (self.NAME, warning))

        strict = self.get_option("strict")
        compose, groups, keyed_groups = self.get_option("compose"), self.get_option("groups"), self.get_option("keyed_groups")
        members = {}
        # One unsafe copy of each distinct value for the whole inventory, tagged with the source's
        # origin on ansible-core 2.19+ (see make_unsafe and origin_tagger).
        memo = {}
        tag = origin_tagger(self.inventory)
        for group, hosts in result["groups"].items():
            self.inventory.add_group(make_unsafe(group, memo, tag))
            for host in hosts:
                members.setdefault(host, []).append(group)
        for name, variables in result["hosts"].items():
            variables = make_unsafe(variables, memo, tag)
            host = self.inventory.add_host(make_unsafe(name, memo, tag))
            # The host's own set_variable, as InventoryData.set_variable ends in, without its lookup by name
            # and its debug message, which formats the unsafe name once per variable (~2% of the build)
            host_object = self.inventory.get_host(host)
            for key, value in variables.items():
                host_object.set_variable(key, value)
            for group in members.get(name, ()):
                self.inventory.add_child(make_unsafe(group, memo, tag), host)
            # compose first, then groups and keyed_groups, which see the composed variables too
            self._set_composite_vars(compose, variables, host, strict=strict)
            if groups or keyed_groups:
                # Host.get_vars builds the magic variables too: a tenth of the inventory's build time,
                # spent for nothing when neither option asks for them
                variables = host_object.get_vars()
                self._add_host_to_composed_groups(groups, variables, host, strict=strict)
                self._add_host_to_keyed_groups(keyed_groups, variables, host, strict=strict)
