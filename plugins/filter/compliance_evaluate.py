# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: compliance_evaluate
short_description: Decide, per VM, whether its replicas meet their RPO
version_added: 1.0.0
author:
  - opsbox.veeam_em contributors (@opsbox)
description:
  - Evaluates the task sessions read by the info modules, or the host variables set by the
    P(opsbox.veeam_em.veeam_em#inventory) inventory plugin, and returns one verdict per VM (backup server and VM name).
  - A pure function of its input and O(now); it reads nothing from Enterprise Manager.
  - "For every source a VM appears in (V(replica), V(cdp), V(backup)) it looks at the newest task session
    (the I(last run)), the newest finished one (the I(last result)) and the newest successful one (the I(last
    success)), and gives these reasons, most urgent first: C(running_past_rpo) (the last run is still running and
    started longer than the RPO ago), C(failed) (the last result is Failed), C(warning) (the last result is Warning,
    unless O(accept_warning)), C(never_succeeded) (no successful run in the data, or an included VM has no run at
    all), C(stale) (the last success ended longer than the RPO ago). A VM without any reason is compliant."
  - A VM is compliant only when it is compliant in every source it appears in.
  - The age of the last success is measured from the end of that task session to O(now).
  - Every string in the result is marked unsafe, so names taken from Enterprise Manager are never templated.
positional: _input, now
options:
  _input:
    description:
      - With O(mode=records), a dictionary with one entry per source (V(replica), V(cdp), V(backup)), each a
        dictionary with C(tasks) (the task sessions, as the info modules return them) and optionally C(sessions)
        (their job or CDP policy sessions, to name the job of each task).
      - With O(mode=hostvars), the host variables of hosts of the inventory plugin, as a dictionary of host name to
        host variables, or as a list of host variable dictionaries (then the host name is their C(inventory_hostname)).
    type: raw
    required: true
  now:
    description:
      - The moment the verdicts are taken at, ISO 8601 (V(2026-11-22T06:00:00Z)); zone-less means UTC.
    type: str
    required: true
  mode:
    description: What O(_input) holds.
    type: str
    choices: [records, hostvars]
    default: records
  sources:
    description: The sources to evaluate; others in the input are ignored.
    type: list
    elements: str
    default: [replica, cdp]
  rpo_hours:
    description: Default recovery point objective, in hours.
    type: float
    default: 24
  rpo_by_vm:
    description:
      - RPO in hours per VM name. Keys are VM names or shell patterns (V(sql-*)); an exact name wins over a pattern.
    type: dict
    default: {}
  rpo_by_job:
    description:
      - RPO in hours per job or CDP policy name (the job of the VM's last run), names or patterns. O(rpo_by_vm) wins.
    type: dict
    default: {}
  include_vms:
    description:
      - Evaluate only VMs whose name matches one of these names or patterns. Empty means every VM.
      - A name without pattern characters that matches no VM in the data gives that VM the reason C(never_succeeded).
    type: list
    elements: str
    default: []
  exclude_vms:
    description: Leave out VMs whose name matches one of these names or patterns.
    type: list
    elements: str
    default: []
  include_jobs:
    description:
      - Consider only task sessions of these jobs or CDP policies (names or patterns). Empty means every job.
      - With O(mode=hostvars) the job is that of the VM's last run.
    type: list
    elements: str
    default: []
  exclude_jobs:
    description: Ignore task sessions of these jobs or CDP policies (names or patterns).
    type: list
    elements: str
    default: []
  accept_warning:
    description: Count a run that ended with Warning as good (no C(warning) reason, and it refreshes the last success).
    type: bool
    default: false
  hostvar_prefix:
    description: With O(mode=hostvars), the prefix of the inventory plugin's host variables.
    type: str
    default: veeam_
  message_limit:
    description: How many violating VMs the failure message names before it gives a count of the rest.
    type: int
    default: 20
"""

EXAMPLES = r"""
- name: Evaluate what the info modules returned
  ansible.builtin.set_fact:
    verdicts: >-
      {{ {'replica': {'tasks': replica_tasks.task_sessions, 'sessions': replica_jobs.replica_sessions}}
         | opsbox.veeam_em.compliance_evaluate('2026-11-22T06:00:00Z', rpo_hours=12, exclude_vms=['lab-*']) }}

- name: Evaluate the hosts of an inventory built by opsbox.veeam_em.veeam_em
  ansible.builtin.set_fact:
    verdicts: >-
      {{ dict(groups['all'] | zip(groups['all'] | map('extract', hostvars)))
         | opsbox.veeam_em.compliance_evaluate(now_iso, mode='hostvars', rpo_by_job={'Replica tier 1': 4}) }}

- name: Fail with the list of violating VMs
  ansible.builtin.fail:
    msg: "{{ verdicts.message }}"
  when: verdicts.summary.violations > 0
"""

RETURN = r"""
_value:
  description: The verdicts.
  type: dict
  contains:
    generated_at:
      description: O(now), normalised to ISO 8601 UTC.
      type: str
    rpo_hours:
      description: The default RPO.
      type: float
    sources:
      description: The sources evaluated.
      type: list
      elements: str
    mode:
      description: O(mode).
      type: str
    summary:
      description: >-
        Counts: C(total), C(compliant), C(violations), C(excluded), C(compliant_percent),
        C(by_reason) (violating VMs per primary reason) and C(by_last_result).
      type: dict
    vms:
      description: >-
        One entry per VM, violations first (most urgent reason, then oldest last success). Keys: C(vm_name),
        C(backup_server_name), C(host) (inventory host name or null), C(compliant), C(status) (V(compliant) or
        V(violation)), C(reason) (primary reason or null), C(reasons), C(detail) (one sentence), C(source) (the
        source the row describes), C(rpo_hours), C(last_result), C(last_run_state), C(last_run_time), C(running),
        C(last_success_time), C(last_success_age_hours), C(job_name), C(task_uid), C(checks) (the same per source).
      type: list
      elements: dict
    worst:
      description: Up to five violating VMs, most urgent first, as C(vm_name), C(backup_server_name), C(reason).
      type: list
      elements: dict
    message:
      description: >-
        One line per violating VM with its reasons, at most O(message_limit) lines and then how many more;
        empty when every VM is compliant.
      type: str
"""

import fnmatch
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.opsbox.veeam_em.plugins.module_utils._times import format_fact_time, parse_timestamp

SOURCES = ("replica", "cdp", "backup")
MODES = ("records", "hostvars")

# Most urgent first: this order picks the primary reason of a VM and sorts the report.
REASONS = ("running_past_rpo", "failed", "warning", "never_succeeded", "stale")
REASON_TEXT = {
    "running_past_rpo": "still running past its RPO",
    "failed": "last run failed",
    "warning": "last run ended with a warning",
    "never_succeeded": "never succeeded in the window",
    "stale": "last success older than its RPO",
}

# Session facts name their job differently per source; task facts name their session.
_JOB_NAME_KEY = {"replica": "job_name", "backup": "job_name", "cdp": "policy_name"}
_PARENT_KEY = {"replica": "job_session_uid", "backup": "job_session_uid", "cdp": "policy_session_uid"}
_PARENT_NAME_KEY = {"replica": "job_session_name", "backup": "job_session_name", "cdp": "policy_session_name"}
_PATTERN_CHARS = frozenset("*?[")


def _moment(value, what):
    """An aware UTC datetime from an ISO string (or datetime); AnsibleFilterError names *what* otherwise."""
    try:
        moment = parse_timestamp(value)
    except ValueError:
        raise AnsibleFilterError("%s: %r is not an ISO 8601 timestamp" % (what, value))
    return moment


def _text(value):
    """Plain text of a value (unsafe or not); None stays None."""
    return None if value is None else str(value)


def is_pattern(text):
    """True when *text* holds shell pattern characters (``*``, ``?``, ``[``)."""
    return any(char in _PATTERN_CHARS for char in text)


def matches(name, patterns):
    """True when *name* equals one of *patterns* or matches one of them as a shell pattern (case-sensitive)."""
    if name is None:
        return False
    for pattern in patterns:
        pattern = str(pattern)
        if name == pattern or (is_pattern(pattern) and fnmatch.fnmatchcase(name, pattern)):
            return True
    return False


def lookup_hours(name, table):
    """The value for *name* in *table*: an exact key first, then the first matching pattern in sorted order."""
    if name is None or not table:
        return None
    if name in table:
        return table[name]
    for key in sorted(table, key=str):
        if is_pattern(str(key)) and fnmatch.fnmatchcase(name, str(key)):
            return table[key]
    return None


def _hours(value, what):
    try:
        hours = float(value)
    except (TypeError, ValueError):
        raise AnsibleFilterError("%s: %r is not a number of hours" % (what, value))
    if hours <= 0:
        raise AnsibleFilterError("%s: %r must be more than zero hours" % (what, value))
    return hours


def is_running(task):
    """True while a task session has not finished (no end time, or a state other than Completed/Stopped)."""
    return task.get("end_time") is None or task.get("state") not in ("Completed", "Stopped")


def job_of_task(task, source, session_jobs):
    """The job (CDP policy) name of a task: from its session when known, else from the session name ``<job>@<time>``."""
    name = session_jobs.get(task.get(_PARENT_KEY[source]))
    if name is not None:
        return _text(name)
    session_name = task.get(_PARENT_NAME_KEY[source])
    if session_name and "@" in str(session_name):
        return str(session_name).rsplit("@", 1)[0]
    return _text(session_name)


def _newest_first(tasks):
    return sorted(tasks, key=lambda task: (str(task.get("creation_time") or ""), str(task.get("uid") or "")), reverse=True)


def entries_from_records(data, sources, accept_warning, include_jobs, exclude_jobs):
    """Normalised per-(VM, source) entries from the info modules' task sessions (and sessions).

    Job filters apply to each task session, so a VM replicated by two jobs is judged on the included job only.
    """
    if not isinstance(data, Mapping):
        raise AnsibleFilterError("compliance_evaluate: with mode=records the input must be a dictionary of sources, "
                                 "not %s" % type(data).__name__)
    good = ("Success", "Warning") if accept_warning else ("Success",)
    entries = []
    for source in sources:
        part = data.get(source)
        if part is None:
            continue
        if not isinstance(part, Mapping) or not isinstance(part.get("tasks", []), list):
            raise AnsibleFilterError("compliance_evaluate: input[%r] must be a dictionary with a list under 'tasks'" % source)
        session_jobs = dict((session.get("uid"), session.get(_JOB_NAME_KEY[source])) for session in part.get("sessions") or [])
        by_vm = {}
        for task in part.get("tasks") or []:
            job = job_of_task(task, source, session_jobs)
            if include_jobs and not matches(job, include_jobs):
                continue
            if exclude_jobs and matches(job, exclude_jobs):
                continue
            key = (_text(task.get("backup_server_name")), _text(task.get("vm_name")))
            by_vm.setdefault(key, []).append((task, job))
        for (server, vm_name), items in sorted(by_vm.items(), key=lambda item: (str(item[0][0]), str(item[0][1]))):
            tasks = _newest_first(task for task, dummy in items)
            jobs = dict((id(task), job) for task, job in items)
            newest = tasks[0]
            completed = next((task for task in tasks if not is_running(task)), None)
            success = next((task for task in tasks if not is_running(task) and task.get("result") in good), None)
            entries.append({
                "vm_name": vm_name, "backup_server_name": server, "host": None, "source": source,
                "job_name": jobs[id(newest)],
                "newest": {"result": _text(newest.get("result")), "state": _text(newest.get("state")),
                           "running": is_running(newest), "creation_time": newest.get("creation_time"),
                           "end_time": newest.get("end_time"), "reason": _text(newest.get("reason")),
                           "task_uid": _text(newest.get("uid"))},
                "completed_result": _text(completed.get("result")) if completed else None,
                "completed_reason": _text(completed.get("reason")) if completed else None,
                "good_time": success.get("end_time") if success else None,
            })
    return entries


def entries_from_hostvars(hosts, sources, accept_warning, prefix, include_jobs, exclude_jobs):
    """Normalised per-(VM, source) entries from the host variables of the inventory plugin."""
    if isinstance(hosts, Mapping):
        pairs = [(_text(host), hosts[host]) for host in hosts]
    elif isinstance(hosts, (list, tuple)):
        pairs = [(None, variables) for variables in hosts]
    else:
        raise AnsibleFilterError("compliance_evaluate: with mode=hostvars the input must be a dictionary of host name: "
                                 "host variables, or a list of host variable dictionaries")
    entries = []
    for host, variables in pairs:
        if not isinstance(variables, Mapping):
            raise AnsibleFilterError("compliance_evaluate: the host variables of %r are not a dictionary" % (host,))
        host = host or _text(variables.get("inventory_hostname"))
        vm_name = _text(variables.get(prefix + "vm_name")) or host
        server = _text(variables.get(prefix + "backup_server_name"))
        for source in sources:
            facts = variables.get(prefix + source)
            if not isinstance(facts, Mapping):
                continue
            job = _text(facts.get("job_name"))
            if include_jobs and not matches(job, include_jobs):
                continue
            if exclude_jobs and matches(job, exclude_jobs):
                continue
            running = facts.get("running")
            if running is None:
                running = is_running(facts)
            completed_result = _text(facts.get("last_completed_result"))
            good_time = facts.get("last_success_time")
            if accept_warning and completed_result == "Warning":
                good_time = _later(good_time, facts.get("last_completed_time"))
            entries.append({
                "vm_name": vm_name, "backup_server_name": server or _text(facts.get("backup_server_name")),
                "host": host, "source": source, "job_name": job,
                "newest": {"result": _text(facts.get("result")), "state": _text(facts.get("state")),
                           "running": bool(running), "creation_time": facts.get("creation_time"),
                           "end_time": facts.get("end_time"), "reason": _text(facts.get("reason")),
                           "task_uid": _text(facts.get("task_uid"))},
                "completed_result": completed_result,
                "completed_reason": _text(facts.get("reason")) if completed_result and not running else None,
                "good_time": good_time,
            })
    return entries


def _later(first, second):
    if not first:
        return second
    if not second:
        return first
    return first if _moment(first, "time") >= _moment(second, "time") else second


def _age_hours(now, stamp):
    if not stamp:
        return None
    return round((now - _moment(stamp, "time")).total_seconds() / 3600.0, 2)


def rpo_for(entry, default, rpo_by_vm, rpo_by_job):
    """The RPO of one entry in hours: per VM, else per job, else the default."""
    for name, table, what in ((entry["vm_name"], rpo_by_vm, "rpo_by_vm"), (entry["job_name"], rpo_by_job, "rpo_by_job")):
        value = lookup_hours(name, table)
        if value is not None:
            return _hours(value, "%s[%r]" % (what, name))
    return default


def check_entry(entry, now, rpo_hours, accept_warning):
    """The verdict of one VM in one source: reasons (most urgent first) and the facts behind them."""
    newest = entry["newest"]
    rpo_seconds = rpo_hours * 3600.0
    reasons = []
    notes = []
    started = _moment(newest["creation_time"], "creation_time") if newest.get("creation_time") else None
    if newest["running"] and started is not None and (now - started).total_seconds() > rpo_seconds:
        reasons.append("running_past_rpo")
        notes.append("running for %s, RPO %s" % (_duration((now - started).total_seconds()), _duration(rpo_seconds)))
    if entry["completed_result"] == "Failed":
        reasons.append("failed")
        notes.append("last run failed" + (": %s" % entry["completed_reason"] if entry["completed_reason"] else ""))
    elif entry["completed_result"] == "Warning" and not accept_warning:
        reasons.append("warning")
        notes.append("last run ended with a warning" + (": %s" % entry["completed_reason"] if entry["completed_reason"] else ""))
    good_age = None
    if entry["good_time"]:
        good_age = (now - _moment(entry["good_time"], "last_success_time")).total_seconds()
    if good_age is None:
        reasons.append("never_succeeded")
        notes.append("no successful run in the window")
    elif good_age > rpo_seconds:
        reasons.append("stale")
        notes.append("last success %s ago, RPO %s" % (_duration(good_age), _duration(rpo_seconds)))
    return {
        "source": entry["source"],
        "compliant": not reasons,
        "reasons": reasons,
        "reason": reasons[0] if reasons else None,
        "detail": "; ".join(notes),
        "rpo_hours": rpo_hours,
        "last_result": newest["result"],
        "last_run_state": newest["state"],
        "last_run_time": _normal_time(newest.get("creation_time")),
        "running": newest["running"],
        "last_completed_result": entry["completed_result"],
        "last_success_time": _normal_time(entry["good_time"]),
        "last_success_age_hours": _age_hours(now, entry["good_time"]),
        "job_name": entry["job_name"],
        "task_uid": newest.get("task_uid"),
    }


def _normal_time(stamp):
    return format_fact_time(_moment(stamp, "time")) if stamp else None


def _duration(seconds):
    """``14m``, ``24h``, ``24h 50m``, ``3d 4h``: hours up to three days, then days; short and exact enough."""
    minutes = int(max(seconds, 0) // 60)
    hours, minutes = divmod(minutes, 60)
    if hours >= 72:
        return "%dd %dh" % divmod(hours, 24)
    if hours:
        return "%dh %02dm" % (hours, minutes) if minutes else "%dh" % hours
    return "%dm" % minutes


def _urgency(check):
    """Sort key: most urgent reason first, then the oldest (or missing) last success."""
    rank = REASONS.index(check["reason"]) if check["reason"] else len(REASONS)
    age = check["last_success_age_hours"]
    return (rank, -(age if age is not None else float("inf")))


def combine(vm_name, server, host, checks):
    """One VM row from its per-source checks: compliant only when every source is; the row shows the worst source."""
    ordered = sorted(checks, key=_urgency)
    worst = ordered[0]
    row = dict(worst)
    reasons = []
    for check in ordered:
        for reason in check["reasons"]:
            if reason not in reasons:
                reasons.append(reason)
    reasons.sort(key=REASONS.index)
    row.update({
        "vm_name": vm_name,
        "backup_server_name": server,
        "host": host,
        "compliant": not reasons,
        "status": "compliant" if not reasons else "violation",
        "reasons": reasons,
        "reason": reasons[0] if reasons else None,
        "detail": "; ".join("%s: %s" % (check["source"], check["detail"]) for check in ordered if check["detail"]),
        "checks": dict((check["source"], check) for check in checks),
    })
    return row


def missing_row(vm_name, rpo_hours):
    """The row of an explicitly included VM that has no task session at all."""
    check = {
        "source": None, "compliant": False, "reasons": ["never_succeeded"], "reason": "never_succeeded",
        "detail": "no task session in the window", "rpo_hours": rpo_hours, "last_result": None,
        "last_run_state": None, "last_run_time": None, "running": False, "last_completed_result": None,
        "last_success_time": None, "last_success_age_hours": None, "job_name": None, "task_uid": None,
    }
    row = combine(vm_name, None, None, [check])
    row["checks"] = {}
    row["detail"] = "no task session in the window"
    return row


def failure_message(rows, limit=20):
    """``N of M VMs violate their RPO:`` then one line per violating VM (at most *limit*), then the count of the rest."""
    bad = [row for row in rows if not row["compliant"]]
    if not bad:
        return ""
    lines = ["%d of %d VMs are not compliant:" % (len(bad), len(rows))]
    for row in bad[:limit]:
        where = " on %s" % row["backup_server_name"] if row["backup_server_name"] else ""
        lines.append("- %s%s: %s (%s)" % (row["vm_name"], where, ", ".join(row["reasons"]), row["detail"]))
    if len(bad) > limit:
        lines.append("... and %d more" % (len(bad) - limit))
    return "\n".join(lines)


def _string_list(value, what):
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise AnsibleFilterError("%s must be a list of names or patterns, not %r" % (what, value))
    return [str(item) for item in value]


def _table(value, what):
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise AnsibleFilterError("%s must be a dictionary of name: hours, not %r" % (what, value))
    return dict((str(key), item) for key, item in value.items())


def evaluate(data, now, mode="records", sources=None, rpo_hours=24, rpo_by_vm=None, rpo_by_job=None,
             include_vms=None, exclude_vms=None, include_jobs=None, exclude_jobs=None, accept_warning=False,
             hostvar_prefix="veeam_", message_limit=20):
    """The verdicts for every VM (plain Python values); see DOCUMENTATION for the rules."""
    moment = _moment(now, "now")
    if moment is None:
        raise AnsibleFilterError("now is required (the moment the verdicts are taken at)")
    if mode not in MODES:
        raise AnsibleFilterError("mode must be one of %s, not %r" % (", ".join(MODES), mode))
    sources = _string_list(["replica", "cdp"] if sources is None else sources, "sources")
    unknown = [source for source in sources if source not in SOURCES]
    if unknown or not sources:
        raise AnsibleFilterError("sources must be a non-empty list of %s, not %r" % (", ".join(SOURCES), sources))
    default_rpo = _hours(rpo_hours, "rpo_hours")
    rpo_by_vm = _table(rpo_by_vm, "rpo_by_vm")
    rpo_by_job = _table(rpo_by_job, "rpo_by_job")
    include_vms = _string_list(include_vms, "include_vms")
    exclude_vms = _string_list(exclude_vms, "exclude_vms")
    include_jobs = _string_list(include_jobs, "include_jobs")
    exclude_jobs = _string_list(exclude_jobs, "exclude_jobs")
    try:
        limit = int(message_limit)
    except (TypeError, ValueError):
        raise AnsibleFilterError("message_limit must be a whole number, not %r" % (message_limit,))

    if mode == "records":
        entries = entries_from_records(data, sources, accept_warning, include_jobs, exclude_jobs)
    else:
        entries = entries_from_hostvars(data, sources, accept_warning, hostvar_prefix, include_jobs, exclude_jobs)

    grouped = {}
    excluded = set()
    for entry in entries:
        key = (entry["backup_server_name"], entry["vm_name"])
        if (include_vms and not matches(entry["vm_name"], include_vms)) or matches(entry["vm_name"], exclude_vms):
            excluded.add(key)
            continue
        check = check_entry(entry, moment, rpo_for(entry, default_rpo, rpo_by_vm, rpo_by_job), accept_warning)
        grouped.setdefault(key, {"host": entry["host"], "checks": []})["checks"].append(check)

    rows = [combine(key[1], key[0], value["host"], value["checks"]) for key, value in grouped.items()]
    seen_names = set(key[1] for key in grouped)
    for name in include_vms:
        if not is_pattern(name) and name not in seen_names and not matches(name, exclude_vms):
            rows.append(missing_row(name, _hours(lookup_hours(name, rpo_by_vm) or default_rpo, "rpo_by_vm[%r]" % name)))
    rows.sort(key=lambda row: _urgency(row) + (str(row["vm_name"]), str(row["backup_server_name"])))

    by_reason = dict((reason, 0) for reason in REASONS)
    by_last_result = {}
    for row in rows:
        if row["reason"]:
            by_reason[row["reason"]] += 1
        result = row["last_result"] or "None"
        by_last_result[result] = by_last_result.get(result, 0) + 1
    compliant = sum(1 for row in rows if row["compliant"])
    summary = {
        "total": len(rows),
        "compliant": compliant,
        "violations": len(rows) - compliant,
        "excluded": len(excluded),
        "compliant_percent": round(100.0 * compliant / len(rows), 1) if rows else 100.0,
        "by_reason": by_reason,
        "by_last_result": by_last_result,
    }
    return {
        "generated_at": format_fact_time(moment),
        "rpo_hours": default_rpo,
        "sources": sources,
        "mode": mode,
        "accept_warning": bool(accept_warning),
        "summary": summary,
        "vms": rows,
        "worst": [{"vm_name": row["vm_name"], "backup_server_name": row["backup_server_name"], "reason": row["reason"]}
                  for row in rows if not row["compliant"]][:5],
        "message": failure_message(rows, limit),
        "reason_text": dict(REASON_TEXT),
    }


def compliance_evaluate(data, now, **options):
    """Filter entry point: :func:`evaluate` with every string of the answer marked unsafe."""
    return wrap_var(evaluate(data, now, **options))


class FilterModule:
    """Compliance verdicts for replicated VMs."""

    def filters(self):
        return {"compliance_evaluate": compliance_evaluate}
